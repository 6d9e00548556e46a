package sim

import (
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
)

// Real Corosync 3.1.7 on the schedule of
// testdata/regress/random-crash-795.yaml, 28 repetitions of
// scripts/corosync/exp_restart_burst.sh (docs/fidelity.md, "A burst of
// crashes and restarts"; 14 of them with JITTER_MS=600, which moves the
// survivors' knet ping phases and Totem timers against the schedule): the
// time from the last restarted daemon's Totem start (its first GATHER, when
// its interface came up) to the ring of all four nodes. The simulator
// boots a node's Totem at the restart instant, so the two are compared
// from the same point.
//
// Corosync is bimodal here. In 20 of 28 repetitions the three survivors
// were one ring when the ring of all four formed, and the restarted node
// joined it as soon as its links were up (1488 to 1848 ms, median 1666);
// in 8 the survivors were still split into rings that merged with it in
// one round (1572 to 4388 ms, median 3766; all but one after a further
// consensus round). The median of all 28 is 1688 ms and the slowest
// 4388 ms; 21 of 28 settled within 2.5 s.
const (
	restartBurstJoinedMs = 1666.0 // survivors one ring before the final one
	restartBurstSplitMs  = 3766.0 // survivors split before the final ring
	restartBurstMedianMs = 1688.0 // all 28 repetitions
	restartBurstMaxMs    = 4388.0 // the slowest repetition
	restartBurstJoinedOf = 21.0 / 28.0
)

// survivorsJoined says whether the nodes other than the one restarted last
// were members of one ring of exactly themselves at an instant (the first
// install of the final ring): the ring each of them installed last before
// that instant (by every member) is the same ring, with no other members.
func survivorsJoined(rings []reports.RingInstall, restartedMs float64, survivors []string) bool {
	last := map[string]string{}
	members := map[string][]string{}
	for _, r := range rings {
		if r.LastMs >= restartedMs {
			continue
		}
		members[r.RingID] = r.Members
		for _, m := range r.Members {
			last[m] = r.RingID
		}
	}
	id, ok := last[survivors[0]]
	if !ok {
		return false
	}
	for _, s := range survivors[1:] {
		if last[s] != id {
			return false
		}
	}
	got := slices.Clone(members[id])
	want := slices.Clone(survivors)
	slices.Sort(got)
	slices.Sort(want)
	return slices.Equal(got, want)
}

// TestSurvivorsJoined checks the classification of the two paths on rings
// of the shapes the runs produce.
func TestSurvivorsJoined(t *testing.T) {
	ring := func(id string, first, last float64, m ...string) reports.RingInstall {
		return reports.RingInstall{RingID: id, Members: m, FirstMs: first, LastMs: last, Nodes: len(m)}
	}
	survivors := []string{"n1", "n2", "n3"}
	for _, tc := range []struct {
		name  string
		rings []reports.RingInstall
		want  bool
	}{
		{"one ring of the three", []reports.RingInstall{
			ring("2.11", 16462, 16462, "n2", "n3"), ring("3.16", 23108, 23108, "n3"),
			ring("1.1a", 25000, 25001, "n1", "n2", "n3"), ring("4.17", 26549, 26549, "n4")}, true},
		{"split (seed 795 on real Corosync, rep 3)", []reports.RingInstall{
			ring("2.11", 16462, 16462, "n2", "n3"), ring("1.12", 20276, 20276, "n1"),
			ring("3.16", 23108, 23108, "n3"), ring("4.17", 26549, 26549, "n4"),
			ring("1.1a", 27351, 27351, "n1")}, false},
		{"the three with the restarted node", []reports.RingInstall{
			ring("1.d", 1392, 1393, "n1", "n2", "n3", "n4")}, false},
		{"the three installing at the restart", []reports.RingInstall{
			ring("1.12", 20276, 20276, "n1"), ring("2.11", 16462, 16462, "n2", "n3"),
			ring("1.1a", 26548, 26550, "n1", "n2", "n3")}, false},
	} {
		if got := survivorsJoined(tc.rings, 26549, survivors); got != tc.want {
			t.Errorf("%s: survivorsJoined = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestRestartBurst runs the crash scenario of seed 795. Before the JOIN
// rule of memb_join_process was followed (re-enter GATHER on a JOIN from a
// non-member that fails more nodes), its nodes installed rings of
// themselves every consensus period for 14.7 s after the last restart; real
// Corosync needs 1.5 to 4.4 s. The simulated settle time must be within the
// fidelity tolerance of Corosync's median on the path the run took, and no
// node may install more rings on the way than Corosync did on one node in
// those repetitions.
func TestRestartBurst(t *testing.T) {
	sc, err := scenarios.Load(filepath.Join("..", "testdata", "regress", "random-crash-795.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	res := runOK(t, sc, Options{})
	if !res.OK {
		t.Fatalf("seed 795: %s", res.Failure)
	}
	lv := res.Liveness
	if lv == nil || !lv.Converged {
		t.Fatalf("seed 795: no liveness figure: %+v", lv)
	}
	last := sc.Faults[len(sc.Faults)-1]
	if last.Action != "restart" {
		t.Fatalf("seed 795: the last fault is %s %s, not a restart", last.Action, last.Node)
	}
	var survivors []string
	for _, n := range sc.Cluster.Nodes {
		if n.Name != last.Node {
			survivors = append(survivors, n.Name)
		}
	}
	final := -1.0
	for _, r := range res.Rings {
		if len(r.Members) == len(sc.Cluster.Nodes) && r.FirstMs > final {
			final = r.FirstMs
		}
	}
	path, want := "split", restartBurstSplitMs
	if survivorsJoined(res.Rings, final, survivors) {
		path, want = "joined", restartBurstJoinedMs
	}
	diff, within := offCorosync(lv.MeasuredMs, want)
	if !within {
		t.Errorf("seed 795 (survivors %s before the final ring) settled %.0f ms after it, %+.0f%% from Corosync's median %.0f ms on that path (tolerance %.0f%%)",
			path, lv.MeasuredMs, diff, want, fidelityTolerance)
	}
	// Corosync installed two to four rings on one node after the last
	// restart (the restarted node's own ring, rings of two or three, the
	// ring of four); the chain of singleton rings installed eight.
	if lv.Churn > 4 {
		t.Errorf("seed 795: a node installed %d rings after the last restart, Corosync at most 4", lv.Churn)
	}
	t.Logf("seed 795: survivors %s before the final ring; settled %.0f ms after it (%+.0f%% from Corosync's %.0f ms), %d membership changes, bound %.0f ms",
		path, lv.MeasuredMs, diff, want, lv.Churn, lv.BoundMs)
}

// TestRestartBurstOverSeeds runs the schedule of seed 795 with 96 other
// seeds (other latency draws, so other knet ping phases and JOIN orders,
// as the repetitions on real Corosync differ) and compares the
// distribution of settle times with Corosync's 28 repetitions: its median
// within the fidelity tolerance of Corosync's, the share of runs on the
// fast path (settled before 2.5 s) within 25 points of Corosync's 75%, and
// the slowest of every 28 runs (the 27/28 quantile: what the slowest of
// 28 repetitions estimates) no slower than Corosync's slowest repetition
// plus the tolerance. The settle times are bimodal (fast path about
// 1.7 s, the other about 3.6 s) and the simulator takes the fast path in
// 52 to 59% of runs, so with 32 seeds the median fell in either mode
// depending on the draw, and the largest of 96 runs says more about the
// sample's size than about Corosync's slowest repetition.
// Before a node's own JOIN and tokens came back through a loopback delay
// (totem.Config.Loopback) one run in five chained singleton rings for 6 to
// 18 s, a tail no repetition showed.
func TestRestartBurstOverSeeds(t *testing.T) {
	if testing.Short() {
		t.Skip("32 runs")
	}
	const seeds = 96
	settle := make([]float64, seeds)
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	for i := range seeds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			sc, err := scenarios.Load(filepath.Join("..", "testdata", "regress", "random-crash-795.yaml"))
			if err != nil {
				t.Error(err)
				return
			}
			sc.Seed = uint64(i + 1)
			res, err := Run(sc, Options{})
			if err != nil {
				t.Error(err)
				return
			}
			if !res.OK || res.Liveness == nil || !res.Liveness.Converged {
				t.Errorf("seed %d: %s", sc.Seed, res.Failure)
				return
			}
			settle[i] = res.Liveness.MeasuredMs
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	sorted := slices.Clone(settle)
	slices.Sort(sorted)
	median := (sorted[seeds/2-1] + sorted[seeds/2]) / 2
	fast := 0
	for _, v := range settle {
		if v < 2500 {
			fast++
		}
	}
	share := float64(fast) / seeds
	slow := sorted[seeds*27/28-1]
	t.Logf("seeds 1-%d: settle median %.0f ms (Corosync %.0f), fast path %d of %d (Corosync 21 of 28), 27/28 quantile %.0f ms and slowest %.0f ms (Corosync's slowest %.0f); all: %.0f",
		seeds, median, restartBurstMedianMs, fast, seeds, slow, sorted[seeds-1], restartBurstMaxMs, settle)
	if d, within := offCorosync(median, restartBurstMedianMs); !within {
		t.Errorf("median settle %.0f ms is %+.0f%% from Corosync's %.0f ms (tolerance %.0f%%)", median, d, restartBurstMedianMs, fidelityTolerance)
	}
	if share < restartBurstJoinedOf-0.25 || share > restartBurstJoinedOf+0.25 {
		t.Errorf("%d of %d runs settled on the fast path, Corosync %.0f%%", fast, seeds, restartBurstJoinedOf*100)
	}
	if limit := restartBurstMaxMs * (1 + fidelityTolerance/100); slow > limit {
		t.Errorf("the slowest of every 28 runs settled %.0f ms after the last restart, over Corosync's slowest %.0f ms + %.0f%%", slow, restartBurstMaxMs, fidelityTolerance)
	}
}
