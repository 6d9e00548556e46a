package corolog

import (
	"strings"
	"testing"

	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// TestExtras: an expected-votes change becomes set_expected; config
// reloads, token warnings and pmxcfs's quorum lines become notes.
func TestExtras(t *testing.T) {
	conf, err := corosyncconf.Load("testdata/incidents/switch-1link/corosync.conf")
	if err != nil {
		t.Fatal(err)
	}
	lg, err := Parse("syslog", []byte(`Mar 01 12:00:01 node1 corosync[812]:   [TOTEM ] Token has not been received in 2737 ms
Mar 01 12:00:02 node1 corosync[812]:   [TOTEM ] Token has not been received in 3100 ms
Mar 01 12:00:03 node1 pmxcfs[977]: [status] notice: node lost quorum
Mar 01 12:00:04 node1 corosync[812]:   [CFG   ] Config reload requested by node 1
Mar 01 12:00:05 node1 corosync[812]:   [VOTEQ ] expected_votes changed to 2
Mar 01 12:00:06 node1 corosync[812]:   [VOTEQ ] expected_votes changed to 2
`), Options{Year: 2026})
	if err != nil {
		t.Fatal(err)
	}
	x, notes := extras(conf, []string{"node1"}, map[string][]Event{"node1": lg.Events})
	if len(x) != 1 || x[0].Fields != "action: set_expected, node: node1, votes: 2" {
		t.Errorf("faults %+v; want one set_expected to 2", x)
	}
	all := strings.Join(notes, "\n")
	for _, want := range []string{"config reload at 12:00:04.000 (syslog:4)", `"Token has not been received" 2 time(s), the longest wait 3100 ms`, "pmxcfs: node lost quorum at 12:00:03"} {
		if !strings.Contains(all, want) {
			t.Errorf("notes lack %q:\n%s", want, all)
		}
	}
}
