package reports

import (
	"cmp"
	"slices"
)

// Coverage is what a run (or a sweep, summed) exercised, in protocol
// terms: for every fault applied, the state each node it touched was in
// at that instant -- its Totem membership state, votequorum's verdict and
// the store's phase. A cell is one (fault kind x Totem state x quorum
// state x store state); Count is how many (fault, node) visits landed in
// it. A fault that names no node (heal, a switch, loss on every node)
// touches every node.
type CoverageCell struct {
	Fault  FaultAction `json:"fault"`
	Totem  string      `json:"totem"`  // one of CoverageTotem
	Quorum string      `json:"quorum"` // one of CoverageQuorum
	Store  string      `json:"store"`  // one of CoverageStore
	Count  int64       `json:"count"`
}

// The states of each dimension of a coverage cell. A node that is down
// when the fault applies is "down" in all three (one cell per fault
// kind). Totem's are its membership states (spec §3); votequorum's its
// verdict, "sync" while its sync for a new ring runs; the store's
// "syncing" until every member has the leader's state (pmxcfs's DFSM
// start, sync and transitional modes), then read_only or writable as the
// configuration's agreed quorum verdict says.
var (
	CoverageTotem  = []string{"gather", "commit", "recovery", "operational"}
	CoverageQuorum = []string{"quorate", "inquorate", "sync"}
	CoverageStore  = []string{"syncing", "read_only", "writable"}
)

// CoverageDown is the state of every dimension of a node that is down.
const CoverageDown = "down"

func (c CoverageCell) key() [4]string { return [4]string{string(c.Fault), c.Totem, c.Quorum, c.Store} }

func cellOrder(a, b CoverageCell) int {
	ka, kb := a.key(), b.key()
	if c := cmp.Compare(slices.Index(FaultActions, a.Fault), slices.Index(FaultActions, b.Fault)); c != 0 {
		return c
	}
	for i := 1; i < 4; i++ {
		if c := cmp.Compare(ka[i], kb[i]); c != 0 {
			return c
		}
	}
	return 0
}

// AddCoverage sums cells into cov and returns it in canonical order
// (fault kinds in the order of FaultActions, then by state names).
func AddCoverage(cov []CoverageCell, cells ...CoverageCell) []CoverageCell {
	at := make(map[[4]string]int, len(cov))
	for i, c := range cov {
		at[c.key()] = i
	}
	for _, c := range cells {
		if i, ok := at[c.key()]; ok {
			cov[i].Count += c.Count
			continue
		}
		at[c.key()] = len(cov)
		cov = append(cov, c)
	}
	slices.SortFunc(cov, cellOrder)
	return cov
}

// CoverageUniverse lists every cell of the fault kinds given: each
// combination of the three dimensions' states, and the down cell.
// Some are unreachable by design (a store that is writable while its
// node is not quorate, for one); a report names them all the same, as
// cells the runs never reached.
func CoverageUniverse(faults []FaultAction) []CoverageCell {
	var out []CoverageCell
	for _, f := range faults {
		for _, t := range CoverageTotem {
			for _, q := range CoverageQuorum {
				for _, s := range CoverageStore {
					out = append(out, CoverageCell{Fault: f, Totem: t, Quorum: q, Store: s})
				}
			}
		}
		out = append(out, CoverageCell{Fault: f, Totem: CoverageDown, Quorum: CoverageDown, Store: CoverageDown})
	}
	slices.SortFunc(out, cellOrder)
	return out
}

// NeverReached returns the cells of the universe of the fault kinds that
// cov visits, and which cov never reached.
func NeverReached(cov []CoverageCell) (reached, total int, missing []CoverageCell) {
	var kinds []FaultAction
	seen := map[[4]string]bool{}
	for _, c := range cov {
		if !slices.Contains(kinds, c.Fault) {
			kinds = append(kinds, c.Fault)
		}
		if c.Count > 0 {
			seen[c.key()] = true
		}
	}
	for _, c := range CoverageUniverse(kinds) {
		if seen[c.key()] {
			reached++
		} else {
			missing = append(missing, c)
		}
		total++
	}
	return reached, total, missing
}
