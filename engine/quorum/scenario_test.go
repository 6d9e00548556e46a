package quorum

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/quorate/quorate/engine/wire"
)

// TestScenarios replays the golden interaction files testdata/*.txt on
// the multi-node harness. Regenerate with `go test ./engine/quorum -rewrite`
// and review the diff line by line.
//
// Commands:
//
//	cluster n=N [two_node] [wfa] [wfa=off] [lms] [window=D] [atb=lowest|highest|ID,ID]
//	        [expected=N] [votes=ID:V,...] [qdevice=ffsplit|lms] [qvotes=N] [tie=lowest|highest|ID] [master_wins]
//	boot ID...            start nodes (fresh state) in the main partition
//	fail ID...            power nodes off
//	partition A,B C,D     one partition per argument (unlisted nodes: the main one)
//	heal                  one partition again
//	run D                 advance time by D; prints the events of the period
//	arbiter down|up       qnetd fails silently / a fresh qnetd starts
//	cut ID... / uncut ID...  cut or restore node↔qnetd links
//	expected node=ID n=N  pvecm expected N on node ID
//	votes node=ID id=ID v=V  corosync-quorumtool -v V -n ID on node ID
//	delnode node=ID id=ID pvecm delnode ID on node ID
//	cancel-wfa node=ID    quorum.cancel_wait_for_all on node ID
//	status [ID...]        one line per running node
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			var h *harness
			datadriven.RunTest(t, file, func(t *testing.T, d *datadriven.TestData) string {
				if d.Cmd != "cluster" && h == nil {
					d.Fatalf(t, "no cluster yet")
				}
				if h != nil {
					h.t = t
				}
				out, err := scenarioCmd(t, &h, d)
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
				return out
			})
		})
	}
}

// scenarioCmd runs one command.
func scenarioCmd(t *testing.T, hp **harness, d *datadriven.TestData) (string, error) {
	h := *hp
	switch d.Cmd {
	case "cluster":
		c, n, err := scenarioConfig(d)
		if err != nil {
			return "", err
		}
		*hp = newHarness(t, n, c)
		(*hp).checks = append((*hp).checks, checkNoSplitBrain)
		return "", nil
	case "boot":
		h.boot(argIDs(d)...)
	case "fail":
		h.fail(argIDs(d)...)
	case "partition":
		var groups [][]wire.NodeID
		for _, a := range d.CmdArgs {
			groups = append(groups, parseIDs(a.Key))
		}
		h.partition(groups...)
	case "heal":
		h.heal()
	case "run":
		dur, err := time.ParseDuration(d.CmdArgs[0].Key)
		if err != nil {
			return "", err
		}
		h.run(dur)
		return h.flushTrace(), nil
	case "arbiter":
		h.setArbiter(d.CmdArgs[0].Key == "up")
	case "cut", "uncut":
		for _, id := range argIDs(d) {
			h.arbCut[h.pos(id)] = d.Cmd == "cut"
		}
	case "expected", "votes", "delnode", "cancel-wfa":
		return adminCmd(h, d)
	case "status":
		return h.status(argIDs(d)...), nil
	default:
		d.Fatalf(t, "unknown command %s", d.Cmd)
	}
	return "", nil
}

// adminCmd runs an administrative call on one node.
func adminCmd(h *harness, d *datadriven.TestData) (string, error) {
	var node, n, id int
	d.MaybeScanArgs(h.t, "node", &node)
	q := h.node(wire.NodeID(node))
	var err error
	switch d.Cmd {
	case "expected":
		d.ScanArgs(h.t, "n", &n)
		err = q.SetExpected(h.now, n)
	case "votes":
		d.ScanArgs(h.t, "id", &id)
		d.ScanArgs(h.t, "v", &n)
		err = q.SetVotes(h.now, wire.NodeID(id), n)
	case "delnode":
		d.ScanArgs(h.t, "id", &id)
		err = q.RemoveNode(h.now, wire.NodeID(id))
	case "cancel-wfa":
		q.CancelWaitForAll(h.now)
	}
	h.pump(h.pos(wire.NodeID(node)))
	if err != nil {
		return "", err
	}
	return "ok\n", nil
}

// scenarioConfig turns the cluster command's arguments into a config
// mutator.
func scenarioConfig(d *datadriven.TestData) (func(*Config), int, error) {
	n := 0
	var muts []func(*Config)
	for _, a := range d.CmdArgs {
		val := ""
		if len(a.Vals) > 0 {
			val = a.Vals[0]
		}
		switch a.Key {
		case "n":
			n, _ = strconv.Atoi(val)
		case "two_node":
			muts = append(muts, func(c *Config) { c.TwoNode = true })
		case "wfa":
			on := val != "off"
			muts = append(muts, func(c *Config) { c.WaitForAll, c.WaitForAllSet = on, true })
		case "lms":
			muts = append(muts, func(c *Config) { c.LastManStanding = true })
		case "window":
			w, err := time.ParseDuration(val)
			if err != nil {
				return nil, 0, err
			}
			muts = append(muts, func(c *Config) { c.LastManStandingWindow = w })
		case "atb":
			node := strings.ReplaceAll(val, ",", " ")
			muts = append(muts, func(c *Config) { c.AutoTieBreaker, c.AutoTieBreakerNode = true, node })
		case "expected":
			e, _ := strconv.Atoi(val)
			muts = append(muts, func(c *Config) { c.ExpectedVotes = e })
		case "votes":
			for _, v := range a.Vals {
				idv := strings.SplitN(v, ":", 2)
				id, _ := strconv.Atoi(idv[0])
				votes, _ := strconv.Atoi(idv[1])
				muts = append(muts, func(c *Config) { c.Nodes[id-1].Votes = votes })
			}
		case "qdevice":
			algo := AlgorithmFFSplit
			if val == "lms" {
				algo = AlgorithmLMS
			}
			muts = append(muts, func(c *Config) {
				if c.Device == nil {
					c.Device = &DeviceConfig{}
				}
				c.Device.Algorithm = algo
			})
		case "qvotes", "tie", "master_wins":
			key := a.Key
			muts = append(muts, func(c *Config) { deviceOption(c.Device, key, val) })
		default:
			return nil, 0, fmt.Errorf("unknown cluster option %q", a.Key)
		}
	}
	return func(c *Config) {
		for _, m := range muts {
			m(c)
		}
	}, n, nil
}

// deviceOption applies one qdevice option (after qdevice=...).
func deviceOption(dc *DeviceConfig, key, val string) {
	switch key {
	case "qvotes":
		dc.Votes, _ = strconv.Atoi(val)
	case "master_wins":
		dc.MasterWins = true
	case "tie":
		switch val {
		case "lowest":
			dc.TieBreaker = TieBreaker{Mode: TieBreakerLowest}
		case "highest":
			dc.TieBreaker = TieBreaker{Mode: TieBreakerHighest}
		default:
			id, _ := strconv.Atoi(val)
			dc.TieBreaker = TieBreaker{Mode: TieBreakerNodeID, Node: wire.NodeID(id)}
		}
	}
}

func argIDs(d *datadriven.TestData) []wire.NodeID {
	var out []wire.NodeID
	for _, a := range d.CmdArgs {
		out = append(out, parseIDs(a.Key)...)
	}
	return out
}

func parseIDs(s string) []wire.NodeID {
	var out []wire.NodeID
	for _, f := range strings.Split(s, ",") {
		if v, err := strconv.Atoi(f); err == nil {
			out = append(out, wire.NodeID(v))
		}
	}
	return out
}

// checkNoSplitBrain fails when nodes of two different partitions are both
// quorate outside sync, unless two_node is configured (it allows
// exactly that, fencing decides; spec examples 12b and 33).
func checkNoSplitBrain(h *harness) {
	checkAccessors(h)
	if h.cfgs[0].TwoNode {
		return
	}
	group := -1
	for i, q := range h.nodes {
		if q == nil {
			continue
		}
		if st := q.Status(); !st.Quorate || st.Syncing {
			continue
		}
		if group >= 0 && h.group[i] != group {
			h.t.Errorf("split brain at %v: quorate nodes in partitions %d and %d\n%s", time.Duration(h.now), group, h.group[i], h.status())
			return
		}
		group = h.group[i]
	}
}

// checkAccessors: the node's per-step reads (Quorate, Syncing, RingID,
// Numbers) say what Status says, at every step of every scenario.
func checkAccessors(h *harness) {
	for i, q := range h.nodes {
		if q == nil {
			continue
		}
		st := q.Status()
		want := Numbers{Quorate: st.Quorate, TotalVotes: st.TotalVotes, ExpectedVotes: st.ExpectedVotes, Quorum: st.Quorum}
		if q.Quorate() != st.Quorate || q.Syncing() != st.Syncing || q.RingID() != st.Ring || q.Numbers() != want {
			h.t.Fatalf("node %d at %v: Quorate %v Syncing %v RingID %v Numbers %+v, Status says %v %v %v %+v",
				i+1, time.Duration(h.now), q.Quorate(), q.Syncing(), q.RingID(), q.Numbers(), st.Quorate, st.Syncing, st.Ring, want)
		}
	}
}
