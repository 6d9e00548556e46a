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
// importT0 is 0s of the hand-written journals below.
var importT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// importConf is the start or config record's summary of a corosync.conf
// listing names (node ids from 1), one link.
func importConf(version uint64, device string, names ...string) *journal.Config {
	c := &journal.Config{Format: journal.FormatVersion, ConfigVersion: version, LinkMode: "passive",
		Token: journal.Duration(time.Second), TokenCoefficient: journal.Duration(650 * time.Millisecond),
		Links: []journal.ConfigLink{{Number: 0, Priority: 1, Port: 5405}}, Device: device != "", DeviceAlgorithm: device}
	for _, n := range names {
		id := uint32(n[len(n)-1] - '0')
		c.Nodes = append(c.Nodes, journal.ConfigNode{Name: n, ID: id, Votes: 1,
			Addrs: map[string]string{"0": fmt.Sprintf("10.0.0.%d", id)}})
	}
	return c
}

// importJournal is node's journal of recs, as its agent writes it.
func importJournal(t *testing.T, node string, id uint32, recs ...journal.Record) *journal.Journal {
	t.Helper()
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
	return j
}

// replayImport imports files, requires the scenario to hold wants, runs
// it and requires the replay to go through the recorded membership
// sequence.
func replayImport(t *testing.T, files []*journal.Journal, wants ...string) {
	t.Helper()
	im, err := journal.Import(files, "")
	if err != nil {
		t.Fatal(err)
	}
	y := string(im.YAML)
	for _, want := range wants {
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
	if res.Stats.Refused != 0 {
		t.Fatalf("the replay refused %d of the recorded operator actions: %+v\n%s", res.Stats.Refused, res.Responses, y)
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

func TestImportCreateAdd(t *testing.T) {
	var files []*journal.Journal
	add := func(node string, id uint32, recs ...journal.Record) {
		files = append(files, importJournal(t, node, id, recs...))
	}
	conf := func(version uint64, names ...string) *journal.Config { return importConf(version, "", names...) }
	at := func(d time.Duration) time.Time { return importT0.Add(d) }
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
	replayImport(t, files, "new_nodes:", "{at: 10s, action: add_node, node: hp2, on: hp1}", "{at: 20s, action: add_node, node: hp3, on: hp1}")
}

// TestImportDelnodeQdevice: the journals of a four-node cluster whose
// quorum device is set up and removed (config records with and without
// it) and whose hp4 is then removed (hp4's agent stopped by hp1, the
// others install the nodelist without it) import into qdevice_setup,
// qdevice_remove and delnode, and the replay goes through the recorded
// membership sequence.
func TestImportDelnodeQdevice(t *testing.T) {
	at := func(d time.Duration) time.Time { return importT0.Add(d) }
	yes := true
	all := []string{"hp1", "hp2", "hp3", "hp4"}
	var files []*journal.Journal
	for i, n := range all {
		id := uint32(i + 1)
		recs := []journal.Record{
			{Time: at(time.Duration(i) * 10 * time.Millisecond), Kind: journal.KindStart, Config: importConf(1, "", all...)},
			{Time: at(time.Second), Kind: journal.KindMembership, Ring: "1.4", Members: all},
			{Time: at(time.Second), Kind: journal.KindQuorum, Quorate: &yes},
			{Time: at(10*time.Second + time.Duration(i)*time.Millisecond), Kind: journal.KindConfig, Config: importConf(2, "ffsplit", all...)},
			{Time: at(20*time.Second + time.Duration(i)*time.Millisecond), Kind: journal.KindConfig, Config: importConf(3, "", all...)},
		}
		if n == "hp4" {
			recs = append(recs, journal.Record{Time: at(30 * time.Second), Kind: journal.KindStop,
				Reason: journal.StopRemoved + " by hp1", Peer: "hp1", PeerID: 1})
		} else {
			recs = append(recs,
				journal.Record{Time: at(32 * time.Second), Kind: journal.KindMembership, Ring: "1.8", Members: all[:3]},
				journal.Record{Time: at(32*time.Second + time.Duration(i)*time.Millisecond), Kind: journal.KindConfig, Config: importConf(4, "", all[:3]...)},
				journal.Record{Time: at(40 * time.Second), Kind: journal.KindQuorum, Quorate: &yes})
		}
		files = append(files, importJournal(t, n, id, recs...))
	}
	replayImport(t, files, "corosync_conf: |", "{at: 10s, action: qdevice_setup, on: hp1, algorithm: ffsplit}",
		"{at: 20s, action: qdevice_remove, on: hp1}", "{at: 30s, action: delnode, node: hp4, on: hp1}")
}

// TestImportAgentConfChanges imports the journals three agents wrote
// (testdata/journals/conf-changes): alpha created the cluster, bravo and
// charlie were added, a quorum device was set up (lms, forced on three
// nodes) and removed live, and charlie was removed with delnode while it
// ran. The scenario carries each of these changes, and its replay goes
// through the recorded member sets.
func TestImportAgentConfChanges(t *testing.T) {
	var files []*journal.Journal
	for _, n := range []string{"alpha", "bravo", "charlie"} {
		j, err := journal.ReadFile("testdata/journals/conf-changes/" + n + ".jsonl")
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, j)
	}
	replayImport(t, files, "action: add_node, node: bravo, on: alpha", "action: add_node, node: charlie, on: alpha",
		"action: qdevice_setup, on: alpha, algorithm: lms, force: true", "action: qdevice_remove, on: alpha",
		"action: delnode, node: charlie, on: alpha")
}

// TestImportDeviceAtStart: a cluster that started with a quorum device
// (ffsplit) and removed it imports with the device in the scenario's
// corosync.conf and quorum section, and a qdevice_remove the replay
// carries out.
func TestImportDeviceAtStart(t *testing.T) {
	at := func(d time.Duration) time.Time { return importT0.Add(d) }
	yes := true
	all := []string{"hp1", "hp2", "hp3", "hp4"}
	var files []*journal.Journal
	for i, n := range all {
		files = append(files, importJournal(t, n, uint32(i+1),
			journal.Record{Time: at(time.Duration(i) * 10 * time.Millisecond), Kind: journal.KindStart, Config: importConf(1, "ffsplit", all...)},
			journal.Record{Time: at(time.Second), Kind: journal.KindMembership, Ring: "1.4", Members: all},
			journal.Record{Time: at(time.Second), Kind: journal.KindQuorum, Quorate: &yes},
			journal.Record{Time: at(10*time.Second + time.Duration(i)*time.Millisecond), Kind: journal.KindConfig, Config: importConf(2, "", all...)},
			journal.Record{Time: at(15 * time.Second), Kind: journal.KindQuorum, Quorate: &yes}))
	}
	replayImport(t, files, "device: {algorithm: ffsplit}", "      algorithm: ffsplit", "{at: 10s, action: qdevice_remove, on: hp1}")
}
