package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// writeConf writes src as corosync.conf in a temporary directory.
func writeConf(t *testing.T, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "corosync.conf")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestEngineConfigMapping: corosync.conf keys reach the engine as
// sim/build.go maps a scenario's: token_coefficient 0 switches scaling off,
// interface settings become links, quorum_votes 0 carries no vote, the
// device's tie-breaker node is kept.
func TestEngineConfigMapping(t *testing.T) {
	src := `totem {
  version: 2
  cluster_name: edge
  token: 2000
  token_coefficient: 0
  link_mode: active
  interface {
    linknumber: 0
    knet_link_priority: 20
    knet_ping_interval: 300
    knet_ping_timeout: 900
  }
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
    nodeid: 4
    quorum_votes: 0
    ring0_addr: 10.0.0.4
  }
}
quorum {
  provider: corosync_votequorum
  device {
    model: net
    votes: 1
    net {
      host: 10.0.0.250
      algorithm: ffsplit
      tie_breaker: 2
    }
  }
}
`
	c, err := corosyncconf.Parse("t.conf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := engineConfig(c, c.NodeByName("b"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NodeID != 2 || len(cfg.Nodes) != 3 || cfg.Nodes[2] != 4 {
		t.Errorf("ids: self %d nodes %v", cfg.NodeID, cfg.Nodes)
	}
	if cfg.Totem.Token != 2*time.Second || cfg.Totem.TokenCoefficient != -1 {
		t.Errorf("token %v coefficient %v, want 2s and -1 (off)", cfg.Totem.Token, cfg.Totem.TokenCoefficient)
	}
	if cfg.LinkMode.String() != "active" || len(cfg.Links) != 1 || cfg.Links[0].Priority != 20 ||
		cfg.Links[0].PingInterval != 300*time.Millisecond || cfg.Links[0].PingTimeout != 900*time.Millisecond {
		t.Errorf("links: mode %v %+v", cfg.LinkMode, cfg.Links)
	}
	if v := cfg.Quorum.Nodes[2].Votes; v != quorum.VotesNone {
		t.Errorf("quorum_votes 0 became %d, want VotesNone", v)
	}
	d := cfg.Quorum.Device
	if d == nil || d.Votes != 1 || d.TieBreaker.Mode != quorum.TieBreakerNodeID || d.TieBreaker.Node != 2 {
		t.Errorf("device: %+v", d)
	}
	tc, err := transportConfig(context.Background(), c, c.NodeByName("b"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if tc.Local[0] != netip.MustParseAddrPort("10.0.0.2:5405") || len(tc.Peers) != 2 ||
		tc.Peers[1].ID != 4 || tc.Peers[1].Addrs[0] != netip.MustParseAddrPort("10.0.0.4:5405") {
		t.Errorf("transport: local %v peers %+v", tc.Local[0], tc.Peers)
	}
}

// TestConfigErrors: bad input is ErrConfig and names the file and line.
func TestConfigErrors(t *testing.T) {
	good := confText("/nonexistent/authkey", 25405)
	tests := []struct {
		name, src, node string
		want            string
	}{
		{"syntax", "totem {\n  version: 2\n", "alpha", "corosync.conf:"},
		{"bad token", strings.Replace(good, "token: 1000", "token: 10\n  token_coefficient: 0", 1), "alpha", "corosync.conf:7: parse error in config: The token timeout"},
		{"udpu", "totem {\n  version: 2\n  transport: udpu\n}\nnodelist {\n  node {\n    name: alpha\n    nodeid: 1\n    ring0_addr: 127.0.0.1\n  }\n}\n",
			"alpha", `corosync.conf:3: totem.transport "udpu" is not supported`},
		{"unknown node", good, "zulu", `no node named "zulu"`},
		{"missing key", good, "alpha", "Could not open /nonexistent/authkey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Run(context.Background(), Options{ConfigPath: writeConf(t, tt.src), NodeName: tt.node,
				DataDir: t.TempDir(), AdminSocket: filepath.Join(t.TempDir(), "a.sock")})
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v; want ErrConfig containing %q", err, tt.want)
			}
		})
	}
	if err := Run(context.Background(), Options{ConfigPath: "/nonexistent/corosync.conf"}); !errors.Is(err, ErrConfig) {
		t.Errorf("missing file: %v", err)
	}
}

// TestLocalNode: --node accepts a name, a nodeid or a ring0 address.
func TestLocalNode(t *testing.T) {
	c, err := corosyncconf.Parse("t.conf", []byte(confText("/k", 25405)))
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]uint32{"bravo": 2, "3": 3, "127.0.0.1": 1} {
		n, err := localNode(c, in)
		if err != nil || n.NodeID != want {
			t.Errorf("localNode(%q) = %v, %v; want node %d", in, n, err, want)
		}
	}
}

// TestResolve: literals are taken as they are; names follow ip_version.
func TestResolve(t *testing.T) {
	for _, tt := range []struct{ host, ipv, want string }{
		{"10.1.2.3", "ipv6-4", "10.1.2.3"},
		{"fd00::1", "ipv4-6", "fd00::1"},
		{"::ffff:10.0.0.1", "ipv4", "10.0.0.1"},
		{"localhost", "ipv4", "127.0.0.1"}, // from /etc/hosts
	} {
		got, err := resolve(context.Background(), tt.host, tt.ipv)
		if err != nil && tt.host == "localhost" {
			t.Logf("this host cannot resolve localhost: %v", err)
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("resolve(%q, %s) = %v, %v; want %s", tt.host, tt.ipv, got, err, tt.want)
		}
	}
}

// TestDataDirGuards: an agent refuses, as bad input, a data directory
// another agent holds and a config.db that is not a quorate database; the
// lock goes with its holder.
func TestDataDirGuards(t *testing.T) {
	dir := t.TempDir()
	release, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockDataDir(dir); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "in use by another agent") ||
		!strings.Contains(err.Error(), strconv.Itoa(os.Getpid())) {
		t.Errorf("second lock: %v", err)
	}
	conf := clusterConf(t, t.TempDir(), freePorts(t))
	opt := Options{ConfigPath: conf, NodeName: "alpha", DataDir: dir, AdminSocket: filepath.Join(t.TempDir(), "a.sock"),
		Logger: slog.New(slog.DiscardHandler)}
	if err := Run(context.Background(), opt); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "in use") {
		t.Errorf("Run on a held data dir: %v", err)
	}
	release()

	if err := os.WriteFile(filepath.Join(dir, "config.db"), []byte("not a database, not at all, no"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), opt); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "config.db") {
		t.Errorf("Run on a corrupt config.db: %v", err)
	}
	if release, err := lockDataDir(dir); err != nil {
		t.Errorf("lock after Run returned: %v", err)
	} else {
		release()
	}
}

// TestEncrypted: corosync encrypts with secauth on or any crypto_cipher or
// crypto_hash but none; the agent's warning and status follow it.
func TestEncrypted(t *testing.T) {
	base := "totem {\n  version: 2\n  cluster_name: c\n  transport: knet\n%s}\nnodelist {\n  node {\n    name: a\n    nodeid: 1\n    ring0_addr: 127.0.0.1\n  }\n}\nquorum {\n  provider: corosync_votequorum\n}\n"
	for _, tt := range []struct {
		totem string
		want  bool
	}{
		{"", false},
		{"  secauth: on\n", true},
		{"  secauth: off\n", false},
		{"  crypto_cipher: aes256\n  crypto_hash: sha256\n", true},
		{"  crypto_cipher: none\n  crypto_hash: none\n", false},
	} {
		c, err := corosyncconf.Parse("c.conf", []byte(fmt.Sprintf(base, tt.totem)))
		if err != nil {
			t.Fatalf("%q: %v", tt.totem, err)
		}
		if got := encrypted(c); got != tt.want {
			t.Errorf("%q: encrypted %v, want %v", tt.totem, got, tt.want)
		}
	}
}
