package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/netmodel/udp"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// joinAgent is one node of TestCreateAddDelnode with its own directory.
type joinAgent struct {
	testAgent
	conf, key string
}

// runJoinAgent starts an agent from its own corosync.conf and key.
func runJoinAgent(t *testing.T, a *joinAgent) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel, a.done = cancel, make(chan error, 1)
	opt := Options{ConfigPath: a.conf, NodeName: a.name, KeyFile: a.key, AdminSocket: a.admin, DataDir: a.data,
		Logger: slog.New(slog.NewTextHandler(a.log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	go func() { a.done <- Run(ctx, opt) }()
	waitFor(t, a.name+" answers on its admin socket", func() (bool, string) {
		select {
		case err := <-a.done:
			a.done <- err
			t.Fatalf("%s stopped at start: %v", a.name, err)
		default:
		}
		_, err := ask(&a.testAgent, Request{Cmd: CmdStatus})
		return err == nil, fmt.Sprint(err)
	})
}

func stopJoinAgent(t *testing.T, a *joinAgent) {
	t.Helper()
	if a.cancel == nil {
		return
	}
	a.cancel()
	a.cancel = nil
	if err := <-a.done; err != nil {
		t.Errorf("%s: Run: %v", a.name, err)
	}
}

// confVersion reads a corosync.conf's config_version and node names.
func confVersion(t *testing.T, path string) (uint64, []string, []byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := corosyncconf.Parse(path, b)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range c.Nodes {
		names = append(names, n.Name)
	}
	return c.ConfigVersion, names, b
}

// waitConfs waits until every agent's corosync.conf has config_version v
// with exactly the nodes names and all files are equal.
func waitConfs(t *testing.T, v uint64, names string, as ...*joinAgent) {
	t.Helper()
	waitFor(t, fmt.Sprintf("every corosync.conf at config_version %d with nodes %s", v, names), func() (bool, string) {
		var first []byte
		var state []string
		ok := true
		for _, a := range as {
			got, nodes, b := confVersion(t, a.conf)
			state = append(state, fmt.Sprintf("%s: v%d %v", a.name, got, nodes))
			if got != v || strings.Join(nodes, ",") != names || first != nil && !bytes.Equal(first, b) {
				ok = false
			}
			first = b
		}
		return ok, strings.Join(state, "; ")
	})
}

// TestCreateAddDelnode is the Proxmox cluster setup on loopback: create a
// one-node cluster, start it, issue a join token, add a second node with
// it and a third with the authkey (each started after add), then delete a
// stopped node; every corosync.conf follows. Failed joins are refused with
// clear errors and counted.
func TestCreateAddDelnode(t *testing.T) {
	skipShort(t)
	dir := t.TempDir()
	port := freePorts(t)
	var as []*joinAgent
	for _, name := range testNodes {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		as = append(as, &joinAgent{
			testAgent: testAgent{name: name, admin: filepath.Join(d, "admin.sock"), data: filepath.Join(d, "data"), log: &syncBuffer{}},
			conf:      filepath.Join(d, "corosync.conf"), key: filepath.Join(d, "authkey"),
		})
	}
	alpha, bravo, charlie := as[0], as[1], as[2]
	t.Cleanup(func() {
		for _, a := range as {
			stopJoinAgent(t, a)
		}
		if t.Failed() {
			for _, a := range as {
				t.Logf("log of %s:\n%s", a.name, a.log.String())
			}
		}
	})
	links := func(n int) []LinkSpec {
		return []LinkSpec{{Number: 0, Addr: fmt.Sprintf("127.0.0.%d", n), Priority: -1},
			{Number: 1, Addr: fmt.Sprintf("127.0.0.%d", 20+n), Priority: -1}}
	}
	copt := CreateOptions{ClusterName: "lab", Links: links(1), NodeName: "alpha",
		ConfigPath: alpha.conf, KeyFile: alpha.key, Port: uint16(port), Token: time.Second}
	if _, err := CreateCluster(copt); err != nil {
		t.Fatal(err)
	}
	if _, err := CreateCluster(copt); !errors.Is(err, ErrExists) || !errors.Is(err, ErrConfig) {
		t.Fatalf("a second create over the same files: %v, want ErrExists", err)
	}
	runJoinAgent(t, alpha)
	waitQuorate(t, 1, &alpha.testAgent)
	existing := fmt.Sprintf("127.0.0.1:%d", port)

	tok := mustCall(t, &alpha.testAgent, Request{Cmd: CmdJoinToken}).Token
	// A second token, for a wrong-secret attempt: the cluster cannot issue
	// one once bravo is in the nodelist and not yet running.
	tok2 := mustCall(t, &alpha.testAgent, Request{Cmd: CmdJoinToken, TTL: 60}).Token
	ctx := context.Background()
	addBravo := AddOptions{Existing: existing, Name: "bravo", Links: links(2), Token: tok,
		ConfigPath: bravo.conf, AuthKeyPath: bravo.key, Timeout: 20 * time.Second}
	res, err := Add(ctx, addBravo)
	if err != nil {
		t.Fatalf("add bravo: %v", err)
	}
	if res.NodeID != 2 || res.AuthKeyPath != bravo.key {
		t.Fatalf("add bravo: %+v", res)
	}
	if k1, k2 := mustRead(t, alpha.key), mustRead(t, bravo.key); !bytes.Equal(k1, k2) {
		t.Fatal("bravo got another authkey than alpha's")
	}

	t.Run("refused joins", func(t *testing.T) {
		wrongKey := filepath.Join(dir, "wrong.key")
		if err := udp.GenerateKey(wrongKey, 0); err != nil {
			t.Fatal(err)
		}
		id, _, _ := parseToken(tok2)
		forged, _, _, _ := newToken("x", time.Now(), time.Hour)
		fid, _, _ := parseToken(forged)
		wrongSecret := strings.Replace(forged, fid, id, 1)
		for _, tt := range []struct {
			name string
			edit func(o *AddOptions)
			want string
		}{
			{"reused token", func(o *AddOptions) {}, "already used"},
			{"unknown token", func(o *AddOptions) { o.Token = forged }, "unknown join token"},
			{"wrong token secret", func(o *AddOptions) { o.Token = wrongSecret }, "authentication failed"},
			{"wrong authkey", func(o *AddOptions) { o.Token, o.KeyFile = "", wrongKey }, "authentication failed"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				o := addBravo
				o.Name, o.Links, o.ConfigPath, o.AuthKeyPath = "delta", links(4), filepath.Join(dir, "delta.conf"), ""
				tt.edit(&o)
				_, err := Add(ctx, o)
				if !errors.Is(err, ErrJoinRefused) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("add: %v, want a refusal saying %q", err, tt.want)
				}
				if _, err := os.Stat(o.ConfigPath); err == nil {
					t.Fatal("a refused add wrote a config")
				}
			})
		}
		// A genuine authkey session (refused by the inquorate cluster,
		// sealed), then its hello and request replayed on a new
		// connection: the new server nonce makes the request fail.
		h := hello{mode: modeAuthKey}
		h.nonce[0] = 42
		helloRaw := h.encode()
		var reqFrame []byte
		for i, want := range []byte{frameReply, frameRefused} {
			c, err := net.Dial("tcp", existing)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			c.Write(helloRaw)
			ch, err := readFrame(c)
			if err != nil || ch.typ != frameChallenge {
				t.Fatalf("session %d: challenge %d %v", i, ch.typ, err)
			}
			keys, _ := deriveKeys(mustRead(t, alpha.key), helloRaw, ch.raw)
			if reqFrame == nil {
				reqFrame = keys.seal(keys.client, frameRequest, []byte(`{"name":"delta","links":[{"link":0,"addr":"127.0.0.4"},{"link":1,"addr":"127.0.0.24"}]}`))
			}
			c.Write(reqFrame)
			f, err := readFrame(c)
			c.Close()
			if err != nil || f.typ != want {
				t.Fatalf("session %d: frame %d %v, want %d", i, f.typ, err, want)
			}
			if i == 0 {
				b, err := keys.open(keys.server, frameReply, f.body)
				if err != nil || !strings.Contains(string(b), "no quorum") {
					t.Fatalf("the genuine session's reply: %s %v", b, err)
				}
			} else if !strings.Contains(decodeRefusal(f.body), "authentication failed") {
				t.Fatalf("the replay was answered %q", decodeRefusal(f.body))
			}
		}
		// A handshake cut short, and garbage.
		for _, b := range [][]byte{{frameHello, 0, 0}, []byte("GET / HTTP/1.0\r\n\r\n")} {
			c, err := net.Dial("tcp", existing)
			if err != nil {
				t.Fatal(err)
			}
			c.Write(b)
			c.(*net.TCPConn).CloseWrite()
			var buf [64]byte
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			c.Read(buf[:])
			c.Close()
		}
		waitFor(t, "alpha counts the refusals", func() (bool, string) {
			j := mustCall(t, &alpha.testAgent, Request{Cmd: CmdStats}).Stats.Join
			return j["accepted"] == 1 && j["refused_token"] == 2 && j["refused_auth"] == 3 && j["refused_request"] == 1 &&
				j["refused_truncated"] == 1 && j["refused_malformed"] == 1, fmt.Sprint(j)
		})
	})

	runJoinAgent(t, bravo)
	waitQuorate(t, 2, &alpha.testAgent, &bravo.testAgent)
	waitConfs(t, 2, "alpha,bravo", alpha, bravo)

	// The third node authenticates with the authkey, through bravo.
	res, err = Add(ctx, AddOptions{Existing: fmt.Sprintf("127.0.0.2:%d", port), Name: "charlie", Links: links(3),
		KeyFile: bravo.key, ConfigPath: charlie.conf, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("add charlie: %v", err)
	}
	if res.NodeID != 3 || res.AuthKeyPath != "" {
		t.Fatalf("add charlie: %+v", res)
	}
	charlie.key = bravo.key
	if _, err := Add(ctx, AddOptions{Existing: existing, Name: "charlie", Links: links(3), KeyFile: bravo.key,
		ConfigPath: charlie.conf}); !errors.Is(err, ErrExists) {
		t.Fatalf("add over an existing config: %v, want ErrExists", err)
	}
	if _, err := Add(ctx, AddOptions{Existing: existing, Name: "charlie", Links: links(5), KeyFile: bravo.key,
		ConfigPath: filepath.Join(dir, "echo.conf")}); !errors.Is(err, ErrJoinRefused) || !strings.Contains(err.Error(), "already in the cluster") {
		t.Fatalf("add of a second charlie: %v, want a refusal", err)
	}
	runJoinAgent(t, charlie)
	waitQuorate(t, 3, &alpha.testAgent, &bravo.testAgent, &charlie.testAgent)
	waitConfs(t, 3, "alpha,bravo,charlie", alpha, bravo, charlie)
	for _, a := range as {
		if v := mustCall(t, &a.testAgent, Request{Cmd: CmdStatus}).Status.ConfigVersion; v != 3 {
			t.Errorf("%s shows config_version %d, want 3", a.name, v)
		}
	}

	stopJoinAgent(t, charlie)
	waitQuorate(t, 2, &alpha.testAgent, &bravo.testAgent)
	if resp := mustCall(t, &alpha.testAgent, Request{Cmd: CmdDelnode, Node: "charlie"}); resp.Deleted != 3 {
		t.Fatalf("delnode: %+v", resp)
	}
	waitConfs(t, 4, "alpha,bravo", alpha, bravo)
	waitVotes(t, 2, 2, 2, &alpha.testAgent, &bravo.testAgent)
	if v := mustCall(t, &bravo.testAgent, Request{Cmd: CmdStatus}).Status.ConfigVersion; v != 4 {
		t.Errorf("bravo shows config_version %d after delnode, want 4", v)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
