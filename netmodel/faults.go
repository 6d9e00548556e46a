package netmodel

import (
	"fmt"
	"slices"

	"github.com/quorate/quorate/engine/wire"
)

// This file holds the fault actions of the scenario format. Each one
// validates all of its arguments before it changes anything, so a call that
// returns an error leaves the model as it was. A fault changes what happens
// to packets routed (or checked with PathVerdict) from then on.

// SwitchDown fails the named switch: every link through it drops every
// packet (DroppedSwitchDown) until SwitchUp.
func (m *Model) SwitchDown(name string) error { return m.setSwitch(name, true) }

// SwitchUp recovers the named switch. Cuts and NIC failures on its links
// stay as they are.
func (m *Model) SwitchUp(name string) error { return m.setSwitch(name, false) }

func (m *Model) setSwitch(name string, down bool) error {
	i, ok := slices.BinarySearch(m.switches, name)
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownSwitch, name)
	}
	m.switchDown[i] = down
	return nil
}

// NICDown fails node's NIC on link (the scenario's `link_down`): packets
// sent or received by node on that link are dropped (DroppedNICDown). The
// node's other links and the other nodes on that link are unaffected.
func (m *Model) NICDown(node wire.NodeID, link wire.LinkNo) error {
	return m.setNIC(node, link, true)
}

// NICUp recovers node's NIC on link.
func (m *Model) NICUp(node wire.NodeID, link wire.LinkNo) error {
	return m.setNIC(node, link, false)
}

func (m *Model) setNIC(node wire.NodeID, link wire.LinkNo, down bool) error {
	li, ni, err := m.nodeLink(node, link)
	if err != nil {
		return err
	}
	m.links[li].nicDown[ni] = down
	return nil
}

// Partition cuts, on links (nil or empty: every link), both directions
// between every two nodes in different groups. Nodes named in no group keep
// talking to everyone, and nodes in one group keep talking to each other.
// The cuts add to those already in place; Heal removes them. A node named in
// two groups is an error.
func (m *Model) Partition(groups [][]wire.NodeID, links []wire.LinkNo) error {
	lis, err := m.linkIndexes(links)
	if err != nil {
		return err
	}
	group := make([]int, len(m.lk.nodes)) // node position -> group+1, 0: none
	for g, ids := range groups {
		if len(ids) == 0 {
			continue // nodeIndexes would read it as every node
		}
		idx, err := m.nodeIndexes(ids)
		if err != nil {
			return err
		}
		for k, ni := range idx {
			if group[ni] != 0 && group[ni] != g+1 {
				return fmt.Errorf("%w: node %d is in two groups", ErrBadCut, ids[k])
			}
			group[ni] = g + 1
		}
	}
	for a, ga := range group {
		for b, gb := range group {
			if ga != 0 && gb != 0 && ga != gb {
				m.cut(lis, a, b)
			}
		}
	}
	return nil
}

// Isolate cuts node from every other node, both ways, on links (nil or
// empty: every link): a partition of node against the rest.
func (m *Model) Isolate(node wire.NodeID, links []wire.LinkNo) error {
	lis, err := m.linkIndexes(links)
	if err != nil {
		return err
	}
	ni := m.lk.node(node)
	if ni < 0 {
		return fmt.Errorf("%w: %d", ErrUnknownNode, node)
	}
	for o := range m.lk.nodes {
		if o != ni {
			m.cut(lis, ni, o)
			m.cut(lis, o, ni)
		}
	}
	return nil
}

// Drop cuts one way only: packets from any node in from to any node in to,
// on links (nil or empty: every link). The reverse direction is untouched (an
// asymmetric partition). A node in both lists keeps talking to itself.
// Empty from or to is an error.
func (m *Model) Drop(from, to []wire.NodeID, links []wire.LinkNo) error {
	if len(from) == 0 || len(to) == 0 {
		return fmt.Errorf("%w: drop needs both from and to", ErrBadCut)
	}
	lis, err := m.linkIndexes(links)
	if err != nil {
		return err
	}
	fs, err := m.nodeIndexes(from)
	if err != nil {
		return err
	}
	ts, err := m.nodeIndexes(to)
	if err != nil {
		return err
	}
	for _, f := range fs {
		for _, t := range ts {
			if f != t {
				m.cut(lis, f, t)
			}
		}
	}
	return nil
}

// cut blocks from -> to on the given link positions.
func (m *Model) cut(lis []int, from, to int) {
	n := len(m.lk.nodes)
	for _, li := range lis {
		m.links[li].cut[from*n+to] = true
	}
}

// Heal removes every partition, isolate and drop on links (nil or empty:
// every link), including cuts that were made for several links at once:
// those stay only on the links not healed. Switch and NIC failures are not
// cuts and stay.
func (m *Model) Heal(links []wire.LinkNo) error {
	lis, err := m.linkIndexes(links)
	if err != nil {
		return err
	}
	for _, li := range lis {
		clear(m.links[li].cut)
	}
	return nil
}

// SetLatency changes, from now on, the latency distribution of packets sent
// on link by nodes (nil or empty: every node). Packets already routed keep
// their arrival times; the FIFO clamp still holds, so a pair whose latency
// drops does not overtake its own packets unless the link has Reorder.
func (m *Model) SetLatency(link wire.LinkNo, d Dist, nodes []wire.NodeID) error {
	if err := d.Validate(); err != nil {
		return err
	}
	li := m.lk.link(link)
	if li < 0 {
		return fmt.Errorf("%w: %d", ErrUnknownLink, link)
	}
	idx, err := m.nodeIndexes(nodes)
	if err != nil {
		return err
	}
	ls := &m.links[li]
	n := len(m.lk.nodes)
	for _, f := range idx {
		ls.latency[f] = d
		for t := range n {
			if p := &ls.pairs[f*n+t]; p.src != nil {
				p.setLatency(d)
			}
		}
	}
	return nil
}

// SetLoss changes, from now on, the loss rate of packets sent on link by
// nodes (nil or empty: every node).
func (m *Model) SetLoss(link wire.LinkNo, loss float64, nodes []wire.NodeID) error {
	if err := checkRate("loss", loss); err != nil {
		return err
	}
	li := m.lk.link(link)
	if li < 0 {
		return fmt.Errorf("%w: %d", ErrUnknownLink, link)
	}
	idx, err := m.nodeIndexes(nodes)
	if err != nil {
		return err
	}
	for _, f := range idx {
		m.links[li].loss[f] = loss
	}
	return nil
}
