package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testConfig is three (or more) nodes on two links, token 1s: effective
// token 1650ms for three nodes, knet ping every 412.5ms, timeout 825ms.
func testConfig(nodes ...string) *Config {
	c := &Config{Format: FormatVersion, ConfigVersion: 3, LinkMode: "passive",
		Token: Duration(time.Second), TokenCoefficient: Duration(650 * time.Millisecond),
		Links: []ConfigLink{{Number: 0, Priority: 1, Port: 5405}, {Number: 1, Priority: 1, Port: 5406}}}
	for i, n := range nodes {
		c.Nodes = append(c.Nodes, ConfigNode{Name: n, ID: uint32(i + 1), Votes: 1,
			Addrs: map[string]string{"0": fmt.Sprintf("10.0.0.%d", i+1), "1": fmt.Sprintf("10.0.1.%d", i+1)}})
	}
	return c
}

// jb builds one node's journal.
type jb struct {
	cluster, node string
	id            uint32
	cfg           *Config
	lines         []string
	started       time.Duration // of the current agent run, for mono_ns
}

func newJB(cfg *Config, node string) *jb {
	b := &jb{cluster: "lab", node: node, cfg: cfg}
	for _, n := range cfg.Nodes {
		if n.Name == node {
			b.id = n.ID
		}
	}
	return b
}

func (b *jb) rec(at time.Duration, r Record) *jb {
	if r.Kind == KindStart {
		b.started = at
	}
	r.Time, r.Mono, r.Cluster, r.Node, r.NodeID = t0.Add(at), int64(at-b.started+time.Millisecond), b.cluster, b.node, b.id
	line, err := json.Marshal(r)
	if err != nil {
		panic(err)
	}
	b.lines = append(b.lines, string(line))
	return b
}

func (b *jb) start(at time.Duration) *jb { return b.rec(at, Record{Kind: KindStart, Config: b.cfg}) }
func (b *jb) stop(at time.Duration) *jb  { return b.rec(at, Record{Kind: KindStop, Reason: "signal"}) }
func (b *jb) members(at time.Duration, ms ...string) *jb {
	return b.rec(at, Record{Kind: KindMembership, Ring: "1.4", Members: ms})
}
func (b *jb) link(at time.Duration, up bool, peer string, link int) *jb {
	k := KindLinkDown
	if up {
		k = KindLinkUp
	}
	return b.rec(at, Record{Kind: k, Peer: peer, Link: &link})
}
func (b *jb) quorate(at time.Duration, q bool) *jb {
	return b.rec(at, Record{Kind: KindQuorum, Quorate: &q})
}

func (b *jb) journal(t *testing.T) *Journal {
	t.Helper()
	j, err := Parse(b.node+".jsonl", []byte(strings.Join(b.lines, "\n")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// cut records a link cut between a and b on link seen by both sides
// (detected a ping timeout after at) and its repair (heal > at).
func cut(a, b *jb, link int, at, heal time.Duration) {
	const detect = 825 * time.Millisecond
	a.link(at+detect, false, b.node, link)
	b.link(at+detect+100*time.Millisecond, false, a.node, link)
	a.link(heal+400*time.Millisecond, true, b.node, link)
	b.link(heal+450*time.Millisecond, true, a.node, link)
}

func TestParse(t *testing.T) {
	cfg := testConfig("hp1", "hp2", "hp3")
	good := newJB(cfg, "hp1").start(0).members(time.Second, "hp1").lines
	other := newJB(cfg, "hp2").members(time.Second, "hp2").lines[0]
	for _, tt := range []struct {
		name    string
		src     string
		entries int
		torn    int
		err     string
	}{
		{"whole", good[0] + "\n" + good[1] + "\n", 2, 0, ""},
		{"torn last line", good[0] + "\n" + good[1] + "\n" + good[1][:20], 2, 1, ""},
		{"torn before a restart", good[0] + "\n" + good[1][:30] + "\n" + good[0] + "\n", 2, 1, ""},
		{"torn at the top, then a restart", good[1][:25] + "\n" + good[0] + "\n", 1, 1, ""},
		{"corrupt in the middle", good[0] + "\n" + good[1][:30] + "\n" + good[1] + "\n", 0, 0, "j.jsonl:2: corrupt line"},
		{"not a journal", "Nov 22 corosync[1]: [TOTEM ] A new membership\nmore\n", 0, 0, "j.jsonl:1: not a quorate journal"},
		{"unknown kind", `{"time":"2026-03-01T12:00:00Z","kind":"boom","node":"a","node_id":1}` + "\n", 0, 0, `j.jsonl:1: not a quorate journal: unknown record kind "boom"`},
		{"two nodes in a file", good[0] + "\n" + other + "\n", 0, 0, "j.jsonl:2: record of node hp2 (2) in the journal of node hp1 (1) at line 1"},
		{"start without config", `{"time":"2026-03-01T12:00:00Z","kind":"start","node":"a","node_id":1}` + "\n", 0, 0, "j.jsonl:1: not a quorate journal: start record without config"},
		{"empty", "", 0, 0, "j.jsonl: empty journal"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			j, err := Parse("j.jsonl", []byte(tt.src))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrInput) {
					t.Fatalf("err %v, want %q (an ErrInput)", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(j.Entries) != tt.entries || j.Torn != tt.torn {
				t.Errorf("%d entries, %d torn; want %d, %d", len(j.Entries), j.Torn, tt.entries, tt.torn)
			}
		})
	}
}

// TestImport builds journals of known incidents and checks the faults the
// importer chose; every imported scenario is also loaded by the scenario
// loader inside Import.
func TestImport(t *testing.T) {
	s := time.Second
	three := func() (*Config, []*jb) {
		cfg := testConfig("hp1", "hp2", "hp3")
		var bs []*jb
		for _, n := range []string{"hp1", "hp2", "hp3"} {
			bs = append(bs, newJB(cfg, n).start(0).members(s, "hp1", "hp2", "hp3").quorate(s, true))
		}
		return cfg, bs
	}
	for _, tt := range []struct {
		name  string
		build func() []*jb
		want  []string // lines of the scenario, in order
		not   []string
		seq   string // Membership.String()
	}{
		{
			name: "switch down and up",
			build: func() []*jb {
				_, b := three()
				for i := range b {
					for j := i + 1; j < len(b); j++ {
						cut(b[i], b[j], 0, 20*s, 30*s)
					}
				}
				for _, x := range b {
					x.stop(40 * s)
				}
				return b
			},
			want: []string{"duration: 35.45s", "{at: 20.106s, action: switch_down, switch: link0}", "{at: 29.369s, action: switch_up, switch: link0}",
				"{at: 35.45s, node: hp2, members: [hp1, hp2, hp3], quorate: true}"},
			not: []string{"action: crash"},
		},
		{
			name: "a switch outage shorter than the grouping window",
			build: func() []*jb {
				_, b := three()
				for i := range b {
					for j := i + 1; j < len(b); j++ {
						cut(b[i], b[j], 1, 20*s, 21*s)
					}
				}
				return b
			},
			want: []string{"{at: 20.106s, action: switch_down, switch: link1}", "{at: 20.369s, action: switch_up, switch: link1}"},
		},
		{
			// At 6.5s knet's backoff is still 4 (10 less one a second):
			// the links went down 4 x 825ms after their last pong.
			name: "a switch failure in the agents' first seconds",
			build: func() []*jb {
				_, b := three()
				for i := range b {
					for j := range b {
						if i != j {
							b[i].link(6500*time.Millisecond, false, b[j].node, 0)
						}
					}
				}
				return b
			},
			want: []string{"{at: 3.306s, action: switch_down, switch: link0}"},
		},
		{
			name: "a NIC down",
			build: func() []*jb {
				_, b := three()
				cut(b[1], b[0], 1, 20*s, 30*s)
				cut(b[1], b[2], 1, 20*s, 30*s)
				return b
			},
			want: []string{"{at: 20.106s, action: link_down, node: hp2, link: 1}", "{at: 29.369s, action: link_up, node: hp2, link: 1}"},
		},
		{
			name: "a node cut off, alone and inquorate",
			build: func() []*jb {
				_, b := three()
				for _, l := range []int{0, 1} {
					cut(b[2], b[0], l, 20*s, 30*s)
					cut(b[2], b[1], l, 20*s, 30*s)
				}
				b[0].members(24*s, "hp1", "hp2")
				b[1].members(24*s, "hp1", "hp2")
				b[2].members(24*s, "hp3").quorate(24*s, false)
				for _, x := range b {
					x.members(32*s, "hp1", "hp2", "hp3")
				}
				b[2].quorate(32*s, true)
				return b
			},
			want: []string{"{at: 20.106s, action: isolate, node: hp3}", "{at: 29.369s, action: heal}"},
			seq: "hp1: {hp1,hp2,hp3} → {hp1,hp2} → {hp1,hp2,hp3}\nhp2: {hp1,hp2,hp3} → {hp1,hp2} → {hp1,hp2,hp3}\n" +
				"hp3: {hp1,hp2,hp3} → {hp3} → {hp1,hp2,hp3}\n",
		},
		{
			name: "crash and restart",
			build: func() []*jb {
				_, b := three()
				b[1].members(10*s, "hp1", "hp2", "hp3") // last record before the kill
				// The peers' first link_down is half a heartbeat pass after
				// the kill: the killed agent's ports answer with ICMP.
				b[0].link(15*s+825*time.Millisecond, false, "hp2", 0).link(15*s+825*time.Millisecond, false, "hp2", 1)
				b[2].link(15*s+900*time.Millisecond, false, "hp2", 0).link(15*s+900*time.Millisecond, false, "hp2", 1)
				b[1].start(40*s).members(42*s, "hp1", "hp2", "hp3")
				b[0].link(41*s, true, "hp2", 0)
				return b
			},
			want: []string{"# hp2: journal ends without a stop record at hp2.jsonl:4; peers lost it",
				"{at: 15.725s, action: crash, node: hp2}", "{at: 40s, action: restart, node: hp2}"},
			not: []string{"isolate", "switch_down", "partition"},
		},
		{
			name: "stop and start",
			build: func() []*jb {
				_, b := three()
				b[2].stop(10 * s).start(12 * s)
				return b
			},
			want: []string{"# hp3: agent stopped (hp3.jsonl:4, signal)", "{at: 10s, action: crash, node: hp3}", "{at: 12s, action: restart, node: hp3}"},
		},
		{
			name: "a crash without restart",
			build: func() []*jb {
				_, b := three()
				b[0].link(21*s, false, "hp3", 0).link(21*s, false, "hp3", 1)
				b[1].link(21*s, false, "hp3", 0).link(21*s, false, "hp3", 1)
				return b
			},
			want: []string{"{at: 20.9s, action: crash, node: hp3}"},
			not:  []string{"node: hp3, members"},
		},
		{
			name: "a partition of four on one link, drops on the other",
			build: func() []*jb {
				cfg := testConfig("a", "b", "c", "d")
				var b []*jb
				for _, n := range []string{"a", "b", "c", "d"} {
					b = append(b, newJB(cfg, n).start(0))
				}
				for _, p := range [][2]int{{0, 2}, {0, 3}, {1, 2}, {1, 3}} {
					cut(b[p[0]], b[p[1]], 0, 20*s, 30*s)
				}
				cut(b[0], b[1], 1, 20*s, 30*s)
				return b
			},
			// Four nodes: effective token 2300ms, ping timeout 1150ms,
			// interval 575ms: the cut is placed 1150 - 287.5 + 100 ms
			// before the first link down.
			want: []string{"{at: 19.863s, action: drop, from: [a, b], to: [b, a], links: [1]}",
				"{at: 19.863s, action: partition, groups: [[a, b], [c, d]], links: [0]}", "{at: 28.963s, action: heal}"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var js []*Journal
			for _, b := range tt.build() {
				js = append(js, b.journal(t))
			}
			im, err := Import(js, "")
			if err != nil {
				t.Fatal(err)
			}
			y := string(im.YAML)
			rest := y
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("scenario lacks %q (in this order):\n%s", w, y)
				}
				rest = rest[i+len(w):]
			}
			for _, n := range tt.not {
				if strings.Contains(y, n) {
					t.Errorf("scenario has %q:\n%s", n, y)
				}
			}
			if tt.seq != "" && im.Membership.String() != tt.seq {
				t.Errorf("membership\n%s\nwant\n%s", im.Membership, tt.seq)
			}
			if im.Scenario.Name != "trace-lab" || len(im.Scenario.Cluster.Nodes) < 3 || im.Scenario.Cluster.Totem.Token != time.Second {
				t.Errorf("scenario %s: %+v", im.Scenario.Name, im.Scenario.Cluster)
			}
		})
	}
}

func TestImportBadInput(t *testing.T) {
	cfg := testConfig("hp1", "hp2", "hp3")
	a := newJB(cfg, "hp1").start(0)
	b := newJB(cfg, "hp2").start(0)
	b.cluster = "other"
	b.lines = nil
	b.start(0).members(time.Second, "hp2")
	noStart := newJB(cfg, "hp3").members(time.Second, "hp3")
	stranger := newJB(cfg, "hp1").start(0)
	stranger.node, stranger.lines = "zz9", nil
	stranger.members(time.Second, "zz9")
	for _, tt := range []struct {
		name string
		js   []*jb
		err  string
	}{
		{"mixed clusters", []*jb{a, b}, `hp2.jsonl:1: record of cluster "other", but hp1.jsonl:1 is of cluster "lab"`},
		{"no start record", []*jb{noStart}, "hp3.jsonl: no start record in any journal"},
		{"node not in the nodelist", []*jb{a, stranger}, `zz9.jsonl:1: node "zz9" is not in the nodelist of the start record at hp1.jsonl:1`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var js []*Journal
			for _, b := range tt.js {
				js = append(js, b.journal(t))
			}
			_, err := Import(js, "")
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, ErrInput) {
				t.Fatalf("err %v, want %q", err, tt.err)
			}
		})
	}
}

func TestSequencesDiff(t *testing.T) {
	want := Sequences{}
	want.Add("a", []string{"b", "a"})
	want.Add("a", []string{"a", "b"}) // same set: not a change
	want.Add("a", []string{"a"})
	for _, tt := range []struct {
		got  [][]string
		diff string
	}{
		{[][]string{{"a", "b"}, {"a"}}, ""},
		{[][]string{{"a", "b"}}, "a: missing change {a} after {a,b}"},
		{[][]string{{"a", "b"}, {"a"}, {"a", "b"}}, "a: extra change {a,b} after {a,b} → {a}"},
		{[][]string{{"a", "b"}, {"b"}}, "a: change 2 is {b}, want {a}"},
	} {
		got := Sequences{}
		for _, s := range tt.got {
			got.Add("a", s)
		}
		if d := want.Diff(got); !strings.HasPrefix(d, tt.diff) || (tt.diff == "" && d != "") {
			t.Errorf("%v: diff %q, want %q", tt.got, d, tt.diff)
		}
	}
}

// TestImportRotatedAndRepeated: a node's journal in two files (rotated),
// given newest first and one of them twice, reads as the one journal.
func TestImportRotatedAndRepeated(t *testing.T) {
	cfg := testConfig("hp1", "hp2", "hp3")
	var js []*Journal
	var whole *Journal
	for _, n := range []string{"hp1", "hp2", "hp3"} {
		b := newJB(cfg, n).start(0).members(time.Second, "hp1", "hp2", "hp3").quorate(time.Second, true).
			members(20*time.Second, "hp1", "hp2", "hp3")
		if n != "hp1" {
			js = append(js, b.journal(t))
			continue
		}
		whole = b.journal(t)
		old, err := Parse("hp1.jsonl.1", []byte(strings.Join(b.lines[:2], "\n")+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		cur, err := Parse("hp1.jsonl", []byte(strings.Join(b.lines[2:], "\n")+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		js = append(js, cur, old, cur)
	}
	im, err := Import(js, "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(im.YAML), "action:") {
		t.Errorf("faults from a rotated journal:\n%s", im.YAML)
	}
	ref, err := Import([]*Journal{whole, js[3], js[4]}, "")
	if err != nil {
		t.Fatal(err)
	}
	if d := ref.Membership.Diff(im.Membership); d != "" || len(im.Membership["hp1"]) != 1 {
		t.Errorf("membership of the rotated journal: %s\n%s", d, im.Membership)
	}
}

// TestImportStaggersSimultaneousStarts: nodes whose first start records
// carry the same instant boot startStep apart in nodelist order, whatever
// the order of the files, and the scenario says so; a node that started
// at an instant of its own keeps it.
func TestImportStaggersSimultaneousStarts(t *testing.T) {
	cfg := testConfig("hp1", "hp2", "hp3", "hp4")
	var js []*Journal
	for _, n := range []string{"hp3", "hp1", "hp4", "hp2"} {
		at := time.Duration(0)
		if n == "hp4" {
			at = 5 * time.Millisecond
		}
		js = append(js, newJB(cfg, n).start(at).members(time.Second, "hp1", "hp2", "hp3", "hp4").journal(t))
	}
	im, err := Import(js, "")
	if err != nil {
		t.Fatal(err)
	}
	y := string(im.YAML)
	for _, want := range []string{
		"{name: hp1, id: 1, votes: 1}",
		"{name: hp2, id: 2, votes: 1, boot_at: 10ms}",
		"{name: hp3, id: 3, votes: 1, boot_at: 20ms}",
		"{name: hp4, id: 4, votes: 1, boot_at: 5ms}",
		"start of hp2, hp3 to the same instant",
	} {
		if !strings.Contains(y, want) {
			t.Errorf("the scenario lacks %q:\n%s", want, y)
		}
	}
}
