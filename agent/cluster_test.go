package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/quorate/quorate/agent/configdb"
	"github.com/quorate/quorate/engine/wire"
)

// TestClusterLifecycle runs three agents on 127.0.0.1-3 (two links each):
// they form a quorate ring; one stops and the other two re-form and stay
// quorate while forged packets are thrown at them; it restarts from its
// data directory with a higher ring sequence and rejoins; expected votes
// and node removal go through the admin socket.
func TestClusterLifecycle(t *testing.T) {
	skipShort(t)
	c := startCluster(t)
	alpha, bravo, charlie := c.agents[0], c.agents[1], c.agents[2]
	alpha.metrics = freeTCP(t)
	for _, a := range c.agents {
		c.start(a)
	}
	waitQuorate(t, 3, c.agents...)
	checkLinks(t, alpha)

	c.stop(charlie)
	seqBefore := ringSeq(t, charlie)
	waitQuorate(t, 2, alpha, bravo)

	t.Run("forged packets", func(t *testing.T) { forge(t, c) })

	c.start(charlie)
	waitQuorate(t, 3, c.agents...)
	waitFor(t, "charlie persists a higher ring sequence", func() (bool, string) {
		seq := ringSeq(t, charlie)
		return seq > seqBefore, fmt.Sprintf("ring seq %d, was %d", seq, seqBefore)
	})
	if m := mustCall(t, bravo, Request{Cmd: CmdMembers}).Members; m.State != "OPERATIONAL" || len(m.Members) != 3 {
		t.Errorf("members on bravo: %+v", m)
	}

	t.Run("a value larger than a datagram", func(t *testing.T) {
		// 300 KiB: a Totem message of five link-layer fragments, each
		// one sealed UDP datagram. Without fragmentation the datagram
		// was dropped as oversized and retransmitted for ever, and every
		// later write waited behind it.
		big := bytes.Repeat([]byte("0123456789abcdef"), 300<<10/16)
		mustCall(t, alpha, Request{Cmd: CmdCfsPut, Path: "big", Value: big})
		for _, a := range []*testAgent{bravo, charlie} {
			waitFor(t, a.name+" reads the 300 KiB value", func() (bool, string) {
				resp, err := ask(a, Request{Cmd: CmdCfsGet, Path: "big"})
				if err != nil || !resp.OK || resp.Entry == nil {
					return false, fmt.Sprint(resp, err)
				}
				return bytes.Equal(resp.Entry.Value, big), fmt.Sprintf("%d bytes", len(resp.Entry.Value))
			})
		}
		mustCall(t, bravo, Request{Cmd: CmdCfsPut, Path: "after-big", Value: []byte("1")})
	})

	t.Run("latency metrics", func(t *testing.T) {
		// A store write and a short load run show up in alpha's latency
		// histograms.
		waitFor(t, "a cfs put on alpha", func() (bool, string) {
			resp, err := ask(alpha, Request{Cmd: CmdCfsPut, Path: "metrics/probe", Value: []byte("1")})
			return err == nil && resp.OK, fmt.Sprint(resp, err)
		})
		mustCall(t, alpha, Request{Cmd: CmdLoad, Load: &LoadSpec{Count: 50, Size: 64, Window: 4}})
		waitFor(t, "alpha's latency histograms", func() (bool, string) {
			m := scrape(t, alpha.metrics)
			ok := m[`quorate_store_op_seconds_count{op="put",outcome="ok"}`] >= 1 &&
				m[`quorate_delivery_latency_seconds_count{origin="own"}`] == 50
			return ok, fmt.Sprint(m[`quorate_store_op_seconds_count{op="put",outcome="ok"}`],
				m[`quorate_delivery_latency_seconds_count{origin="own"}`])
		})
	})

	t.Run("expected", func(t *testing.T) {
		resp, err := ask(alpha, Request{Cmd: CmdExpected, Votes: 1})
		if err != nil || resp.OK || !strings.Contains(resp.Error, "CS_ERR_INVALID_PARAM") || resp.BadRequest {
			t.Fatalf("expected 1 with three votes present: %+v %v", resp, err)
		}
		mustCall(t, alpha, Request{Cmd: CmdExpected, Votes: 4})
		waitVotes(t, 4, 3, 3, c.agents...)
		mustCall(t, bravo, Request{Cmd: CmdExpected, Votes: 3})
		waitVotes(t, 3, 3, 2, c.agents...)
	})

	t.Run("delnode", func(t *testing.T) {
		for _, tt := range []struct{ node, want string }{
			{"alpha", "Cannot delete myself"},
			{"zulu", "not a known host"},
		} {
			resp, err := ask(alpha, Request{Cmd: CmdDelnode, Node: tt.node})
			if err != nil || resp.OK || !resp.BadRequest || !strings.Contains(resp.Error, tt.want) {
				t.Errorf("delnode %s: %+v %v", tt.node, resp, err)
			}
		}
		c.stop(charlie)
		waitQuorate(t, 2, alpha, bravo)
		resp := mustCall(t, alpha, Request{Cmd: CmdDelnode, Node: "charlie"})
		if resp.Deleted != 3 {
			t.Errorf("deleted %d, want 3", resp.Deleted)
		}
		waitVotes(t, 2, 2, 2, alpha, bravo)
		nodes := mustCall(t, bravo, Request{Cmd: CmdNodes})
		if len(nodes.Nodelist) != 2 || nodes.Status.ConfigVersion != 4 {
			t.Errorf("after delnode bravo has nodelist %+v, config version %d (want 2 nodes, 4)",
				nodes.Nodelist, nodes.Status.ConfigVersion)
		}
		if links := mustCall(t, alpha, Request{Cmd: CmdLinks}).Links; len(links.Peers) != 1 {
			t.Errorf("alpha still shows links to %d peers", len(links.Peers))
		}
	})
}

// checkLinks waits until a's view of every peer has both links up and
// link 0 active (equal priorities: the lower link wins).
func checkLinks(t *testing.T, a *testAgent) {
	t.Helper()
	waitFor(t, a.name+" sees both links up to every peer", func() (bool, string) {
		li := mustCall(t, a, Request{Cmd: CmdLinks}).Links
		if len(li.Peers) != 2 {
			return false, fmt.Sprintf("%+v", li)
		}
		for _, p := range li.Peers {
			if p.Active != 0 || len(p.Links) != 2 || !p.Links[0].Up || !p.Links[1].Up {
				return false, fmt.Sprintf("%+v", p)
			}
		}
		return true, ""
	})
}

// waitVotes waits until each agent shows the expected votes, total votes
// and quorum.
func waitVotes(t *testing.T, expected, total, quorum int, as ...*testAgent) {
	t.Helper()
	for _, a := range as {
		waitFor(t, fmt.Sprintf("%s shows E=%d T=%d Q=%d", a.name, expected, total, quorum), func() (bool, string) {
			q := mustCall(t, a, Request{Cmd: CmdStatus}).Status.Quorum
			return q.ExpectedVotes == expected && q.TotalVotes == total && q.Quorum == quorum && q.Quorate, q.String()
		})
	}
}

// ringSeq reads the ring sequence an agent persisted.
func ringSeq(t *testing.T, a *testAgent) uint64 {
	t.Helper()
	id := wire.NodeID(0)
	for i, n := range testNodes {
		if n == a.name {
			id = wire.NodeID(i + 1)
		}
	}
	st, err := configdb.Read(a.data, id)
	if err != nil {
		t.Fatal(err)
	}
	return st.RingSeq
}

// freeTCP returns a free TCP address on 127.0.0.1 for the metrics server.
func freeTCP(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// scrape reads one agent's /metrics into name{labels} -> value.
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}
