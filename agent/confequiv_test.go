package agent

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/scenarios"
	"github.com/quorate/quorate/sim"
)

// repoConfs lists every corosync.conf of the repository (files named *.conf
// outside .git), so a new test file joins the equivalence test by itself.
func repoConfs(t *testing.T) []string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "fuzz") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".conf") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 10 {
		t.Fatalf("found only %d corosync.conf files under %s", len(out), root)
	}
	return out
}

var fileLineRE = regexp.MustCompile(`[^\s:]+\.conf:\d+`)

// TestConfigEquivalence runs every corosync.conf of the repository through
// the agent's path (loadConfig, engineConfig) and the simulator's (a
// scenario naming the file, sim.EngineConfig) and requires the same engine
// configuration for every node, or the same refusal naming the same
// file:line in both.
func TestConfigEquivalence(t *testing.T) {
	confs := repoConfs(t)
	var compared, refused int
	for _, path := range confs {
		t.Run(filepath.Base(filepath.Dir(path))+"/"+filepath.Base(path), func(t *testing.T) {
			agentCfgs, agentErr := agentPath(path)
			simCfgs, simErr := simPath(t, path)
			switch {
			case agentErr != nil && simErr != nil:
				refused++
				for _, loc := range fileLineRE.FindAllString(agentErr.Error(), -1) {
					if !strings.Contains(simErr.Error(), loc) {
						t.Errorf("the agent refuses at %s, the simulator does not name it:\nagent: %v\nsim:   %v", loc, agentErr, simErr)
					}
				}
				// A key the file lacks (a missing quorum section) has no
				// line; the file is named all the same.
				if !strings.Contains(agentErr.Error(), path) || !strings.Contains(simErr.Error(), path) {
					t.Errorf("a refusal does not name the file:\nagent: %v\nsim:   %v", agentErr, simErr)
				}
				return
			case agentErr != nil:
				t.Fatalf("the agent refuses what the simulator runs: %v", agentErr)
			case simErr != nil:
				t.Fatalf("the simulator refuses what the agent runs: %v", simErr)
			}
			ids := slices.Sorted(func(yield func(uint32) bool) {
				for id := range agentCfgs {
					if !yield(id) {
						return
					}
				}
			})
			if len(simCfgs) != len(agentCfgs) {
				t.Fatalf("agent has %d nodes, simulator %d", len(agentCfgs), len(simCfgs))
			}
			for _, id := range ids {
				a, s := agentCfgs[id], simCfgs[id]
				if !reflect.DeepEqual(a, s) {
					t.Errorf("node %d differs:\nagent: %+v\nsim:   %+v", id, a, s)
				}
				compared++
			}
		})
	}
	t.Logf("%d files: %d node configurations equal, %d files refused by both", len(confs), compared, refused)
	if compared == 0 {
		t.Fatal("no configuration was compared")
	}
}

func agentPath(path string) (map[uint32]engine.Config, error) {
	c, err := loadConfig(path)
	if err != nil {
		return nil, err
	}
	out := map[uint32]engine.Config{}
	for i := range c.Nodes {
		cfg, err := engineConfig(c, &c.Nodes[i])
		if err != nil {
			return nil, err
		}
		out[c.Nodes[i].NodeID] = cfg
	}
	return out, nil
}

func simPath(t *testing.T, path string) (map[uint32]engine.Config, error) {
	dir := t.TempDir()
	src := fmt.Sprintf("name: equivalence\nduration: 10s\ncluster:\n  corosync_conf: %s\n", path)
	yaml := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(yaml, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Load(yaml)
	if err != nil {
		return nil, err
	}
	out := map[uint32]engine.Config{}
	for _, n := range sc.Cluster.Nodes {
		cfg, err := sim.EngineConfig(sc, n)
		if err != nil {
			return nil, err
		}
		out[n.ID] = cfg
	}
	return out, nil
}
