package totem

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/quorate/quorate/engine/wire"
)

// TestInteraction runs the golden scenarios in testdata/*.txt. Regenerate
// with `go test ./engine/totem -run Interaction -rewrite` and review the
// diff line by line.
//
// Commands:
//
//	cluster n=3 [seed=1] [token=200ms] [coefficient=50ms] [loss=0.0] [loopback=200µs]
//	                           loopback=-1ns: own datagrams processed at once
//	start [nodes=1,2]          start (or restart) nodes; all if omitted
//	run for=100ms              advance virtual time
//	stabilize [limit=5s]       run until all live nodes share one ring
//	multicast node=1 payload=hello
//	crash node=3
//	partition groups=1,2/3
//	heal
//	join from=1 to=2,3 proc=1,2,3,4 [failed=4] [seq=0]
//	                           a JOIN as node 1 sends it (node 1 need not run),
//	                           through the network to nodes 2 and 3
//	status
//	check                      run the safety checkers over all histories
func TestInteraction(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		if !strings.HasSuffix(path, ".txt") {
			t.Skip()
		}
		var c *cluster
		var out strings.Builder
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out.Reset()
			if d.Cmd != "cluster" && c == nil {
				d.Fatalf(t, "no cluster")
			}
			switch d.Cmd {
			case "cluster":
				c = ddCluster(t, d)
				c.trace = func(format string, args ...any) { fmt.Fprintf(&out, format+"\n", args...) }
				c.traceAll = true
			case "start":
				for _, i := range ddNodes(t, c, d, "nodes") {
					c.start(i)
				}
			case "run":
				c.runFor(ddDuration(t, d, "for", 0))
			case "stabilize":
				took := c.stabilize(ddDuration(t, d, "limit", 10*time.Second))
				fmt.Fprintf(&out, "stabilized after %v\n", took)
			case "multicast":
				var payload string
				d.ScanArgs(t, "payload", &payload)
				for _, i := range ddNodes(t, c, d, "node") {
					c.multicast(i, payload)
				}
			case "crash":
				for _, i := range ddNodes(t, c, d, "node") {
					c.crash(i)
				}
			case "partition":
				var spec string
				d.ScanArgs(t, "groups", &spec)
				var groups [][]wire.NodeID
				for _, g := range strings.Split(spec, "/") {
					groups = append(groups, ddIDs(t, d, g))
				}
				c.partition(groups...)
				fmt.Fprintf(&out, "partitioned %v\n", groups)
			case "heal":
				c.heal()
				out.WriteString("healed\n")
			case "join":
				c.injectJoin(ddJoin(t, c, d), ddNodes(t, c, d, "to"))
			case "status":
				out.WriteString(c.status())
			case "check":
				errs := append(c.check(), c.checkSelfDelivery()...)
				if len(errs) == 0 {
					out.WriteString("ok\n")
				}
				for _, e := range errs {
					out.WriteString(e + "\n")
				}
			default:
				d.Fatalf(t, "unknown command %q", d.Cmd)
			}
			return out.String()
		})
	})
}

func ddCluster(t *testing.T, d *datadriven.TestData) *cluster {
	n, seed := 3, uint64(1)
	d.ScanArgs(t, "n", &n)
	if d.HasArg("seed") {
		d.ScanArgs(t, "seed", &seed)
	}
	cfg := testConfig()
	cfg.Token = ddDuration(t, d, "token", cfg.Token)
	cfg.TokenCoefficient = ddDuration(t, d, "coefficient", cfg.TokenCoefficient)
	cfg.Loopback = ddDuration(t, d, "loopback", cfg.Loopback)
	c := newCluster(n, cfg, seed)
	if d.HasArg("loss") {
		var s string
		d.ScanArgs(t, "loss", &s)
		c.loss, _ = strconv.ParseFloat(s, 64)
	}
	return c
}

// ddJoin builds the JOIN of the join command.
func ddJoin(t *testing.T, c *cluster, d *datadriven.TestData) *Join {
	var from int
	d.ScanArgs(t, "from", &from)
	if c.idx(wire.NodeID(from)) < 0 {
		d.Fatalf(t, "unknown node %d", from)
	}
	list := func(key string) []wire.NodeID {
		if !d.HasArg(key) {
			return nil
		}
		var s string
		d.ScanArgs(t, key, &s)
		ids := ddIDs(t, d, s)
		slices.Sort(ids)
		return ids
	}
	j := &Join{Sender: wire.NodeID(from), Origin: wire.NodeID(from), ProcList: list("proc"), FailedList: list("failed")}
	if d.HasArg("seq") {
		d.ScanArgs(t, "seq", &j.RingSeq)
	}
	return j
}

func ddDuration(t *testing.T, d *datadriven.TestData, key string, def time.Duration) time.Duration {
	if !d.HasArg(key) {
		return def
	}
	var s string
	d.ScanArgs(t, key, &s)
	v, err := time.ParseDuration(s)
	if err != nil {
		d.Fatalf(t, "%s: %v", key, err)
	}
	return v
}

func ddIDs(t *testing.T, d *datadriven.TestData, s string) []wire.NodeID {
	var ids []wire.NodeID
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			d.Fatalf(t, "bad node list %q", s)
		}
		ids = append(ids, wire.NodeID(v))
	}
	return ids
}

// ddNodes returns the node indexes named by key (all nodes if absent).
func ddNodes(t *testing.T, c *cluster, d *datadriven.TestData, key string) []int {
	if !d.HasArg(key) {
		out := make([]int, len(c.nodes))
		for i := range out {
			out[i] = i
		}
		return out
	}
	var s string
	d.ScanArgs(t, key, &s)
	var out []int
	for _, id := range ddIDs(t, d, s) {
		i := c.idx(id)
		if i < 0 {
			d.Fatalf(t, "unknown node %d", id)
		}
		out = append(out, i)
	}
	return out
}
