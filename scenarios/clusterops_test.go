package scenarios

import (
	"testing"
)

// TestInvalidClusterOps: the operator actions, cluster.new_nodes and the
// expectations on refusals reject bad input with the place and the reason.
func TestInvalidClusterOps(t *testing.T) {
	const conf = "name: x\nduration: 60s\ncluster:\n  corosync_conf: |\n" +
		"    totem {\n      version: 2\n      cluster_name: c\n      config_version: 1\n    }\n" +
		"    nodelist {\n      node {\n        name: a\n        nodeid: 1\n        ring0_addr: 10.0.0.1\n      }\n    }\n" +
		"    quorum {\n      provider: corosync_votequorum\n    }\n" // lines 1-19
	const head = conf + "  new_nodes: [{name: b}]\n"                                    // line 20
	const plain = "name: x\nduration: 60s\ncluster:\n  nodes: [{name: a}, {name: b}]\n" // lines 1-4
	tests := []struct {
		name string
		src  string
		want wantErr
	}{
		{"new_nodes without corosync_conf", plain + "  new_nodes: [{name: c}]\n",
			wantErr{5, 14, "cluster.new_nodes", "needs cluster.corosync_conf"}},
		{"new node named twice", conf + "  new_nodes: [{name: b}, {name: b}]\n",
			wantErr{20, 33, "cluster.new_nodes[1].name", `node "b" is listed twice`}},
		{"new node id taken", conf + "  new_nodes: [{name: b, id: 1}]\n",
			wantErr{20, 29, "cluster.new_nodes[0].id", `already used by node "a"`}},
		{"new node votes", conf + "  new_nodes: [{name: b, votes: 0}]\n",
			wantErr{20, 32, "cluster.new_nodes[0].votes", "1 vote or more"}},
		{"add_node of an initial node", head + "faults: [{at: 1s, action: add_node, node: a, on: b}]\n",
			wantErr{21, 43, "faults[0].node", "in the initial nodelist"}},
		{"add_node without on", head + "faults: [{at: 1s, action: add_node, node: b}]\n",
			wantErr{21, 10, "faults[0].on", "required for action add_node"}},
		{"add_node without corosync_conf", plain + "faults: [{at: 1s, action: add_node, node: b, on: a}]\n",
			wantErr{5, 27, "faults[0].action", "needs cluster.corosync_conf"}},
		{"qdevice_setup algorithm", head + "faults: [{at: 1s, action: qdevice_setup, on: a, algorithm: 2nodelms}]\n",
			wantErr{21, 60, "faults[0].algorithm", `"2nodelms" is not one of ffsplit, lms`}},
		{"qdevice_remove without corosync_conf", plain + "faults: [{at: 1s, action: qdevice_remove, on: a}]\n",
			wantErr{5, 27, "faults[0].action", "needs cluster.corosync_conf"}},
		{"qnetd without device or setup", head + "faults: [{at: 1s, action: qnetd_down}]\n",
			wantErr{21, 27, "faults[0].action", "or a qdevice_setup fault"}},
		{"fault expectation out of range", head + "faults: [{at: 1s, action: add_node, node: b, on: a}]\nexpect: [{fault: 1, refused: true}]\n",
			wantErr{22, 18, "expect[0].fault", "the file has 1 fault(s)"}},
		{"fault expectation on a network fault", head + "faults: [{at: 1s, action: heal}]\nexpect: [{fault: 0, refused: true}]\n",
			wantErr{22, 18, "expect[0].fault", "which the cluster cannot refuse"}},
		{"fault expectation without refused", head + "faults: [{at: 1s, action: add_node, node: b, on: a}]\nexpect: [{fault: 0}]\n",
			wantErr{22, 10, "expect[0].refused", "required with fault"}},
		{"reason with refused false", head + "faults: [{at: 1s, action: add_node, node: b, on: a}]\nexpect: [{fault: 0, refused: false, reason: x}]\n",
			wantErr{22, 45, "expect[0].reason", "only meaningful with refused: true"}},
		{"config_version not a number", head + "expect: [{at: 1s, node: a, config_version: five}]\n",
			wantErr{21, 44, "expect[0].config_version", ""}},
		{"unknown metric lists the new ones", head + "expect: [{metric: quorate, min: 1}]\n",
			wantErr{21, 19, "expect[0].metric", "quorate_fraction"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.src))
			findErr(t, "t.yaml", err, tc.want)
		})
	}
}

// TestClusterOpsLoad: a valid scenario with every new key loads to the
// values the simulator runs, and its YAML round-trips.
func TestClusterOpsLoad(t *testing.T) {
	src := `name: ops
duration: 60s
cluster:
  corosync_conf: |
    totem {
      version: 2
      cluster_name: c
      config_version: 1
    }
    nodelist {
      node {
        name: a
        nodeid: 1
        ring0_addr: 10.0.0.1
      }
    }
    quorum {
      provider: corosync_votequorum
    }
  new_nodes:
    - {name: b}
    - {name: c, id: 7, votes: 2, addrs: [10.0.0.7]}
faults:
  - {at: 5s, action: add_node, node: b, on: a}
  - {at: 1s, action: qdevice_setup, on: a, algorithm: lms, force: true}
  - {at: 9s, action: qdevice_remove, on: b}
  - {at: 10s, action: separate, node: a}
expect:
  - {fault: 0, refused: true, reason: quorum device}
  - {at: 6s, nodes: [a, b], config_version: 2}
  - {metric: quorate_fraction, after: 5s, min: 0.9}
`
	s, err := Parse("ops.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	b, c := s.Cluster.Nodes[1], s.Cluster.Nodes[2]
	if !b.Added || b.ID != 2 || b.Votes != 1 || b.Addrs != nil || !c.Added || c.ID != 7 || c.Votes != 2 || len(c.Addrs) != 1 {
		t.Fatalf("new nodes: %+v %+v", b, c)
	}
	if f := s.Faults[0]; f.Action != "qdevice_setup" || f.Index != 1 || f.Algorithm != "lms" || !f.Force {
		t.Fatalf("faults sorted by time keep their file index: %+v", f)
	}
	if e := s.Expect[0]; e.Fault == nil || *e.Fault != 0 || e.Refused == nil || !*e.Refused || e.Reason != "quorum device" {
		t.Fatalf("fault expectation: %+v", e)
	}
	if e := s.Expect[1]; e.ConfigVersion == nil || *e.ConfigVersion != 2 {
		t.Fatalf("config_version: %+v", e)
	}
	out, err := Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("ops.yaml", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(back.Cluster.Nodes) != 3 || !back.Cluster.Nodes[2].Added || back.Cluster.Nodes[2].Addrs[0] != "10.0.0.7" ||
		back.Faults[0].Algorithm != "lms" || *back.Expect[0].Fault != 0 || *back.Expect[1].ConfigVersion != 2 {
		t.Fatalf("round trip lost something:\n%s", out)
	}
}
