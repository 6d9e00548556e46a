package corolog

import (
	"fmt"

	"github.com/quorate/quorate/scenarios/corosyncconf"
	"math"
	"strings"
	"testing"
	"time"
)

// TestLosses: retransmission lines close together are one episode, with
// a rate from the share of sequence numbers asked again for; a lone
// retransmission (the repair after a membership change) is none.
func TestLosses(t *testing.T) {
	var b strings.Builder
	// node1 misses every fifth message of 0x100..0x1ff for 10 s; a lone
	// line a minute later.
	for i := 0; i < 10; i++ {
		var seqs []string
		for s := 0x100 + i*25; s < 0x100+(i+1)*25; s += 5 {
			seqs = append(seqs, fmt.Sprintf("%x", s))
		}
		fmt.Fprintf(&b, "Mar 01 12:00:%02d node1 corosync[812]:   [TOTEM ] Retransmit List: %s\n", i, strings.Join(seqs, " "))
	}
	b.WriteString("Mar 01 12:00:05 node1 corosync[812]:   [TOTEM ] FAILED TO RECEIVE\n")
	b.WriteString("Mar 01 12:01:30 node1 corosync[812]:   [TOTEM ] Retransmit List: 5\n")
	lg, err := Parse("syslog", []byte(b.String()), Options{Year: 2026})
	if err != nil {
		t.Fatal(err)
	}
	conf, err := corosyncconf.Load("testdata/incidents/switch-1link/corosync.conf")
	if err != nil {
		t.Fatal(err)
	}
	ls := losses(conf, []string{"node1"}, map[string][]Event{"node1": lg.Events})
	if len(ls) != 1 {
		t.Fatalf("%d episodes, want 1: %v", len(ls), ls)
	}
	l := ls[0]
	// 50 of 246 sequence numbers (0x100..0x1f5): share 0.203; each of two
	// receivers loses p with 1-(1-p)^2 = 0.203: p = 0.107.
	if l.Lines != 11 || l.Flaps != 0 || len(l.Links) != 1 || !l.Failed || l.To.Sub(l.From) != 10*time.Second || math.Abs(l.Rate-0.11) > 1e-9 {
		t.Errorf("episode %+v; want 11 lines, FAILED TO RECEIVE, 10s, rate 0.11", l)
	}
	if !strings.Contains(l.String(), "estimated per-packet loss 0.11") {
		t.Errorf("String: %s", l)
	}
}
