package agent

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quorate/quorate/engine/store"
)

// TestCfsInMemory drives the cfs commands on three loops over the
// in-memory network: writes replicate and are on the writer's disk when
// acknowledged, local and ordered reads, listing, removal, bad requests, a
// pending write answered when its agent stops, refusal without quorum, and
// a restart with the store intact.
func TestCfsInMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conf, net, nodes := startMemCluster(t, 11, nil)
		alpha, bravo, charlie := nodes[0], nodes[1], nodes[2]
		for _, n := range nodes {
			eventually(t, n.name+" quorate with 3", quorateWith(n, 3, 3))
		}

		put := func(n *memNode, path, value string) Response {
			return request(n, Request{Cmd: CmdCfsPut, Path: path, Value: []byte(value)})
		}
		resp := put(alpha, "/nodes/alpha/qemu-server/100.conf", "memory: 2048\n")
		if !resp.OK || resp.Entry == nil || resp.Entry.Version == 0 || resp.Entry.Size != 13 {
			t.Fatalf("put: %+v", resp)
		}
		written := resp.Entry.Version
		if !onDisk(alpha, "nodes/alpha/qemu-server/100.conf", "memory: 2048\n") {
			t.Error("put acknowledged before alpha's disk held it")
		}
		if resp := put(bravo, "nodes/bravo/lxc/200.conf", ""); !resp.OK {
			t.Fatalf("put of an empty value: %+v", resp)
		}
		// Acknowledged means applied by every member: a local read on any
		// node sees it at once.
		for _, n := range nodes {
			resp := request(n, Request{Cmd: CmdCfsGet, Path: "nodes/alpha/qemu-server/100.conf"})
			if !resp.OK || string(resp.Entry.Value) != "memory: 2048\n" || resp.Entry.Version != written {
				t.Errorf("local get on %s: %+v", n.name, resp)
			}
		}
		if resp := request(charlie, Request{Cmd: CmdCfsGet, Path: "nodes/alpha/qemu-server/100.conf", Ordered: true}); !resp.OK || string(resp.Entry.Value) != "memory: 2048\n" {
			t.Errorf("ordered get: %+v", resp)
		}

		ls := func(n *memNode, dir string) string {
			resp := request(n, Request{Cmd: CmdCfsLs, Path: dir})
			if !resp.OK {
				t.Fatalf("ls %q on %s: %+v", dir, n.name, resp)
			}
			var b strings.Builder
			for _, e := range resp.Entries {
				b.WriteString(e.Path + " ")
				if e.Size > 0 {
					b.WriteString("+")
				}
			}
			return b.String()
		}
		for _, tt := range []struct{ dir, want string }{
			{"", "nodes/alpha/qemu-server/100.conf +nodes/bravo/lxc/200.conf "},
			{"/nodes/bravo/", "nodes/bravo/lxc/200.conf "},
			{"nodes/alpha/qemu-server/100.conf", "nodes/alpha/qemu-server/100.conf +"},
			{"nodes/alp", ""},
		} {
			if got := ls(charlie, tt.dir); got != tt.want {
				t.Errorf("ls %q: %q, want %q", tt.dir, got, tt.want)
			}
		}

		// mv moves a value in one operation: gone under the old name, the
		// same under the new one on every node; then back.
		old, moved := "nodes/alpha/qemu-server/100.conf", "nodes/alpha/qemu-server/101.conf"
		before := request(bravo, Request{Cmd: CmdCfsGet, Path: old})
		if resp := request(alpha, Request{Cmd: CmdCfsMv, Path: old, To: moved}); !resp.OK {
			t.Fatalf("mv: %+v", resp)
		}
		synctest.Wait()
		for _, n := range []*memNode{alpha, bravo, charlie} {
			if resp := request(n, Request{Cmd: CmdCfsGet, Path: old}); resp.OK || resp.Code != CodeNotFound {
				t.Errorf("old name after mv: %+v", resp)
			}
			if resp := request(n, Request{Cmd: CmdCfsGet, Path: moved}); !resp.OK || !bytes.Equal(resp.Entry.Value, before.Entry.Value) {
				t.Errorf("new name after mv: %+v, want %q", resp, before.Entry.Value)
			}
		}
		if resp := request(charlie, Request{Cmd: CmdCfsMv, Path: moved, To: old}); !resp.OK {
			t.Fatalf("mv back: %+v", resp)
		}
		synctest.Wait()
		for _, tt := range []struct {
			name string
			req  Request
			bad  bool
			code string
		}{
			{"mv of a missing entry", Request{Cmd: CmdCfsMv, Path: moved, To: "x"}, false, CodeNotFound},
			{"mv onto itself", Request{Cmd: CmdCfsMv, Path: old, To: "/" + old}, true, ""},
			{"mv to a bad path", Request{Cmd: CmdCfsMv, Path: old, To: "a//b"}, true, ""},
		} {
			if resp := request(alpha, tt.req); resp.OK || resp.BadRequest != tt.bad || resp.Code != tt.code {
				t.Errorf("%s: %+v; want bad request %v, code %q", tt.name, resp, tt.bad, tt.code)
			}
		}

		if resp := request(charlie, Request{Cmd: CmdCfsRm, Path: "nodes/bravo/lxc/200.conf"}); !resp.OK {
			t.Fatalf("rm: %+v", resp)
		}
		for _, tt := range []struct {
			name string
			req  Request
			bad  bool
			want string
		}{
			{"removed entry", Request{Cmd: CmdCfsGet, Path: "nodes/bravo/lxc/200.conf"}, false, "no such entry"},
			{"rm of a missing entry", Request{Cmd: CmdCfsRm, Path: "nodes/bravo/lxc/200.conf"}, false, "no such entry"},
			{"ordered get of a missing entry", Request{Cmd: CmdCfsGet, Path: "nope", Ordered: true}, false, "no such entry"},
			{"empty component", Request{Cmd: CmdCfsPut, Path: "nodes//x", Value: []byte("v")}, true, "bad path"},
			{"dot-dot", Request{Cmd: CmdCfsGet, Path: "nodes/../x"}, true, "bad path"},
			{"no path", Request{Cmd: CmdCfsRm}, true, "a path is required"},
			{"control character", Request{Cmd: CmdCfsLs, Path: "a\nb"}, true, "control character"},
			{"missing value", Request{Cmd: CmdCfsPut, Path: "x"}, true, "missing value"},
			{"too large", Request{Cmd: CmdCfsPut, Path: "x", Value: make([]byte, store.MaxValueSize+1)}, true, "limit"},
		} {
			resp := request(alpha, tt.req)
			if resp.OK || resp.BadRequest != tt.bad || !strings.Contains(resp.Error, tt.want) {
				t.Errorf("%s: %+v; want bad request %v, %q", tt.name, resp, tt.bad, tt.want)
			}
		}

		// A write pending when the agent stops is answered.
		net.mu.Lock()
		net.cut[alpha.l.cl.selfID] = true
		net.mu.Unlock()
		c := call{req: Request{Cmd: CmdCfsPut, Path: "lost", Value: []byte("v")}, reply: make(chan Response, 1)}
		alpha.l.calls <- c
		synctest.Wait()
		select {
		case resp := <-c.reply:
			t.Fatalf("put answered while alpha is cut off: %+v", resp)
		default:
		}
		if err := stopMem(net, alpha); err != nil {
			t.Fatal(err)
		}
		select {
		case resp := <-c.reply:
			if resp.OK || !strings.Contains(resp.Error, "agent stopped") {
				t.Errorf("pending put at stop: %+v", resp)
			}
		case <-time.After(waitTimeout):
			t.Fatalf("pending put not answered %v after the agent stopped", waitTimeout)
		}
		eventually(t, "bravo quorate with 2", quorateWith(bravo, 2, 3))
		if resp := put(bravo, "nodes/bravo/two", "2"); !resp.OK {
			t.Fatalf("put with two of three: %+v", resp)
		}

		// Without quorum: writes and ordered reads are refused, local
		// reads still answer.
		if err := stopMem(net, charlie); err != nil {
			t.Fatal(err)
		}
		eventually(t, "bravo without quorum", func() (bool, string) {
			q := request(bravo, Request{Cmd: CmdStatus}).Status.Quorum
			return !q.Quorate, q.String()
		})
		for _, req := range []Request{
			{Cmd: CmdCfsPut, Path: "x", Value: []byte("v")},
			{Cmd: CmdCfsRm, Path: "nodes/bravo/two"},
			{Cmd: CmdCfsGet, Path: "nodes/bravo/two", Ordered: true},
		} {
			resp := request(bravo, req)
			if resp.OK || resp.BadRequest || !strings.Contains(resp.Error, "not quorate: the configuration store is read-only") {
				t.Errorf("%s %s without quorum: %+v", req.Cmd, req.Path, resp)
			}
		}
		if resp := request(bravo, Request{Cmd: CmdCfsGet, Path: "nodes/bravo/two"}); !resp.OK || string(resp.Entry.Value) != "2" {
			t.Errorf("local get without quorum: %+v", resp)
		}

		// alpha restarts from its disk with its store and catches up.
		net.mu.Lock()
		delete(net.cut, alpha.l.cl.selfID)
		net.mu.Unlock()
		startMem(t, conf, net, alpha, 41, nil)
		if resp := request(alpha, Request{Cmd: CmdCfsGet, Path: "nodes/alpha/qemu-server/100.conf"}); !resp.OK {
			t.Errorf("alpha's store after restart: %+v", resp)
		}
		eventually(t, "alpha quorate with 2", quorateWith(alpha, 2, 3))
		eventually(t, "alpha caught up", func() (bool, string) {
			resp := request(alpha, Request{Cmd: CmdCfsGet, Path: "nodes/bravo/two"})
			return resp.OK, resp.Error
		})
		if resp := request(alpha, Request{Cmd: CmdCfsGet, Path: "lost"}); resp.OK {
			t.Errorf("the write of a cut-off node took effect: %+v", resp)
		}
		for _, n := range []*memNode{alpha, bravo} {
			if err := stopMem(net, n); err != nil {
				t.Errorf("%s: %v", n.name, err)
			}
		}
	})
}

// onDisk reports whether n's persisted State holds path with value.
func onDisk(n *memNode, path, value string) bool {
	for _, r := range n.disk.Store.Entries {
		if r.Key == path {
			return bytes.Equal(r.Value, []byte(value))
		}
	}
	return false
}

// TestJoinTokensPruned: issuing a join token removes the tokens that have
// expired from the store, and keeps the live ones.
func TestJoinTokensPruned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, net, nodes := startMemCluster(t, 21, nil)
		alpha := nodes[0]
		for _, n := range nodes {
			eventually(t, n.name+" quorate with 3", quorateWith(n, 3, 3))
		}
		tokens := func() []string {
			var ids []string
			for _, e := range request(alpha, Request{Cmd: CmdCfsLs, Path: "priv/join-token"}).Entries {
				ids = append(ids, strings.TrimPrefix(e.Path, tokenPrefix))
			}
			return ids
		}
		issue := func(ttl int) string {
			resp := request(alpha, Request{Cmd: CmdJoinToken, TTL: ttl})
			id, _, err := parseToken(resp.Token)
			if !resp.OK || err != nil {
				t.Fatalf("join-token: %+v %v", resp, err)
			}
			return id
		}
		short, long := issue(1), issue(3600)
		if got := tokens(); len(got) != 2 {
			t.Fatalf("tokens stored: %v, want 2", got)
		}
		time.Sleep(2 * time.Second)
		third := issue(60)
		eventually(t, "the expired token removed", func() (bool, string) {
			got := tokens()
			return slices.Equal(got, slices.Sorted(slices.Values([]string{long, third}))), fmt.Sprintf("%v (expired %s)", got, short)
		})
		for _, n := range nodes {
			if err := stopMem(net, n); err != nil {
				t.Errorf("%s: %v", n.name, err)
			}
		}
	})
}
