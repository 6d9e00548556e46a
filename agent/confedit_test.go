package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quorate/quorate/scenarios/corosyncconf"
)

func TestParseLinkSpec(t *testing.T) {
	tests := []struct {
		in   string
		want LinkSpec
		err  bool
	}{
		{"10.0.0.1", LinkSpec{Addr: "10.0.0.1", Priority: -1}, false},
		{"10.0.0.1,priority=20", LinkSpec{Addr: "10.0.0.1", Priority: 20}, false},
		{"fd00::1", LinkSpec{Addr: "fd00::1", Priority: -1}, false},
		{"node1-ring0", LinkSpec{Addr: "node1-ring0", Priority: -1}, false},
		{"", LinkSpec{}, true},
		{"10.0.0.1:5405", LinkSpec{}, true},
		{"10.0.0.1,priority=256", LinkSpec{}, true},
		{"10.0.0.1,weight=2", LinkSpec{}, true},
	}
	for _, tt := range tests {
		got, err := ParseLinkSpec(0, tt.in)
		if (err != nil) != tt.err || err == nil && got != tt.want {
			t.Errorf("ParseLinkSpec(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

func TestCreateCluster(t *testing.T) {
	dir := t.TempDir()
	opt := CreateOptions{ClusterName: "prod", NodeName: "hp1", NodeID: 4, Votes: 2,
		Links:      []LinkSpec{{Number: 1, Addr: "10.1.0.1", Priority: 20}, {Number: 0, Addr: "10.0.0.1", Priority: -1}},
		ConfigPath: filepath.Join(dir, "corosync.conf"), KeyFile: filepath.Join(dir, "authkey")}
	text, err := CreateCluster(opt)
	if err != nil {
		t.Fatal(err)
	}
	c, err := corosyncconf.Load(opt.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	n := c.Node(4)
	switch {
	case c.ClusterName != "prod" || c.ConfigVersion != 1 || !c.Totem.SecAuth || c.Totem.KeyFile != opt.KeyFile:
		t.Errorf("totem: %+v", c.Totem)
	case c.Quorum.Provider != "corosync_votequorum":
		t.Errorf("quorum provider %q", c.Quorum.Provider)
	case len(c.Nodes) != 1 || n == nil || n.Name != "hp1" || n.QuorumVotes != 2 || n.RingAddrs[0] != "10.0.0.1" || n.RingAddrs[1] != "10.1.0.1":
		t.Errorf("nodelist: %+v", c.Nodes)
	case len(c.Interfaces) != 2 || c.Interface(1).KnetLinkPriority != 20 || c.Interface(0).KnetLinkPriority != 1:
		t.Errorf("interfaces: %+v", c.Interfaces)
	}
	if !strings.Contains(string(text), "linknumber: 0") || strings.Index(string(text), "linknumber: 0") > strings.Index(string(text), "linknumber: 1") {
		t.Errorf("interfaces not in link order:\n%s", text)
	}
	if fi, err := os.Stat(opt.KeyFile); err != nil || fi.Mode().Perm() != 0o400 || fi.Size() != 256 {
		t.Errorf("authkey: %v %v", fi, err)
	}
	if _, err := CreateCluster(opt); !errors.Is(err, ErrExists) {
		t.Errorf("create over existing files: %v, want ErrExists", err)
	}
	for name, bad := range map[string]func(o *CreateOptions){
		"cluster name with a space": func(o *CreateOptions) { o.ClusterName = "a cluster" },
		"cluster name too long":     func(o *CreateOptions) { o.ClusterName = "averyveryverylongname" },
		"no link 0":                 func(o *CreateOptions) { o.Links = o.Links[:1] },
		"link twice":                func(o *CreateOptions) { o.Links = append(o.Links, o.Links[0]) },
		"bad node name":             func(o *CreateOptions) { o.NodeName = "bad_name" },
	} {
		o := opt
		o.ConfigPath, o.KeyFile = filepath.Join(dir, "x.conf"), filepath.Join(dir, "x.key")
		bad(&o)
		if _, err := CreateCluster(o); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
		if _, err := os.Stat(o.ConfigPath); err == nil {
			t.Errorf("%s: a refused create wrote a config", name)
		}
	}
}

func TestAddNode(t *testing.T) {
	base := `totem {
  version: 2
  cluster_name: lab
  config_version: 7
  interface {
    linknumber: 0
  }
  interface {
    linknumber: 1
  }
}
nodelist {
  node {
    name: n1
    nodeid: 1
    quorum_votes: 1
    ring0_addr: 10.0.0.1
    ring1_addr: 10.1.0.1
  }
  node {
    name: n3
    nodeid: 3
    quorum_votes: 1
    ring0_addr: 10.0.0.3
    ring1_addr: 10.1.0.3
  }
}
quorum {
  provider: corosync_votequorum
}
`
	two := func(a0, a1 string) []LinkSpec {
		return []LinkSpec{{Number: 0, Addr: a0, Priority: -1}, {Number: 1, Addr: a1, Priority: -1}}
	}
	tests := []struct {
		name   string
		node   string
		id     uint32
		links  []LinkSpec
		wantID uint32
		err    string
	}{
		{"lowest free id", "n2", 0, two("10.0.0.2", "10.1.0.2"), 2, ""},
		{"given id", "n9", 9, two("10.0.0.9", "10.1.0.9"), 9, ""},
		{"name taken", "n1", 0, two("10.0.0.2", "10.1.0.2"), 0, "already in the cluster"},
		{"id taken", "n2", 3, two("10.0.0.2", "10.1.0.2"), 0, "nodeid 3 is already used by node n3"},
		{"address taken", "n2", 0, two("10.0.0.2", "10.1.0.3"), 0, "10.1.0.3 of link 1 is already used by node n3"},
		{"missing link", "n2", 0, two("10.0.0.2", "10.1.0.2")[:1], 0, "links [0 1]"},
		{"bad name", "n 2", 0, two("10.0.0.2", "10.1.0.2"), 0, "node name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var id uint32
			out, err := editConf("test", []byte(base), func(c *corosyncconf.Config) error {
				var err error
				id, err = addNode(c, tt.node, tt.id, 0, tt.links, false)
				return err
			})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("addNode: %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c, err := corosyncconf.Parse("out", out)
			if err != nil {
				t.Fatal(err)
			}
			n := c.Node(tt.wantID)
			if id != tt.wantID || c.ConfigVersion != 8 || len(c.Nodes) != 3 || n == nil || n.Name != tt.node || n.QuorumVotes != 1 {
				t.Fatalf("id %d, config_version %d, nodes %+v", id, c.ConfigVersion, c.Nodes)
			}
		})
	}
}

// TestAddNodeRefusedWithQdevice: as pvecm add, adding a node to a cluster
// with a quorum device is refused with the way out, and nothing changes.
func TestAddNodeRefusedWithQdevice(t *testing.T) {
	conf := `totem {
  version: 2
  cluster_name: lab
  config_version: 7
  interface {
    linknumber: 0
  }
}
nodelist {
  node {
    name: n1
    nodeid: 1
    quorum_votes: 1
    ring0_addr: 10.0.0.1
  }
  node {
    name: n2
    nodeid: 2
    quorum_votes: 1
    ring0_addr: 10.0.0.2
  }
}
quorum {
  provider: corosync_votequorum
  device {
    model: net
    votes: 1
    net {
      host: 10.0.0.9
      algorithm: ffsplit
    }
  }
}
`
	if _, err := corosyncconf.Parse("test", []byte(conf)); err != nil {
		t.Fatal(err)
	}
	out, err := editConf("test", []byte(conf), func(c *corosyncconf.Config) error {
		_, err := addNode(c, "n3", 0, 0, []LinkSpec{{Number: 0, Addr: "10.0.0.3", Priority: -1}}, false)
		return err
	})
	if err == nil || out != nil || !strings.Contains(err.Error(), "quorum device") || !strings.Contains(err.Error(), "qdevice remove") ||
		!strings.Contains(err.Error(), "test:25") {
		t.Fatalf("add with a quorum device: %q, %v; want a refusal naming the device's line and qdevice remove", out, err)
	}
}
