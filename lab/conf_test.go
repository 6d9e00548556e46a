package lab

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/netmodel"
	"github.com/quorate/quorate/scenarios"
)

// TestCorosyncConf: the corosync.conf the lab writes, read back through
// the scenario loader's cluster.corosync_conf, gives the agents the same
// cluster as the scenario gives the simulator.
func TestCorosyncConf(t *testing.T) {
	files, _ := filepath.Glob("../scenarios/library/*.yaml")
	files = append(files, "testdata/switch-crash-kv.yaml", "testdata/partition-multicast.yaml", "testdata/imported.yaml")
	for _, f := range files {
		sc, err := scenarios.Load(f)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		conf := filepath.Join(dir, "corosync.conf")
		os.WriteFile(conf, []byte(corosyncConf(sc, "/nonexistent/authkey", QnetdAddr.String())), 0o644)
		link0 := ""
		for _, l := range sc.Network.Links {
			if l.Number == 0 {
				link0 = l.Switch
			}
		}
		yaml := "name: back\nduration: 1s\ncluster:\n  corosync_conf: corosync.conf\n"
		if link0 != "" {
			yaml += "network:\n  links:\n    - {number: 0, switch: " + link0 + "}\n"
		}
		back := filepath.Join(dir, "back.yaml")
		os.WriteFile(back, []byte(yaml), 0o644)
		got, err := scenarios.Load(back)
		if err != nil {
			t.Errorf("%s: the lab's corosync.conf does not load: %v\n%s", f, err, corosyncConf(sc, "/k", "q"))
			continue
		}
		if !reflect.DeepEqual(got.Cluster.Totem, sc.Cluster.Totem) {
			t.Errorf("%s: totem %+v, want %+v", f, got.Cluster.Totem, sc.Cluster.Totem)
		}
		gq, wq := got.Cluster.Quorum, sc.Cluster.Quorum
		gq.Device, wq.Device = nil, nil
		if !reflect.DeepEqual(gq, wq) {
			t.Errorf("%s: quorum %+v, want %+v", f, gq, wq)
		}
		if (got.Cluster.Quorum.Device == nil) != (sc.Cluster.Quorum.Device == nil) {
			t.Errorf("%s: device %v, want %v", f, got.Cluster.Quorum.Device, sc.Cluster.Quorum.Device)
		}
		if len(got.Cluster.Nodes) != len(sc.Cluster.Nodes) {
			t.Fatalf("%s: %d nodes, want %d", f, len(got.Cluster.Nodes), len(sc.Cluster.Nodes))
		}
		for i, n := range sc.Cluster.Nodes {
			g := got.Cluster.Nodes[i]
			if g.Name != n.Name || g.ID != n.ID || g.Votes != n.Votes {
				t.Errorf("%s: node %d is %s/%d/%d, want %s/%d/%d", f, i, g.Name, g.ID, g.Votes, n.Name, n.ID, n.Votes)
			}
		}
	}
}

// TestCutsModel: the lab's cuts, from which the nftables rules are
// rendered, block exactly the paths the network model blocks after any
// sequence of partitions, isolations, drops and heals.
func TestCutsModel(t *testing.T) {
	const n = 4
	links := []int{0, 1}
	rnd := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		var topo netmodel.Topology
		for i := range n {
			topo.Nodes = append(topo.Nodes, wire.NodeID(i+1))
		}
		for _, l := range links {
			topo.Links = append(topo.Links, netmodel.LinkSpec{Number: wire.LinkNo(l), Switch: "sw", Latency: netmodel.Constant(0)})
		}
		m, err := netmodel.New(topo, func(string) rand.Source { return rand.NewPCG(0, 0) })
		if err != nil {
			t.Fatal(err)
		}
		c := newCuts(n, links)
		ids := func(xs []int) []wire.NodeID {
			out := make([]wire.NodeID, len(xs))
			for i, x := range xs {
				out[i] = wire.NodeID(x + 1)
			}
			return out
		}
		var lnos []wire.LinkNo
		var ls []int
		for step := range 6 {
			ls, lnos = nil, nil
			if rnd.IntN(2) == 0 {
				l := links[rnd.IntN(len(links))]
				ls, lnos = []int{l}, []wire.LinkNo{wire.LinkNo(l)}
			}
			switch rnd.IntN(4) {
			case 0:
				perm := rnd.Perm(n)
				cut := 1 + rnd.IntN(n-1)
				c.partition([][]int{perm[:cut], perm[cut:]}, ls)
				m.Partition([][]wire.NodeID{ids(perm[:cut]), ids(perm[cut:])}, lnos)
			case 1:
				i := rnd.IntN(n)
				c.isolate(i, ls)
				m.Isolate(wire.NodeID(i+1), lnos)
			case 2:
				from, to := []int{rnd.IntN(n)}, []int{rnd.IntN(n), rnd.IntN(n)}
				c.drop(from, to, ls)
				m.Drop(ids(from), ids(to), lnos)
			case 3:
				c.heal(ls)
				m.Heal(lnos)
			}
			for a := range n {
				for b := range n {
					for _, l := range links {
						if a == b {
							continue
						}
						want := m.PathVerdict(wire.NodeID(a+1), wire.NodeID(b+1), wire.LinkNo(l)).Dropped()
						if got := c.cut[cutKey{a, b, l}]; got != want {
							t.Fatalf("round %d step %d: path %d->%d link %d cut=%v, the model says %v", round, step, a, b, l, got, want)
						}
					}
				}
			}
		}
	}
}
