package sim

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/quorate/quorate/scenarios"
)

// TestSetExpectedRefusedWithDevice: with a quorum device configured and
// qnetd down, `expected 1` on the surviving node of two would be raised
// back at once by votequorum; the engine refuses it with the reason
// instead of acknowledging a change that does nothing, and nothing
// changes (the node stays inquorate).
func TestSetExpectedRefusedWithDevice(t *testing.T) {
	src := `name: expected-with-device
duration: 40s
cluster:
  nodes: [{name: a}, {name: b}]
  totem: {token: 1000ms}
  quorum:
    device: {algorithm: ffsplit}
network:
  links:
    - {number: 0, switch: sw0, latency: {dist: constant, value: 0.2ms}}
faults:
  - {at: 10s, action: qnetd_down}
  - {at: 20s, action: crash, node: b}
  - {at: 30s, action: set_expected, node: a, votes: 1}
expect:
  - {at: 25s, node: a, quorate: false, expected_votes: 3}
  - {at: 39s, node: a, quorate: false, expected_votes: 3}
`
	sc, err := scenarios.Parse("expected-with-device.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var trace bytes.Buffer
	res := runOK(t, sc, Options{Trace: &trace})
	if !res.OK {
		t.Fatalf("run failed: %s", res.Failure)
	}
	if !strings.Contains(trace.String(), `"k":"fault_refused","node":"a","why":"quorum: the change cannot take effect: expected votes 1 would be raised back`) {
		t.Fatalf("no refusal with the reason in the trace")
	}
	var refused int
	for _, e := range res.Timeline {
		if e.Event == "refused:set_expected" && e.Node == "a" && strings.Contains(e.Detail, "cannot take effect") {
			refused++
		}
	}
	if refused != 1 {
		t.Fatalf("%d refusals of set_expected in the report's timeline, want 1", refused)
	}
}

// TestEditConfRefusals: an edit with a config_version not above the
// cluster's is refused with nothing changed (the library scenario's other
// expectations hold), and the refusal is in the report's timeline.
func TestEditConfRefusals(t *testing.T) {
	sc, err := scenarios.Load("../scenarios/library/add-redundant-link.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res := runOK(t, sc, Options{})
	var refused []string
	for _, e := range res.Timeline {
		if e.Event == "refused:edit_conf" {
			refused = append(refused, e.Detail)
		}
	}
	if len(refused) != 1 || !strings.Contains(refused[0], "must raise config_version above 4 (it has 4)") {
		t.Fatalf("refusals in the timeline: %q", refused)
	}
}

// TestConfigChangeLibrarySeeds runs the library's configuration-change
// scenarios on seeds 1-20, strict (no expectation may hold vacuously): the
// live link addition and network move, the rolling restarts, the joins of
// create-join-4, the quorum device's setup and removal, the separation of
// a node, and the refused add must hold whatever the network's draws.
func TestConfigChangeLibrarySeeds(t *testing.T) {
	for _, name := range []string{"add-redundant-link.yaml", "change-link-mode-rolling.yaml",
		"create-join-4.yaml", "move-cluster-network.yaml", "qdevice-setup-remove-4.yaml",
		"separate-node.yaml", "add-refused-qdevice.yaml"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc, err := scenarios.Load("../scenarios/library/" + name)
			if err != nil {
				t.Fatal(err)
			}
			for seed := uint64(1); seed <= 20; seed++ {
				res := runOK(t, sc, Options{Seed: seed, SeedSet: true, Strict: true})
				if !res.OK {
					t.Fatalf("%s seed %d: %s", name, seed, res.Failure)
				}
			}
		})
	}
}

// TestClusterOpsExpectationsCanFail: the expectations on operator actions,
// on config_version and on quorate_fraction fail when the run does not do
// what they say, each with its reason, and a refusal reaches result.json.
func TestClusterOpsExpectationsCanFail(t *testing.T) {
	src := `name: ops-fail
duration: 30s
cluster:
  corosync_conf: |
    totem {
      version: 2
      cluster_name: c
      config_version: 3
      token: 1000
    }
    nodelist {
      node {
        name: a
        nodeid: 1
        ring0_addr: 10.0.0.1
      }
      node {
        name: b
        nodeid: 2
        ring0_addr: 10.0.0.2
      }
    }
    quorum {
      provider: corosync_votequorum
    }
  new_nodes: [{name: c}]
network:
  links: [{number: 0, latency: {dist: constant, value: 0.2ms}}]
faults:
  - {at: 10s, action: add_node, node: c, on: a}
  - {at: 15s, action: qdevice_setup, on: b}
expect:
  - {fault: 0, refused: true}
  - {fault: 1, refused: false}
  - {fault: 1, refused: true, reason: two_node}
  - {at: 20s, nodes: [a, b, c], config_version: 5}
  - {at: 20s, node: c, config_version: 4}
  - {metric: quorate_fraction, min: 1}
  - {metric: refused, equals: 1}
`
	sc, err := scenarios.Parse("ops-fail.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	res := runOK(t, sc, Options{})
	want := []string{"took effect", "odd node count", "for another reason", "config_version is 4", "", "quorate_fraction is 0.9", ""}
	for i, w := range want {
		e := res.Expectations[i]
		if w == "" {
			if !e.OK {
				t.Errorf("expect[%d] %s failed: %s", i, e.Expect, e.Reason)
			}
			continue
		}
		if e.OK || !strings.Contains(e.Reason, w) {
			t.Errorf("expect[%d] %s: ok %v, reason %q, want a failure with %q", i, e.Expect, e.OK, e.Reason, w)
		}
	}
	if res.Stats.Refused != 1 || len(res.Responses) != 2 || res.Responses[1].File != 1 ||
		!strings.Contains(res.Responses[1].Refused, "odd node count") || res.Responses[0].Refused != "" {
		t.Fatalf("refusals in result.json: %d, %+v", res.Stats.Refused, res.Responses)
	}
}

// TestAddWithBundle: with a quorum device configured, add_node is refused
// unless the add carries the qdevice client bundle; with it (and an lms
// device, whose votes follow the node count) the node joins live and its
// qdevice votes with the others'.
func TestAddWithBundle(t *testing.T) {
	src := `name: add-with-bundle
duration: 40s
cluster:
  corosync_conf: |
    totem {
      version: 2
      cluster_name: c
      config_version: 3
      token: 1000
    }
    nodelist {
      node {
        name: a
        nodeid: 1
        ring0_addr: 10.0.0.1
      }
      node {
        name: b
        nodeid: 2
        ring0_addr: 10.0.0.2
      }
      node {
        name: c
        nodeid: 3
        ring0_addr: 10.0.0.3
      }
    }
    quorum {
      provider: corosync_votequorum
      device {
        model: net
        net {
          host: q
          algorithm: lms
        }
      }
    }
  new_nodes: [{name: d}]
network:
  links: [{number: 0, latency: {dist: constant, value: 0.2ms}}]
faults:
  - {at: 10s, action: add_node, node: d, on: a}
  - {at: 15s, action: add_node, node: d, on: b, bundle: true}
expect:
  - {fault: 0, refused: true, reason: client bundle}
  - {fault: 1, refused: false}
  - {by: 25s, nodes: [a, b, c, d], members: [a, b, c, d], quorate: true, config_version: 4}
  - {during: [8s, 40s], nodes: [a, b, c], quorate: true}
`
	sc, err := scenarios.Parse("add-with-bundle.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	res := runOK(t, sc, Options{Strict: true})
	if !res.OK {
		for _, e := range res.Expectations {
			t.Log(e.Expect, e.OK, e.Reason)
		}
		t.Fatalf("run failed: %s", res.Failure)
	}
	if n := res.Nodes["d"]; !n.Up || n.TotalVotes < 5 || !slices.Contains(n.Flags, "Qdevice") {
		t.Fatalf("d at the end: %+v", n)
	}
}

// TestConfigFamilyChangesAfterLoss: config seeds 8653 and 8661 drew a
// membership change while the loss on link 0 was cutting members off;
// the members that missed the new corosync.conf and the others then
// failed each other's rings to the end of the run (liveness). The family
// now ends such a loss and lets the cluster settle before the change:
// both seeds pass, and every node that applied a configuration ends on
// the last one, which a change of the membership phase made (config
// version 4 or more; the first phase's edits reach 3 at most here).
func TestConfigFamilyChangesAfterLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("two runs of two simulated minutes")
	}
	for _, seed := range []uint64{8653, 8661} {
		src, err := scenarios.Random("config", seed)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := scenarios.Parse("random.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		var trace bytes.Buffer
		res := runOK(t, sc, Options{Trace: &trace})
		if !res.OK {
			t.Fatalf("config seed %d: %s", seed, res.Failure)
		}
		last, top := map[string]int{}, 0
		for _, line := range strings.Split(trace.String(), "\n") {
			if !strings.Contains(line, `"k":"conf_applied"`) {
				continue
			}
			var node string
			var version int
			i := strings.Index(line, `"node":"`)
			j := strings.Index(line, `"config_version":`)
			if i < 0 || j < 0 {
				t.Fatalf("config seed %d: %s", seed, line)
			}
			node = line[i+8 : i+8+strings.IndexByte(line[i+8:], '"')]
			if _, err := fmt.Sscanf(line[j+17:], "%d", &version); err != nil {
				t.Fatalf("config seed %d: %s: %v", seed, line, err)
			}
			last[node], top = version, max(top, version)
		}
		if top < 4 {
			t.Fatalf("config seed %d: last config_version applied %d: no membership change took effect", seed, top)
		}
		for node, v := range last {
			if v != top {
				t.Errorf("config seed %d: %s ends on config_version %d of %d", seed, node, v, top)
			}
		}
	}
}
