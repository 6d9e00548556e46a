package quorum

import (
	"errors"
	"testing"

	"github.com/quorate/quorate/engine/wire"
)

// TestCalculateQuorumFormula is the table of quorum.md §1.2: with total ≤
// highest, Quorum = ⌊E/2⌋+1.
func TestCalculateQuorumFormula(t *testing.T) {
	want := map[int]int{1: 1, 2: 2, 3: 2, 4: 3, 5: 3, 6: 4, 7: 4, 8: 5, 9: 5}
	for e := 1; e <= 9; e++ {
		for total := 0; total <= e; total++ {
			if got := CalculateQuorum(Tally{HighestExpected: e, TotalVotes: total, Voters: total}, 0, false, false); got != want[e] {
				t.Errorf("E=%d T=%d: Quorum %d, want %d", e, total, got, want[e])
			}
		}
	}
	// More votes than expected: the total decides.
	if got := CalculateQuorum(Tally{HighestExpected: 3, TotalVotes: 6, Voters: 6}, 0, false, false); got != 4 {
		t.Errorf("E=3 T=6: %d, want 4", got)
	}
	// Never below the previous value unless allowed.
	if got := CalculateQuorum(Tally{HighestExpected: 3, TotalVotes: 1, Voters: 1}, 5, false, false); got != 5 {
		t.Errorf("previous 5 kept: got %d", got)
	}
	if got := CalculateQuorum(Tally{HighestExpected: 3, TotalVotes: 1, Voters: 1}, 5, true, false); got != 2 {
		t.Errorf("allow decrease: got %d, want 2", got)
	}
	// two_node: 1 while at most two voters, the formula with three.
	for voters, want := range map[int]int{1: 1, 2: 1, 3: 2} {
		if got := CalculateQuorum(Tally{HighestExpected: 2, TotalVotes: voters, Voters: voters}, 2, false, true); got != want {
			t.Errorf("two_node voters=%d: %d, want %d", voters, got, want)
		}
	}
}

// arithCase is one worked example (quorum.md §5) reduced to the inputs of
// the pure rules as they stand on a node of the partition.
type arithCase struct {
	name          string
	tally         Tally
	prev          int
	allowDecrease bool
	twoNode       bool
	wantQ         int
	in            QuorateInput // Quorum and TotalVotes are filled in
	wantQuorate   bool
	wantWFA       bool
}

func members(v ...int) []wire.NodeID { return ids(v...) }

var arithCases = []arithCase{
	{name: "ex01_all_up", tally: Tally{3, 3, 3}, wantQ: 2, in: QuorateInput{ExpectedVotes: 3}, wantQuorate: true},
	{name: "ex02_node3_fails", tally: Tally{3, 2, 2}, prev: 2, wantQ: 2, in: QuorateInput{ExpectedVotes: 3}, wantQuorate: true},
	{name: "ex02b_isolated_node3", tally: Tally{3, 1, 1}, prev: 2, wantQ: 2, in: QuorateInput{ExpectedVotes: 3}},
	{name: "ex03_full_split", tally: Tally{3, 1, 1}, prev: 2, wantQ: 2, in: QuorateInput{ExpectedVotes: 3}},
	{name: "ex04_cold_start_one", tally: Tally{3, 1, 1}, wantQ: 2, in: QuorateInput{ExpectedVotes: 3}},
	{name: "ex05_expected_1", tally: Tally{1, 1, 1}, prev: 2, allowDecrease: true, wantQ: 1, in: QuorateInput{ExpectedVotes: 1}, wantQuorate: true},
	{name: "ex07_split_2_2", tally: Tally{4, 2, 2}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 4}},
	{name: "ex08_node4_fails", tally: Tally{4, 3, 3}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 4}, wantQuorate: true},
	{name: "ex08_isolated_node4", tally: Tally{4, 1, 1}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 4}},
	{name: "ex09_split_3_2_majority", tally: Tally{5, 3, 3}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 5}, wantQuorate: true},
	{name: "ex09_split_3_2_minority", tally: Tally{5, 2, 2}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 5}},
	{name: "ex10_split_3_3", tally: Tally{6, 3, 3}, prev: 4, wantQ: 4, in: QuorateInput{ExpectedVotes: 6}},
	{name: "ex11_two_nodes_split", tally: Tally{2, 1, 1}, prev: 2, wantQ: 2, in: QuorateInput{ExpectedVotes: 2}},
	{name: "ex12_two_node_both_up", tally: Tally{2, 2, 2}, twoNode: true, wantQ: 1,
		in: QuorateInput{ExpectedVotes: 2, WaitForAll: true, WFAStatus: true}, wantQuorate: true},
	{name: "ex12b_two_node_split", tally: Tally{2, 1, 1}, prev: 1, twoNode: true, wantQ: 1,
		in: QuorateInput{ExpectedVotes: 2, WaitForAll: true}, wantQuorate: true},
	{name: "ex13_two_node_cold_start", tally: Tally{2, 1, 1}, twoNode: true, wantQ: 1,
		in: QuorateInput{ExpectedVotes: 2, WaitForAll: true, WFAStatus: true}, wantWFA: true},
	{name: "ex14_two_node_no_wfa", tally: Tally{2, 1, 1}, twoNode: true, wantQ: 1, in: QuorateInput{ExpectedVotes: 2}, wantQuorate: true},
	{name: "ex15_atb_lowest", tally: Tally{4, 2, 2}, prev: 3, wantQ: 3, wantQuorate: true,
		in: QuorateInput{ExpectedVotes: 4, ATB: ATBLowest, MemberIDs: members(1, 2), Ring: members(1, 2), PrevRing: members(1, 2, 3, 4), Lowest: 1, Highest: 4}},
	{name: "ex15b_atb_lowest_other_half", tally: Tally{4, 2, 2}, prev: 3, wantQ: 3,
		in: QuorateInput{ExpectedVotes: 4, ATB: ATBLowest, MemberIDs: members(3, 4), Ring: members(3, 4), PrevRing: members(1, 2, 3, 4), Lowest: 1, Highest: 4}},
	{name: "ex16_atb_highest", tally: Tally{4, 2, 2}, prev: 3, wantQ: 3, wantQuorate: true,
		in: QuorateInput{ExpectedVotes: 4, ATB: ATBHighest, MemberIDs: members(3, 4), Ring: members(3, 4), PrevRing: members(1, 2, 3, 4), Lowest: 1, Highest: 4}},
	{name: "ex16_atb_highest_other_half", tally: Tally{4, 2, 2}, prev: 3, wantQ: 3,
		in: QuorateInput{ExpectedVotes: 4, ATB: ATBHighest, MemberIDs: members(1, 2), Ring: members(1, 2), PrevRing: members(1, 2, 3, 4), Lowest: 1, Highest: 4}},
	{name: "ex17_atb_list", tally: Tally{4, 2, 2}, prev: 3, wantQ: 3, wantQuorate: true,
		in: QuorateInput{ExpectedVotes: 4, ATB: ATBList, ATBNodes: members(3, 1), MemberIDs: members(3, 4), Ring: members(3, 4), PrevRing: members(1, 2, 3, 4)}},
	{name: "ex17_atb_list_other_half", tally: Tally{4, 2, 2}, prev: 3, wantQ: 3,
		in: QuorateInput{ExpectedVotes: 4, ATB: ATBList, ATBNodes: members(3, 1), MemberIDs: members(1, 2), Ring: members(1, 2), PrevRing: members(1, 2, 3, 4)}},
	{name: "ex18_atb_list_first_listed_here", tally: Tally{4, 2, 2}, prev: 3, wantQ: 3, wantQuorate: true,
		in: QuorateInput{ExpectedVotes: 4, ATB: ATBList, ATBNodes: members(3, 1), MemberIDs: members(2, 3), Ring: members(2, 3), PrevRing: members(1, 2, 3, 4)}},
	{name: "ex18_atb_list_earlier_listed_was_member", tally: Tally{4, 2, 2}, prev: 3, wantQ: 3,
		in: QuorateInput{ExpectedVotes: 4, ATB: ATBList, ATBNodes: members(3, 1), MemberIDs: members(1, 4), Ring: members(1, 4), PrevRing: members(1, 2, 3, 4)}},
	{name: "ex19_atb_remembered_lowest_absent", tally: Tally{4, 2, 2}, prev: 3, wantQ: 3,
		in: QuorateInput{ExpectedVotes: 4, ATB: ATBLowest, MemberIDs: members(3, 4), Ring: members(3, 4), PrevRing: members(2, 3, 4), Lowest: 2, Highest: 4}},
	{name: "ex19_lone_node2", tally: Tally{4, 1, 1}, prev: 3, wantQ: 3,
		in: QuorateInput{ExpectedVotes: 4, ATB: ATBLowest, MemberIDs: members(2), Ring: members(2), PrevRing: members(2, 3, 4), Lowest: 2, Highest: 4}},
	{name: "ex20_atb_remembered_lowest_present", tally: Tally{4, 2, 2}, prev: 3, wantQ: 3, wantQuorate: true,
		in: QuorateInput{ExpectedVotes: 4, ATB: ATBLowest, MemberIDs: members(2, 3), Ring: members(2, 3), PrevRing: members(2, 3, 4), Lowest: 2, Highest: 4}},
	{name: "ex21_atb_disabled_odd", tally: Tally{5, 2, 2}, prev: 3, wantQ: 3,
		in: QuorateInput{ExpectedVotes: 5, ATB: ATBNone, MemberIDs: members(1, 2), Ring: members(1, 2), PrevRing: members(1, 2, 3, 4), Lowest: 1}},
	{name: "ex22_atb_odd_with_wfa", tally: Tally{5, 2, 2}, prev: 3, wantQ: 3, wantQuorate: true,
		in: QuorateInput{ExpectedVotes: 5, WaitForAll: true, ATB: ATBLowest, MemberIDs: members(1, 2), Ring: members(1, 2), PrevRing: members(1, 2, 3, 4), Lowest: 1}},
	{name: "ex22_other_half_wfa_rearmed", tally: Tally{5, 2, 2}, prev: 3, wantQ: 3, wantWFA: true,
		in: QuorateInput{ExpectedVotes: 5, WaitForAll: true, ATB: ATBLowest, MemberIDs: members(3, 4), Ring: members(3, 4), PrevRing: members(1, 2, 3, 4), Lowest: 1}},
	{name: "ex23_atb_split_3_3", tally: Tally{6, 3, 3}, prev: 4, wantQ: 4, wantQuorate: true,
		in: QuorateInput{ExpectedVotes: 6, ATB: ATBLowest, MemberIDs: members(1, 2, 3), Ring: members(1, 2, 3), PrevRing: members(1, 2, 3, 4, 5, 6), Lowest: 1}},
	{name: "ex24_lms_three_fail", tally: Tally{8, 5, 5}, prev: 5, wantQ: 5, in: QuorateInput{ExpectedVotes: 8}, wantQuorate: true},
	{name: "ex24_lms_after_window", tally: Tally{5, 5, 5}, prev: 5, allowDecrease: true, wantQ: 3, in: QuorateInput{ExpectedVotes: 5}, wantQuorate: true},
	{name: "ex24b_lms_two_more", tally: Tally{5, 3, 3}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 5}, wantQuorate: true},
	{name: "ex24b_lms_after_window", tally: Tally{3, 3, 3}, prev: 3, allowDecrease: true, wantQ: 2, in: QuorateInput{ExpectedVotes: 3}, wantQuorate: true},
	{name: "ex24c_lms_one_more", tally: Tally{3, 2, 2}, prev: 2, wantQ: 2, in: QuorateInput{ExpectedVotes: 3}, wantQuorate: true},
	{name: "ex24c_lms_after_window", tally: Tally{2, 2, 2}, prev: 2, allowDecrease: true, wantQ: 2, in: QuorateInput{ExpectedVotes: 2}, wantQuorate: true},
	{name: "ex24d_lms_cannot_reach_one", tally: Tally{2, 1, 1}, prev: 2, wantQ: 2, in: QuorateInput{ExpectedVotes: 2}},
	{name: "ex25_lms_atb_last_one", tally: Tally{2, 1, 1}, prev: 2, wantQ: 2, wantQuorate: true,
		in: QuorateInput{ExpectedVotes: 2, ATB: ATBLowest, MemberIDs: members(1), Ring: members(1), PrevRing: members(1, 2), Lowest: 1, Highest: 2}},
	{name: "ex25_lms_atb_after_window", tally: Tally{1, 1, 1}, prev: 2, allowDecrease: true, wantQ: 1, wantQuorate: true,
		in: QuorateInput{ExpectedVotes: 1, ATB: ATBLowest, MemberIDs: members(1), Ring: members(1), PrevRing: members(1, 2), Lowest: 1}},
	{name: "ex26_lms_half_at_once", tally: Tally{8, 4, 4}, prev: 5, wantQ: 5, in: QuorateInput{ExpectedVotes: 8}},
	{name: "ex27_wfa_rearmed_after_split", tally: Tally{4, 2, 2}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 4, WaitForAll: true}, wantWFA: true},
	{name: "ex27_wfa_reunite_three", tally: Tally{4, 3, 3}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 4, WaitForAll: true, WFAStatus: true}, wantWFA: true},
	{name: "ex28_wfa_node_fails", tally: Tally{4, 3, 3}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 4, WaitForAll: true}, wantQuorate: true},
	{name: "ex28_wfa_node_returns", tally: Tally{4, 4, 4}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 4, WaitForAll: true}, wantQuorate: true},
	{name: "ex29_weighted_majority", tally: Tally{4, 3, 2}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 4}, wantQuorate: true},
	{name: "ex29_weighted_minority", tally: Tally{4, 1, 1}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 4}},
	{name: "ex29b_weighted_heavy_alone", tally: Tally{4, 2, 1}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 4}},
	{name: "ex29b_weighted_two_light", tally: Tally{4, 2, 2}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 4}},
	{name: "ex30_expected_override", tally: Tally{5, 3, 3}, wantQ: 3, in: QuorateInput{ExpectedVotes: 5}, wantQuorate: true},
	{name: "ex30_then_node3_fails", tally: Tally{5, 2, 2}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 5}},
	{name: "ex31_two_fail", tally: Tally{5, 3, 3}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 5}, wantQuorate: true},
	{name: "ex31_one_more", tally: Tally{5, 2, 2}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 5}},
	{name: "ex32c_expected_3", tally: Tally{3, 3, 3}, prev: 3, allowDecrease: true, wantQ: 2, in: QuorateInput{ExpectedVotes: 3}, wantQuorate: true},
	{name: "ex33_two_node_misconfig_pair", tally: Tally{3, 2, 2}, prev: 2, twoNode: true, wantQ: 1, in: QuorateInput{ExpectedVotes: 3, WaitForAll: true}, wantQuorate: true},
	{name: "ex33_two_node_misconfig_single", tally: Tally{3, 1, 1}, prev: 2, twoNode: true, wantQ: 1, in: QuorateInput{ExpectedVotes: 3, WaitForAll: true}, wantQuorate: true},
	{name: "ex34_qdevice_all_up", tally: Tally{3, 3, 3}, wantQ: 2, in: QuorateInput{ExpectedVotes: 3}, wantQuorate: true},
	{name: "ex34b_split_with_vote", tally: Tally{3, 2, 2}, prev: 2, wantQ: 2, in: QuorateInput{ExpectedVotes: 3}, wantQuorate: true},
	{name: "ex34c_split_without_vote", tally: Tally{3, 1, 1}, prev: 2, wantQ: 2, in: QuorateInput{ExpectedVotes: 3}},
	{name: "ex35_qnetd_down", tally: Tally{3, 2, 2}, prev: 2, wantQ: 2, in: QuorateInput{ExpectedVotes: 3}, wantQuorate: true},
	{name: "ex36_qnetd_down_node2_fails", tally: Tally{3, 1, 1}, prev: 2, wantQ: 2, in: QuorateInput{ExpectedVotes: 3}},
	{name: "ex37_qdevice_split_2_2_winner", tally: Tally{5, 3, 3}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 5}, wantQuorate: true},
	{name: "ex37_qdevice_split_2_2_loser", tally: Tally{5, 2, 2}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 5}},
	{name: "ex38_qdevice_split_3_1", tally: Tally{5, 4, 4}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 5}, wantQuorate: true},
	{name: "ex38_qdevice_lone_node4", tally: Tally{5, 1, 1}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 5}},
	{name: "ex39_odd_ffsplit", tally: Tally{4, 3, 3}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 4}, wantQuorate: true},
	{name: "ex39b_odd_ffsplit_qnetd_down", tally: Tally{4, 2, 2}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 4}},
	{name: "ex40_lms_all_up", tally: Tally{5, 5, 4}, wantQ: 3, in: QuorateInput{ExpectedVotes: 5}, wantQuorate: true},
	{name: "ex40b_lms_isolated_winner", tally: Tally{5, 3, 2}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 5}, wantQuorate: true},
	{name: "ex40b_lms_isolated_loser", tally: Tally{5, 1, 1}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 5}},
	{name: "ex40c_lms_split", tally: Tally{5, 4, 3}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 5}, wantQuorate: true},
	{name: "ex40d_lms_qnetd_down", tally: Tally{5, 3, 3}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 5}, wantQuorate: true},
	{name: "ex40e_lms_qnetd_down_node3_fails", tally: Tally{5, 2, 2}, prev: 3, wantQ: 3, in: QuorateInput{ExpectedVotes: 5}},
	{name: "ex41_lms_split_1_4", tally: Tally{9, 8, 5}, prev: 5, wantQ: 5, in: QuorateInput{ExpectedVotes: 9}, wantQuorate: true},
	{name: "ex41_lms_lone_node1", tally: Tally{9, 1, 1}, prev: 5, wantQ: 5, in: QuorateInput{ExpectedVotes: 9}},
	{name: "ex41b_lms_last_man_standing", tally: Tally{9, 5, 2}, prev: 5, wantQ: 5, in: QuorateInput{ExpectedVotes: 9}, wantQuorate: true},
}

// TestWorkedExampleArithmetic checks calculate_quorum and are_we_quorate
// on the numbers of each worked example.
func TestWorkedExampleArithmetic(t *testing.T) {
	for _, c := range arithCases {
		t.Run(c.name, func(t *testing.T) {
			q := CalculateQuorum(c.tally, c.prev, c.allowDecrease, c.twoNode)
			if q != c.wantQ {
				t.Fatalf("CalculateQuorum(%+v, prev %d) = %d, want %d", c.tally, c.prev, q, c.wantQ)
			}
			in := c.in
			in.Quorum, in.TotalVotes = q, c.tally.TotalVotes
			r := AreWeQuorate(in)
			if r.Quorate != c.wantQuorate || r.WFAStatus != c.wantWFA {
				t.Fatalf("AreWeQuorate(%+v) = %+v, want quorate=%v wfa=%v", in, r, c.wantQuorate, c.wantWFA)
			}
		})
	}
}

// TestLMSTimerRule checks when last_man_standing starts its window in the
// LMS examples.
func TestLMSTimerRule(t *testing.T) {
	cases := []struct {
		name                  string
		members, quorum       int
		left, atb, lowestHere bool
		want                  bool
	}{
		{"ex24_three_fail", 5, 5, true, false, false, true},
		{"ex24b_two_more", 3, 3, true, false, false, true},
		{"ex24c_one_more", 2, 2, true, false, false, true},
		{"ex24d_last_one", 1, 2, true, false, false, false},
		{"ex25_last_one_with_atb", 1, 2, true, true, true, true},
		{"ex26_half_at_once", 4, 5, true, false, false, false},
		{"no_one_left", 5, 5, false, false, false, false},
	}
	for _, c := range cases {
		if got := LMSTimerShouldStart(c.members, c.quorum, c.left, c.atb, c.lowestHere); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestCheckSetExpected covers examples 5, 6 and 32.
func TestCheckSetExpected(t *testing.T) {
	cases := []struct {
		name    string
		n       int
		t       Tally
		quorate bool
		wantQ   int
		ok      bool
	}{
		{"ex05_expected_1_alone", 1, Tally{3, 1, 1}, false, 1, true},
		{"ex06_expected_1_below_total", 1, Tally{3, 2, 2}, true, 2, false},
		{"ex32_expected_2_below_total", 2, Tally{5, 3, 3}, true, 2, false},
		{"ex32b_expected_7_loses_quorum", 7, Tally{5, 3, 3}, true, 4, false},
		{"ex32c_expected_3", 3, Tally{5, 3, 3}, true, 2, true},
		{"zero", 0, Tally{1, 0, 0}, false, 1, false},
	}
	for _, c := range cases {
		q, ok := CheckSetExpected(c.n, c.t, c.quorate, false)
		if q != c.wantQ || ok != c.ok {
			t.Errorf("%s: (%d, %v), want (%d, %v)", c.name, q, ok, c.wantQ, c.ok)
		}
	}
}

// TestInitialExpected covers §1.1 on the example configurations.
func TestInitialExpected(t *testing.T) {
	nodes := func(n int) []NodeConfig {
		var ns []NodeConfig
		for i := 1; i <= n; i++ {
			ns = append(ns, NodeConfig{ID: wire.NodeID(i)})
		}
		return ns
	}
	weightedNodes := []NodeConfig{{ID: 1, Votes: 2}, {ID: 2}, {ID: 3}}
	cases := []struct {
		name string
		cfg  Config
		want Initial
		err  error
	}{
		{"ex01_three_nodes", Config{Self: 1, Nodes: nodes(3)}, Initial{1, 3, 3, 0}, nil},
		{"ex12_two_node", Config{Self: 2, Nodes: nodes(2), TwoNode: true}, Initial{1, 2, 2, 0}, nil},
		{"ex29_weighted", Config{Self: 1, Nodes: weightedNodes}, Initial{2, 4, 4, 0}, nil},
		{"ex29_weighted_light_node", Config{Self: 3, Nodes: weightedNodes}, Initial{1, 4, 4, 0}, nil},
		{"ex30_expected_override", Config{Self: 1, Nodes: nodes(3), ExpectedVotes: 5}, Initial{1, 5, 3, 0}, nil},
		{"ex34_ffsplit_votes_1", Config{Self: 1, Nodes: nodes(2), Device: &DeviceConfig{Votes: 1}}, Initial{1, 2, 2, 1}, nil},
		{"ex40_lms_auto_votes", Config{Self: 1, Nodes: nodes(3), Device: &DeviceConfig{Algorithm: AlgorithmLMS}}, Initial{1, 5, 3, 2}, nil},
		{"ex41_lms_auto_votes", Config{Self: 1, Nodes: nodes(5), Device: &DeviceConfig{Algorithm: AlgorithmLMS}}, Initial{1, 9, 5, 4}, nil},
		{"zero_votes_node", Config{Self: 1, Nodes: []NodeConfig{{ID: 1}, {ID: 2, Votes: VotesNone}}}, Initial{1, 1, 1, 0}, nil},
		{"no_nodelist", Config{Self: 1, ExpectedVotes: 3}, Initial{1, 3, 0, 0}, nil},
		{"nothing", Config{Self: 1}, Initial{}, ErrNoNodelist},
		{"device_votes_with_expected", Config{Self: 1, Nodes: nodes(3), ExpectedVotes: 4, Device: &DeviceConfig{}}, Initial{}, ErrDeviceVotesEV},
		{"device_votes_uneven", Config{Self: 1, Nodes: weightedNodes, Device: &DeviceConfig{}}, Initial{}, ErrDeviceVotesAll},
		{"device_votes_too_high", Config{Self: 1, Nodes: nodes(3), ExpectedVotes: 4, Device: &DeviceConfig{Votes: 3}}, Initial{}, ErrDeviceVotesHigh},
	}
	for _, c := range cases {
		got, err := InitialExpected(c.cfg)
		if !errors.Is(err, c.err) || (err == nil && got != c.want) {
			t.Errorf("%s: (%+v, %v), want (%+v, %v)", c.name, got, err, c.want, c.err)
		}
	}
}

// TestConfigValidation covers the startup rules of votequorum_readconfig.
func TestConfigValidation(t *testing.T) {
	n := func(k int) []NodeConfig {
		var ns []NodeConfig
		for i := 1; i <= k; i++ {
			ns = append(ns, NodeConfig{ID: wire.NodeID(i)})
		}
		return ns
	}
	errCases := []struct {
		name string
		cfg  Config
		err  error
	}{
		{"self_missing", Config{Self: 9, Nodes: n(3)}, ErrSelfMissing},
		{"node_zero", Config{Self: 1, Nodes: append(n(2), NodeConfig{ID: 0})}, ErrBadNode},
		{"duplicate", Config{Self: 1, Nodes: append(n(2), NodeConfig{ID: 2})}, ErrBadNode},
		{"two_node_device", Config{Self: 1, Nodes: n(2), TwoNode: true, Device: &DeviceConfig{Votes: 1}}, ErrTwoNodeDevice},
		{"device_lms", Config{Self: 1, Nodes: n(3), LastManStanding: true, Device: &DeviceConfig{Algorithm: AlgorithmLMS}}, ErrDeviceLMS},
		{"device_atb", Config{Self: 1, Nodes: n(4), AutoTieBreaker: true, Device: &DeviceConfig{Votes: 1}}, ErrDeviceATB},
		{"atb_lms_odd", Config{Self: 1, Nodes: n(5), AutoTieBreaker: true, LastManStanding: true}, ErrATBLMSOdd},
		{"atb_bad_node", Config{Self: 1, Nodes: n(4), AutoTieBreaker: true, AutoTieBreakerNode: "first"}, ErrATBNode},
		{"ffsplit_needs_one_vote", Config{Self: 1, Nodes: n(3), Device: &DeviceConfig{}}, ErrFFSplitVotes},
		{"device_timeout_tiny", Config{Self: 1, Nodes: n(2), Device: &DeviceConfig{Votes: 1, Timeout: 1}}, ErrBadValue},
	}
	for _, c := range errCases {
		if _, err := New(c.cfg, 0); !errors.Is(err, c.err) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.err)
		}
	}
	// CRIT-log adjustments: ATB in an odd cluster without WFA is disabled;
	// two_node with ATB drops two_node (and the implied WFA).
	q, err := New(Config{Self: 1, Nodes: n(5), AutoTieBreaker: true}, 0)
	if err != nil || q.s.atb != ATBNone || len(q.Ready().Events) != 1 {
		t.Errorf("ATB odd without WFA: atb=%v events=%v err=%v", q.s.atb, q.Ready().Events, err)
	}
	q, err = New(Config{Self: 1, Nodes: n(2), AutoTieBreaker: true, TwoNode: true}, 0)
	if err != nil || q.s.twoNode || q.s.wfa || q.s.atb != ATBLowest {
		t.Errorf("two_node with ATB: twoNode=%v wfa=%v atb=%v err=%v", q.s.twoNode, q.s.wfa, q.s.atb, err)
	}
	q, _ = New(Config{Self: 1, Nodes: n(4), AutoTieBreaker: true, AutoTieBreakerNodes: ids(4, 2)}, 0)
	if q.s.atb != ATBList || len(q.s.atbList) != 2 {
		t.Errorf("ATB list: %v %v", q.s.atb, q.s.atbList)
	}
}
