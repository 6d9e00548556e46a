package agent

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// startMemConf starts node n of the in-memory cluster with the
// configuration distribution on, over its own copy of text.
func startMemConf(t *testing.T, dir, text string, conf *corosyncconf.Config, net *memNet, n *memNode, seed uint64) string {
	t.Helper()
	path := filepath.Join(dir, n.name+".conf")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	startMem(t, conf, net, n, seed, func(l *loop) {
		l.cc = &confSync{path: path, rnd: rand.New(rand.NewPCG(seed, seed+1))}
		l.cl.raw = []byte(text)
		l.tasks = make(chan func())
		l.stopped = make(chan struct{})
	})
	return path
}

// TestConfigDistributionInMemory: the lowest member seeds the store from
// its file; two edits made at once on two nodes both land (the loser of
// the compare-and-set retries on the newer text) and every node rewrites
// its file and reloads; a change Reload cannot take (a link priority)
// restarts every engine in-process; an edit that does not raise
// config_version is refused.
func TestConfigDistributionInMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		text := confText("/nonexistent", 25405)
		conf, err := corosyncconf.Parse("mem.conf", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		net := &memNet{up: map[wire.NodeID]*loop{}}
		var nodes []*memNode
		var paths []string
		for i, name := range testNodes {
			n := &memNode{name: name, log: &syncBuffer{}}
			paths = append(paths, startMemConf(t, dir, text, conf, net, n, uint64(i+1)))
			nodes = append(nodes, n)
		}
		defer func() {
			if t.Failed() {
				for _, n := range nodes {
					t.Logf("log of %s:\n%s", n.name, n.log.String())
				}
			}
			for _, n := range nodes {
				stopMem(net, n)
			}
		}()
		alpha, bravo := nodes[0], nodes[1]
		for _, n := range nodes {
			eventually(t, n.name+" quorate with 3", quorateWith(n, 3, 3))
		}
		ctx := context.Background()
		for _, n := range nodes {
			eventually(t, n.name+" holds the seeded configuration", func() (bool, string) {
				var v []byte
				n.l.inLoop(ctx, func() { e, _ := n.l.node.ReadLocal(ConfigKey); v = e.Value })
				return string(v) == text, fmt.Sprintf("%d bytes", len(v))
			})
		}

		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, n := range []*memNode{alpha, bravo} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = n.l.editClusterConfig(ctx, func(b []byte) ([]byte, error) {
					return editConf(ConfigKey, b, func(c *corosyncconf.Config) error {
						if c.Logging == nil {
							c.Logging = map[string]string{}
						}
						c.Logging[fmt.Sprintf("edit_%d", i)] = n.name
						return nil
					})
				})
			}()
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("concurrent edits: %v", errs)
		}
		for i, n := range nodes {
			eventually(t, n.name+"'s file has both edits", func() (bool, string) {
				c, err := corosyncconf.Load(paths[i])
				if err != nil {
					return false, err.Error()
				}
				return c.ConfigVersion == 5 && c.Logging["edit_0"] == "alpha" && c.Logging["edit_1"] == "bravo",
					fmt.Sprintf("version %d logging %v", c.ConfigVersion, c.Logging)
			})
			eventually(t, n.name+" quorate after the edits", quorateWith(n, 3, 3))
		}

		if _, err := alpha.l.editClusterConfig(ctx, func(b []byte) ([]byte, error) {
			return editConf(ConfigKey, b, func(c *corosyncconf.Config) error {
				// corosync cannot change the link mode at run time.
				c.Totem.LinkMode = "active"
				return nil
			})
		}); err != nil {
			t.Fatalf("link mode edit: %v", err)
		}
		for _, n := range nodes {
			eventually(t, n.name+" restarted with config_version 6", func() (bool, string) {
				st := request(n, Request{Cmd: CmdStatus}).Status
				restarted := strings.Contains(n.log.String(), "engine restarted in-process")
				return st.ConfigVersion == 6 && restarted, fmt.Sprintf("version %d restarted %v", st.ConfigVersion, restarted)
			})
			eventually(t, n.name+" quorate again after the restart", quorateWith(n, 3, 3))
		}

		_, err = bravo.l.editClusterConfig(ctx, func(b []byte) ([]byte, error) { return b, nil })
		if err == nil || !strings.Contains(err.Error(), "must raise config_version") {
			t.Fatalf("an edit without a new config_version: %v", err)
		}

		// delnode of a node that still runs: the configuration change is
		// committed first, then NODELIST_DEL stops the node, and the
		// others apply the file without it once it has left the ring.
		charlie := nodes[2]
		if resp := request(bravo, Request{Cmd: CmdDelnode, Node: "charlie"}); !resp.OK || resp.Deleted != 3 {
			t.Fatalf("delnode charlie: %+v", resp)
		}
		if err := <-charlie.done; err != nil || charlie.l.killedBy != 2 {
			t.Fatalf("charlie's loop after delnode: %v, killed by %d", err, charlie.l.killedBy)
		}
		net.mu.Lock()
		delete(net.up, 3)
		net.mu.Unlock()
		charlie.cancel = func() {}
		charlie.done <- nil
		for i, n := range nodes[:2] {
			eventually(t, n.name+"'s file without charlie", func() (bool, string) {
				c, err := corosyncconf.Load(paths[i])
				if err != nil {
					return false, err.Error()
				}
				return c.ConfigVersion == 7 && len(c.Nodes) == 2 && c.NodeByName("charlie") == nil,
					fmt.Sprintf("version %d, %d nodes", c.ConfigVersion, len(c.Nodes))
			})
			eventually(t, n.name+" quorate with 2 of 2", quorateWith(n, 2, 2))
			if v := request(n, Request{Cmd: CmdStatus}).Status.ConfigVersion; v != 7 {
				t.Errorf("%s shows config_version %d, want 7", n.name, v)
			}
			if !strings.Contains(n.log.String(), "removes running members") {
				t.Errorf("%s applied the removal of a running member at once", n.name)
			}
		}
	})
}
