package quorum

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// exWant is one row of a worked example: what every node of a partition
// prints after the membership settled.
type exWant struct {
	ids     []wire.NodeID
	quorate bool
	E, T, Q int
	qdevice string // the node's own Qdevice column, if checked
	flags   string // the Flags words joined by spaces, if checked ("-": none)
}

// exStep is one event of an example and how long to let it settle (0: the
// example's default).
type exStep struct {
	do   func(h *harness)
	wait time.Duration
}

// example is a worked example of quorum.md §5 replayed end to end on the
// multi-node harness.
type example struct {
	name  string
	n     int
	cfg   func(c *Config)
	cold  bool // do not boot every node first
	steps []exStep
	want  []exWant
}

func part(groups ...[]wire.NodeID) func(h *harness) {
	return func(h *harness) { h.partition(groups...) }
}

func fail(v ...int) func(h *harness) { return func(h *harness) { h.fail(ids(v...)...) } }

func boot(v ...int) func(h *harness) { return func(h *harness) { h.boot(ids(v...)...) } }

func arbiterDown(h *harness) { h.setArbiter(false) }

// setExpected runs pvecm expected n on node id and checks the outcome.
func setExpected(id wire.NodeID, n int, wantErr error) func(h *harness) {
	return func(h *harness) {
		err := h.node(id).SetExpected(h.now, n)
		if !errors.Is(err, wantErr) {
			h.t.Errorf("SetExpected(%d) on node %d: err = %v, want %v", n, id, err, wantErr)
		}
		h.pump(h.pos(id))
	}
}

func withTwoNode(c *Config) { c.TwoNode = true }

func withATB(node string, wfa bool) func(c *Config) {
	return func(c *Config) {
		c.AutoTieBreaker, c.AutoTieBreakerNode, c.WaitForAll = true, node, wfa
	}
}

func withLMS(atb bool) func(c *Config) {
	return func(c *Config) {
		c.LastManStanding, c.AutoTieBreaker = true, atb
	}
}

func withDevice(algo Algorithm, votes int) func(c *Config) {
	return func(c *Config) { c.Device = &DeviceConfig{Algorithm: algo, Votes: votes} }
}

// lmsCascade fails nodes of an 8-node cluster down to keep, one step per
// stage of example 24, each followed by the window.
func lmsCascade(stages ...[]int) []exStep {
	var steps []exStep
	for _, s := range stages {
		steps = append(steps, exStep{do: fail(s...), wait: time.Second}, exStep{do: func(*harness) {}, wait: 10 * time.Second})
	}
	return steps
}

var examples = []example{
	{name: "ex01_all_up", n: 3, want: []exWant{{ids: ids(1, 2, 3), quorate: true, E: 3, T: 3, Q: 2, flags: "Quorate"}}},
	{name: "ex02_node3_fails", n: 3, steps: []exStep{{do: part(ids(1, 2), ids(3))}},
		want: []exWant{{ids: ids(1, 2), quorate: true, E: 3, T: 2, Q: 2}, {ids: ids(3), E: 3, T: 1, Q: 2, flags: "-"}}},
	{name: "ex03_full_split", n: 3, steps: []exStep{{do: part(ids(1), ids(2), ids(3))}},
		want: []exWant{{ids: ids(1, 2, 3), E: 3, T: 1, Q: 2}}},
	{name: "ex04_cold_start_one", n: 3, cold: true, steps: []exStep{{do: boot(1)}},
		want: []exWant{{ids: ids(1), E: 3, T: 1, Q: 2}}},
	{name: "ex05_cold_start_expected_1", n: 3, cold: true,
		steps: []exStep{{do: boot(1)}, {do: setExpected(1, 1, nil)}},
		want:  []exWant{{ids: ids(1), quorate: true, E: 1, T: 1, Q: 1}}},
	{name: "ex06_expected_1_rejected", n: 3, cold: true,
		steps: []exStep{{do: boot(1, 2)}, {do: setExpected(1, 1, ErrInvalidParam)}},
		want:  []exWant{{ids: ids(1, 2), quorate: true, E: 3, T: 2, Q: 2}}},
	{name: "ex07_split_2_2", n: 4, steps: []exStep{{do: part(ids(1, 2), ids(3, 4))}},
		want: []exWant{{ids: ids(1, 2, 3, 4), E: 4, T: 2, Q: 3}}},
	{name: "ex08_node4_fails", n: 4, steps: []exStep{{do: part(ids(1, 2, 3), ids(4))}},
		want: []exWant{{ids: ids(1, 2, 3), quorate: true, E: 4, T: 3, Q: 3}, {ids: ids(4), E: 4, T: 1, Q: 3}}},
	{name: "ex09_split_3_2", n: 5, steps: []exStep{{do: part(ids(1, 2, 3), ids(4, 5))}},
		want: []exWant{{ids: ids(1, 2, 3), quorate: true, E: 5, T: 3, Q: 3}, {ids: ids(4, 5), E: 5, T: 2, Q: 3}}},
	{name: "ex10_split_3_3", n: 6, steps: []exStep{{do: part(ids(1, 2, 3), ids(4, 5, 6))}},
		want: []exWant{{ids: ids(1, 2, 3, 4, 5, 6), E: 6, T: 3, Q: 4}}},
	{name: "ex11_two_nodes_split", n: 2, steps: []exStep{{do: part(ids(1), ids(2))}},
		want: []exWant{{ids: ids(1, 2), E: 2, T: 1, Q: 2}}},
	{name: "ex12_two_node_both_up", n: 2, cfg: withTwoNode,
		want: []exWant{{ids: ids(1, 2), quorate: true, E: 2, T: 2, Q: 1, flags: "2Node Quorate WaitForAll"}}},
	{name: "ex12b_two_node_split", n: 2, cfg: withTwoNode, steps: []exStep{{do: part(ids(1), ids(2))}},
		want: []exWant{{ids: ids(1, 2), quorate: true, E: 2, T: 1, Q: 1}}},
	{name: "ex13_two_node_cold_start", n: 2, cfg: withTwoNode, cold: true, steps: []exStep{{do: boot(1)}},
		want: []exWant{{ids: ids(1), E: 2, T: 1, Q: 1, flags: "2Node WaitForAll"}}},
	{name: "ex14_two_node_no_wfa_cold_start", n: 2, cold: true, steps: []exStep{{do: boot(1)}},
		cfg:  func(c *Config) { c.TwoNode, c.WaitForAllSet = true, true },
		want: []exWant{{ids: ids(1), quorate: true, E: 2, T: 1, Q: 1, flags: "2Node Quorate"}}},
	{name: "ex15_atb_lowest", n: 4, cfg: withATB("lowest", false), steps: []exStep{{do: part(ids(1, 2), ids(3, 4))}},
		want: []exWant{{ids: ids(1, 2), quorate: true, E: 4, T: 2, Q: 3, flags: "Quorate AutoTieBreaker"},
			{ids: ids(3, 4), E: 4, T: 2, Q: 3}}},
	{name: "ex16_atb_highest", n: 4, cfg: withATB("highest", false), steps: []exStep{{do: part(ids(1, 2), ids(3, 4))}},
		want: []exWant{{ids: ids(3, 4), quorate: true, E: 4, T: 2, Q: 3}, {ids: ids(1, 2), E: 4, T: 2, Q: 3}}},
	{name: "ex17_atb_list", n: 4, cfg: withATB("3 1", false), steps: []exStep{{do: part(ids(1, 2), ids(3, 4))}},
		want: []exWant{{ids: ids(3, 4), quorate: true, E: 4, T: 2, Q: 3}, {ids: ids(1, 2), E: 4, T: 2, Q: 3}}},
	{name: "ex18_atb_list_earlier_node_was_member", n: 4, cfg: withATB("3 1", false),
		steps: []exStep{{do: part(ids(1, 4), ids(2, 3))}},
		want:  []exWant{{ids: ids(2, 3), quorate: true, E: 4, T: 2, Q: 3}, {ids: ids(1, 4), E: 4, T: 2, Q: 3}}},
	{name: "ex19_atb_lowest_survivor_gone", n: 4, cfg: withATB("lowest", false),
		steps: []exStep{{do: fail(1)}, {do: part(ids(2), ids(3, 4))}},
		want:  []exWant{{ids: ids(3, 4), E: 4, T: 2, Q: 3}, {ids: ids(2), E: 4, T: 1, Q: 3}}},
	{name: "ex20_atb_lowest_survivor", n: 4, cfg: withATB("lowest", false),
		steps: []exStep{{do: fail(1)}, {do: part(ids(2, 3), ids(4))}},
		want:  []exWant{{ids: ids(2, 3), quorate: true, E: 4, T: 2, Q: 3}, {ids: ids(4), E: 4, T: 1, Q: 3}}},
	{name: "ex21_atb_odd_without_wfa", n: 5, cfg: withATB("lowest", false),
		steps: []exStep{{do: fail(5)}, {do: part(ids(1, 2), ids(3, 4))}},
		want:  []exWant{{ids: ids(1, 2, 3, 4), E: 5, T: 2, Q: 3, flags: "-"}}},
	{name: "ex22_atb_odd_with_wfa", n: 5, cfg: withATB("lowest", true),
		steps: []exStep{{do: fail(5)}, {do: part(ids(1, 2), ids(3, 4))}},
		want: []exWant{{ids: ids(1, 2), quorate: true, E: 5, T: 2, Q: 3, flags: "Quorate WaitForAll AutoTieBreaker"},
			{ids: ids(3, 4), E: 5, T: 2, Q: 3}}},
	{name: "ex23_atb_split_3_3", n: 6, cfg: withATB("lowest", false), steps: []exStep{{do: part(ids(1, 2, 3), ids(4, 5, 6))}},
		want: []exWant{{ids: ids(1, 2, 3), quorate: true, E: 6, T: 3, Q: 4}, {ids: ids(4, 5, 6), E: 6, T: 3, Q: 4}}},
	{name: "ex24_lms_three_fail", n: 8, cfg: withLMS(false), steps: []exStep{{do: fail(6, 7, 8), wait: time.Second}},
		want: []exWant{{ids: ids(1, 2, 3, 4, 5), quorate: true, E: 8, T: 5, Q: 5, flags: "Quorate LastManStanding"}}},
	{name: "ex24_lms_after_window", n: 8, cfg: withLMS(false), steps: lmsCascade([]int{6, 7, 8}),
		want: []exWant{{ids: ids(1, 2, 3, 4, 5), quorate: true, E: 5, T: 5, Q: 3}}},
	{name: "ex24b_lms_two_more", n: 8, cfg: withLMS(false),
		steps: append(lmsCascade([]int{6, 7, 8}), exStep{do: fail(4, 5), wait: time.Second}),
		want:  []exWant{{ids: ids(1, 2, 3), quorate: true, E: 5, T: 3, Q: 3}}},
	{name: "ex24b_lms_after_window", n: 8, cfg: withLMS(false), steps: lmsCascade([]int{6, 7, 8}, []int{4, 5}),
		want: []exWant{{ids: ids(1, 2, 3), quorate: true, E: 3, T: 3, Q: 2}}},
	{name: "ex24c_lms_one_more", n: 8, cfg: withLMS(false), steps: lmsCascade([]int{6, 7, 8}, []int{4, 5}, []int{3}),
		want: []exWant{{ids: ids(1, 2), quorate: true, E: 2, T: 2, Q: 2}}},
	{name: "ex24d_lms_cannot_reach_one", n: 8, cfg: withLMS(false),
		steps: lmsCascade([]int{6, 7, 8}, []int{4, 5}, []int{3}, []int{2}),
		want:  []exWant{{ids: ids(1), E: 2, T: 1, Q: 2}}},
	{name: "ex25_lms_atb_last_one", n: 8, cfg: withLMS(true),
		steps: append(lmsCascade([]int{6, 7, 8}, []int{4, 5}, []int{3}), exStep{do: fail(2), wait: time.Second}),
		want:  []exWant{{ids: ids(1), quorate: true, E: 2, T: 1, Q: 2}}},
	{name: "ex25_lms_atb_after_window", n: 8, cfg: withLMS(true),
		steps: lmsCascade([]int{6, 7, 8}, []int{4, 5}, []int{3}, []int{2}),
		want:  []exWant{{ids: ids(1), quorate: true, E: 1, T: 1, Q: 1}}},
	{name: "ex26_lms_half_at_once", n: 8, cfg: withLMS(false), steps: lmsCascade([]int{5, 6, 7, 8}),
		want: []exWant{{ids: ids(1, 2, 3, 4), E: 8, T: 4, Q: 5}}},
	{name: "ex27_wfa_rearmed", n: 4, cfg: func(c *Config) { c.WaitForAll = true },
		steps: []exStep{{do: part(ids(1, 2), ids(3, 4))}, {do: part(ids(1, 2, 3), ids(4))}},
		want:  []exWant{{ids: ids(1, 2, 3), E: 4, T: 3, Q: 3, flags: "WaitForAll"}}},
	{name: "ex28_wfa_node_fails", n: 4, cfg: func(c *Config) { c.WaitForAll = true }, steps: []exStep{{do: fail(4)}},
		want: []exWant{{ids: ids(1, 2, 3), quorate: true, E: 4, T: 3, Q: 3}}},
	{name: "ex28_wfa_node_returns", n: 4, cfg: func(c *Config) { c.WaitForAll = true },
		steps: []exStep{{do: fail(4)}, {do: boot(4)}},
		want:  []exWant{{ids: ids(1, 2, 3, 4), quorate: true, E: 4, T: 4, Q: 3}}},
	{name: "ex29_weighted_votes", n: 3, cfg: weighted, steps: []exStep{{do: part(ids(1, 2), ids(3))}},
		want: []exWant{{ids: ids(1, 2), quorate: true, E: 4, T: 3, Q: 3}, {ids: ids(3), E: 4, T: 1, Q: 3}}},
	{name: "ex29b_weighted_votes", n: 3, cfg: weighted, steps: []exStep{{do: part(ids(1), ids(2, 3))}},
		want: []exWant{{ids: ids(1), E: 4, T: 2, Q: 3}, {ids: ids(2, 3), E: 4, T: 2, Q: 3}}},
	{name: "ex30_expected_votes_override", n: 3, cfg: func(c *Config) { c.ExpectedVotes = 5 },
		want: []exWant{{ids: ids(1, 2, 3), quorate: true, E: 5, T: 3, Q: 3}}},
	{name: "ex30_then_node3_fails", n: 3, cfg: func(c *Config) { c.ExpectedVotes = 5 }, steps: []exStep{{do: fail(3)}},
		want: []exWant{{ids: ids(1, 2), E: 5, T: 2, Q: 3}}},
	{name: "ex31_quorum_never_decreases", n: 5, steps: []exStep{{do: fail(4, 5)}, {do: fail(3)}},
		want: []exWant{{ids: ids(1, 2), E: 5, T: 2, Q: 3}}},
	{name: "ex32_expected_below_total", n: 5, cold: true, steps: []exStep{{do: boot(1, 2, 3)}, {do: setExpected(1, 2, ErrInvalidParam)}},
		want: []exWant{{ids: ids(1, 2, 3), quorate: true, E: 5, T: 3, Q: 3}}},
	{name: "ex32b_expected_would_lose_quorum", n: 5, cold: true,
		steps: []exStep{{do: boot(1, 2, 3)}, {do: setExpected(1, 7, ErrInvalidParam)}},
		want:  []exWant{{ids: ids(1, 2, 3), quorate: true, E: 5, T: 3, Q: 3}}},
	{name: "ex32c_expected_3", n: 5, cold: true, steps: []exStep{{do: boot(1, 2, 3)}, {do: setExpected(1, 3, nil)}},
		want: []exWant{{ids: ids(1, 2, 3), quorate: true, E: 3, T: 3, Q: 2}}},
	{name: "ex33_two_node_three_nodes_misconfig", n: 3, cfg: withTwoNode, steps: []exStep{{do: part(ids(1, 2), ids(3))}},
		want: []exWant{{ids: ids(1, 2), quorate: true, E: 3, T: 2, Q: 1}, {ids: ids(3), quorate: true, E: 3, T: 1, Q: 1}}},

	// Quorum device examples: assert after the arbiter decided (settle 40 s).
	{name: "ex34_qdevice_all_up", n: 2, cfg: withDevice(AlgorithmFFSplit, 1),
		want: []exWant{{ids: ids(1, 2), quorate: true, E: 3, T: 3, Q: 2, qdevice: "A,V,NMW", flags: "Quorate Qdevice"}}},
	{name: "ex34b_qdevice_split_tie_lowest", n: 2, cfg: withDevice(AlgorithmFFSplit, 1), steps: []exStep{{do: part(ids(1), ids(2))}},
		want: []exWant{{ids: ids(1), quorate: true, E: 3, T: 2, Q: 2, qdevice: "A,V,NMW"},
			{ids: ids(2), E: 3, T: 1, Q: 2, qdevice: "A,NV,NMW", flags: "Qdevice"}}},
	{name: "ex35_qnetd_down", n: 2, cfg: withDevice(AlgorithmFFSplit, 1), steps: []exStep{{do: arbiterDown}},
		want: []exWant{{ids: ids(1, 2), quorate: true, E: 3, T: 2, Q: 2, qdevice: "A,NV,NMW"}}},
	{name: "ex36_qnetd_down_then_node2_fails", n: 2, cfg: withDevice(AlgorithmFFSplit, 1),
		steps: []exStep{{do: arbiterDown}, {do: fail(2)}},
		want:  []exWant{{ids: ids(1), E: 3, T: 1, Q: 2}}},
	{name: "ex37_qdevice_split_2_2", n: 4, cfg: withDevice(AlgorithmFFSplit, 1), steps: []exStep{{do: part(ids(1, 2), ids(3, 4))}},
		want: []exWant{{ids: ids(1, 2), quorate: true, E: 5, T: 3, Q: 3}, {ids: ids(3, 4), E: 5, T: 2, Q: 3}}},
	{name: "ex38_qdevice_split_3_1", n: 4, cfg: withDevice(AlgorithmFFSplit, 1), steps: []exStep{{do: part(ids(1, 2, 3), ids(4))}},
		want: []exWant{{ids: ids(1, 2, 3), quorate: true, E: 5, T: 4, Q: 3}, {ids: ids(4), E: 5, T: 1, Q: 3}}},
	{name: "ex39_odd_ffsplit_split", n: 3, cfg: withDevice(AlgorithmFFSplit, 1), steps: []exStep{{do: part(ids(1, 2), ids(3))}},
		want: []exWant{{ids: ids(1, 2), quorate: true, E: 4, T: 3, Q: 3}, {ids: ids(3), E: 4, T: 1, Q: 3}}},
	{name: "ex39b_odd_ffsplit_qnetd_down_node3_fails", n: 3, cfg: withDevice(AlgorithmFFSplit, 1),
		steps: []exStep{{do: arbiterDown}, {do: fail(3)}},
		want:  []exWant{{ids: ids(1, 2), E: 4, T: 2, Q: 3}}},
	{name: "ex40_lms_all_up", n: 3, cfg: withDevice(AlgorithmLMS, 0),
		want: []exWant{{ids: ids(1, 2, 3), quorate: true, E: 5, T: 5, Q: 3, qdevice: "A,V,NMW"}}},
	{name: "ex40b_lms_isolated", n: 3, cfg: withDevice(AlgorithmLMS, 0), steps: []exStep{{do: part(ids(1), ids(2), ids(3))}},
		want: []exWant{{ids: ids(1), quorate: true, E: 5, T: 3, Q: 3}, {ids: ids(2, 3), E: 5, T: 1, Q: 3}}},
	{name: "ex40c_lms_split", n: 3, cfg: withDevice(AlgorithmLMS, 0), steps: []exStep{{do: part(ids(1, 2), ids(3))}},
		want: []exWant{{ids: ids(1, 2), quorate: true, E: 5, T: 4, Q: 3}, {ids: ids(3), E: 5, T: 1, Q: 3}}},
	{name: "ex40d_lms_qnetd_down", n: 3, cfg: withDevice(AlgorithmLMS, 0), steps: []exStep{{do: arbiterDown}},
		want: []exWant{{ids: ids(1, 2, 3), quorate: true, E: 5, T: 3, Q: 3, qdevice: "A,NV,NMW"}}},
	{name: "ex40e_lms_qnetd_down_node3_fails", n: 3, cfg: withDevice(AlgorithmLMS, 0),
		steps: []exStep{{do: arbiterDown}, {do: fail(3)}},
		want:  []exWant{{ids: ids(1, 2), E: 5, T: 2, Q: 3}}},
	{name: "ex41_lms_split_1_4", n: 5, cfg: withDevice(AlgorithmLMS, 0), steps: []exStep{{do: part(ids(1), ids(2, 3, 4, 5))}},
		want: []exWant{{ids: ids(2, 3, 4, 5), quorate: true, E: 9, T: 8, Q: 5}, {ids: ids(1), E: 9, T: 1, Q: 5}}},
	{name: "ex41b_lms_last_man_standing", n: 5, cfg: withDevice(AlgorithmLMS, 0), steps: []exStep{{do: fail(2, 3, 4, 5)}},
		want: []exWant{{ids: ids(1), quorate: true, E: 9, T: 5, Q: 5}}},
}

func weighted(c *Config) {
	c.Nodes[0].Votes = 2
}

// TestWorkedExamples replays every worked example of quorum.md §5 on the
// multi-node harness and checks each partition's E/T/Q and quorate state.
func TestWorkedExamples(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			h := newHarness(t, ex.n, ex.cfg)
			settle := time.Second
			if h.cfgs[0].Device != nil {
				settle = 40 * time.Second
			}
			if !ex.cold {
				all := make([]wire.NodeID, ex.n)
				copy(all, h.ids)
				h.boot(all...)
				h.run(settle)
			}
			for _, s := range ex.steps {
				s.do(h)
				wait := s.wait
				if wait == 0 {
					wait = settle
				}
				h.run(wait)
			}
			for _, w := range ex.want {
				for _, id := range w.ids {
					st := h.node(id).Status()
					got := exWant{ids: w.ids, quorate: st.Quorate, E: st.ExpectedVotes, T: st.TotalVotes, Q: st.Quorum,
						qdevice: w.qdevice, flags: w.flags}
					if w.qdevice != "" {
						got.qdevice = st.Nodes[slicesIndex(st.Nodes, id)].Qdevice()
					}
					if w.flags != "" {
						got.flags = cmpOr(strings.Join(st.Flags, " "), "-")
					}
					if got.quorate != w.quorate || got.E != w.E || got.T != w.T || got.Q != w.Q ||
						got.qdevice != w.qdevice || got.flags != w.flags {
						t.Errorf("node %d: got quorate=%v E=%d T=%d Q=%d qdevice=%q flags=%q, want quorate=%v E=%d T=%d Q=%d qdevice=%q flags=%q\n%s",
							id, got.quorate, got.E, got.T, got.Q, got.qdevice, got.flags,
							w.quorate, w.E, w.T, w.Q, w.qdevice, w.flags, h.status())
					}
				}
			}
		})
	}
}

func slicesIndex(ns []NodeStatus, id wire.NodeID) int {
	for i, n := range ns {
		if n.ID == id {
			return i
		}
	}
	return 0
}

func cmpOr(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}
