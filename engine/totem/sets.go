package totem

import (
	"slices"

	"github.com/quorate/quorate/engine/wire"
)

// Node sets are sorted, duplicate-free slices of nodeids (corosync's
// memb_set_* helpers operate on unsorted arrays; sorting makes equality and
// subset tests linear and keeps every output deterministic).

func setHas(s []wire.NodeID, id wire.NodeID) bool {
	_, ok := slices.BinarySearch(s, id)
	return ok
}

// setAdd returns s ∪ {id}; it may modify s's backing array.
func setAdd(s []wire.NodeID, id wire.NodeID) []wire.NodeID {
	i, ok := slices.BinarySearch(s, id)
	if ok {
		return s
	}
	return slices.Insert(s, i, id)
}

// setUnion returns a new set a ∪ b.
func setUnion(a, b []wire.NodeID) []wire.NodeID {
	out := make([]wire.NodeID, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// setMinus returns a new set a − b.
func setMinus(a, b []wire.NodeID) []wire.NodeID {
	out := make([]wire.NodeID, 0, len(a))
	for _, id := range a {
		if !setHas(b, id) {
			out = append(out, id)
		}
	}
	return out
}

// setSubset reports a ⊆ b.
func setSubset(a, b []wire.NodeID) bool {
	if len(a)*8 < len(b) || !slices.IsSorted(a) {
		// A few ids in a large set: a search each.
		for _, id := range a {
			if !setHas(b, id) {
				return false
			}
		}
		return true
	}
	// Both sorted (b is a set; a is checked, as an unsorted list would
	// make the merge miss ids): one merge pass, linear instead of a
	// search per id (a JOIN or commit token at 128 nodes checks 128 ids
	// against 128).
	j := 0
	for _, id := range a {
		for j < len(b) && b[j] < id {
			j++
		}
		if j == len(b) || b[j] != id {
			return false
		}
	}
	return true
}

func setEqual(a, b []wire.NodeID) bool { return slices.Equal(a, b) }

// Serial-number arithmetic on 32-bit sequence numbers (corosync sq_lt_compare).

func seqLT(a, b uint32) bool  { return int32(a-b) < 0 }
func seqLTE(a, b uint32) bool { return int32(a-b) <= 0 }

// maxBitsID bounds the node ids the ring's bitmap of configured nodes
// holds (a bit each); a nodelist with a larger id is searched instead.
const maxBitsID = 1 << 16

// setNodes makes ids (in any order) the configured nodes: r.nodes sorted,
// and r.nodeBits a bitmap of them when every id is at most maxBitsID.
// Every datagram's sender, and every id a JOIN or commit token names, is
// checked against the nodelist: at 128 nodes a binary search or merge per
// check was 7% of a loaded run, a bit test is one load.
func (r *Ring) setNodes(ids []wire.NodeID) {
	r.scratch.jnChecked = false
	r.nodes = slices.Clone(ids)
	slices.Sort(r.nodes)
	r.nodeBits = nil
	if len(r.nodes) > 0 && r.nodes[len(r.nodes)-1] <= maxBitsID {
		r.nodeBits = make([]uint64, r.nodes[len(r.nodes)-1]/64+1)
		for _, id := range r.nodes {
			r.nodeBits[id/64] |= 1 << (id % 64)
		}
	}
}

// configured reports whether id is in the nodelist (setHas(r.nodes, id)).
func (r *Ring) configured(id wire.NodeID) bool {
	if r.nodeBits == nil {
		return setHas(r.nodes, id)
	}
	return hasBit(r.nodeBits, id)
}

// hasBit reports whether bit id of bits is set (false past its end).
func hasBit(bits []uint64, id wire.NodeID) bool {
	w := id / 64
	return int(w) < len(bits) && bits[w]&(1<<(id%64)) != 0
}

// allConfigured reports whether every id of ids is in the nodelist
// (setSubset(ids, r.nodes), for ids in any order).
func (r *Ring) allConfigured(ids []wire.NodeID) bool {
	if r.nodeBits == nil {
		return setSubset(ids, r.nodes)
	}
	for _, id := range ids {
		if !hasBit(r.nodeBits, id) {
			return false
		}
	}
	return true
}
