package corolog

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParse: the log reader never panics on any bytes, and what it keeps
// is a line it can name.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"Dec 06 19:07:41.133 [13354] vm corosync notice  [MAIN  ] Corosync Cluster Engine 3.1.7 starting up\n",
		"Dec  6 19:07:50 pve2 corosync[1662]:   [KNET  ] link: host: 3 link: 1 is down\n",
		"2026-12-06T19:07:54.533412+00:00 pve1 corosync[812]:   [TOTEM ] A new membership (1.d) was formed. Members left: 2 3\n",
		"Dec 06 10:00:03 pve1 pmxcfs[977]: [dcdb] notice: members: 1/977, 2/1021\n",
		"-- Boot 1234 --\nDec 06 10:00:00 pve1 corosync[812]:   [TOTEM ] Retransmit List: 1a ff\n",
	} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "incidents", "switch-1link", "node1.log")); err == nil {
		f.Add(b[:min(len(b), 4096)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lg, err := Parse("fuzz", data, Options{Year: 2026, Location: time.UTC})
		if err != nil {
			return
		}
		for _, e := range lg.Events {
			if e.Num < 1 || e.Prog == "" || e.Kind.String() == "" || e.Format == FormatUnknown {
				t.Fatalf("kept a line it cannot name: %+v", e)
			}
		}
	})
}
