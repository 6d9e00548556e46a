package corosyncconf

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// threeNodes is small with a third node, for odd-cluster rules; quorum
// lines go at the end of the quorum section.
func threeNodes(quorum ...string) string {
	s := small(nil, quorum)
	return strings.Replace(s, "}\nquorum {", "  node {\n    name: c\n    nodeid: 3\n    ring0_addr: 10.0.0.3\n  }\n}\nquorum {", 1)
}

// TestQuorumSemantics checks how votequorum_readconfig reads the quorum
// section at startup, including what it disables with a warning.
func TestQuorumSemantics(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		check    func(q Quorum) bool
		warnings []string
	}{
		{"no provider: always quorate, keys ignored", strings.Replace(small(nil, tl("two_node: 1")), "  provider: corosync_votequorum\n", "", 1),
			func(q Quorum) bool { return q.Provider == "" && q.TwoNode },
			[]string{"quorum.two_node is ignored: without quorum.provider"}},
		{"two_node implies wait_for_all", small(nil, tl("two_node: 1")),
			func(q Quorum) bool { return q.TwoNode && q.WaitForAll && q.WaitForAllAuto }, nil},
		{"explicit wait_for_all 0 wins", small(nil, tl("two_node: 1", "wait_for_all: 0")),
			func(q Quorum) bool { return q.TwoNode && !q.WaitForAll && !q.WaitForAllAuto }, nil},
		{"u8 flag 2 is on", small(nil, tl("last_man_standing: 2", "last_man_standing_window: 20000")),
			func(q Quorum) bool { return q.LastManStanding && q.LastManStandingWindow == 20*time.Second }, nil},
		{"lms window 0 kept", small(nil, tl("last_man_standing_window: 0")),
			func(q Quorum) bool { return q.LastManStandingWindow == 0 }, nil},
		{"two_node with three nodes", threeNodes("two_node: 1"),
			func(q Quorum) bool { return q.TwoNode }, []string{"two_node with 3 nodes"}},
		{"two_node dropped by atb", small(nil, tl("two_node: 1", "auto_tie_breaker: 1")),
			func(q Quorum) bool { return !q.TwoNode && q.WaitForAll && q.AutoTieBreaker },
			[]string{"two_node and auto_tie_breaker are both specified"}},
		{"atb disabled in odd cluster", threeNodes("auto_tie_breaker: 1"),
			func(q Quorum) bool { return !q.AutoTieBreaker }, []string{"auto_tie_breaker is set and the cluster has an odd number of nodes"}},
		{"atb kept in odd cluster with wfa", threeNodes("auto_tie_breaker: 1", "wait_for_all: 1"),
			func(q Quorum) bool { return q.AutoTieBreaker && q.AutoTieBreakerNode.Mode == TieBreakerLowest }, nil},
		{"atb highest", small(nil, tl("auto_tie_breaker: 1", "auto_tie_breaker_node: highest")),
			func(q Quorum) bool { return q.AutoTieBreakerNode.Mode == TieBreakerHighest }, nil},
		{"atb list", small(nil, tl("auto_tie_breaker: 1", "auto_tie_breaker_node: 2 1 x 3")),
			func(q Quorum) bool {
				return q.AutoTieBreakerNode.Mode == TieBreakerList && slices.Equal(q.AutoTieBreakerNode.NodeIDs, []uint32{2, 1})
			}, nil},
		{"atb list invalid", small(nil, tl("auto_tie_breaker: 1", "auto_tie_breaker_node: first")),
			func(q Quorum) bool { return !q.AutoTieBreaker }, []string{"auto_tie_breaker_nodes is not valid"}},
		{"atb node without atb", small(nil, tl("auto_tie_breaker_node: highest")),
			func(q Quorum) bool { return !q.AutoTieBreaker }, []string{"auto_tie_breaker_node: is meaningless"}},
		{"allow_downscale implies tracking", small(nil, tl("allow_downscale: 1")),
			func(q Quorum) bool { return q.AllowDownscale && q.ExpectedVotesTracking }, nil},
		{"unknown quorum keys warn", small(nil, tl("expected_vote: 3", "device {", "  model: net", "  votes: 1", "  net {", "    host: q", "    hots: r", "  }", "}")),
			func(q Quorum) bool { return q.ExpectedVotes == 0 && q.Device.Net.Host == "q" },
			[]string{`unknown key "expected_vote" in quorum`, `unknown key "device.net.hots" in quorum`}},
		{"unknown node key warns", strings.Replace(small(nil, nil), "nodeid: 1\n", "nodeid: 1\n    ring0addr: x\n", 1),
			func(q Quorum) bool { return true }, []string{`unknown key "ring0addr" in node`}},
		{"expected_votes", small(nil, tl("expected_votes: 5")),
			func(q Quorum) bool { return q.ExpectedVotes == 5 }, nil},
		{"lms with a heavy node", strings.Replace(small(nil, tl("last_man_standing: 1")), "nodeid: 2\n", "nodeid: 2\n    quorum_votes: 2\n", 1),
			func(q Quorum) bool { return q.LastManStanding }, []string{"last_man_standing is disabled at runtime: node b has 2 votes"}},
		{"device votes computed", threeNodes("device {", "  model: net", "  net {", "    host: q", "    algorithm: lms", "  }", "}"),
			func(q Quorum) bool { return q.Device.Votes == 2 && q.Device.VotesAuto }, nil},
		{"device net values", small(nil, tl("device {", "  model: net", "  votes: 1", "  timeout: 20000", "  net {",
			"    host: qnetd.example", "    port: 5404", "    tls: required", "    tie_breaker: 2", "    connect_timeout: 5000",
			"    force_ip_version: 6", "    keep_active_partition_tie_breaker: off", "  }", "  heuristics {", "    mode: sync", "    exec_ping: ping -c1 q", "  }", "}")),
			func(q Quorum) bool {
				n := q.Device.Net
				return q.Device.Timeout == 20*time.Second && n.Host == "qnetd.example" && n.Port == 5404 &&
					n.TLS == "required" && n.TieBreaker.String() == "2" && n.ConnectTimeout == 5*time.Second &&
					n.ForceIPVersion == 6 && !n.KeepActivePartitionTieBreaker &&
					q.Device.Heuristics["mode"] == "sync" && q.Device.Heuristics["exec_ping"] == "ping -c1 q"
			}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("q.conf", []byte(tt.src))
			if err != nil {
				t.Fatalf("%v\n%s", err, tt.src)
			}
			if !tt.check(c.Quorum) {
				t.Errorf("quorum = %+v", c.Quorum)
			}
			checkWarnings(t, c, tt.warnings)
		})
	}
}

// checkWarnings compares the warnings with substrings, in order.
func checkWarnings(t *testing.T, c *Config, want []string) {
	t.Helper()
	if len(c.Warnings) != len(want) {
		t.Fatalf("warnings = %v, want %q", ErrorList(c.Warnings), want)
	}
	for i, w := range want {
		if !strings.Contains(c.Warnings[i].Msg, w) {
			t.Errorf("warning %d = %q, want it to contain %q", i, c.Warnings[i].Msg, w)
		}
	}
}

// TestTotemValues checks typed totem values, defaults and corosync's
// treatment of 0 and of odd boolean spellings.
func TestTotemValues(t *testing.T) {
	c, err := Parse("t.conf", []byte(small(tl(
		"token: 0", "token_coefficient: 0", "token_warning: 0", "consensus: 0", "join: 60",
		"send_join: 20", "window_size: 100", "knet_pmtud_interval: 60", "ip_dscp: ef",
		"secauth: yes", "config_version: -1", "block_unlisted_ips: maybe", "knet_compression_level: -3",
		"transport: knet", "netmtu: 1500", "rrp_mode: active", "threads: 4", "tokn: 3000"), nil)))
	if err != nil {
		t.Fatal(err)
	}
	tt := c.Totem
	eq(t, "token 0 means default", tt.Token, 3*time.Second)
	eq(t, "coefficient 0 kept", tt.TokenCoefficient, time.Duration(0))
	eq(t, "warning 0 kept", tt.TokenWarning, uint32(0))
	eq(t, "consensus derived", tt.Consensus, time.Duration(0))
	eq(t, "join", tt.Join, 60*time.Millisecond)
	eq(t, "send_join", tt.SendJoin, 20*time.Millisecond)
	eq(t, "window", tt.WindowSize, uint32(100))
	eq(t, "pmtud", tt.KnetPMTUDInterval, time.Minute)
	eq(t, "dscp", tt.IPDSCP, uint8(46))
	eq(t, "secauth yes is off", tt.SecAuth, false)
	eq(t, "cipher", tt.CryptoCipher, "none")
	eq(t, "config_version -1 wraps like strtoull", c.ConfigVersion, uint64(1<<64-1))
	eq(t, "block_unlisted_ips default", tt.BlockUnlistedIPs, true)
	eq(t, "compression level", tt.KnetCompressionLevel, int32(-3))
	eq(t, "netmtu", tt.NetMTU, uint32(1500))
	eq(t, "defaults", [3]uint32{tt.MaxMessages, tt.MissCountConst, tt.FailRecvConst}, [3]uint32{17, 5, 2500})
	checkWarnings(t, c, []string{"secauth: \"yes\" turns encryption off", "block_unlisted_ips: \"maybe\" is neither yes nor no",
		"rrp_mode is a corosync 2 (RRP) option", "unknown key \"tokn\" in totem"})
	eq(t, "line of token", c.Line("totem.token"), 4)
	eq(t, "raw token", get(c, "totem.token"), "0")
	eq(t, "no such key", c.Line("totem.nothing"), 0)
}

// TestUDPU checks the legacy unicast transport: generated nodeids, one link.
func TestUDPU(t *testing.T) {
	src := nodes(tl("transport: udpu", "clear_node_high_bit: yes"), "ring0_addr: 192.168.1.1", "ring0_addr: 192.168.1.2; nodeid: 7")
	c, err := Parse("u.conf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	eq(t, "generated", c.Nodes[0].NodeID, uint32(0x40A80101)) // 0xC0A80101 with the high bit cleared
	eq(t, "flag", c.Nodes[0].NodeIDGenerated, true)
	eq(t, "explicit", c.Nodes[1].NodeID, uint32(7))
	eq(t, "netmtu", c.Totem.NetMTU, uint32(1500))
	checkErrors(t, nodes(tl("transport: udpu"), "ring0_addr: fd00::1"), false,
		[]wantErr{{6, "An IPV6 network requires that a node ID be specified for address 'fd00::1'."}})
	checkErrors(t, nodes(tl("transport: udpu"), "ring0_addr: 10.0.0.1", "ring0_addr: 10.0.0.1"), false,
		[]wantErr{{9, "Nodeid 167772161(autogenerated from 10.0.0.1) appears twice in corosync.conf"}})
	checkErrors(t, nodes(tl("transport: udpu"), "name: a; ring0_addr: 10.0.0.1; ring1_addr: 10.1.0.1"), false,
		[]wantErr{{3, prefixTotem + "2 is too many configured interfaces for non-Knet transport."}})
}
