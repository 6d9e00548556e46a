package sim

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/scenarios"
	"github.com/quorate/quorate/scenarios/journal"
)

// TestImportCreateAdd: the journals of a cluster built with create and
// two adds (each agent's start record carries the nodelist of its time)
// import into a scenario that joins the later nodes with add_node, and its
// replay goes through the recorded membership sequence.
func TestImportCreateAdd(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	conf := func(version uint64, names ...string) *journal.Config {
		c := &journal.Config{Format: journal.FormatVersion, ConfigVersion: version, LinkMode: "passive",
			Token: journal.Duration(time.Second), TokenCoefficient: journal.Duration(650 * time.Millisecond),
			Links: []journal.ConfigLink{{Number: 0, Priority: 1, Port: 5405}}}
		for i, n := range names {
			c.Nodes = append(c.Nodes, journal.ConfigNode{Name: n, ID: uint32(i + 1), Votes: 1,
				Addrs: map[string]string{"0": fmt.Sprintf("10.0.0.%d", i+1)}})
		}
		return c
	}
	var files []*journal.Journal
	add := func(node string, id uint32, recs ...journal.Record) {
		var lines []string
		var started time.Time
		for _, r := range recs {
			if r.Kind == journal.KindStart {
				started = r.Time
			}
			r.Mono, r.Cluster, r.Node, r.NodeID = int64(r.Time.Sub(started)+time.Millisecond), "lab", node, id
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, string(b))
		}
		j, err := journal.Parse(node+".jsonl", []byte(strings.Join(lines, "\n")+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, j)
	}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	yes, no := true, false
	link0 := 0
	add("hp1", 1,
		journal.Record{Time: at(0), Kind: journal.KindStart, Config: conf(1, "hp1")},
		journal.Record{Time: at(time.Second), Kind: journal.KindMembership, Ring: "1.4", Members: []string{"hp1"}},
		journal.Record{Time: at(time.Second), Kind: journal.KindQuorum, Quorate: &yes},
		journal.Record{Time: at(10 * time.Second), Kind: journal.KindQuorum, Quorate: &no},
		journal.Record{Time: at(11 * time.Second), Kind: journal.KindLinkUp, Peer: "hp2", Link: &link0},
		journal.Record{Time: at(11500 * time.Millisecond), Kind: journal.KindMembership, Ring: "1.8", Members: []string{"hp1", "hp2"}},
		journal.Record{Time: at(11500 * time.Millisecond), Kind: journal.KindQuorum, Quorate: &yes},
		journal.Record{Time: at(21500 * time.Millisecond), Kind: journal.KindMembership, Ring: "1.c", Members: []string{"hp1", "hp2", "hp3"}},
	)
	add("hp2", 2,
		journal.Record{Time: at(10 * time.Second), Kind: journal.KindStart, Config: conf(2, "hp1", "hp2")},
		journal.Record{Time: at(11500 * time.Millisecond), Kind: journal.KindMembership, Ring: "1.8", Members: []string{"hp1", "hp2"}},
		journal.Record{Time: at(11500 * time.Millisecond), Kind: journal.KindQuorum, Quorate: &yes},
		journal.Record{Time: at(21500 * time.Millisecond), Kind: journal.KindMembership, Ring: "1.c", Members: []string{"hp1", "hp2", "hp3"}},
	)
	add("hp3", 3,
		journal.Record{Time: at(20 * time.Second), Kind: journal.KindStart, Config: conf(3, "hp1", "hp2", "hp3")},
		journal.Record{Time: at(21500 * time.Millisecond), Kind: journal.KindMembership, Ring: "1.c", Members: []string{"hp1", "hp2", "hp3"}},
		journal.Record{Time: at(21500 * time.Millisecond), Kind: journal.KindQuorum, Quorate: &yes},
	)
	im, err := journal.Import(files, "")
	if err != nil {
		t.Fatal(err)
	}
	y := string(im.YAML)
	for _, want := range []string{"new_nodes:", "{at: 10s, action: add_node, node: hp2, on: hp1}", "{at: 20s, action: add_node, node: hp3, on: hp1}"} {
		if !strings.Contains(y, want) {
			t.Fatalf("imported scenario lacks %q:\n%s", want, y)
		}
	}
	sc, err := scenarios.Parse("trace-lab.yaml", im.YAML)
	if err != nil {
		t.Fatal(err)
	}
	res := runOK(t, sc, Options{})
	if !res.OK {
		t.Fatalf("replay failed: %s\n%s", res.Failure, y)
	}
	got := journal.Sequences{}
	for _, e := range res.Timeline {
		if e.Event == "membership" {
			got.Add(e.Node, e.Members)
		}
	}
	if d := im.Membership.Diff(got.From(im.Membership)); d != "" {
		t.Fatalf("the replay's membership differs: %s\nobserved:\n%s\nreplayed:\n%s\n%s", d, im.Membership, got, y)
	}
}
