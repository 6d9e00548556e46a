package corolog

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// source is the lines of one host in one file: one node's, once
// recognised.
type source struct {
	file   string
	host   string
	events []Event
	node   *corosyncconf.Node
	how    string // how the node was recognised, for the report
}

// nodeName is the name of a nodelist entry, as the agent and the journal
// name it: its name, or "node" and its id.
func nodeName(n *corosyncconf.Node) string {
	if n.Name != "" {
		return n.Name
	}
	return "node" + strconv.FormatUint(uint64(n.NodeID), 10)
}

// split groups the logs' events by file and host, in the order they came.
func split(logs []*Log) []*source {
	var out []*source
	for _, lg := range logs {
		byHost := map[string]*source{}
		for _, e := range lg.Events {
			s := byHost[e.Line.Host]
			if s == nil {
				s = &source{file: lg.File, host: e.Line.Host}
				byHost[e.Line.Host] = s
				out = append(out, s)
			}
			s.events = append(s.events, e)
		}
	}
	return out
}

// checkIDs rejects a node id that the nodelist lacks, at the first line
// that names it.
func checkIDs(conf *corosyncconf.Config, s *source) error {
	known := func(id uint32) bool {
		return slices.ContainsFunc(conf.Nodes, func(n corosyncconf.Node) bool { return n.NodeID == id })
	}
	for _, e := range s.events {
		var ids []uint32
		switch e.Kind {
		case KindLinkUp, KindLinkDown, KindNoLinks, KindHostJoined:
			ids = []uint32{e.Host}
		case KindRing:
			ids = append(slices.Clone(e.Joined), e.Left...)
		case KindMembers, KindPmxMembers:
			ids = e.IDs
		}
		for _, id := range ids {
			if !known(id) {
				return errAt(e.File, e.Num, "node id %d is not in the nodelist of %s (node ids %s): supply the corosync.conf the cluster ran with then (--corosync-conf)",
					id, conf.File, idList(conf))
			}
		}
	}
	return nil
}

func idList(conf *corosyncconf.Config) string {
	var ids []string
	for _, n := range conf.Nodes {
		ids = append(ids, strconv.FormatUint(uint64(n.NodeID), 10))
	}
	return strings.Join(ids, ", ")
}

// recognise finds the node that wrote s. The evidence, strongest first:
// the local address corosync configured a link with ("Configured link
// number 0: local addr: 10.0.0.1"), the host knet reports joined first at
// start-up (the local one), the hostname or the file's base name equal to
// a node's name, and the one member that is never a knet peer in the log.
func recognise(conf *corosyncconf.Config, s *source) error {
	byID := func(id uint32) *corosyncconf.Node {
		for i := range conf.Nodes {
			if conf.Nodes[i].NodeID == id {
				return &conf.Nodes[i]
			}
		}
		return nil
	}
	set := func(n *corosyncconf.Node, how string, e *Event) error {
		if s.node != nil && s.node.NodeID != n.NodeID {
			return errAt(e.File, e.Num, "this line says the log is node %s's, but %s said node %s's: a log of two nodes? (give one file per node, or a journal whose hostname field tells the nodes apart)",
				nodeName(n), s.how, nodeName(s.node))
		}
		if s.node == nil {
			s.node, s.how = n, how
		}
		return nil
	}
	afterStart := false
	for i := range s.events {
		e := &s.events[i]
		switch e.Kind {
		case KindStart:
			afterStart = true
		case KindLocalAddr:
			var found *corosyncconf.Node
			for j := range conf.Nodes {
				if e.Link < corosyncconf.MaxLinks && conf.Nodes[j].RingAddrs[e.Link] == e.Addr {
					found = &conf.Nodes[j]
				}
			}
			if found == nil {
				return errAt(e.File, e.Num, "local address %s of link %d is no ring%d_addr in the nodelist of %s: supply the corosync.conf the cluster ran with (--corosync-conf)",
					e.Addr, e.Link, e.Link, conf.File)
			}
			if err := set(found, fmt.Sprintf("its link %d address (%s:%d)", e.Link, e.File, e.Num), e); err != nil {
				return err
			}
		case KindHostJoined:
			if afterStart {
				afterStart = false
				if n := byID(e.Host); n != nil {
					if err := set(n, fmt.Sprintf("the first host knet saw join at start-up (%s:%d)", e.File, e.Num), e); err != nil {
						return err
					}
				}
			}
		case KindLinkUp, KindLinkDown, KindNoLinks:
			afterStart = false
		}
	}
	if s.node != nil {
		return nil
	}
	base := strings.TrimSuffix(filepath.Base(s.file), filepath.Ext(s.file))
	for i := range conf.Nodes {
		n := &conf.Nodes[i]
		if n.Name != "" && n.Name == s.host {
			s.node, s.how = n, "its hostname "+s.host
			return nil
		}
	}
	for i := range conf.Nodes {
		n := &conf.Nodes[i]
		if n.Name != "" && n.Name == base {
			s.node, s.how = n, "the file's name"
			return nil
		}
	}
	// Elimination: the members knet never calls a peer.
	peers, members := map[uint32]bool{}, map[uint32]bool{}
	for _, e := range s.events {
		switch e.Kind {
		case KindLinkUp, KindLinkDown, KindNoLinks:
			peers[e.Host] = true
		case KindMembers:
			for _, id := range e.IDs {
				members[id] = true
			}
		}
	}
	var cands []uint32
	for id := range members {
		if !peers[id] {
			cands = append(cands, id)
		}
	}
	if len(cands) == 1 && len(peers) > 0 {
		s.node, s.how = byID(cands[0]), "the one member knet never calls a peer"
		return nil
	}
	line := 0
	if len(s.events) > 0 {
		line = s.events[0].Num
	}
	return errAt(s.file, line, "cannot tell which node of %s wrote this log (host %q): it has neither corosync's start-up lines nor a hostname or file name that is a node's name; "+
		"supply the log from the node's start, or name the file after the node (e.g. %s.log)",
		conf.File, s.host, nodeName(&conf.Nodes[0]))
}

// byNode merges the sources of each node (a rotated file and its
// successor, or one node's lines in two journals), in nodelist order.
func byNode(conf *corosyncconf.Config, srcs []*source) (names []string, events map[string][]Event, how map[string][]string) {
	events, how = map[string][]Event{}, map[string][]string{}
	for _, n := range conf.Nodes {
		name := nodeName(&n)
		for _, s := range srcs {
			if s.node.NodeID != n.NodeID {
				continue
			}
			events[name] = append(events[name], s.events...)
			what := s.file
			if s.host != "" {
				what += " (host " + s.host + ")"
			}
			how[name] = append(how[name], what+", recognised by "+s.how)
		}
		if len(events[name]) > 0 {
			slices.SortStableFunc(events[name], func(a, b Event) int { return a.Time.Compare(b.Time) })
			names = append(names, name)
		}
	}
	return names, events, how
}
