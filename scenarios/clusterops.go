package scenarios

import (
	"fmt"
	"slices"
	"strings"
)

// Operator actions that change the cluster's configuration (add_node,
// delnode, edit_conf, qdevice_setup, qdevice_remove, set_expected) run in
// the simulator through the code the CLI runs on a real cluster; a change
// the cluster refuses is recorded with its reason and changes nothing, and
// an expectation `{fault: N, refused: true}` asserts it.

// OperatorActions are the fault actions an operator runs against the
// cluster, which the cluster may refuse (fault: N expectations).
var OperatorActions = []string{"set_expected", "delnode", "edit_conf", "add_node", "qdevice_setup", "qdevice_remove"}

// confActions need the cluster's corosync.conf: they edit it.
var confActions = []string{"edit_conf", "add_node", "qdevice_setup", "qdevice_remove"}

// NewNodeAddr is the ringX_addr of link for a node of cluster.new_nodes
// that gives none: an address of the benchmarking range 198.18.0.0/15
// (RFC 2544), unique per link and node id (ids 1..255).
func NewNodeAddr(id uint32, link int) string { return fmt.Sprintf("198.18.%d.%d", link, id) }

// newNodes reads cluster.new_nodes: machines outside the initial nodelist,
// powered off until an add_node fault joins them.
func (b *builder) newNodes(rs []rawNewNode) {
	if len(rs) == 0 {
		return
	}
	cl := &b.s.Cluster
	if cl.CorosyncConf == "" {
		b.errf("cluster.new_nodes", "new nodes join with add_node, which edits the cluster's corosync.conf: the scenario needs cluster.corosync_conf")
	}
	next := uint32(1)
	for _, n := range cl.Nodes {
		next = max(next, n.ID+1)
	}
	for i, rn := range rs {
		p := fmt.Sprintf("cluster.new_nodes[%d]", i)
		n := Node{Name: rn.Name, Votes: 1, Added: true, Addrs: rn.Addrs, Pos: b.w.valPos(p)}
		switch {
		case !b.has(p + ".name"):
			b.errf(p+".name", "required: every node needs a name")
		case !nameRE().MatchString(rn.Name) || strings.Contains(rn.Name, "_"):
			b.errf(p+".name", "%q is not a valid node name for pvecm add (letters, digits, '.', '-'; starting and ending with a letter or digit)", rn.Name)
		case b.names[rn.Name]:
			b.errf(p+".name", "node %q is listed twice", rn.Name)
		default:
			b.names[rn.Name] = true
		}
		id := int64(next)
		if b.has(p + ".id") {
			id = rn.ID
		}
		switch {
		case id < 1 || id > 65535:
			b.errf(p+".id", "%d is out of range: node ids are 1..65535", id)
		case b.ids[uint32(id)] != "":
			b.errf(p+".id", "id %d is already used by node %q", id, b.ids[uint32(id)])
		default:
			n.ID = uint32(id)
			b.ids[n.ID] = rn.Name
			next = max(next, n.ID+1)
		}
		if !b.has(p+".addrs") && id > 255 {
			b.errf(p+".addrs", "required for a node id above 255 (the derived addresses are 198.18.LINK.ID)")
		}
		for j, a := range rn.Addrs {
			if strings.TrimSpace(a) == "" || strings.ContainsAny(a, " \t{}") {
				b.errf(fmt.Sprintf("%s.addrs[%d]", p, j), "%q is not an address", a)
			}
		}
		if b.has(p + ".votes") {
			n.Votes = rn.Votes
			if rn.Votes < 1 {
				b.errf(p+".votes", "%d is too small; pvecm add gives a node 1 vote or more", rn.Votes)
			}
		}
		cl.Nodes = append(cl.Nodes, n)
	}
	b.refs = true
}

// hasSetup reports whether the file's faults set a quorum device up, so
// that the qnetd arbiter exists.
func hasSetup(rs []rawFault) bool {
	for _, r := range rs {
		if r.Action == "qdevice_setup" {
			return true
		}
	}
	return false
}

// isNew reports whether name is a node of cluster.new_nodes.
func (b *builder) isNew(name string) bool {
	for _, n := range b.s.Cluster.Nodes {
		if n.Name == name {
			return n.Added
		}
	}
	return false
}

// operatorAction checks what only an operator action asks of the file.
func (b *builder) operatorAction(p string, r *rawFault, f *Fault) {
	if slices.Contains(confActions, f.Action) && b.s.Cluster.CorosyncConf == "" {
		b.errf(p+".action", "%s changes the cluster's corosync.conf: the scenario needs cluster.corosync_conf", f.Action)
	}
	switch f.Action {
	case "add_node":
		if b.has(p+".node") && b.names[r.Node] && !b.isNew(r.Node) {
			b.errf(p+".node", "%q is in the initial nodelist; add_node joins a node of cluster.new_nodes", r.Node)
		}
	case "separate":
		if b.has(p+".node") && b.isNew(r.Node) {
			b.errf(p+".node", "%q is a new node: separate a node of the initial nodelist", r.Node)
		}
	}
}

// faultExpect fills and checks an expectation on an operator action:
// fault: N (the file's faults[N]) with refused: true or false, and
// optionally reason: words the refusal must contain.
func (b *builder) faultExpect(p string, r *rawExpect, e *Expect, faults []rawFault) {
	n := r.Fault
	if n < 0 || n >= len(faults) {
		b.errf(p+".fault", "is faults[%d], but the file has %d fault(s)", n, len(faults))
		return
	}
	e.Fault = &n
	if a := faults[n].Action; !slices.Contains(OperatorActions, a) {
		b.errf(p+".fault", "faults[%d] is %s, which the cluster cannot refuse (operator actions: %s)", n, a, strings.Join(OperatorActions, ", "))
	}
	if !b.has(p + ".refused") {
		b.errf(p+".refused", "required with fault: true (the cluster refused the action) or false (it took effect)")
		return
	}
	v := r.Refused
	e.Refused = &v
	if b.has(p + ".reason") {
		e.Reason = r.Reason
		switch {
		case !v:
			b.errf(p+".reason", "only meaningful with refused: true")
		case strings.TrimSpace(r.Reason) == "":
			b.errf(p+".reason", "must not be empty")
		}
	}
}
