package corosyncconf

import (
	"errors"
	"strings"
	"testing"
)

// nodesConf is a cluster of n nodes on link 0 with the given quorum
// section body.
func nodesConf(n int, quorum string) []byte {
	var b strings.Builder
	b.WriteString("totem {\n  version: 2\n  cluster_name: lab\n  config_version: 3\n  interface {\n    linknumber: 0\n  }\n}\nnodelist {\n")
	for i := 1; i <= n; i++ {
		b.WriteString("  node {\n    name: n" + itoa(i) + "\n    nodeid: " + itoa(i) + "\n    ring0_addr: 10.0.0." + itoa(i) + "\n  }\n")
	}
	b.WriteString("}\nquorum {\n  provider: corosync_votequorum\n" + quorum + "}\n")
	return []byte(b.String())
}

func TestAddNode(t *testing.T) {
	ffsplit := "  device {\n    model: net\n    votes: 1\n    net {\n      host: q\n      algorithm: ffsplit\n    }\n  }\n"
	lmsAuto := "  device {\n    model: net\n    net {\n      host: q\n      algorithm: lms\n    }\n  }\n"
	lmsVotes := "  device {\n    model: net\n    votes: 2\n    net {\n      host: q\n      algorithm: lms\n    }\n  }\n"
	addr := []LinkAddr{{Link: 0, Addr: "10.0.0.9"}}
	for _, tt := range []struct {
		name   string
		conf   []byte
		node   string
		id     uint32
		addrs  []LinkAddr
		bundle bool
		err    string
	}{
		{"plain", nodesConf(3, ""), "n9", 0, addr, false, ""},
		{"name taken", nodesConf(3, ""), "n2", 0, addr, false, `a node named "n2" is already in the cluster`},
		{"id taken", nodesConf(3, ""), "n9", 2, addr, false, "nodeid 2 is already used by node n2"},
		{"address taken", nodesConf(3, ""), "n9", 0, []LinkAddr{{Link: 0, Addr: "10.0.0.1"}}, false, "address 10.0.0.1 of link 0 is already used by node n1"},
		{"wrong links", nodesConf(3, ""), "n9", 0, []LinkAddr{{Link: 1, Addr: "10.0.1.9"}}, false, "the cluster uses links [0], the new node gives addresses for links [1]"},
		{"bad name", nodesConf(3, ""), "n_9", 0, addr, false, "use letters, digits"},
		{"device without bundle", nodesConf(4, ffsplit), "n9", 0, addr, false, "does not carry its client bundle"},
		{"ffsplit to an odd count", nodesConf(4, ffsplit), "n9", 0, addr, true, "ffsplit, which needs an even node count, and the nodelist would have 5 nodes"},
		{"ffsplit to an even count", nodesConf(3, ffsplit), "n9", 0, addr, true, ""},
		{"lms with automatic votes", nodesConf(4, lmsAuto), "n9", 0, addr, true, ""},
		{"lms with written votes", nodesConf(3, lmsVotes), "n9", 0, addr, true, "has votes 2, written for 3 nodes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var id uint32
			out, err := Edit("c.conf", tt.conf, func(c *Config) error {
				var err error
				id, err = c.AddNode(tt.node, tt.id, 0, tt.addrs, tt.bundle)
				return err
			})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse("out", out)
			if err != nil {
				t.Fatal(err)
			}
			if c.ConfigVersion != 4 || c.NodeByName(tt.node) == nil || c.Node(id) == nil {
				t.Fatalf("config_version %d, node %v: %s", c.ConfigVersion, c.Node(id), out)
			}
		})
	}
}

func TestRemoveNodeAndCheckEdit(t *testing.T) {
	old, err := Parse("c.conf", nodesConf(3, ""))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Edit("c.conf", nodesConf(3, ""), func(c *Config) error { return c.RemoveNode(2) })
	if err != nil {
		t.Fatal(err)
	}
	nc, err := CheckEdit(old, "c.conf", out)
	if err != nil || len(nc.Nodes) != 2 || nc.Node(2) != nil || nc.ConfigVersion != 4 {
		t.Fatalf("removed: %v %v", nc, err)
	}
	if _, err := Edit("c.conf", out, func(c *Config) error { return c.RemoveNode(2) }); !errors.Is(err, ErrNotInNodelist) {
		t.Fatalf("second removal: %v", err)
	}
	for _, tt := range []struct {
		name, text, err string
	}{
		{"same version", string(nodesConf(3, "")), "c.conf:4: the new configuration must raise config_version above 3 (it has 3)"},
		{"renamed", strings.Replace(string(out), "cluster_name: lab", "cluster_name: other", 1), `renames the cluster "lab" to "other"`},
		{"does not parse", "totem {\n", "does not parse"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := CheckEdit(old, "c.conf", []byte(tt.text)); err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err %v, want %q", err, tt.err)
			}
		})
	}
}
