package corosyncconf

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
)

// The cluster-wide changes of the nodelist, as pvecm add and pvecm delnode
// make them, in one place: the agent's join server and delnode and the
// simulator's add_node and delnode actions decide with the same code, so
// that a change refused in a rehearsal is refused on the real cluster with
// the same words.

// NodeNameRE is what a node name may look like: a host name label
// sequence, as Proxmox requires.
var NodeNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

// ErrNotInNodelist is returned by RemoveNode for a node id the nodelist
// does not have.
var ErrNotInNodelist = errors.New("corosyncconf: not in the cluster's corosync.conf")

// LinkAddr is a new node's address on one link (ringX_addr).
type LinkAddr struct {
	Link int
	Addr string
}

// Edit parses a cluster's corosync.conf (named name in errors), lets edit
// change it, increases totem.config_version by one and returns the new
// text, parsed again so that corosync would start with it.
func Edit(name string, old []byte, edit func(c *Config) error) ([]byte, error) {
	c, err := Parse(name, old)
	if err != nil {
		return nil, err
	}
	if err := edit(c); err != nil {
		return nil, err
	}
	c.ConfigVersion++
	out := c.Marshal()
	if _, err := Parse(name, out); err != nil {
		return nil, fmt.Errorf("the edited configuration does not parse: %w", err)
	}
	return out, nil
}

// AddNode adds a node to c as pvecm add does, after checking that its
// name, id and addresses are new and that it has an address on exactly the
// cluster's links. A zero id takes the lowest free one; zero votes mean 1.
// It returns the node's id.
//
// A cluster with a quorum device refuses, as pvecm add does, unless the
// same operation carries the qnetd client bundle to the new node (bundle):
// without it the new node's qdevice could not connect. Even with it, the
// device must still fit the new node count: ffsplit needs an even one, and
// votes written for the old count (lms without automatic votes) would be
// wrong.
func (c *Config) AddNode(name string, id, votes uint32, addrs []LinkAddr, bundle bool) (uint32, error) {
	if !NodeNameRE.MatchString(name) {
		return 0, fmt.Errorf("node name %q: use letters, digits, '-' or '.'", name)
	}
	if d := c.Quorum.Device; d != nil {
		redo := "remove it first with `quorate qdevice remove`, add the node, then run `quorate qdevice setup` again"
		switch n := len(c.Nodes) + 1; {
		case !bundle:
			return 0, fmt.Errorf("the cluster has a quorum device (qnetd %s, %s:%d) and the add does not carry its client bundle: %s",
				d.Net.Host, c.File, d.Line, redo)
		case d.Net.Algorithm == "ffsplit" && n%2 == 1:
			return 0, fmt.Errorf("the cluster's quorum device uses ffsplit, which needs an even node count, and the nodelist would have %d nodes (%s:%d): %s (lms for an odd count)",
				n, c.File, d.Line, redo)
		case d.Net.Algorithm != "ffsplit" && !d.VotesAuto:
			return 0, fmt.Errorf("the cluster's quorum device has votes %d, written for %d nodes (%s:%d): %s",
				d.Votes, len(c.Nodes), c.File, d.Line, redo)
		}
	}
	if c.NodeByName(name) != nil {
		return 0, fmt.Errorf("a node named %q is already in the cluster", name)
	}
	if id == 0 {
		for id = 1; c.Node(id) != nil; id++ {
		}
	} else if n := c.Node(id); n != nil {
		return 0, fmt.Errorf("nodeid %d is already used by node %s", id, n.DisplayName())
	}
	want := c.LinkNumbers()
	var have []int
	n := Node{Name: name, NodeID: id, QuorumVotes: max(votes, 1)}
	for _, l := range addrs {
		if l.Link < 0 || l.Link >= MaxLinks {
			return 0, fmt.Errorf("link %d: knet links are 0..%d", l.Link, MaxLinks-1)
		}
		have = append(have, l.Link)
		for i := range c.Nodes {
			if c.Nodes[i].RingAddrs[l.Link] == l.Addr {
				return 0, fmt.Errorf("address %s of link %d is already used by node %s", l.Addr, l.Link, c.Nodes[i].DisplayName())
			}
		}
		n.RingAddrs[l.Link] = l.Addr
	}
	slices.Sort(have)
	if !slices.Equal(have, want) {
		return 0, fmt.Errorf("the cluster uses links %v, the new node gives addresses for links %v", want, have)
	}
	c.Nodes = append(c.Nodes, n)
	return id, nil
}

// RemoveNode drops node id from the nodelist, as pvecm delnode does
// (ErrNotInNodelist when it is not there).
func (c *Config) RemoveNode(id uint32) error {
	n := len(c.Nodes)
	c.Nodes = slices.DeleteFunc(c.Nodes, func(n Node) bool { return n.NodeID == id })
	if len(c.Nodes) == n {
		return ErrNotInNodelist
	}
	return nil
}

// DisplayName is the node's name, or its ring0 address without one, as
// pvecm prints a node.
func (n *Node) DisplayName() string {
	if n.Name != "" {
		return n.Name
	}
	return n.RingAddrs[0]
}

// CheckEdit is what every path that installs a new cluster corosync.conf
// checks against the cluster's current one (cfs put, add, delnode, the
// quorum device, rollback, and the simulator's operator actions): the new
// text (named name in errors) parses and validates as corosync would,
// every node maps onto the engine, the cluster keeps its name and
// config_version grows (corosync refuses a lower one). Errors name the
// file and line.
func CheckEdit(old *Config, name string, nb []byte) (*Config, error) {
	nc, err := Parse(name, nb)
	switch {
	case err != nil:
		return nil, fmt.Errorf("the new configuration does not parse: %w", err)
	case nc.ClusterName != old.ClusterName:
		return nil, &Error{File: name, Line: nc.Line("totem.cluster_name"), Key: "totem.cluster_name",
			Msg: fmt.Sprintf("the new configuration renames the cluster %q to %q", old.ClusterName, nc.ClusterName)}
	case nc.ConfigVersion <= old.ConfigVersion:
		return nil, &Error{File: name, Line: nc.Line("totem.config_version"), Key: "totem.config_version",
			Msg: fmt.Sprintf("the new configuration must raise config_version above %d (it has %d)", old.ConfigVersion, nc.ConfigVersion)}
	}
	for _, n := range nc.Nodes {
		if _, err := nc.EngineConfig(n.NodeID); err != nil {
			return nil, err
		}
	}
	return nc, nil
}

// NodeIDs lists the nodelist's ids, sorted.
func (c *Config) NodeIDs() []uint32 {
	out := make([]uint32, 0, len(c.Nodes))
	for _, n := range c.Nodes {
		out = append(out, n.NodeID)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
