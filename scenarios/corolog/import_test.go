package corolog_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/scenarios/corolog"
	"github.com/quorate/quorate/scenarios/corosyncconf"
	"github.com/quorate/quorate/scenarios/journal"
	"github.com/quorate/quorate/sim"
)

const incidents = "testdata/incidents"

func importFiles(t *testing.T, conf string, files ...string) (*corolog.Incident, error) {
	t.Helper()
	c, err := corosyncconf.Load(filepath.Join(incidents, conf))
	if err != nil {
		t.Fatal(err)
	}
	var logs []*corolog.Log
	for _, f := range files {
		if !filepath.IsAbs(f) {
			f = filepath.Join(incidents, f)
		}
		lg, err := corolog.ReadFile(f, corolog.Options{Year: 2026})
		if err != nil {
			return nil, err
		}
		logs = append(logs, lg)
	}
	return corolog.Import(c, logs, corolog.ImportOptions{})
}

// TestRecordedIncidents: the incidents recorded from real Corosync
// (scripts/corosync/record_incidents.sh), in every log shape, import as
// the faults that were made, and the simulator replays them through the
// member sets the logs recorded.
func TestRecordedIncidents(t *testing.T) {
	nodes := func(dir string, n int) []string {
		var fs []string
		for i := 1; i <= n; i++ {
			fs = append(fs, dir+"/node"+string(rune('0'+i))+".log")
		}
		return fs
	}
	forms := func(prefix string) []string {
		return []string{"forms/" + prefix + ".node1", "forms/" + prefix + ".node2", "forms/" + prefix + ".node3"}
	}
	// The logs of switch-1link without their first 60 lines: rotated logs
	// that begin with the cluster formed, just before the failure.
	rotated := t.TempDir()
	var late []string
	for i := 1; i <= 3; i++ {
		b, err := os.ReadFile(filepath.Join(incidents, "switch-1link", "node"+string(rune('0'+i))+".log"))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(rotated, "log"+string(rune('0'+i)))
		if err := os.WriteFile(p, []byte(strings.Join(strings.SplitAfter(string(b), "\n")[60:], "")), 0o644); err != nil {
			t.Fatal(err)
		}
		late = append(late, p)
	}
	switch1 := []string{"action: switch_down, switch: link0", "action: switch_up, switch: link0"}
	crash := []string{"action: crash, node: node3", "action: restart, node: node3", "action: crash, node: node2", "action: restart, node: node2"}
	for _, tt := range []struct {
		name, conf string
		files      []string
		faults     []string // in this order
		seq        string   // node1's observed sequence
	}{
		{"switch-1link", "switch-1link/corosync.conf", nodes("switch-1link", 3), switch1,
			"{node1,node2,node3} → {node1} → {node1,node2,node3}"},
		{"switch-1link short-precise", "switch-1link/corosync.conf", []string{"forms/switch-1link.short-precise.journal"}, switch1,
			"{node1,node2,node3} → {node1} → {node1,node2,node3}"},
		{"switch-1link short-iso", "switch-1link/corosync.conf", []string{"forms/switch-1link.short-iso.journal"}, switch1,
			"{node1,node2,node3} → {node1} → {node1,node2,node3}"},
		{"switch-1link syslog", "switch-1link/corosync.conf", forms("switch-1link.syslog"), switch1,
			"{node1,node2,node3} → {node1} → {node1,node2,node3}"},
		{"switch-1link logfile without hires", "switch-1link/corosync.conf", forms("switch-1link.logfile"), switch1,
			"{node1,node2,node3} → {node1} → {node1,node2,node3}"},
		{"switch-1link rotated", "switch-1link/corosync.conf", late, switch1,
			"{node1,node2,node3} → {node1} → {node1,node2,node3}"},
		{"switch-2link", "switch-2link/corosync.conf", nodes("switch-2link", 3),
			[]string{"action: switch_down, switch: link0", "action: switch_up, switch: link0"}, "{node1,node2,node3}"},
		{"partition", "partition/corosync.conf", nodes("partition", 5),
			[]string{"action: partition, groups: [[node1, node2], [node3, node4, node5]], links: [0]",
				"action: partition, groups: [[node1, node2], [node3, node4, node5]], links: [1]", "action: heal"},
			"{node1,node2,node3,node4,node5} → {node1,node2} → {node1,node2,node3,node4,node5}"},
		{"crash-restart", "crash-restart/corosync.conf", nodes("crash-restart", 3), crash,
			"{node1,node2,node3} → {node1,node2} → {node1,node2,node3} → {node1,node3} → {node1,node2,node3}"},
		{"loss", "loss/corosync.conf", nodes("loss", 3),
			[]string{"action: set_loss, link: 0, loss: 0.", "action: set_loss, link: 0, loss: 0}",
				"action: set_loss, link: 0, loss: 0.", "action: set_loss, link: 0, loss: 0}"},
			"{node1,node2,node3}"},
		{"crash-restart short", "crash-restart/corosync.conf", []string{"forms/crash-restart.short.journal"}, crash,
			"{node1,node2,node3} → {node1,node2} → {node1,node2,node3} → {node1,node3} → {node1,node2,node3}"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in, err := importFiles(t, tt.conf, tt.files...)
			if err != nil {
				t.Fatal(err)
			}
			y := string(in.YAML)
			if how := strings.Join(in.Nodes["node2"], " "); tt.name == "switch-1link rotated" && !strings.Contains(how, "the one member knet never calls a peer") {
				t.Errorf("node2 of the rotated logs recognised by %q; want by elimination", how)
			}
			pos := 0
			for _, f := range tt.faults {
				i := strings.Index(y[pos:], f)
				if i < 0 {
					t.Fatalf("the scenario lacks %q after offset %d:\n%s", f, pos, y)
				}
				pos += i + len(f)
			}
			if n := len(in.Scenario.Faults); n != len(tt.faults) {
				t.Errorf("%d faults, want %d:\n%s", n, len(tt.faults), y)
			}
			for n, seq := range in.Membership {
				if len(in.MembershipAt[n]) != len(seq) {
					t.Errorf("%s: %d change times for %d changes", n, len(in.MembershipAt[n]), len(seq))
				}
			}
			if got := seqOf(in.Membership, "node1"); got != tt.seq {
				t.Errorf("node1's observed sequence %s, want %s", got, tt.seq)
			}
			for _, c := range in.Clocks {
				if c.Residual > 50*time.Millisecond || c.Offset != 0 {
					t.Errorf("clock %s: the nodes share one clock; want offset 0 within 50ms", c)
				}
			}
			res, err := sim.Run(in.Scenario, sim.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK {
				t.Errorf("the replay fails: %s\n%s", res.Failure, y)
			}
			got := journal.Sequences{}
			for _, e := range res.Timeline {
				if e.Event == "membership" {
					got.Add(e.Node, e.Members)
				}
			}
			got = got.From(in.Membership)
			if d := in.Membership.Diff(got); d != "" {
				t.Errorf("the replay's membership differs: %s\nobserved:\n%ssimulated:\n%s\n%s", d, in.Membership, got, y)
			}
			gotQ := journal.Verdicts{}
			for _, e := range res.Timeline {
				if e.Quorate != nil {
					gotQ.Add(e.Node, *e.Quorate)
				}
			}
			if d := in.Quorum.Diff(gotQ.From(in.Quorum)); d != "" || len(in.Quorum) == 0 {
				t.Errorf("the replay's quorum verdicts differ: %q\nobserved:\n%ssimulated:\n%s", d, in.Quorum, gotQ)
			}
		})
	}
}

func seqOf(s journal.Sequences, n string) string {
	parts := []string{}
	for _, set := range s[n] {
		parts = append(parts, "{"+strings.Join(set, ",")+"}")
	}
	return strings.Join(parts, " → ")
}

// TestImportBadInput: what cannot be imported says where and what to
// supply.
func TestImportBadInput(t *testing.T) {
	for _, tt := range []struct {
		name, conf string
		files      []string
		want       string
	}{
		{"not corosync", "switch-1link/corosync.conf", []string{"switch-1link/corosync.conf"}, "switch-1link/corosync.conf:1: not a Corosync log"},
		{"node not in nodelist", "crash-restart/corosync.conf", []string{"partition/node4.log"}, "is not in the nodelist"},
	} {
		_, err := importFiles(t, tt.conf, tt.files...)
		if err == nil || !errors.Is(err, corolog.ErrInput) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want ErrInput with %q", tt.name, err, tt.want)
		}
	}
}
