package agent

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/scenarios/corosyncconf"
	"github.com/quorate/quorate/scenarios/journal"
)

// TestRecorderFile: a fragment left by a killed agent is closed by a
// newline, so that only it is lost; records are whole lines; the file
// rotates to .1 at the limit.
func TestRecorderFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	if err := os.WriteFile(path, []byte(`{"time":"2026-03-01T12:00:00Z","kind":"li`), 0o600); err != nil {
		t.Fatal(err)
	}
	base := journal.Record{Cluster: "lab", Node: "alpha", NodeID: 1}
	r, err := openRecorder(path, 0, base, time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	r.write(journal.Record{Kind: journal.KindStart, Config: &journal.Config{Format: journal.FormatVersion}})
	for range 3 {
		r.quorum(true, 3, 3, 2) // one record: the numbers change once
	}
	r.event(&cluster{names: map[wire.NodeID]string{2: "bravo"}}, wire.Event{Kind: wire.EventLinkDown, Peer: 2, Link: 1})
	j, err := journal.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if j.Torn != 1 || len(j.Entries) != 3 {
		t.Fatalf("%d entries, %d torn; want 3 and 1", len(j.Entries), j.Torn)
	}
	down := j.Entries[2]
	if down.Kind != journal.KindLinkDown || down.Peer != "bravo" || *down.Link != 1 || down.Node != "alpha" || down.Mono <= 0 {
		t.Errorf("link down record: %+v", down.Record)
	}
	r.max = 600
	for i := range 10 {
		r.quorum(i%2 == 0, 3, 3, 2)
	}
	r.close()
	old, err := journal.ReadFile(path + ".1")
	if err != nil {
		t.Fatalf("no rotated file: %v", err)
	}
	cur, err := journal.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + ".1"} {
		if fi, _ := os.Stat(f); fi.Size() > 600 {
			t.Errorf("%s has %d bytes, limit 600", f, fi.Size())
		}
	}
	if cur.Torn != 0 || old.Torn != 0 || len(cur.Entries) == 0 {
		t.Errorf("after rotation: %d+%d entries, torn %d+%d", len(old.Entries), len(cur.Entries), old.Torn, cur.Torn)
	}
}

// TestLoopJournal: the loops' journals record the ring forming, a peer's
// crash as link downs and a membership and quorum change, and nothing of
// the protocol's chatter.
func TestLoopJournal(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		_, net, nodes := startMemCluster(t, 1, func(n *memNode, conf *corosyncconf.Config, l *loop) {
			rec, err := openRecorder(filepath.Join(dir, n.name+".jsonl"), 0,
				journal.Record{Cluster: conf.ClusterName, Node: n.name, NodeID: uint32(l.cl.selfID)}, l.start, l.log)
			if err != nil {
				t.Fatal(err)
			}
			rec.write(journal.Record{Kind: journal.KindStart, Config: journalConfig(conf, l.cl)})
			l.rec = rec
		})
		for _, n := range nodes {
			eventually(t, n.name+" quorate with 3", quorateWith(n, 3, 3))
		}
		if err := stopMem(net, nodes[2]); err != nil {
			t.Fatal(err)
		}
		eventually(t, "alpha quorate with 2", quorateWith(nodes[0], 2, 3))
		eventually(t, "alpha's links to charlie down", func() (bool, string) {
			for _, p := range request(nodes[0], Request{Cmd: CmdLinks}).Links.Peers {
				if p.Name == "charlie" {
					return p.Active == -1, p.Name
				}
			}
			return false, "no charlie"
		})
		for _, n := range nodes[:2] {
			if err := stopMem(net, n); err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range nodes {
			n.l.rec.close()
		}
	})
	j, err := journal.ReadFile(filepath.Join(dir, "alpha.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var kinds, members []string
	for _, e := range j.Entries {
		kinds = append(kinds, string(e.Kind))
		if e.Kind == journal.KindMembership {
			members = append(members, strings.Join(e.Members, ","))
		}
	}
	got := strings.Join(kinds, " ")
	for _, want := range []string{"start", "link_up", "active_link", "membership", "quorum", "link_down"} {
		if !strings.Contains(got, want) {
			t.Errorf("alpha's journal has no %s record: %s", want, got)
		}
	}
	if last := members[len(members)-1]; last != "alpha,bravo" || !strings.Contains(strings.Join(members, " "), "alpha,bravo,charlie") {
		t.Errorf("alpha's memberships: %v", members)
	}
	cfg := j.Entries[0].Config
	if len(cfg.Nodes) != 3 || cfg.Nodes[1].Name != "bravo" || cfg.Nodes[1].Addrs["0"] == "" || len(cfg.Links) == 0 || cfg.Token == 0 {
		t.Errorf("start record's config: %+v", cfg)
	}
}
