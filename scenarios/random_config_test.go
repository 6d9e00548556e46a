package scenarios

import (
	"slices"
	"testing"
	"time"
)

// membershipChanges are the config family's faults that change the
// nodelist or the quorum device through the replicated store.
var membershipChanges = []string{"add_node", "delnode", "qdevice_setup", "qdevice_remove"}

// TestConfigFamilyChangesWithEveryNodeInRing: the config family draws a
// membership change only when every configured node can be in the ring,
// since only the ring's members receive the store's copy of the new
// corosync.conf: no loss on any link, no partition, no node or switch
// down, and the fault before it at least the family's settle time
// earlier. Config seeds 8653 and 8661 of the 100,008-run soak drew an
// add_node under loss on link 0 and ended as two rings (a member cut off
// missed the add); the draws around them are unchanged, with the loss
// now ended first.
func TestConfigFamilyChangesWithEveryNodeInRing(t *testing.T) {
	seeds := uint64(1000)
	if testing.Short() {
		seeds = 100
	}
	changes, lossEnded := 0, 0
	for seed := uint64(1); seed <= seeds; seed++ {
		s, o, err := RandomScenario("config", seed)
		if err != nil {
			t.Fatal(err)
		}
		settle := o.membershipSettle(len(s.Cluster.Nodes))
		faults := slices.Clone(s.Faults)
		slices.SortStableFunc(faults, func(a, b Fault) int {
			if a.At != b.At {
				return int(a.At - b.At)
			}
			return a.Index - b.Index
		})
		loss := map[int]float64{}
		down, switches := map[string]bool{}, map[string]bool{}
		split, hadLoss := false, false
		var last time.Duration
		for i, f := range faults {
			if slices.Contains(membershipChanges, f.Action) {
				changes++
				if hadLoss {
					lossEnded++
					hadLoss = false
				}
				switch {
				case i > 0 && f.At-last < settle:
					t.Fatalf("config seed %d: %s at %v, %v after the fault before it (settle %v)", seed, f.Action, f.At, f.At-last, settle)
				case len(loss) > 0:
					t.Fatalf("config seed %d: %s at %v under loss %v", seed, f.Action, f.At, loss)
				case split:
					t.Fatalf("config seed %d: %s at %v during a partition", seed, f.Action, f.At)
				case len(down) > 0 || len(switches) > 0:
					t.Fatalf("config seed %d: %s at %v with nodes %v and switches %v down", seed, f.Action, f.At, down, switches)
				}
			}
			switch f.Action {
			case "set_loss":
				if f.Loss > 0 {
					loss[f.Link] = f.Loss
					hadLoss = true
				} else {
					delete(loss, f.Link)
				}
			case "partition", "isolate", "drop":
				split = true
			case "heal":
				split = false
			case "crash":
				down[f.Node] = true
			case "restart":
				delete(down, f.Node)
			case "switch_down":
				switches[f.Switch] = true
			case "switch_up":
				delete(switches, f.Switch)
			}
			last = f.At
		}
	}
	// Not vacuous: changes were drawn, and some came after a loss since
	// the change before them (a loss the schedule had to end first).
	if changes == 0 || lossEnded == 0 {
		t.Fatalf("%d membership changes over %d config seeds, %d after a loss", changes, seeds, lossEnded)
	}
}

// TestConfigFamilyPartitionsCoverAddedNodes: a partition the config family
// draws puts every node added before it in one of its groups, so that it
// splits the cluster rather than leaving an added node talking to every
// group (config seed 2995 drew such a bridge and came near the two-ring
// cycle).
func TestConfigFamilyPartitionsCoverAddedNodes(t *testing.T) {
	seeds := uint64(1000)
	if testing.Short() {
		seeds = 100
	}
	checked := 0
	for seed := uint64(1); seed <= seeds; seed++ {
		s, _, err := RandomScenario("config", seed)
		if err != nil {
			t.Fatal(err)
		}
		var added []string
		for _, f := range s.Faults {
			switch f.Action {
			case "add_node":
				added = append(added, f.Node)
			case "partition":
				for _, n := range added {
					if !slices.ContainsFunc(f.Groups, func(g []string) bool { return slices.Contains(g, n) }) {
						t.Fatalf("config seed %d: the partition at %v leaves out %s, added before it: %v", seed, f.At, n, f.Groups)
					}
					checked++
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no config draw partitions the cluster after an add_node: the test checks nothing")
	}
	t.Logf("%d added nodes in partitions checked", checked)
}
