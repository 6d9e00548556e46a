package corosyncconf

import (
	"errors"
	"strings"
	"testing"
)

// small builds a two-node knet file of 19 lines plus T totem lines (from
// line 4) and Q quorum lines (from line 19+T); what is appended starts at
// line 20+T+Q.
//
//	1 totem {            5+T nodelist {         17+T quorum {
//	2   version: 2       6+T   node { a, 1 }    18+T   provider: ...
//	3   cluster_name: t 11+T   node { b, 2 }    19+T   <quorum lines>
//	4   <totem lines>   16+T }                  19+T+Q }
//	4+T }
func small(totem, quorum []string) string {
	var b strings.Builder
	b.WriteString("totem {\n  version: 2\n  cluster_name: t\n")
	for _, l := range totem {
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("}\nnodelist {\n")
	for i, n := range []string{"a", "b"} {
		b.WriteString("  node {\n    name: " + n + "\n    nodeid: " + itoa(i+1) + "\n    ring0_addr: 10.0.0." + itoa(i+1) + "\n  }\n")
	}
	b.WriteString("}\nquorum {\n  provider: corosync_votequorum\n")
	for _, l := range quorum {
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func tl(lines ...string) []string { return lines }

// nodes builds a file with the given node bodies (one string per node,
// lines separated by ';') and optional extra totem lines: "totem {",
// "version: 2", the T totem lines, "}", "nodelist {" (line 4+T), then each
// node as "node {" (the first at line 5+T), its lines, "}".
func nodes(totem []string, bodies ...string) string {
	var b strings.Builder
	b.WriteString("totem {\n  version: 2\n")
	for _, l := range totem {
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("}\nnodelist {\n")
	for _, body := range bodies {
		b.WriteString("  node {\n")
		for _, l := range strings.Split(body, ";") {
			b.WriteString("    " + strings.TrimSpace(l) + "\n")
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

type wantErr struct {
	line int
	msg  string
}

// TestValidationErrors checks each startup error: corosync's message (or
// corosync-qdevice's, or ours for the stricter checks) and the line.
func TestValidationErrors(t *testing.T) {
	const p = prefixTotem
	dev := func(lines ...string) []string {
		return append(append([]string{"device {"}, lines...), "}")
	}
	tests := []struct {
		name string
		src  string
		want []wantErr
	}{
		// totem timers (totem_volatile_config_validate)
		{"token too small", small(tl("token: 10"), nil), []wantErr{{4, p + "The token timeout parameter (10 ms) may not be less than (30 ms)."}}},
		{"join too small", small(tl("join: 10"), nil), []wantErr{{4, p + "The join timeout parameter (10 ms) may not be less than (30 ms)."}}},
		{"consensus below join", small(tl("consensus: 40"), nil), []wantErr{{4, p + "The consensus timeout parameter (40 ms) may not be less than join timeout (50 ms)."}}},
		{"consensus too small", small(tl("join: 30", "consensus: 20"), nil), []wantErr{{5, p + "The consensus timeout parameter (20 ms) may not be less than (30 ms)."}}},
		{"merge too small", small(tl("merge: 5"), nil), []wantErr{{4, p + "The merge timeout parameter (5 ms) may not be less than (30 ms)."}}},
		{"downcheck too small", small(tl("downcheck: 5"), nil), []wantErr{{4, p + "The downcheck timeout parameter (5 ms) may not be less than (30 ms)."}}},
		{"max_network_delay too small", small(tl("max_network_delay: 5"), nil), []wantErr{{4, p + "The max_network_delay parameter (5 ms) may not be less than (30 ms)."}}},
		{"hold too small", small(tl("hold: 5"), nil), []wantErr{{4, p + "The token hold timeout parameter (5 ms) may not be less than (14 ms)."}}},
		{"token_retransmit too small", small(tl("token_retransmit: 5"), nil), []wantErr{{4, p + "The token retransmit timeout parameter (5 ms) may not be less than (30 ms)."}}},
		{"derived token_retransmit too small", small(tl("token_retransmits_before_loss_const: 1000"), nil), []wantErr{{4, p + "Not appropriate token or token_retransmits_before_loss_const value set"}}},
		{"token_warning above 100", small(tl("token_warning: 101"), nil), []wantErr{{4, p + "The token warning parameter (101%) must be between 0 (disabled) and 100."}}},
		// other totem checks
		{"wrong version", strings.Replace(small(nil, nil), "version: 2", "version: 1", 1), []wantErr{{2, p + "This totem parser can only parse version 2 configurations."}}},
		{"no version", strings.Replace(small(nil, nil), "  version: 2\n", "", 1), []wantErr{{1, p + "This totem parser can only parse version 2 configurations."}}},
		{"bad transport", small(tl("transport: tcp"), nil), []wantErr{{4, "Invalid transport type. Should be udpu, udp or knet"}}},
		{"bad link_mode", small(tl("link_mode: fast"), nil), []wantErr{{4, p + `The Knet link mode "fast" specified is invalid.  It must be active, passive or rr.`}}},
		{"cipher without hash", small(tl("crypto_cipher: aes256", "crypto_hash: none"), nil), []wantErr{{5, "crypto_cipher requires crypto_hash with value other than none"}}},
		{"crypto on udpu", small(tl("transport: udpu", "secauth: on"), nil), []wantErr{{5, p + "crypto_cipher & crypto_hash are only valid for the Knet transport."}}},
		// interfaces
		{"linknumber above 7", small(tl("interface {", "  linknumber: 8", "  knet_link_priority: 5", "}"), nil), []wantErr{{5, p + "interface ring number 8 is bigger than allowed maximum 7"}}},
		{"mcastport 0", small(tl("interface {", "  mcastport: 0", "}"), nil), []wantErr{{5, p + "No multicast port specified for interface 0"}}},
		{"ttl on knet", small(tl("interface {", "  ttl: 2", "}"), nil), []wantErr{{5, p + "Can only set ttl on multicast transport types for interface 0"}}},
		{"priority on udpu", small(tl("transport: udpu", "interface {", "  knet_link_priority: 5", "}"), nil), []wantErr{{6, p + "Can only set link priority on knet transport type for interface 0"}}},
		{"bad knet_transport", small(tl("interface {", "  knet_transport: tcp", "}"), nil), []wantErr{{5, "Unrecognised knet_transport. expected 'udp' or 'sctp'"}}},
		{"linknumber twice", small(tl("interface {", "  linknumber: 0", "}", "interface {", "  linknumber: 0", "}"), nil), []wantErr{{8, "interface linknumber 0 is defined twice (first at line 5)"}}},
		{"interface for unused link", small(tl("interface {", "  linknumber: 1", "  knet_link_priority: 5", "}"), nil), []wantErr{{4, p + "Not all nodes have the same number of links"}}},
		// nodes
		{"no nodeid", nodes(nil, "name: a; nodeid: 1; ring0_addr: 10.0.0.1", "name: b; ring0_addr: 10.0.0.2"), []wantErr{{10, "Knet requires an explicit nodeid to be specified for address '10.0.0.2'."}}},
		{"nodeid 0", nodes(nil, "name: a; nodeid: 0; ring0_addr: 10.0.0.1"), []wantErr{{7, "Knet requires an explicit nodeid to be specified for address '10.0.0.1'."}}},
		{"nodeid too big", nodes(nil, "name: a; nodeid: 65536; ring0_addr: 10.0.0.1"), []wantErr{{7, "Knet requires nodeid to be less than 65536 for address '10.0.0.1'."}}},
		{"duplicate nodeid", nodes(nil, "nodeid: 1; ring0_addr: 10.0.0.1", "nodeid: 1; ring0_addr: 10.0.0.2"), []wantErr{{10, "Nodeid 1 appears twice in corosync.conf"}}},
		{"duplicate name", nodes(nil, "name: a; nodeid: 1; ring0_addr: 10.0.0.1", "name: a; nodeid: 2; ring0_addr: 10.0.0.2"), []wantErr{{11, `node name "a" appears twice in corosync.conf (first at line 6)`}}},
		{"ring8_addr", nodes(nil, "nodeid: 1; ring0_addr: 10.0.0.1; ring8_addr: 10.0.8.1"), []wantErr{{8, p + "interface ring number 8 is bigger than allowed maximum 7"}}},
		{"multi-link without name", nodes(nil, "name: a; nodeid: 1; ring0_addr: 10.0.0.1; ring1_addr: 10.1.0.1", "nodeid: 2; ring0_addr: 10.0.0.2; ring1_addr: 10.1.0.2"), []wantErr{{11, p + "for a multi-link configuration, all nodes must have a 'name' attribute"}}},
		{"links differ", nodes(nil, "name: a; nodeid: 1; ring0_addr: 10.0.0.1; ring1_addr: 10.1.0.1", "name: b; nodeid: 2; ring0_addr: 10.0.0.2"), []wantErr{{11, p + "Not all nodes have the same number of links"}}},
		{"node without address", nodes(nil, "name: a; nodeid: 1; ring0_addr: 10.0.0.1", "name: b; nodeid: 2"), []wantErr{{10, p + "Not all nodes have the same number of links"}}},
		{"mixed families", nodes(nil, "nodeid: 1; ring0_addr: 10.0.0.1", "nodeid: 2; ring0_addr: fd00::2"), []wantErr{{11, p + "Nodes for link 0 have different IP families (compared fd00::2 with 10.0.0.1)"}}},
		{"ipv6 address with ip_version ipv4", nodes(tl("ip_version: ipv4"), "nodeid: 1; ring0_addr: fd00::1"), []wantErr{{8, "failed to parse node address 'fd00::1'"}}},
		{"empty address", nodes(nil, "nodeid: 1; ring0_addr: 10.0.0.1", "nodeid: 2; ring0_addr:"), []wantErr{{11, "failed to parse node address ''"}}},
		{"no nodelist", "totem {\n  version: 2\n}\n", []wantErr{{0, p + "No interfaces defined"}}},
		{"second nodelist", nodes(nil, "nodeid: 1; ring0_addr: 10.0.0.1") + "nodelist {\n}\n", []wantErr{{10, "nodelist section appears twice (first at line 4); corosync would merge their nodes by position"}}},
		// quorum (votequorum_readconfig)
		{"bad provider", strings.Replace(small(nil, nil), "corosync_votequorum", "votequorum", 1), []wantErr{{18, "Invalid quorum provider"}}},
		{"ykd provider", strings.Replace(small(nil, nil), "corosync_votequorum", "corosync_ykd", 1), []wantErr{{18, "quorum provider corosync_ykd is not supported; use corosync_votequorum"}}},
		{"two_node with device", small(nil, append(tl("two_node: 1"), dev("model: net", "votes: 1", "net {", "  host: q", "}")...)), []wantErr{{19, prefixQuorum + "two_node and quorum device cannot be configured at the same time!"}}},
		{"device with lms", small(nil, append(tl("last_man_standing: 1"), dev("model: net", "votes: 1", "net {", "  host: q", "}")...)), []wantErr{{19, prefixQuorum + "quorum.device is not compatible with last_man_standing"}}},
		{"device with allow_downscale", small(nil, append(tl("allow_downscale: 1"), dev("model: net", "votes: 1", "net {", "  host: q", "}")...)), []wantErr{{19, prefixQuorum + "quorum.device is not compatible with allow_downscale"}}},
		{"device with atb", small(nil, append(tl("auto_tie_breaker: 1"), dev("model: net", "votes: 1", "net {", "  host: q", "}")...)), []wantErr{{19, prefixQuorum + "quorum.device is not compatible with auto_tie_breaker"}}},
		{"device votes with expected_votes", small(nil, append(tl("expected_votes: 3"), dev("model: net", "net {", "  host: q", "  algorithm: lms", "}")...)), []wantErr{{20, prefixQuorum + "quorum.device.votes must be specified when quorum.expected_votes is set"}}},
		{"device votes too high", small(nil, append(tl("expected_votes: 3"), dev("model: net", "votes: 2", "net {", "  host: q", "  algorithm: lms", "}")...)), []wantErr{{22, prefixQuorum + "quorum.device.votes is too high or expected_votes is too low"}}},
		{"device votes with uneven nodes", strings.Replace(small(nil, dev("model: net", "net {", "  host: q", "  algorithm: lms", "}")), "nodeid: 1\n", "nodeid: 1\n    quorum_votes: 2\n", 1), []wantErr{{20, prefixQuorum + "quorum.device.votes must be specified when not all nodes votes 1"}}},
		{"atb and lms in odd cluster", strings.Replace(small(nil, tl("auto_tie_breaker: 1", "last_man_standing: 1")), "nodeid: 1\n", "nodeid: 1\n    quorum_votes: 2\n", 1), []wantErr{{20, prefixQuorum + "auto_tie_breaker & last_man_standing not available in odd sized cluster"}}},
		// quorum device (corosync-qdevice)
		{"device without model", small(nil, dev("votes: 1")), []wantErr{{19, "Can't read quorum.device.model cmap key."}}},
		{"device model disk", small(nil, dev("model: disk")), []wantErr{{20, "Configured device model disk is not supported."}}},
		{"device without host", small(nil, dev("model: net", "votes: 1")), []wantErr{{19, "Qdevice net daemon address is not defined (quorum.device.net.host)"}}},
		{"device bad algorithm", small(nil, dev("model: net", "votes: 1", "net {", "  host: q", "  algorithm: coin", "}")), []wantErr{{24, "Unknown decision algorithm coin"}}},
		{"device bad tie_breaker", small(nil, dev("model: net", "votes: 1", "net {", "  host: q", "  tie_breaker: middle", "}")), []wantErr{{24, "tie_breaker must be lowest|highest|valid_node_id"}}},
		{"device bad tls", small(nil, dev("model: net", "votes: 1", "net {", "  host: q", "  tls: maybe", "}")), []wantErr{{24, "quorum.device.net.tls value is not valid."}}},
		{"device bad port", small(nil, dev("model: net", "votes: 1", "net {", "  host: q", "  port: 0", "}")), []wantErr{{24, "quorum.device.net.port must be in range 1-65535"}}},
		{"ffsplit without votes", small(nil, dev("model: net", "net {", "  host: q", "}")), []wantErr{{19, "50:50 split algorithm works only if quorum.device.votes configuration key is set to 1!"}}},
		{"device without cluster_name", strings.Replace(small(nil, dev("model: net", "votes: 1", "net {", "  host: q", "}")), "  cluster_name: t\n", "", 1), []wantErr{{22, "Cluster name (totem.cluster_name) has to be defined."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErrors(t, tt.src, false, tt.want)
		})
	}
}

// checkErrors parses src and compares the ErrorList with want.
func checkErrors(t *testing.T, src string, syntax bool, want []wantErr) {
	t.Helper()
	c, err := Parse("c.conf", []byte(src))
	var l ErrorList
	if !errors.As(err, &l) {
		t.Fatalf("Parse = %v, %v; want errors %v\n%s", c, err, want, src)
	}
	if len(l) != len(want) {
		t.Fatalf("errors:\n%v\nwant %d: %v\n%s", err, len(want), want, src)
	}
	sentinel := ErrInvalid
	if syntax {
		sentinel = ErrSyntax
	}
	for i, w := range want {
		if l[i].Line != w.line || l[i].Msg != w.msg || !errors.Is(l[i], sentinel) {
			t.Errorf("error %d = line %d %q (syntax %v), want line %d %q (syntax %v)\n%s",
				i, l[i].Line, l[i].Msg, l[i].Syntax, w.line, w.msg, syntax, src)
		}
	}
}

// TestTypeErrors checks the values corosync's parser type-checks while
// reading; they are reported as parser errors, all of them at once.
func TestTypeErrors(t *testing.T) {
	val := func(key, v, rng string) string {
		return `Value of key "` + key + `" is expected to be integer in range (` + rng + `), but "` + v + `" was given`
	}
	const u32 = "0..4294967295"
	tests := []struct {
		name string
		src  string
		want []wantErr
	}{
		{"token with unit", small(tl("token: 3s"), nil), []wantErr{{4, val("totem.token", "3s", u32)}}},
		{"negative token", small(tl("token: -1"), nil), []wantErr{{4, val("totem.token", "-1", u32)}}},
		{"token overflow", small(tl("token: 4294967296"), nil), []wantErr{{4, val("totem.token", "4294967296", u32)}}},
		{"empty token", small(tl("token:"), nil), []wantErr{{4, val("totem.token", "", u32)}}},
		{"config_version", small(tl("config_version: x"), nil), []wantErr{{4, `Value of key "totem.config_version" is expected to be unsigned integer, but "x" was given`}}},
		{"compression level", small(tl("knet_compression_level: 2147483648"), nil), []wantErr{{4, val("totem.knet_compression_level", "2147483648", "-2147483648..2147483647")}}},
		{"ip_version", small(tl("ip_version: ipv5"), nil), []wantErr{{4, "Invalid ip_version type"}}},
		{"cipher", small(tl("crypto_cipher: des"), nil), []wantErr{{4, "Invalid cipher type. Should be none, aes256, aes192 or aes128"}}},
		{"hash", small(tl("crypto_hash: crc"), nil), []wantErr{{4, "Invalid hash type. Should be none, md5, sha1, sha256, sha384 or sha512"}}},
		{"crypto model", small(tl("crypto_model: rot13"), nil), []wantErr{{4, "Invalid crypto model. Should be nss, openssl or gcrypt"}}},
		{"compression model", small(tl("knet_compression_model: zip"), nil), []wantErr{{4, "Invalid compression model. Should be none, zlib, lz4, lz4hc, lzo2, lzma, bzip2 or zstd"}}},
		{"ip_dscp", small(tl("ip_dscp: 64"), nil), []wantErr{{4, `Value of key "totem.ip_dscp" is expected to be number (0..63) or symbolical dscp value, but "64" was given`}}},
		{"link priority", small(tl("interface {", "  knet_link_priority: 300", "}"), nil), []wantErr{{5, val("totem.interface.knet_link_priority", "300", "0..255")}}},
		{"linknumber", small(tl("interface {", "  linknumber: 256", "}"), nil), []wantErr{{5, val("totem.interface.linknumber", "256", "0..255")}}},
		{"mcastport", small(tl("interface {", "  mcastport: 65536", "}"), nil), []wantErr{{5, val("totem.interface.mcastport", "65536", "0..65535")}}},
		{"two_node yes", small(nil, tl("two_node: yes")), []wantErr{{19, val("quorum.two_node", "yes", "0..255")}}},
		{"expected_votes", small(nil, tl("expected_votes: many")), []wantErr{{19, val("quorum.expected_votes", "many", u32)}}},
		{"device votes", small(nil, tl("device {", "  votes: -1", "}")), []wantErr{{20, val("quorum.device.votes", "-1", u32)}}},
		{"numbered nodeid", nodes(nil, "nodeid: 1; ring0_addr: 10.0.0.1", "nodeid: two; ring0_addr: 10.0.0.2"), []wantErr{{10, val("nodelist.node.1.nodeid", "two", u32)}}},
		{"quorum_votes", nodes(nil, "nodeid: 1; quorum_votes: x; ring0_addr: 10.0.0.1"), []wantErr{{7, val("nodelist.node.0.quorum_votes", "x", u32)}}},
		{"several at once", small(tl("token: a", "join: b"), tl("two_node: c")), []wantErr{
			{4, val("totem.token", "a", u32)}, {5, val("totem.join", "b", u32)}, {21, val("quorum.two_node", "c", "0..255")}}},
		{"sched_rr", small(nil, nil) + "system {\n  sched_rr: maybe\n}\n", []wantErr{{21, "Invalid system.sched_rr value"}}},
		{"logger_subsys without subsys", small(nil, nil) + "logging {\n  logger_subsys {\n    debug: on\n  }\n}\n", []wantErr{{23, "No subsys key in logger_subsys directive"}}},
		{"logging_daemon without name", small(nil, nil) + "logging {\n  logging_daemon {\n    debug: on\n  }\n}\n", []wantErr{{23, "No name key in logging_daemon directive"}}},
		{"uidgid item", small(nil, nil) + "uidgid {\n  user: root\n}\n", []wantErr{{21, "uidgid: Only uid and gid are allowed items"}}},
		{"uidgid subsection", small(nil, nil) + "uidgid {\n  x {\n  }\n}\n", []wantErr{{21, "Subsections are not allowed within uidgid section"}}},
		{"member item", small(tl("interface {", "  member {", "    addr: 10.0.0.1", "  }", "}"), nil), []wantErr{{6, "Only memberaddr is allowed in member section"}}},
		{"member subsection", small(tl("interface {", "  member {", "    x {", "    }", "  }", "}"), nil), []wantErr{{6, "Subsections are not allowed within totem.interface.member section"}}},
		{"key with a blank", nodes(nil, "nodeid: 1; ring 1_addr: 10.0.0.1"), []wantErr{{7, `Can't store key "nodelist.node.0.ring 1_addr" into icmap, returned error is CS_ERR_NAME_TOO_LONG`}}},
		{"lone colon key", ": x\n" + small(nil, nil), []wantErr{{1, `Can't store key ":" into icmap, returned error is CS_ERR_NAME_TOO_LONG`}}},
		{"short top-level key", "ab: 1\n" + small(nil, nil), []wantErr{{1, `Can't store key "ab" into icmap, returned error is CS_ERR_NAME_TOO_LONG`}}},
		{"long value", small(tl("token: "+strings.Repeat("9", 200)), nil), []wantErr{{4, "Can't format parser error message"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErrors(t, tt.src, true, tt.want)
		})
	}
}
