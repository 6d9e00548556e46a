package scenarios

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const ms = time.Millisecond

func ptr[T any](v T) *T { return &v }

// stripPositions clears what TestFull checks separately, so the rest can be
// compared with reflect.DeepEqual.
func stripPositions(s *Scenario) {
	s.Path, s.Source, s.positions = "", nil, nil
	for i := range s.Cluster.Nodes {
		s.Cluster.Nodes[i].Pos = Position{}
	}
	for i := range s.Network.Links {
		s.Network.Links[i].Pos = Position{}
	}
	for i := range s.Faults {
		s.Faults[i].Pos, s.Faults[i].Index = Position{}, 0
	}
	for i := range s.Expect {
		s.Expect[i].Pos, s.Expect[i].Text = Position{}, ""
	}
}

func fullWant() *Scenario {
	normal := Distribution{Dist: "normal", Mean: 2 * ms, Stddev: 500 * time.Microsecond}
	return &Scenario{
		Name: "full-example", Description: "exercises every key of the format",
		Seed: 18446744073709551615, Duration: 2 * time.Minute,
		Cluster: Cluster{
			Name: "prod-central", CorosyncConf: "./corosync.conf",
			Nodes: []Node{
				{Name: "hp1", ID: 10, Votes: 2},
				{Name: "hp2", ID: 2, Votes: 1},
				{Name: "hp3", ID: 3, Votes: 1, BootAt: 40 * time.Second},
				{Name: "hp4", ID: 4, Votes: 0},
			},
			Totem: Totem{Token: 1000 * ms, TokenCoefficient: 0, Consensus: 1500 * ms, Join: 60 * ms,
				Merge: 250 * ms, MaxMessages: 20, WindowSize: 60, TokenRetransmit: 240 * ms, Hold: 180 * ms,
				TokenRetransmitsBeforeLossConst: 5, SendJoin: 10 * ms, MissCountConst: 6,
				SeqnoUnchangedConst: 31, FailRecvConst: 2000},
			Quorum: Quorum{ExpectedVotes: 5, WaitForAll: true, WaitForAllSet: true, LastManStanding: true,
				LastManStandingWindow: 20 * time.Second, AutoTieBreaker: true,
				AutoTieBreakerNode: "list", AutoTieBreakerNodeList: []uint32{10, 3},
				Device: &Device{Algorithm: "lms", TieBreaker: "2", Votes: 3, Latency: normal}},
			PacketCost: DefaultPacketCost,
		},
		Network: Network{LinkMode: "active", Links: []Link{
			{Number: 0, Switch: "sw0", Priority: 15, Loss: 0.001, PongCount: 2,
				Latency: Distribution{Dist: "uniform", Min: 100 * time.Microsecond, Max: 300 * time.Microsecond}},
			{Number: 1, Switch: "sw1", Priority: 20, Duplicate: 0.01, Reorder: true,
				PingInterval: 500 * ms, PingTimeout: time.Second, PongCount: 3,
				Latency: Distribution{Dist: "constant", Value: 500 * time.Microsecond}},
		}},
		Workload: &Workload{Kind: "kv", Clients: []string{"hp1", "hp2"}, Rate: 200, Keys: 16,
			Mix: Mix{Read: 0.25, Write: 0.5, Cas: 0.25}, ReadMode: "local", Timeout: 2 * time.Second,
			Guests: []Guest{{Name: "vm100", Node: "hp1", Onboot: true}, {Name: "ct200", Node: "hp2"}}},
		Faults: []Fault{
			{At: 10 * time.Second, Action: "crash", Node: "hp1"},
			{At: 10 * time.Second, Action: "set_latency", Link: 1,
				Latency: &Distribution{Dist: "pareto", Min: ms, Alpha: 1.5}},
			{At: 12 * time.Second, Action: "power_off", Nodes: []string{"hp3", "hp4"}},
			{At: 13 * time.Second, Action: "cold_start",
				Boot: &Distribution{Dist: "lognormal", Median: 20 * time.Second, Sigma: 0.3}},
			{At: 14 * time.Second, Action: "partition", Groups: [][]string{{"hp1", "hp2"}, {"hp3"}}, Links: []int{0}},
			{At: 15 * time.Second, Action: "isolate", Node: "hp4", Links: []int{0, 1}},
			{At: 16 * time.Second, Action: "drop", From: []string{"hp1"}, To: []string{"hp2", "hp3"}},
			{At: 17 * time.Second, Action: "heal"},
			{At: 18 * time.Second, Action: "switch_down", Switch: "sw0"},
			{At: 19 * time.Second, Action: "switch_up", Switch: "sw0"},
			{At: 20 * time.Second, Action: "link_down", Node: "hp2", Link: 1},
			{At: 21 * time.Second, Action: "link_up", Node: "hp2", Link: 1},
			{At: 22 * time.Second, Action: "set_latency", Link: 0, Nodes: []string{"hp1"},
				Latency: &Distribution{Dist: "exponential", Mean: ms}},
			{At: 23 * time.Second, Action: "set_loss", Link: 1, Loss: 0.5},
			{At: 24 * time.Second, Action: "set_expected", Node: "hp2", Votes: 1},
			{At: 25 * time.Second, Action: "delnode", Node: "hp4", On: "hp1"},
			{At: 26 * time.Second, Action: "qnetd_down"},
			{At: 27 * time.Second, Action: "qnetd_up"},
			{At: 50 * time.Second, Action: "restart", Node: "hp1", After: 5 * time.Second},
		},
		Expect: []Expect{
			{At: ptr(15 * time.Second), Node: "hp1", Quorate: ptr(false)},
			{By: ptr(20 * time.Second), Nodes: []string{"hp1", "hp2", "hp3"}, Quorate: ptr(true),
				Members: []string{"hp1", "hp2", "hp3"}, Window: [2]time.Duration{19 * time.Second, 20 * time.Second},
				Anchor: "faults[9] switch_up at 19s"},
			{During: &[2]time.Duration{41 * time.Second, 59 * time.Second}, Node: "hp2", Quorate: ptr(true)},
			{At: ptr(30 * time.Second), Node: "hp1", TotalVotes: ptr(2), ExpectedVotes: ptr(3), Quorum: ptr(2)},
			{At: ptr(45 * time.Second), Node: "hp1", Peer: "hp2", ActiveLink: ptr(1)},
			{At: ptr(45 * time.Second), Node: "hp1", Peer: "hp2", Link: ptr(0), LinkUp: ptr(false)},
			{At: ptr(50 * time.Second), Guest: "vm100", Running: ptr(true)},
			{Check: "linearizable"},
			{Check: "total_order"},
			{Check: "virtual_synchrony"},
			{Check: "liveness"},
			{Metric: "membership_changes", After: ptr(20 * time.Second), Max: ptr(4.0)},
			{Metric: "acked_writes_lost", Equals: ptr(0.0)},
			{Metric: "ops", After: ptr(time.Minute), Before: ptr(90 * time.Second), Min: ptr(10.0), Max: ptr(1e6)},
		},
	}
}

func TestFull(t *testing.T) {
	path := filepath.Join("testdata", "valid", "full.yaml")
	s, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if s.Path != path || len(s.Source) == 0 {
		t.Errorf("Path %q, %d source bytes", s.Path, len(s.Source))
	}
	// Positions: the map of an entry, the value of a field.
	checks := []struct {
		name string
		got  Position
		line int
		col  int
	}{
		{"cluster.nodes[2]", s.Cluster.Nodes[2].Pos, 13, 7},
		{"link 0 (second in file)", s.Network.Links[0].Pos, 56, 7},
		{"first fault after sorting", s.Faults[0].Pos, 76, 5},
		{"restart, sorted last", s.Faults[len(s.Faults)-1].Pos, 75, 5},
		{"expect[13]", s.Expect[13].Pos, 109, 5},
	}
	for _, c := range checks {
		if c.got.Line != c.line || c.got.Col != c.col || c.got.File != path {
			t.Errorf("%s: position %v, want %s:%d:%d", c.name, c.got, path, c.line, c.col)
		}
	}
	if p, ok := s.PosOf("faults[9].switch"); !ok || p.Line != 84 || p.Col != 42 {
		t.Errorf("PosOf(faults[9].switch) = %v, %v; want line 84 col 42", p, ok)
	}
	if _, ok := s.PosOf("cluster.totem.token"); !ok {
		t.Errorf("PosOf(cluster.totem.token) not found")
	}
	if _, ok := s.PosOf("workload.size"); ok {
		t.Errorf("PosOf(workload.size) found, but the file does not set it")
	}
	wantText := []string{
		"at 15s hp1 quorate=false",
		"by 20s (from faults[9] switch_up at 19s) hp1,hp2,hp3 quorate=true members=[hp1,hp2,hp3]",
		"during [41s, 59s] hp2 quorate=true",
		"at 30s hp1 total_votes=2 expected_votes=3 quorum=2",
		"at 45s hp1 peer=hp2 active_link=1",
		"at 45s hp1 peer=hp2 link=0 link_up=false",
		"at 50s vm100 running=true",
		"check linearizable",
		"check total_order",
		"check virtual_synchrony",
		"check liveness",
		"metric membership_changes after 20s max 4",
		"metric acked_writes_lost equals 0",
		"metric ops after 1m before 1m30s min 10 max 1000000",
	}
	for i, e := range s.Expect {
		if i < len(wantText) && e.Text != wantText[i] {
			t.Errorf("expect[%d].Text = %q, want %q", i, e.Text, wantText[i])
		}
	}
	stripPositions(s)
	if !bytes.HasPrefix(s.Cluster.CorosyncConfSource, []byte("# The corosync.conf full.yaml names.")) {
		t.Errorf("the corosync.conf's bytes were not kept")
	}
	s.Cluster.CorosyncConfSource, s.Cluster.Conf = nil, nil
	if want := fullWant(); !reflect.DeepEqual(s, want) {
		g, _ := json.MarshalIndent(s, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("scenario differs\ngot:  %s\nwant: %s", g, w)
	}
}

func TestDefaults(t *testing.T) {
	s, err := Load(filepath.Join("testdata", "valid", "minimal.yaml"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	stripPositions(s)
	want := &Scenario{
		Name: "minimal", Seed: 1, Duration: 30 * time.Second,
		Cluster: Cluster{
			Nodes: []Node{{Name: "hp1", ID: 1, Votes: 1}, {Name: "hp2", ID: 2, Votes: 1}, {Name: "hp3", ID: 3, Votes: 1}},
			Totem: Totem{Token: 3000 * ms, TokenCoefficient: 650 * ms, Join: 50 * ms, Merge: 200 * ms,
				MaxMessages: 17, WindowSize: 50, TokenRetransmitsBeforeLossConst: 4, MissCountConst: 5,
				SeqnoUnchangedConst: 30, FailRecvConst: 2500},
			Quorum:     Quorum{LastManStandingWindow: 10 * time.Second, AutoTieBreakerNode: "lowest"},
			PacketCost: DefaultPacketCost,
		},
		Network: Network{LinkMode: "passive", Links: []Link{{Number: 0, Switch: "link0", Priority: 1,
			PongCount: 2, Latency: Distribution{Dist: "constant", Value: 100 * time.Microsecond}}}},
	}
	if !reflect.DeepEqual(s, want) {
		g, _ := json.MarshalIndent(s, "", " ")
		t.Errorf("defaults differ; got %s", g)
	}
}

func TestSectionDefaults(t *testing.T) {
	const head = "name: d\nduration: 10s\ncluster:\n  nodes: [{name: a}, {name: b}]\n"
	tests := []struct {
		name  string
		extra string
		check func(*Scenario) bool
	}{
		{"empty workload is kv with defaults", "workload: {}\n", func(s *Scenario) bool {
			w := s.Workload
			return w != nil && w.Kind == "kv" && w.Rate == 100 && w.Keys == 8 && w.ReadMode == "ordered" &&
				w.Timeout == 5*time.Second && w.Mix == (Mix{0.5, 0.4, 0.1}) && reflect.DeepEqual(w.Clients, []string{"a", "b"})
		}},
		{"no workload", "", func(s *Scenario) bool { return s.Workload == nil }},
		{"multicast size default", "workload: {kind: multicast}\n", func(s *Scenario) bool {
			return s.Workload.Size == 1024
		}},
		{"multicast size units", "workload: {kind: multicast, size: 64KiB, rate: 12.5}\n", func(s *Scenario) bool {
			return s.Workload.Size == 64<<10 && s.Workload.Rate == 12.5
		}},
		{"bare size is bytes", "workload: {kind: multicast, size: 512}\n", func(s *Scenario) bool {
			return s.Workload.Size == 512
		}},
		{"empty device gets defaults", "  quorum: {device: {}}\n", func(s *Scenario) bool {
			d := s.Cluster.Quorum.Device
			return d != nil && d.Algorithm == "ffsplit" && d.TieBreaker == "lowest" &&
				d.Latency == Distribution{Dist: "constant", Value: 2 * ms}
		}},
		{"link switch defaults to link<number>", "network: {links: [{number: 3}]}\n", func(s *Scenario) bool {
			l := s.Network.Links[0]
			return l.Switch == "link3" && l.Priority == 1 && l.Latency.Value == 100*time.Microsecond
		}},
		{"atb single id", "  quorum: {auto_tie_breaker_node: 2}\n", func(s *Scenario) bool {
			q := s.Cluster.Quorum
			return q.AutoTieBreakerNode == "list" && reflect.DeepEqual(q.AutoTieBreakerNodeList, []uint32{2})
		}},
		{"atb corosync list", "  quorum: {auto_tie_breaker_node: \"2 1\"}\n", func(s *Scenario) bool {
			return reflect.DeepEqual(s.Cluster.Quorum.AutoTieBreakerNodeList, []uint32{2, 1})
		}},
		{"atb highest", "  quorum: {auto_tie_breaker_node: highest}\n", func(s *Scenario) bool {
			return s.Cluster.Quorum.AutoTieBreakerNode == "highest"
		}},
		{"zero consensus without unit", "  totem: {consensus: 0}\n", func(s *Scenario) bool {
			return s.Cluster.Totem.Consensus == 0
		}},
		{"merge keys and aliases", "faults:\n  - &f {at: 1s, action: crash, node: a}\n  - {<<: *f, at: 2s}\n",
			func(s *Scenario) bool {
				return len(s.Faults) == 2 && s.Faults[1].At == 2*time.Second && s.Faults[1].Node == "a"
			}},
		{"stable sort of faults", "faults:\n  - {at: 2s, action: crash, node: b}\n  - {at: 1s, action: heal}\n" +
			"  - {at: 2s, action: crash, node: a}\n", func(s *Scenario) bool {
			f := s.Faults
			return f[0].Action == "heal" && f[1].Node == "b" && f[2].Node == "a"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse("d.yaml", []byte(head+tc.extra))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !tc.check(s) {
				g, _ := json.MarshalIndent(s, "", " ")
				t.Errorf("unexpected result: %s", g)
			}
		})
	}
}

func TestNodeLookup(t *testing.T) {
	s, err := Load(filepath.Join("testdata", "valid", "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.NodeNames(); !reflect.DeepEqual(got, []string{"hp1", "hp2", "hp3", "hp4"}) {
		t.Errorf("NodeNames = %v", got)
	}
	if n, ok := s.NodeByName("hp3"); !ok || n.ID != 3 || n.BootAt != 40*time.Second {
		t.Errorf("NodeByName(hp3) = %+v, %v", n, ok)
	}
	if _, ok := s.NodeByName("hp9"); ok {
		t.Errorf("NodeByName(hp9) found a node")
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join("testdata", "no-such-file.yaml"))
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing file: %v", err)
	}
	if !IsInputError(err) {
		t.Errorf("IsInputError(%v) = false", err)
	}
}

// TestCorosyncConfOverlay: a scenario without nodes, totem or links takes
// them from the corosync.conf; what the scenario sets wins.
func TestCorosyncConfOverlay(t *testing.T) {
	conf := []byte("nodelist {\n  node {\n    name: a\n    nodeid: 4\n    ring0_addr: 10.0.0.4\n    ring1_addr: 10.1.0.4\n  }\n  node {\n    name: b\n    nodeid: 7\n    quorum_votes: 2\n    ring0_addr: 10.0.0.7\n    ring1_addr: 10.1.0.7\n  }\n}\n" +
		"quorum {\n  provider: corosync_votequorum\n  two_node: 1\n}\n" +
		"totem {\n  version: 2\n  cluster_name: c1\n  token: 5000\n  join: 70\n  interface {\n    linknumber: 0\n    knet_link_priority: 30\n  }\n  interface {\n    linknumber: 1\n  }\n}\n")
	read := func(string) ([]byte, error) { return conf, nil }
	src := "name: x\nduration: 10s\ncluster:\n  corosync_conf: c.conf\n  totem: {join: 90ms}\n"
	s, err := ParseWith("s.yaml", []byte(src), read)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Cluster.Nodes) != 2 || s.Cluster.Nodes[1].Name != "b" || s.Cluster.Nodes[1].ID != 7 || s.Cluster.Nodes[1].Votes != 2 {
		t.Errorf("nodes %+v", s.Cluster.Nodes)
	}
	if s.Cluster.Totem.Token != 5*time.Second || s.Cluster.Totem.Join != 90*time.Millisecond {
		t.Errorf("token %v join %v: want the file's 5s and the scenario's 90ms", s.Cluster.Totem.Token, s.Cluster.Totem.Join)
	}
	if !s.Cluster.Quorum.TwoNode || s.Cluster.Name != "c1" {
		t.Errorf("quorum %+v name %q", s.Cluster.Quorum, s.Cluster.Name)
	}
	if len(s.Network.Links) != 2 || s.Network.Links[0].Priority != 30 || s.Network.Links[1].Priority != 1 {
		t.Errorf("links %+v", s.Network.Links)
	}
	// References to the file's nodes are checked like any others.
	if _, err := ParseWith("s.yaml", []byte(src+"faults:\n  - {at: 1s, action: crash, node: zz}\n"), read); err == nil || !strings.Contains(err.Error(), `unknown node "zz"`) {
		t.Errorf("unknown node in a fault: %v", err)
	}
	// A broken file is an input error naming the file's line.
	bad := func(string) ([]byte, error) { return []byte("totem {\n  token: 10\n  version: 2\n}\n"), nil }
	_, err = ParseWith("s.yaml", []byte(src), bad)
	if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), "c.conf:2:") {
		t.Errorf("broken corosync.conf: %v", err)
	}
}

// TestCorosyncConfUnderListedLinks: a network section that lists the
// links to give them latency or loss keeps what the file says of each link
// (knet priority, ping timers, pong count) and the file's link_mode, key
// by key; the scenario's own keys win, and a link the file does not have
// keeps the defaults.
func TestCorosyncConfUnderListedLinks(t *testing.T) {
	conf := []byte("nodelist {\n  node {\n    name: a\n    nodeid: 1\n    ring0_addr: 10.0.0.1\n    ring1_addr: 10.1.0.1\n  }\n  node {\n    name: b\n    nodeid: 2\n    ring0_addr: 10.0.0.2\n    ring1_addr: 10.1.0.2\n  }\n}\n" +
		"quorum {\n  provider: corosync_votequorum\n  two_node: 1\n}\n" +
		"totem {\n  version: 2\n  cluster_name: c1\n  link_mode: active\n  interface {\n    linknumber: 0\n    knet_link_priority: 30\n    knet_ping_interval: 700\n    knet_ping_timeout: 9000\n    knet_pong_count: 3\n  }\n  interface {\n    linknumber: 1\n    knet_link_priority: 5\n  }\n}\n")
	read := func(string) ([]byte, error) { return conf, nil }
	const head = "name: x\nduration: 10s\ncluster:\n  corosync_conf: c.conf\nnetwork:\n"
	type want struct {
		prio          int
		ping, timeout time.Duration
		pongs         int
	}
	for _, tt := range []struct {
		name, net string
		mode      string
		links     map[int]want
	}{
		{"latency only", "  links:\n    - {number: 0, latency: {dist: constant, value: 2ms}}\n    - {number: 1, loss: 0.01}\n", "active",
			map[int]want{0: {30, 700 * time.Millisecond, 9 * time.Second, 3}, 1: {5, 0, 0, 2}}},
		{"scenario keys win", "  link_mode: rr\n  links:\n    - {number: 0, priority: 7, ping_interval: 300ms, ping_timeout: 1s, pong_count: 1}\n", "rr",
			map[int]want{0: {7, 300 * time.Millisecond, time.Second, 1}}},
		{"one key of several", "  links:\n    - {number: 0, ping_timeout: 2s}\n", "active",
			map[int]want{0: {30, 700 * time.Millisecond, 2 * time.Second, 3}}},
		{"a link the file lacks", "  links:\n    - {number: 0}\n    - {number: 3, switch: sw3}\n", "active",
			map[int]want{0: {30, 700 * time.Millisecond, 9 * time.Second, 3}, 3: {1, 0, 0, 2}}},
	} {
		s, err := ParseWith("s.yaml", []byte(head+tt.net), read)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if s.Network.LinkMode != tt.mode {
			t.Errorf("%s: link_mode %q, want %q", tt.name, s.Network.LinkMode, tt.mode)
		}
		if len(s.Network.Links) != len(tt.links) {
			t.Fatalf("%s: %d links, want %d", tt.name, len(s.Network.Links), len(tt.links))
		}
		for _, l := range s.Network.Links {
			w, ok := tt.links[l.Number]
			got := want{l.Priority, l.PingInterval, l.PingTimeout, l.PongCount}
			if !ok || got != w {
				t.Errorf("%s: link %d: priority %d, ping %v/%v, pongs %d; want %+v", tt.name, l.Number, got.prio, got.ping, got.timeout, got.pongs, w)
			}
		}
	}
}

// TestCorosyncConfPingBelowTimer: a knet heartbeat timer below knet's
// timer resolution in the file is an input error naming the file's line,
// with or without a network section listing the link.
func TestCorosyncConfPingBelowTimer(t *testing.T) {
	conf := []byte("nodelist {\n  node {\n    name: a\n    nodeid: 1\n    ring0_addr: 10.0.0.1\n  }\n}\n" +
		"quorum {\n  provider: corosync_votequorum\n}\n" +
		"totem {\n  version: 2\n  cluster_name: c1\n  interface {\n    linknumber: 0\n    knet_ping_timeout: 150\n  }\n}\n")
	read := func(string) ([]byte, error) { return conf, nil }
	for _, net := range []string{"", "network:\n  links:\n    - {number: 0, loss: 0.01}\n"} {
		_, err := ParseWith("s.yaml", []byte("name: x\nduration: 10s\ncluster:\n  corosync_conf: c.conf\n"+net), read)
		if err == nil || !IsInputError(err) || !strings.Contains(err.Error(), "c.conf:16:") ||
			!strings.Contains(err.Error(), "knet_ping_timeout: 150 is below knet's 200ms timer resolution") {
			t.Errorf("network %q: %v", net, err)
		}
	}
	// The scenario's own key wins, and the file's value is then not an error.
	_, err := ParseWith("s.yaml", []byte("name: x\nduration: 10s\ncluster:\n  corosync_conf: c.conf\nnetwork:\n  links:\n    - {number: 0, ping_timeout: 1s}\n"), read)
	if err != nil {
		t.Errorf("the scenario's ping_timeout over the file's: %v", err)
	}
}

// TestHostWait: network.host_wait sets the mean of the datagrams' wait for
// their daemon, 0 (the network model's default) stands when it is absent,
// and Encode writes it back only when it is set.
func TestHostWait(t *testing.T) {
	const base = "name: w\nduration: 10s\ncluster:\n  nodes: [{name: a}, {name: b}]\nnetwork:\n%s  links:\n    - {number: 0}\n"
	for _, tt := range []struct {
		line string
		want time.Duration
	}{
		{"", 0},
		{"  host_wait: 80us\n", 80 * time.Microsecond},
		{"  host_wait: 5ms\n", MaxHostWait},
	} {
		s, err := Parse("w.yaml", []byte(fmt.Sprintf(base, tt.line)))
		if err != nil {
			t.Fatalf("%q: %v", tt.line, err)
		}
		if s.Network.HostWait != tt.want {
			t.Errorf("%q: host wait %v, want %v", tt.line, s.Network.HostWait, tt.want)
		}
		out, err := Encode(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(out), "host_wait:"); got != (tt.want != 0) {
			t.Errorf("%q: encoded with host_wait %v:\n%s", tt.line, got, out)
		}
		s2, err := Parse("w2.yaml", out)
		if err != nil {
			t.Fatalf("%q: the encoded scenario does not load: %v\n%s", tt.line, err, out)
		}
		if s2.Network.HostWait != tt.want {
			t.Errorf("%q: encoded and loaded, host wait %v, want %v", tt.line, s2.Network.HostWait, tt.want)
		}
	}
}
