package corosyncconf

import (
	"slices"
	"strconv"
	"strings"
)

// editName is the file name AddDevice and RemoveDevice use in their
// errors: they see text, not a file.
const editName = "corosync.conf"

// AddDevice returns src with a quorum.device section for a qnetd at
// host:port and totem.config_version increased by one, as `pvecm qdevice
// setup` writes it: model net, tls on, the algorithm, and votes 1 for
// ffsplit (lms takes corosync's default, N−1). An empty algorithm picks
// ffsplit for an even node count and lms for an odd one
// (docs/reference/quorum.md §4.1). It refuses a file that does not parse,
// already has a device, sets two_node, or asks for ffsplit with an odd
// node count; and, as pvecm does, an odd node count at all unless force:
// a device is meant to break the ties of an even count, and with an odd
// one it can decide against a majority. The rest of the file is kept key for key; comments and blank
// lines are not (corosync.conf is rewritten in Proxmox's layout). The
// result is checked with Parse before it is returned.
func AddDevice(src []byte, host string, port int, algorithm string, force bool) ([]byte, error) {
	c, err := Parse(editName, src)
	if err != nil {
		return nil, err
	}
	fail := func(line int, key, format string, args ...any) ([]byte, error) {
		return nil, &Error{File: editName, Line: line, Key: key, Msg: sprintf(format, args...)}
	}
	if d := c.Quorum.Device; d != nil {
		return fail(d.Line, "quorum.device", "a quorum device is already configured; remove it first (quorate qdevice remove)")
	}
	if c.Quorum.TwoNode {
		return fail(c.Line("quorum.two_node"), "quorum.two_node",
			"two_node is set: votequorum takes no quorum device with two_node; remove the key first")
	}
	if host == "" || strings.ContainsAny(host, "{}\r\n\t ") {
		return fail(0, "quorum.device.net.host", "qnetd host %q is not a usable host name or address", host)
	}
	if port < 1 || port > 65535 {
		return fail(0, "quorum.device.net.port", "qnetd port %d is not in 1-65535", port)
	}
	odd := len(c.Nodes)%2 == 1
	if odd && !force {
		return fail(c.Line("nodelist"), "nodelist",
			"the cluster has an odd node count (%d): a quorum device is meant for an even one; pass --force to set it up anyway (the lms algorithm is then used)", len(c.Nodes))
	}
	switch algorithm {
	case "":
		algorithm = "ffsplit"
		if odd {
			algorithm = "lms"
		}
	case "ffsplit":
		if odd {
			return fail(0, "quorum.device.net.algorithm",
				"ffsplit needs an even node count (the nodelist has %d nodes); use lms", len(c.Nodes))
		}
	case "lms":
	default:
		return fail(0, "quorum.device.net.algorithm", "algorithm %q: want ffsplit or lms", algorithm)
	}

	tree, err := ParseTree(editName, src)
	if err != nil {
		return nil, err
	}
	if err := bumpConfigVersion(tree, c); err != nil {
		return nil, err
	}
	q := lastSection(tree, "quorum")
	if q == nil {
		q = &Section{Name: "quorum", Line: tree.lastLine() + 1, Items: []Item{{Key: "provider", Value: "corosync_votequorum"}}}
		q.End = q.Line + 1
		tree.Sections = append(tree.Sections, q)
	}
	at := q.End // after everything the quorum section had
	net := &Section{Name: "net", Line: at + 2, Items: []Item{
		{Key: "algorithm", Value: algorithm, Line: at + 3},
		{Key: "host", Value: host, Line: at + 4},
	}}
	if port != defaultQnetdPort {
		net.Items = append(net.Items, Item{Key: "port", Value: strconv.Itoa(port), Line: at + 5})
	}
	net.Items = append(net.Items, Item{Key: "tls", Value: "on", Line: at + 6})
	dev := &Section{Name: "device", Line: at, Items: []Item{{Key: "model", Value: "net", Line: at + 1}}, Sections: []*Section{net}}
	if algorithm == "ffsplit" {
		dev.Items = append(dev.Items, Item{Key: "votes", Value: "1", Line: at + 8})
	}
	q.Sections = append(q.Sections, dev)
	return checked(tree)
}

// RemoveDevice returns src without its quorum.device (every device section
// and dotted device key of the quorum sections) and with
// totem.config_version increased by one, as `pvecm qdevice remove` does.
// A file without a device is refused.
func RemoveDevice(src []byte) ([]byte, error) {
	c, err := Parse(editName, src)
	if err != nil {
		return nil, err
	}
	if c.Quorum.Device == nil {
		return nil, &Error{File: editName, Key: "quorum.device", Msg: "no quorum device is configured"}
	}
	tree, err := ParseTree(editName, src)
	if err != nil {
		return nil, err
	}
	if err := bumpConfigVersion(tree, c); err != nil {
		return nil, err
	}
	for _, q := range tree.Sections {
		if q.Name != "quorum" {
			continue
		}
		q.Sections = slices.DeleteFunc(q.Sections, func(s *Section) bool { return s.Name == "device" })
		q.Items = slices.DeleteFunc(q.Items, func(it Item) bool { return strings.HasPrefix(it.Key, "device.") })
	}
	tree.Items = slices.DeleteFunc(tree.Items, func(it Item) bool { return strings.HasPrefix(it.Key, "quorum.device.") })
	return checked(tree)
}

// bumpConfigVersion sets totem.config_version to the parsed value plus one,
// in the item that set it (the last one, which corosync takes), or adds it
// at the head of the last totem section.
func bumpConfigVersion(tree *Section, c *Config) error {
	next := strconv.FormatUint(c.ConfigVersion+1, 10)
	if c.ConfigVersion == 1<<64-1 {
		return &Error{File: editName, Line: c.Line("totem.config_version"), Key: "totem.config_version",
			Msg: "config_version cannot be increased any further"}
	}
	var item *Item
	for _, s := range tree.Sections {
		if s.Name != "totem" {
			continue
		}
		for i := range s.Items {
			if s.Items[i].Key == "config_version" {
				item = &s.Items[i]
			}
		}
	}
	for i := range tree.Items {
		if tree.Items[i].Key == "totem.config_version" && (item == nil || tree.Items[i].Line > item.Line) {
			item = &tree.Items[i]
		}
	}
	if item != nil {
		item.Value = next
		return nil
	}
	t := lastSection(tree, "totem")
	if t == nil {
		return &Error{File: editName, Key: "totem", Msg: "no totem section"}
	}
	t.Items = slices.Insert(t.Items, 0, Item{Key: "config_version", Value: next, Line: t.Line})
	return nil
}

// lastSection returns the last top-level section called name.
func lastSection(tree *Section, name string) *Section {
	for i := len(tree.Sections) - 1; i >= 0; i-- {
		if tree.Sections[i].Name == name {
			return tree.Sections[i]
		}
	}
	return nil
}

// lastLine is the largest line number the tree uses.
func (s *Section) lastLine() int {
	n := max(s.Line, s.End)
	for _, it := range s.Items {
		n = max(n, it.Line)
	}
	for _, sub := range s.Sections {
		n = max(n, sub.lastLine())
	}
	return n
}

// checked formats the edited tree and makes sure the result parses.
func checked(tree *Section) ([]byte, error) {
	out := tree.Format()
	if _, err := Parse(editName, out); err != nil {
		return nil, err
	}
	return out, nil
}
