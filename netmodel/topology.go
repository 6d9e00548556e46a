package netmodel

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// Sentinel errors; the errors returned by New and the fault methods wrap
// one of them with the offending name.
var (
	// ErrBadTopology is wrapped by New for an invalid Topology.
	ErrBadTopology = errors.New("netmodel: bad topology")
	// ErrUnknownNode is wrapped when a node id is not in the topology.
	ErrUnknownNode = errors.New("netmodel: unknown node")
	// ErrUnknownLink is wrapped when a link number is not in the topology.
	ErrUnknownLink = errors.New("netmodel: unknown link")
	// ErrUnknownSwitch is wrapped when a switch name is not in the topology.
	ErrUnknownSwitch = errors.New("netmodel: unknown switch")
	// ErrBadRate is wrapped when a loss or duplicate rate is outside [0, 1].
	ErrBadRate = errors.New("netmodel: rate outside [0, 1]")
	// ErrBadCut is wrapped by Partition when a node is in two groups and by
	// Drop when from or to is empty.
	ErrBadCut = errors.New("netmodel: bad partition or drop")
)

// LinkSpec is one knet link: link Number of every node plugs into Switch.
type LinkSpec struct {
	// Number is the knet link number, 0..wire.MaxLinks-1.
	Number wire.LinkNo
	// Switch names the switch; "" means "link<Number>". Several links may
	// name the same switch.
	Switch string
	// Latency is the one-way latency of every packet sent on the link.
	Latency Dist
	// Loss is the probability that a packet is dropped.
	Loss float64
	// Duplicate is the probability that a delivered packet arrives twice.
	Duplicate float64
	// Reorder lets packets between one pair overtake each other; without it
	// a packet never arrives before one sent earlier on the same
	// (from, to, link).
	Reorder bool
}

// Topology is the network of a run: its nodes and links. Every node has one
// NIC on every link.
type Topology struct {
	Nodes []wire.NodeID
	Links []LinkSpec
	// HostWait is the mean of every arrival's exponential wait for the
	// receiving daemon, capped at 20 means; 0 means the default HostWait.
	HostWait time.Duration
}

// StreamFunc returns an independent, explicitly seeded random source for a
// label such as "link/1-2/0". The simulator derives it from the scenario seed
// (see style guide §4.2). The model calls it once per label, lazily, and owns
// the returned source from then on; it must not return nil.
type StreamFunc func(label string) rand.Source

// denseIDs is the largest node id for which lookups use a slice instead of
// the map.
const denseIDs = 1 << 12

// lookup holds node and link indexes. Lookups only: nothing ranges over the
// map.
type lookup struct {
	nodes   []wire.NodeID
	dense   []int32 // NodeID -> index+1 when every id < denseIDs
	sparse  map[wire.NodeID]int
	linkIdx [wire.MaxLinks]int8 // LinkNo -> index into links, -1 if absent
}

// node returns the position of id, or -1.
func (l *lookup) node(id wire.NodeID) int {
	if l.dense != nil {
		if int(id) < len(l.dense) {
			return int(l.dense[id]) - 1
		}
		return -1
	}
	if i, ok := l.sparse[id]; ok {
		return i
	}
	return -1
}

// link returns the position of n, or -1.
func (l *lookup) link(n wire.LinkNo) int {
	if int(n) >= len(l.linkIdx) {
		return -1
	}
	return int(l.linkIdx[n])
}

func checkRate(what string, r float64) error {
	if math.IsNaN(r) || r < 0 || r > 1 {
		return fmt.Errorf("%w: %s %v", ErrBadRate, what, r)
	}
	return nil
}

// validSwitchName reports whether s matches [A-Za-z0-9][A-Za-z0-9_.-]*.
func validSwitchName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return false
		}
	}
	return true
}

// switchName returns the switch of l, defaulted.
func (l LinkSpec) switchName() string {
	if l.Switch == "" {
		return "link" + strconv.Itoa(int(l.Number))
	}
	return l.Switch
}

// validate checks t and builds its lookup tables.
func (t Topology) validate() (lookup, error) {
	lk := lookup{nodes: slices.Clone(t.Nodes)}
	for i := range lk.linkIdx {
		lk.linkIdx[i] = -1
	}
	if len(t.Nodes) == 0 {
		return lk, fmt.Errorf("%w: no nodes", ErrBadTopology)
	}
	if len(t.Links) == 0 {
		return lk, fmt.Errorf("%w: no links", ErrBadTopology)
	}
	maxID := slices.Max(t.Nodes)
	lk.sparse = make(map[wire.NodeID]int, len(t.Nodes))
	for i, id := range t.Nodes {
		if id == 0 {
			return lk, fmt.Errorf("%w: node id 0 is reserved", ErrBadTopology)
		}
		if _, dup := lk.sparse[id]; dup {
			return lk, fmt.Errorf("%w: node %d listed twice", ErrBadTopology, id)
		}
		lk.sparse[id] = i
	}
	if maxID < denseIDs {
		lk.dense = make([]int32, maxID+1)
		for i, id := range t.Nodes {
			lk.dense[id] = int32(i + 1)
		}
	}
	for i, l := range t.Links {
		if int(l.Number) >= wire.MaxLinks {
			return lk, fmt.Errorf("%w: link %d: number must be below %d", ErrBadTopology, l.Number, wire.MaxLinks)
		}
		if lk.linkIdx[l.Number] >= 0 {
			return lk, fmt.Errorf("%w: link %d listed twice", ErrBadTopology, l.Number)
		}
		lk.linkIdx[l.Number] = int8(i)
		if !validSwitchName(l.switchName()) {
			return lk, fmt.Errorf("%w: link %d: bad switch name %q", ErrBadTopology, l.Number, l.Switch)
		}
		if err := l.Latency.Validate(); err != nil {
			return lk, fmt.Errorf("%w: link %d latency: %w", ErrBadTopology, l.Number, err)
		}
		if err := checkRate("loss", l.Loss); err != nil {
			return lk, fmt.Errorf("%w: link %d: %w", ErrBadTopology, l.Number, err)
		}
		if err := checkRate("duplicate", l.Duplicate); err != nil {
			return lk, fmt.Errorf("%w: link %d: %w", ErrBadTopology, l.Number, err)
		}
	}
	return lk, nil
}

// nodeIndexes resolves ids to positions; nil or empty ids means every node.
func (m *Model) nodeIndexes(ids []wire.NodeID) ([]int, error) {
	if len(ids) == 0 {
		all := make([]int, len(m.lk.nodes))
		for i := range all {
			all[i] = i
		}
		return all, nil
	}
	out := make([]int, len(ids))
	for i, id := range ids {
		if out[i] = m.lk.node(id); out[i] < 0 {
			return nil, fmt.Errorf("%w: %d", ErrUnknownNode, id)
		}
	}
	return out, nil
}

// linkIndexes resolves link numbers to positions; nil or empty means every
// link.
func (m *Model) linkIndexes(nos []wire.LinkNo) ([]int, error) {
	if len(nos) == 0 {
		all := make([]int, len(m.links))
		for i := range all {
			all[i] = i
		}
		return all, nil
	}
	out := make([]int, len(nos))
	for i, n := range nos {
		if out[i] = m.lk.link(n); out[i] < 0 {
			return nil, fmt.Errorf("%w: %d", ErrUnknownLink, n)
		}
	}
	return out, nil
}
