package netmodel

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/quorate/quorate/engine/wire"
)

// faultModel: nodes 1..4; links 0 and 2 share switch "core", link 1 is on
// "link1".
func faultModel(t *testing.T) *Model {
	t.Helper()
	return newModel(t, 1, 4,
		LinkSpec{Number: 0, Switch: "core", Latency: lat100},
		LinkSpec{Number: 1, Latency: lat100},
		LinkSpec{Number: 2, Switch: "core", Latency: lat100})
}

// paths prints every directed pair on every link that is not open, as
// "1-2/0:partition", sorted; "" means everything is open. Each path is also
// routed, to check that Route agrees with PathVerdict.
func paths(t *testing.T, m *Model) string {
	t.Helper()
	var out []string
	for _, l := range []wire.LinkNo{0, 1, 2} {
		for _, f := range m.Nodes() {
			for _, to := range m.Nodes() {
				v := m.PathVerdict(f, to, l)
				if _, _, rv := m.Route(0, dgram(f, to, l)); rv != v {
					t.Errorf("%d-%d/%d: Route says %v, PathVerdict %v", f, to, l, rv, v)
				}
				if v != Delivered {
					out = append(out, fmt.Sprintf("%d-%d/%d:%v", f, to, l, v))
				}
			}
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// blocked lists, per link, the directed pairs that are cut, as "/0:1-3,3-1".
func blocked(t *testing.T, m *Model) string {
	t.Helper()
	var b strings.Builder
	for _, l := range []wire.LinkNo{0, 1, 2} {
		var ps []string
		for _, f := range m.Nodes() {
			for _, to := range m.Nodes() {
				if m.PathVerdict(f, to, l) == DroppedPartition {
					ps = append(ps, fmt.Sprintf("%d-%d", f, to))
				}
			}
		}
		if len(ps) > 0 {
			fmt.Fprintf(&b, "/%d:%s ", l, strings.Join(ps, ","))
		}
	}
	return strings.TrimSpace(b.String())
}

func TestSwitches(t *testing.T) {
	m := faultModel(t)
	if got := m.Switches(); !slices.Equal(got, []string{"core", "link1"}) {
		t.Errorf("Switches() = %v", got)
	}
	if err := m.SwitchDown("core"); err != nil {
		t.Fatal(err)
	}
	got := paths(t, m)
	if n := strings.Count(got, ":switch_down"); n != 2*16 || strings.Contains(got, "/1:") {
		t.Errorf("core down: want every pair on links 0 and 2, nothing on 1; got %s", got)
	}
	if err := m.SwitchUp("core"); err != nil {
		t.Fatal(err)
	}
	if got := paths(t, m); got != "" {
		t.Errorf("after switch up: %s", got)
	}
}

func TestInFlightSwitchFailure(t *testing.T) {
	m := faultModel(t)
	if _, _, v := m.Route(0, dgram(1, 2, 1)); v != Delivered {
		t.Fatal(v)
	}
	_ = m.SwitchDown("link1")
	if v := m.PathVerdict(1, 2, 1); v != DroppedSwitchDown {
		t.Errorf("at arrival: %v, want switch_down", v)
	}
}

func TestNIC(t *testing.T) {
	m := faultModel(t)
	if err := m.NICDown(2, 1); err != nil {
		t.Fatal(err)
	}
	want := "1-2/1:nic_down 2-1/1:nic_down 2-2/1:nic_down 2-3/1:nic_down " +
		"2-4/1:nic_down 3-2/1:nic_down 4-2/1:nic_down"
	if got := paths(t, m); got != want {
		t.Errorf("NIC 2/1 down:\n got %s\nwant %s", got, want)
	}
	_ = m.NICUp(2, 1)
	if got := paths(t, m); got != "" {
		t.Errorf("after NIC up: %s", got)
	}
}

func TestCuts(t *testing.T) {
	type step func(m *Model) error
	part := func(g [][]wire.NodeID, l []wire.LinkNo) step {
		return func(m *Model) error { return m.Partition(g, l) }
	}
	heal := func(l []wire.LinkNo) step { return func(m *Model) error { return m.Heal(l) } }
	tests := []struct {
		name  string
		steps []step
		want  string
	}{
		{"partition, node 4 unnamed", []step{part([][]wire.NodeID{{1, 2}, {3}}, nil)},
			"/0:1-3,2-3,3-1,3-2 /1:1-3,2-3,3-1,3-2 /2:1-3,2-3,3-1,3-2"},
		{"partition on one link", []step{part([][]wire.NodeID{{1}, {2}}, []wire.LinkNo{1})},
			"/1:1-2,2-1"},
		{"partitions add up", []step{
			part([][]wire.NodeID{{1}, {2}}, []wire.LinkNo{0}),
			part([][]wire.NodeID{{3}, {4}}, []wire.LinkNo{0})},
			"/0:1-2,2-1,3-4,4-3"},
		{"three groups", []step{part([][]wire.NodeID{{1}, {2}, {3, 4}}, []wire.LinkNo{2})},
			"/2:1-2,1-3,1-4,2-1,2-3,2-4,3-1,3-2,4-1,4-2"},
		{"isolate", []step{func(m *Model) error { return m.Isolate(3, []wire.LinkNo{0, 1}) }},
			"/0:1-3,2-3,3-1,3-2,3-4,4-3 /1:1-3,2-3,3-1,3-2,3-4,4-3"},
		{"one-way drop", []step{func(m *Model) error {
			return m.Drop([]wire.NodeID{1}, []wire.NodeID{2, 3}, []wire.LinkNo{1})
		}}, "/1:1-2,1-3"},
		{"drop with overlap keeps self", []step{func(m *Model) error {
			return m.Drop([]wire.NodeID{1, 2}, []wire.NodeID{1, 2}, []wire.LinkNo{0})
		}}, "/0:1-2,2-1"},
		{"heal all", []step{part([][]wire.NodeID{{1}, {2}}, nil),
			func(m *Model) error { return m.Isolate(4, nil) }, heal(nil)}, ""},
		{"heal a subset", []step{part([][]wire.NodeID{{1}, {2}}, nil),
			heal([]wire.LinkNo{0, 2})}, "/1:1-2,2-1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := faultModel(t)
			for _, s := range tc.steps {
				if err := s(m); err != nil {
					t.Fatal(err)
				}
			}
			if got := blocked(t, m); got != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestHealLeavesHardwareFaults(t *testing.T) {
	m := faultModel(t)
	_ = m.SwitchDown("link1")
	_ = m.NICDown(1, 0)
	_ = m.Isolate(1, nil)
	_ = m.Heal(nil)
	if v := m.PathVerdict(2, 3, 1); v != DroppedSwitchDown {
		t.Errorf("2-3/1 = %v", v)
	}
	if v := m.PathVerdict(1, 2, 0); v != DroppedNICDown {
		t.Errorf("1-2/0 = %v", v)
	}
	if v := m.PathVerdict(1, 2, 2); v != Delivered {
		t.Errorf("1-2/2 = %v", v)
	}
}

func TestSetLatency(t *testing.T) {
	fiveMs := Constant(5_000 * us)
	tests := []struct {
		name  string
		nodes []wire.NodeID
		want  map[[2]wire.NodeID]wire.Instant // pair on link 0 -> latency
	}{
		{"every node", nil, map[[2]wire.NodeID]wire.Instant{{1, 2}: 5e6, {2, 1}: 5e6, {3, 4}: 5e6}},
		{"sender 1", []wire.NodeID{1}, map[[2]wire.NodeID]wire.Instant{{1, 2}: 5e6, {2, 1}: 1e5, {3, 4}: 1e5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := faultModel(t)
			m.Route(0, dgram(1, 2, 0)) // a stream that exists before the change
			if err := m.SetLatency(0, fiveMs, tc.nodes); err != nil {
				t.Fatal(err)
			}
			const now = 1e9
			for p, lat := range tc.want {
				if arr, _, _ := m.Route(now, dgram(p[0], p[1], 0)); !jittered(arr[0].At, now+lat) {
					t.Errorf("%v: arrival %v, want now+%v", p, arr[0].At-now, lat)
				}
			}
			if arr, _, _ := m.Route(now, dgram(1, 2, 1)); !jittered(arr[0].At, now+1e5) {
				t.Errorf("link 1 changed: %v", arr[0].At-now)
			}
			if d, _ := m.Latency(1, 0); d != fiveMs {
				t.Errorf("Latency(1, 0) = %v", d)
			}
		})
	}
}

func TestSetLoss(t *testing.T) {
	m := faultModel(t)
	if err := m.SetLoss(0, 1, []wire.NodeID{2}); err != nil {
		t.Fatal(err)
	}
	want := "2-1/0:loss 2-2/0:loss 2-3/0:loss 2-4/0:loss"
	if got := routed(m); got != want {
		t.Errorf("loss for sender 2:\n got %s\nwant %s", got, want)
	}
	_ = m.SetLoss(0, 1, nil)
	if got := routed(m); strings.Count(got, "/0:loss") != 16 || strings.Contains(got, "/1:") {
		t.Errorf("loss for all on link 0: %s", got)
	}
	_ = m.SetLoss(0, 0, nil)
	if got := routed(m); got != "" {
		t.Errorf("loss reset: %s", got)
	}
	if l, _ := m.Loss(3, 0); l != 0 {
		t.Errorf("Loss(3, 0) = %v", l)
	}
}

// routed routes one packet on every pair and link and lists the drops.
func routed(m *Model) string {
	var out []string
	for _, l := range []wire.LinkNo{0, 1, 2} {
		for _, f := range m.Nodes() {
			for _, to := range m.Nodes() {
				if _, _, v := m.Route(0, dgram(f, to, l)); v != Delivered {
					out = append(out, fmt.Sprintf("%d-%d/%d:%v", f, to, l, v))
				}
			}
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func TestFaultErrors(t *testing.T) {
	bad := []wire.LinkNo{5}
	tests := []struct {
		name string
		call func(m *Model) error
		want error
	}{
		{"switch down", func(m *Model) error { return m.SwitchDown("sw9") }, ErrUnknownSwitch},
		{"switch up", func(m *Model) error { return m.SwitchUp("") }, ErrUnknownSwitch},
		{"nic node", func(m *Model) error { return m.NICDown(9, 0) }, ErrUnknownNode},
		{"nic link", func(m *Model) error { return m.NICUp(1, 5) }, ErrUnknownLink},
		{"partition node", func(m *Model) error { return m.Partition([][]wire.NodeID{{1}, {9}}, nil) }, ErrUnknownNode},
		{"partition link", func(m *Model) error { return m.Partition([][]wire.NodeID{{1}, {2}}, bad) }, ErrUnknownLink},
		{"partition twice", func(m *Model) error { return m.Partition([][]wire.NodeID{{1, 2}, {2}}, nil) }, ErrBadCut},
		{"isolate node", func(m *Model) error { return m.Isolate(9, nil) }, ErrUnknownNode},
		{"isolate link", func(m *Model) error { return m.Isolate(1, bad) }, ErrUnknownLink},
		{"drop node", func(m *Model) error { return m.Drop([]wire.NodeID{1}, []wire.NodeID{9}, nil) }, ErrUnknownNode},
		{"drop empty", func(m *Model) error { return m.Drop(nil, []wire.NodeID{1}, nil) }, ErrBadCut},
		{"heal link", func(m *Model) error { return m.Heal(bad) }, ErrUnknownLink},
		{"latency link", func(m *Model) error { return m.SetLatency(5, lat100, nil) }, ErrUnknownLink},
		{"latency node", func(m *Model) error { return m.SetLatency(0, lat100, []wire.NodeID{9}) }, ErrUnknownNode},
		{"latency dist", func(m *Model) error { return m.SetLatency(0, Dist{}, nil) }, ErrBadDist},
		{"loss link", func(m *Model) error { return m.SetLoss(5, 0.1, nil) }, ErrUnknownLink},
		{"loss node", func(m *Model) error { return m.SetLoss(0, 0.1, []wire.NodeID{9}) }, ErrUnknownNode},
		{"loss rate", func(m *Model) error { return m.SetLoss(0, 1.1, nil) }, ErrBadRate},
	}
	for _, tc := range tests {
		m := faultModel(t)
		if err := tc.call(m); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
		if got := paths(t, m); got != "" {
			t.Errorf("%s: a failed call changed the model: %s", tc.name, got)
		}
	}
	m := faultModel(t)
	if _, err := m.Latency(9, 0); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("Latency(9, 0): %v", err)
	}
	if _, err := m.Loss(1, 7); !errors.Is(err, ErrUnknownLink) {
		t.Errorf("Loss(1, 7): %v", err)
	}
}
