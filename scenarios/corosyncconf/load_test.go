package corosyncconf

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fixtures returns every testdata/valid/*.conf by file name.
func fixtures(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob("testdata/valid/*.conf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = src
	}
	return out
}

// TestLoadFixtures loads every example of the spec (§5.1-§5.3) and every
// corosync.conf shown in the Proxmox documentation seeds, and checks the
// values that matter to the engine.
func TestLoadFixtures(t *testing.T) {
	tests := []struct {
		file     string
		cluster  string
		version  uint64
		links    []int
		nodes    string // "name:id:ring0,ring1 ..." in file order
		provider string
		warnings []string // substrings, in order
		check    func(t *testing.T, c *Config)
	}{
		{"spec-5.1-three-nodes.conf", "lab3", 3, []int{0},
			"alpha:1:10.0.10.11 bravo:2:10.0.10.12 charlie:3:10.0.10.13", "corosync_votequorum", nil,
			func(t *testing.T, c *Config) {
				eq(t, "ip_version", c.Totem.IPVersion, "ipv4-6")
				eq(t, "crypto", c.Totem.CryptoCipher+"/"+c.Totem.CryptoHash, "aes256/sha256")
				eq(t, "logging", c.Logging["to_syslog"], "yes")
				eq(t, "interface line", c.Interfaces[0].Line, c.Line("totem.interface.0"))
			}},
		{"spec-5.2-two-links.conf", "prod3", 7, []int{0, 1},
			"pve-a:1:192.168.50.21,172.16.9.21 pve-b:2:192.168.50.22,172.16.9.22 pve-c:3:192.168.50.23,172.16.9.23",
			"corosync_votequorum", nil,
			func(t *testing.T, c *Config) {
				eq(t, "priority 0", c.Interface(0).KnetLinkPriority, uint8(10))
				eq(t, "priority 1", c.Interface(1).KnetLinkPriority, uint8(20))
				eq(t, "ports", [2]uint16{c.Interface(0).MCastPort, c.Interface(1).MCastPort}, [2]uint16{5405, 5406})
				eq(t, "token", c.Totem.Token, 3*time.Second)
				eq(t, "token set", c.Has("totem.token"), true)
				eq(t, "priority line", c.Line("totem.interface.1.knet_link_priority"), 17)
				eq(t, "addr", c.Addr(3, 1), "172.16.9.23")
			}},
		{"spec-5.3-qdevice.conf", "edge2", 12, []int{0},
			"edge-1:1:10.20.0.1 edge-2:2:10.20.0.2", "corosync_votequorum", nil,
			func(t *testing.T, c *Config) {
				d := c.Quorum.Device
				if d == nil {
					t.Fatal("no device")
				}
				eq(t, "device", [3]string{d.Model, d.Net.Host, d.Net.Algorithm}, [3]string{"net", "10.20.0.250", "ffsplit"})
				eq(t, "votes", d.Votes, uint32(1))
				eq(t, "tls", d.Net.TLS, "on")
				eq(t, "tie breaker", d.Net.TieBreaker.String(), "lowest")
				eq(t, "timeouts", [2]time.Duration{d.Timeout, d.SyncTimeout}, [2]time.Duration{10 * time.Second, 30 * time.Second})
				eq(t, "two_node", c.Quorum.TwoNode, false)
			}},
		{"pvecm-2017-separate-before.conf", "thomas-testcluster", 3, []int{0},
			"due:2:due tre:3:tre uno:1:uno", "corosync_votequorum",
			[]string{"bindnetaddr is ignored", "ringnumber is a corosync 2 key"},
			func(t *testing.T, c *Config) {
				eq(t, "ip_version", c.Totem.IPVersion, "ipv4")
				eq(t, "bindnetaddr", c.Interfaces[0].BindNetAddr, "192.168.30.50")
			}},
		{"pvecm-2017-separate-after.conf", "thomas-testcluster", 4, []int{0},
			"due:2:10.10.10.2 tre:3:10.10.10.3 uno:1:10.10.10.1", "corosync_votequorum",
			[]string{"bindnetaddr", "ringnumber"}, nil},
		{"pvecm-2017-rrp.conf", "tweak", 9, []int{0, 1},
			"pvecm1:1:10.10.10.1,10.10.20.1 pvecm2:2:10.10.10.2,10.10.20.2", "",
			[]string{"rrp_mode", "ringnumber", "repeats the one at line 15",
				"bindnetaddr is set more than once (lines 16 and 20)", "bindnetaddr is ignored", "ringnumber"},
			func(t *testing.T, c *Config) {
				eq(t, "merged bindnetaddr", c.Interfaces[0].BindNetAddr, "10.10.20.1")
				eq(t, "link 1 has no section", c.Interfaces[1].Line, 0)
				eq(t, "raw rrp_mode", get(c, "totem.rrp_mode"), "passive")
			}},
		{"wiki-separate-network.conf", "testcluster", 8, []int{0},
			"two:2:two-corosync one:1:one-corosync three:3:three-corosync", "corosync_votequorum",
			[]string{"bindnetaddr", "ringnumber"}, nil},
		{"wiki-rrp.conf", "tweak", 2, []int{0, 1},
			"pvecm62:1:coro0-62,coro1-62 pvecm63:2:coro0-63,coro1-63", "",
			[]string{"rrp_mode", "ringnumber", "repeats", "set more than once", "bindnetaddr is ignored", "ringnumber"}, nil},
		{"pvecm-separate-before.conf", "testcluster", 3, []int{0},
			"due:2:due tre:3:tre uno:1:uno", "corosync_votequorum", nil, nil},
		{"pvecm-separate-after.conf", "testcluster", 4, []int{0},
			"due:2:10.10.10.2 tre:3:10.10.10.3 uno:1:10.10.10.1", "corosync_votequorum", nil, nil},
		{"pvecm-redundancy.conf", "testcluster", 4, []int{0, 1},
			"due:2:10.10.10.2,10.20.20.2 tre:3:10.10.10.3,10.20.20.3 uno:1:10.10.10.1,10.20.20.1",
			"corosync_votequorum", nil,
			func(t *testing.T, c *Config) {
				eq(t, "link 1 section", c.Interfaces[1].Line > 0, true)
				eq(t, "defaults", c.Interfaces[1].KnetLinkPriority, uint8(1))
			}},
	}
	all := fixtures(t)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			src, ok := all[tt.file]
			if !ok {
				t.Fatalf("fixture %s missing", tt.file)
			}
			delete(all, tt.file)
			c, err := Parse(tt.file, src)
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "cluster_name", c.ClusterName, tt.cluster)
			eq(t, "config_version", c.ConfigVersion, tt.version)
			if !slices.Equal(c.LinkNumbers(), tt.links) {
				t.Errorf("links = %v, want %v", c.LinkNumbers(), tt.links)
			}
			eq(t, "nodes", nodeSummary(c), tt.nodes)
			eq(t, "provider", c.Quorum.Provider, tt.provider)
			eq(t, "version", c.Totem.Version, uint32(2))
			eq(t, "transport", c.Totem.Transport, "knet")
			eq(t, "secauth", c.Totem.SecAuth, true)
			var got []string
			for _, w := range c.Warnings {
				got = append(got, w.Msg)
			}
			if len(got) != len(tt.warnings) {
				t.Fatalf("warnings = %q, want %d matching %q", got, len(tt.warnings), tt.warnings)
			}
			for i, w := range tt.warnings {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, got[i], w)
				}
			}
			if tt.check != nil {
				tt.check(t, c)
			}
		})
	}
	for name := range all {
		t.Errorf("fixture %s has no test case", name)
	}
}

func nodeSummary(c *Config) string {
	var parts []string
	for _, n := range c.Nodes {
		var addrs []string
		for _, l := range n.Links() {
			addrs = append(addrs, n.RingAddrs[l])
		}
		parts = append(parts, n.Name+":"+uitoa(uint64(n.NodeID))+":"+strings.Join(addrs, ","))
	}
	return strings.Join(parts, " ")
}

func get(c *Config, key string) string {
	v, _ := c.Get(key)
	return v
}

// eq fails the test when got != want.
func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// TestEffectiveTimers checks corosync's derived timers against the worked
// defaults of totem.md §9 (token 3000, coefficient 650).
func TestEffectiveTimers(t *testing.T) {
	tests := []struct {
		nodes                              int
		token, retransmit, hold, consensus uint32
	}{
		{2, 3000, 714, 561, 3600},
		{3, 3650, 869, 685, 4380},
		{4, 4300, 1023, 808, 5160},
		{5, 4950, 1178, 932, 5940},
		{16, 12100, 2880, 2294, 14520},
	}
	for _, tt := range tests {
		var b strings.Builder
		b.WriteString("totem {\n version: 2\n}\nnodelist {\n")
		for i := 1; i <= tt.nodes; i++ {
			b.WriteString(" node {\n  nodeid: " + itoa(i) + "\n  ring0_addr: 10.0.0." + itoa(i) + "\n }\n")
		}
		b.WriteString("}\n")
		c, err := Parse("t.conf", []byte(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		tm := (&builder{c: c}).effectiveTimers()
		got := [4]uint32{tm.token, tm.retransmit, tm.hold, tm.consensus}
		want := [4]uint32{tt.token, tt.retransmit, tt.hold, tt.consensus}
		if got != want {
			t.Errorf("%d nodes: token/retransmit/hold/consensus = %v, want %v", tt.nodes, got, want)
		}
	}
}

// TestLinkNumbersSorted checks LinkNumbers and Addr on sparse links.
func TestLinkNumbersSorted(t *testing.T) {
	src := "totem {\n version: 2\n}\nnodelist {\n node {\n  name: a\n  nodeid: 1\n  ring3_addr: 10.0.3.1\n  ring1_addr: 10.0.1.1\n }\n}\n"
	c, err := Parse("t.conf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.LinkNumbers(); !slices.Equal(got, []int{1, 3}) {
		t.Errorf("LinkNumbers = %v, want [1 3]", got)
	}
	eq(t, "addr", c.Addr(1, 3), "10.0.3.1")
	eq(t, "no link", c.Addr(1, 0), "")
	eq(t, "no node", c.Addr(9, 1), "")
	eq(t, "bad link", c.Addr(1, 99), "")
	eq(t, "port", c.Interface(3).MCastPort, uint16(5408))
}

// TestInvalidFixtures parses testdata/invalid/*.conf, real files corosync
// refuses, and compares the errors with the file's "# want: LINE ERROR"
// comments.
func TestInvalidFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.conf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, l := range strings.Split(string(src), "\n") {
			if rest, ok := strings.CutPrefix(l, "# want: "); ok {
				_, msg, _ := strings.Cut(rest, " ")
				want = append(want, msg)
			}
		}
		_, err = Parse(filepath.Base(f), src)
		if err == nil {
			t.Errorf("%s: parsed, want %q", f, want)
			continue
		}
		if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, want) {
			t.Errorf("%s: errors %q, want %q", f, got, want)
		}
	}
}
