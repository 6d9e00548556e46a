package corosyncconf

import (
	"net/netip"
	"slices"
	"testing"
)

// TestCStrtoll checks the strtoll emulation behind corosync's safe_atoq.
func TestCStrtoll(t *testing.T) {
	tests := []struct {
		in   string
		base int
		want int64
		ok   bool
	}{
		{"42", 10, 42, true},
		{"+42", 10, 42, true},
		{"-42", 10, -42, true},
		{"007", 10, 7, true},
		{"\v 5", 10, 5, true}, // strtoll skips C spaces
		{"5 ", 10, 0, false},  // but not trailing ones
		{"", 10, 0, false},
		{"-", 10, 0, false},
		{"3s", 10, 0, false},
		{"9223372036854775807", 10, 1<<63 - 1, true},
		{"9223372036854775808", 10, 0, false},
		{"-9223372036854775808", 10, -1 << 63, true},
		{"-9223372036854775809", 10, 0, false},
		{"99999999999999999999999", 10, 0, false},
		{"0x2e", 0, 46, true},
		{"0X2E", 0, 46, true},
		{"056", 0, 46, true},
		{"08", 0, 0, false},
		{"0x", 0, 0, false},
		{"0", 0, 0, true},
	}
	for _, tt := range tests {
		got, ok := cStrtoll(tt.in, tt.base)
		if got != tt.want || ok != tt.ok {
			t.Errorf("cStrtoll(%q, %d) = %d, %v; want %d, %v", tt.in, tt.base, got, ok, tt.want, tt.ok)
		}
	}
}

// TestCStrtoull checks strtoull, which wraps negative numbers.
func TestCStrtoull(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true},
		{"18446744073709551615", 1<<64 - 1, true},
		{"18446744073709551616", 0, false},
		{"-1", 1<<64 - 1, true},
		{"-0", 0, true},
		{"1.5", 0, false},
	}
	for _, tt := range tests {
		got, ok := cStrtoull(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("cStrtoull(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestParseIntMessages checks the ranges printed for each integer kind.
func TestParseIntMessages(t *testing.T) {
	tests := []struct {
		kind intKind
		in   string
		msg  string
	}{
		{kindU8, "256", `Value of key "k" is expected to be integer in range (0..255), but "256" was given`},
		{kindU16, "-1", `Value of key "k" is expected to be integer in range (0..65535), but "-1" was given`},
		{kindI32, "x", `Value of key "k" is expected to be integer in range (-2147483648..2147483647), but "x" was given`},
		{kindU64, "x", `Value of key "k" is expected to be unsigned integer, but "x" was given`},
		{kindU32, "4294967295", ""},
	}
	for _, tt := range tests {
		if _, _, msg := parseInt(tt.kind, "k", tt.in); msg != tt.msg {
			t.Errorf("parseInt(%v, %q) = %q, want %q", tt.kind, tt.in, msg, tt.msg)
		}
	}
}

// TestParseDSCP checks symbolic and C-notation DSCP values.
func TestParseDSCP(t *testing.T) {
	for in, want := range map[string]int{"ef": 46, "af41": 34, "cs0": 0, "63": 63, "0x3f": 63, "077": 63, "64": -1, "EF": -1, "-1": -1} {
		got, ok := parseDSCP(in)
		if !ok && want != -1 || ok && int(got) != want {
			t.Errorf("parseDSCP(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
}

// TestParseATB checks votequorum's parse_atb_string.
func TestParseATB(t *testing.T) {
	tests := []struct {
		in   string
		mode TieBreakerMode
		ids  []uint32
		ok   bool
	}{
		{"lowest", TieBreakerLowest, nil, true},
		{"highest", TieBreakerHighest, nil, true},
		{"3 1 2", TieBreakerList, []uint32{3, 1, 2}, true},
		{"3,1", TieBreakerList, []uint32{3}, true},
		{"2 0 5", TieBreakerList, []uint32{2}, true},
		{"0 1", TieBreakerLowest, nil, false},
		{"Lowest", TieBreakerLowest, nil, false},
		{"", TieBreakerLowest, nil, false},
	}
	for _, tt := range tests {
		tb, ok := parseATB(tt.in)
		if tb.Mode != tt.mode || !slices.Equal(tb.NodeIDs, tt.ids) || ok != tt.ok {
			t.Errorf("parseATB(%q) = %+v, %v; want %s %v, %v", tt.in, tb, ok, tt.mode, tt.ids, tt.ok)
		}
	}
}

// TestRingLink checks which node keys name a link.
func TestRingLink(t *testing.T) {
	tests := []struct {
		key  string
		link uint32
		ok   bool
	}{
		{"ring0_addr", 0, true},
		{"ring7_addr", 7, true},
		{"ring12_addr", 12, true},
		{"ring-1_addr", 0xFFFFFFFF, true},
		{"ring_addr", 0, false},
		{"ring0_addrx", 0, false},
		{"ring0addr", 0, false},
		{"name", 0, false},
	}
	for _, tt := range tests {
		link, ok := ringLink(tt.key)
		if link != tt.link || ok != tt.ok {
			t.Errorf("ringLink(%q) = %d, %v; want %d, %v", tt.key, link, ok, tt.link, tt.ok)
		}
	}
}

// TestLocalNode checks find_local_node's order of matches.
func TestLocalNode(t *testing.T) {
	src := nodes(nil,
		"name: pve1.example.com; nodeid: 1; ring0_addr: 10.0.0.1",
		"name: pve2; nodeid: 2; ring0_addr: 10.0.0.2",
		"name: backup; nodeid: 3; ring0_addr: 10.0.0.3")
	c, err := Parse("l.conf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host  string
		addrs []string
		want  uint32 // 0: not found
	}{
		{"pve1.example.com", nil, 1},       // 1. exact name
		{"10.0.0.2", nil, 2},               // 1. ring0_addr
		{"pve2.lab.example.com", nil, 2},   // 2. domain stripped from the right
		{"pve1", nil, 1},                   // 3. node name cut at its first dot
		{"other", []string{"10.0.0.3"}, 3}, // 4. local address
		{"other", []string{"fe80::1", "192.168.0.1"}, 0},
	}
	for _, tt := range tests {
		var addrs []netip.Addr
		for _, a := range tt.addrs {
			addrs = append(addrs, netip.MustParseAddr(a))
		}
		n, err := c.LocalNode(tt.host, addrs)
		switch {
		case tt.want == 0 && (err == nil || err.Error() != "l.conf: parse error in config: No valid name found for local host"):
			t.Errorf("LocalNode(%q) = %v, %v; want corosync's error", tt.host, n, err)
		case tt.want != 0 && (err != nil || n.NodeID != tt.want):
			t.Errorf("LocalNode(%q) = %v, %v; want node %d", tt.host, n, err, tt.want)
		}
	}
}
