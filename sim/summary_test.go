package sim

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/quorate/quorate/reports"
)

// TestSurvivalSummary: the text output answers "would my cluster have
// survived?": hp3 crashes at 10s and restarts 20s later; the per-node table
// and the one-line answer say how long it was without quorum and when
// every node was quorate again.
func TestSurvivalSummary(t *testing.T) {
	sc := parse(t, `
name: survival
duration: 60s
cluster:
  nodes: [{name: hp1}, {name: hp2}, {name: hp3}]
  totem: {token: 1000ms}
faults:
  - {at: 10s, action: crash, node: hp3}
  - {at: 10s, action: restart, node: hp3, after: 20s}
`)
	res := runOK(t, sc, Options{})
	if len(res.NodeSummary) != 3 {
		t.Fatalf("node summary %+v", res.NodeSummary)
	}
	hp3 := res.NodeSummary[2]
	if hp3.Node != "hp3" || hp3.Boots != 2 || hp3.DownMs != 20000 {
		t.Fatalf("hp3: %+v, want 2 boots and 20s down", hp3)
	}
	// Down 20s, then the rejoin: a few seconds at most with a 1s token.
	if hp3.NoQuorumMs < 20000 || hp3.NoQuorumMs > 26000 {
		t.Fatalf("hp3 without quorum %.0fms, want 20-26s", hp3.NoQuorumMs)
	}
	for _, n := range res.NodeSummary[:2] {
		if n.NoQuorumMs != 0 || n.Boots != 1 || len(n.ToQuorateRingMs) != 2 || n.ToQuorateRingMs[0] == nil {
			t.Fatalf("%s: %+v, want quorate throughout and a new ring after the crash", n.Node, n)
		}
	}
	m := regexp.MustCompile(`^all nodes quorate again ([0-9.]+) s after the last fault; hp3 was without quorum for ([0-9]+) s$`).
		FindStringSubmatch(res.Answer)
	if m == nil {
		t.Fatalf("answer %q", res.Answer)
	}
	// The last fault is the restart (applied at 10s); hp3 is back at 30s.
	if back, _ := strconv.ParseFloat(m[1], 64); back < 20 || back > 26 {
		t.Fatalf("answer %q: quorate again %v s after the restart fault, want 20-26", res.Answer, back)
	}
	var out bytes.Buffer
	if err := reports.WriteRun(&out, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"without quorum s", "F1 crash", "F2 restart", res.Answer} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the text output lacks %q:\n%s", want, out.String())
		}
	}
}
