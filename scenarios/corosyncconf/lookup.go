package corosyncconf

import (
	"net/netip"
	"slices"
	"strings"
)

// Line returns the line that sets a cmap-style key, or 0 when the file does
// not set it. Keys are numbered as corosync numbers them:
// "totem.token", "nodelist.node.2.ring1_addr" (the third node section),
// "totem.interface.1.knet_link_priority" (by link number),
// "quorum.device.net.host", "logging.logger_subsys.QUORUM.debug". A section
// key ("totem", "nodelist.node.2", "totem.interface.1", "quorum.device")
// gives the line of its opening brace. With repeated keys the last wins, as
// in corosync.
func (c *Config) Line(key string) int {
	if e, ok := c.keys[key]; ok {
		return e.line
	}
	return c.sections[key]
}

// Has reports whether the file sets a key (see Line for key names; for a
// section key, whether the file has that section).
func (c *Config) Has(key string) bool {
	_, ok := c.keys[key]
	_, isSection := c.sections[key]
	return ok || isSection
}

// Get returns the raw text the file gives for key (see Line), for keys the
// typed fields do not cover; ok is false when the file does not set it.
// Section keys have no value and give ok false.
func (c *Config) Get(key string) (value string, ok bool) {
	e, ok := c.keys[key]
	return e.value, ok
}

// Keys returns every key the file sets, sorted; section keys are not included.
func (c *Config) Keys() []string {
	keys := make([]string, 0, len(c.keys))
	for k := range c.keys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Tree returns the section tree the Config was built from.
func (c *Config) Tree() *Section { return c.tree }

// LinkNumbers returns the link numbers in use, sorted.
func (c *Config) LinkNumbers() []int {
	links := make([]int, len(c.Interfaces))
	for i, in := range c.Interfaces {
		links[i] = in.LinkNumber
	}
	return links
}

// Interface returns the settings of a link in use, or nil.
func (c *Config) Interface(link int) *Interface {
	for i := range c.Interfaces {
		if c.Interfaces[i].LinkNumber == link {
			return &c.Interfaces[i]
		}
	}
	return nil
}

// Node returns the node with the given nodeid, or nil.
func (c *Config) Node(nodeID uint32) *Node {
	for i := range c.Nodes {
		if c.Nodes[i].NodeID == nodeID {
			return &c.Nodes[i]
		}
	}
	return nil
}

// NodeByName returns the node with the given name, or nil.
func (c *Config) NodeByName(name string) *Node {
	for i := range c.Nodes {
		if c.Nodes[i].Name == name {
			return &c.Nodes[i]
		}
	}
	return nil
}

// Addr returns the ringX_addr of the node with the given nodeid on a link,
// or "" when there is no such node or link.
func (c *Config) Addr(nodeID uint32, link int) string {
	n := c.Node(nodeID)
	if n == nil || link < 0 || link >= MaxLinks {
		return ""
	}
	return n.RingAddrs[link]
}

// Links returns the link numbers the node has an address on, sorted.
func (n *Node) Links() []int {
	var links []int
	for l, a := range n.RingAddrs {
		if a != "" {
			links = append(links, l)
		}
	}
	return links
}

// LocalNode finds the nodelist entry of the host this process runs on, the
// way corosync's find_local_node (exec/totemconfig.c) does, without name
// resolution: hostname is what uname(2) reports and addrs are the host's
// interface addresses, both supplied by the caller.
//
// In order, the first node found wins:
//  1. a node whose name or ring0_addr equals hostname;
//  2. the same with hostname shortened one domain label at a time from the
//     right ("a.b.c", then "a.b", then "a");
//  3. a node whose name or ring0_addr, cut at its first '.', equals the
//     shortest form of hostname;
//  4. a node with a literal address (name or any ringX_addr) equal to one
//     of addrs. Corosync also resolves names here (getaddrinfo,
//     getnameinfo); a caller that wants that resolves them and passes the
//     results in addrs.
//
// Failure gives corosync's "parse error in config: No valid name found for
// local host" as an *Error.
func (c *Config) LocalNode(hostname string, addrs []netip.Addr) (*Node, error) {
	if n := c.nodeByNameOrAddr(hostname, false); n != nil {
		return n, nil
	}
	short := hostname
	for {
		i := strings.LastIndexByte(short, '.')
		if i < 0 {
			break
		}
		short = short[:i]
		if n := c.nodeByNameOrAddr(short, false); n != nil {
			return n, nil
		}
	}
	if n := c.nodeByNameOrAddr(short, true); n != nil {
		return n, nil
	}
	for _, want := range addrs {
		for i := range c.Nodes {
			n := &c.Nodes[i]
			if sameAddr(n.Name, want) {
				return n, nil
			}
			for _, a := range n.RingAddrs {
				if sameAddr(a, want) {
					return n, nil
				}
			}
		}
	}
	return nil, &Error{File: c.File, Msg: prefixTotem + "No valid name found for local host"}
}

// nodeByNameOrAddr is nodelist_byname: it compares name with each node's
// name and ring0_addr, optionally cut at their first '.'.
func (c *Config) nodeByNameOrAddr(name string, stripDomain bool) *Node {
	cut := func(s string) string {
		if i := strings.IndexByte(s, '.'); stripDomain && i >= 0 {
			return s[:i]
		}
		return s
	}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if n.Name != "" && cut(n.Name) == name || n.RingAddrs[0] != "" && cut(n.RingAddrs[0]) == name {
			return n
		}
	}
	return nil
}

// sameAddr reports whether s is a literal address equal to a.
func sameAddr(s string, a netip.Addr) bool {
	b, err := netip.ParseAddr(s)
	return err == nil && b.WithZone("") == a.WithZone("")
}
