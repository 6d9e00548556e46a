package corosyncconf

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Marshal writes the Config as corosync.conf text in the layout Proxmox's
// writer uses (proxmox/pve-cluster src/PVE/Corosync.pm): top-level sections
// and the keys of each section in alphabetical order, two-space indentation,
// interface sections by link number, a blank line after each top-level
// section. Nodes keep their order in Nodes.
//
// A key is written when the file set it (Has) or when its value differs
// from corosync's default, so Parse(Marshal(c)) gives the same typed values
// for a Config that Parse produced. Keys that have no typed field (legacy
// or unknown totem, interface and quorum keys, resources, uidgid) are not
// written. Values must not contain '{' or line breaks.
func (c *Config) Marshal() []byte {
	root := &msec{}
	if len(c.Logging) > 0 {
		c.marshalLogging(root.sub("logging"))
	}
	if len(c.Nodes) > 0 {
		nl := root.sub("nodelist")
		for k := range c.Nodes {
			c.marshalNode(nl.sub("node"), &c.Nodes[k])
		}
	}
	c.marshalQuorum(root)
	if len(c.System) > 0 {
		sys := root.sub("system")
		for _, k := range slices.Sorted(maps.Keys(c.System)) {
			sys.setKey(k, c.System[k])
		}
	}
	c.marshalTotem(root.sub("totem"))
	line := 0
	return root.tree(&line).Format()
}

// msec is a section being written: keys and subsections are sorted by name
// when the tree is built; equal subsection names keep insertion order.
type msec struct {
	name  string
	items map[string]string
	subs  []*msec
}

func (m *msec) sub(name string) *msec {
	s := &msec{name: name}
	m.subs = append(m.subs, s)
	return s
}

func (m *msec) set(key, value string) {
	if m.items == nil {
		m.items = map[string]string{}
	}
	m.items[key] = value
}

// setKey sets a key that may hold dots. A key item is appended to its
// section's path as it stands, so "a.b: v" gives the same cmap key as
// "a { b: v }" and the dotted form is written. Only a ':' (possible in
// section names, never in item keys) forces a section: everything up to
// the last dot becomes its name.
func (m *msec) setKey(key, value string) {
	if strings.IndexByte(key, ':') >= 0 {
		if i := strings.LastIndexByte(key, '.'); i > 0 {
			m.sub(key[:i]).set(key[i+1:], value)
			return
		}
	}
	m.set(key, value)
}

// tree converts to a Section, numbering lines in output order.
func (m *msec) tree(line *int) *Section {
	s := &Section{Name: m.name}
	keys := slices.Sorted(maps.Keys(m.items))
	subs := slices.Clone(m.subs)
	slices.SortStableFunc(subs, func(a, b *msec) int { return strings.Compare(a.name, b.name) })
	for len(keys) > 0 || len(subs) > 0 {
		*line++
		cur := *line
		if len(subs) == 0 || len(keys) > 0 && keys[0] < subs[0].name {
			s.Items = append(s.Items, Item{Key: keys[0], Value: m.items[keys[0]], Line: cur})
			keys = keys[1:]
			continue
		}
		sub := subs[0].tree(line)
		sub.Line = cur
		s.Sections = append(s.Sections, sub)
		subs = subs[1:]
	}
	return s
}

// put writes key when the file set it or the value is not the default.
func (c *Config) put(m *msec, cmapKey, value, def string) {
	if value != def || c.Has(cmapKey) {
		m.set(cmapKey[strings.LastIndexByte(cmapKey, '.')+1:], value)
	}
}

func fmtMS(d time.Duration) string { return uitoa(toMS(d)) }
func fmtU(v uint32) string         { return uitoa(uint64(v)) }

func fmtFlag(v bool) string {
	if v {
		return "1"
	}
	return "0"
}

// marshalLogging writes logger_subsys sections for the subsystems whose
// names are plain, and every other logging key as a dotted item, which
// gives the same cmap key.
func (c *Config) marshalLogging(m *msec) {
	groups := map[string]*msec{}
	for _, k := range slices.Sorted(maps.Keys(c.Logging)) {
		rest, ok := strings.CutPrefix(k, "logger_subsys.")
		name, key, _ := strings.Cut(rest, ".")
		if !ok || key != "subsys" || c.Logging[k] != name || strings.ContainsAny(name, ".:") {
			continue
		}
		s := m.sub("logger_subsys")
		s.set("subsys", name)
		groups[name] = s
	}
	for _, k := range slices.Sorted(maps.Keys(c.Logging)) {
		rest, _ := strings.CutPrefix(k, "logger_subsys.")
		name, key, _ := strings.Cut(rest, ".")
		switch s := groups[name]; {
		case s != nil && strings.HasPrefix(k, "logger_subsys.") && key == "subsys":
		case s != nil && strings.HasPrefix(k, "logger_subsys.") && !strings.Contains(key, ":"):
			s.set(key, c.Logging[k])
		default:
			m.setKey(k, c.Logging[k])
		}
	}
}

func (c *Config) marshalNode(m *msec, n *Node) {
	if n.Name != "" {
		m.set("name", n.Name)
	}
	if n.NodeID != 0 && !n.NodeIDGenerated {
		m.set("nodeid", fmtU(n.NodeID))
	}
	m.set("quorum_votes", fmtU(n.QuorumVotes))
	for l, a := range n.RingAddrs {
		if a != "" {
			m.set("ring"+strconv.Itoa(l)+"_addr", a)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(n.Extra)) {
		m.setKey(k, n.Extra[k])
	}
}

func (c *Config) marshalTotem(m *msec) {
	t := &c.Totem
	c.put(m, "totem.version", fmtU(t.Version), "")
	c.put(m, "totem.cluster_name", c.ClusterName, "")
	c.put(m, "totem.config_version", uitoa(c.ConfigVersion), "0")
	c.put(m, "totem.transport", t.Transport, "knet")
	c.put(m, "totem.link_mode", t.LinkMode, "passive")
	ipDefault := "ipv6-4"
	if t.Transport == "udp" {
		ipDefault = "ipv4"
	}
	c.put(m, "totem.ip_version", t.IPVersion, ipDefault)
	for _, d := range []struct {
		key      string
		v, def   time.Duration
		keepZero bool
	}{
		{"token", t.Token, defaultToken, false}, {"token_coefficient", t.TokenCoefficient, defaultTokenCoefficient, true},
		{"token_retransmit", t.TokenRetransmit, 0, false}, {"hold", t.Hold, 0, false},
		{"join", t.Join, defaultJoin, false}, {"send_join", t.SendJoin, 0, true},
		{"consensus", t.Consensus, 0, false}, {"merge", t.Merge, defaultMerge, false},
		{"downcheck", t.Downcheck, defaultDowncheck, false},
		{"max_network_delay", t.MaxNetworkDelay, defaultMaxNetworkDelay, false},
	} {
		if d.v != 0 || d.keepZero {
			c.put(m, "totem."+d.key, fmtMS(d.v), fmtMS(d.def))
		}
	}
	for _, n := range []struct {
		key    string
		v, def uint32
	}{
		{"token_retransmits_before_loss_const", t.TokenRetransmitsBeforeLossConst, 4},
		{"token_warning", t.TokenWarning, 75}, {"fail_recv_const", t.FailRecvConst, 2500},
		{"seqno_unchanged_const", t.SeqnoUnchangedConst, 30},
		{"heartbeat_failures_allowed", t.HeartbeatFailuresAllowed, 0},
		{"window_size", t.WindowSize, 50}, {"max_messages", t.MaxMessages, 17},
		{"miss_count_const", t.MissCountConst, 5}, {"knet_mtu", t.KnetMTU, 0},
		{"knet_compression_threshold", t.KnetCompressionThreshold, 0},
	} {
		c.put(m, "totem."+n.key, fmtU(n.v), fmtU(n.def))
	}
	netDefault := uint32(udpNetMTU)
	if t.Transport == "knet" {
		netDefault = knetMaxPacket
	}
	c.put(m, "totem.netmtu", fmtU(t.NetMTU), fmtU(netDefault))
	c.put(m, "totem.knet_pmtud_interval", uitoa(uint64(t.KnetPMTUDInterval/time.Second)), "30")
	c.put(m, "totem.knet_compression_model", t.KnetCompressionModel, "none")
	c.put(m, "totem.knet_compression_level", strconv.Itoa(int(t.KnetCompressionLevel)), "0")
	c.put(m, "totem.ip_dscp", strconv.Itoa(int(t.IPDSCP)), "0")
	c.put(m, "totem.cancel_token_hold_on_retransmit", yesNoText(t.CancelTokenHoldOnRetransmit), "no")
	c.put(m, "totem.block_unlisted_ips", yesNoText(t.BlockUnlistedIPs), "yes")
	c.put(m, "totem.clear_node_high_bit", yesNoText(t.ClearNodeHighBit), "no")
	c.marshalCrypto(m)
	for _, in := range c.Interfaces {
		c.marshalInterface(m, &in)
	}
}

func (c *Config) marshalCrypto(m *msec) {
	t := &c.Totem
	implied := "none"
	if t.SecAuth {
		m.set("secauth", "on")
		implied = "aes256"
	} else if c.Has("totem.secauth") {
		m.set("secauth", "off")
	}
	c.put(m, "totem.crypto_cipher", t.CryptoCipher, implied)
	if t.SecAuth {
		implied = "sha256"
	}
	c.put(m, "totem.crypto_hash", t.CryptoHash, implied)
	c.put(m, "totem.crypto_model", t.CryptoModel, "nss")
	c.put(m, "totem.keyfile", t.KeyFile, defaultKeyFile)
	c.put(m, "totem.key", t.Key, "")
}

func (c *Config) marshalInterface(parent *msec, in *Interface) {
	m := &msec{name: "interface"}
	p := "totem.interface." + itoa(in.LinkNumber) + "."
	port := defaultPort + in.LinkNumber
	if in.Broadcast {
		port = defaultPort + 2*in.LinkNumber
	}
	c.put(m, p+"knet_link_priority", strconv.Itoa(int(in.KnetLinkPriority)), "1")
	c.put(m, p+"knet_ping_interval", fmtMS(in.KnetPingInterval), "0")
	c.put(m, p+"knet_ping_timeout", fmtMS(in.KnetPingTimeout), "0")
	c.put(m, p+"knet_ping_precision", fmtU(in.KnetPingPrecision), "2048")
	c.put(m, p+"knet_pong_count", fmtU(in.KnetPongCount), "2")
	c.put(m, p+"knet_transport", in.KnetTransport, "udp")
	c.put(m, p+"mcastport", strconv.Itoa(int(in.MCastPort)), strconv.Itoa(port))
	c.put(m, p+"ttl", strconv.Itoa(int(in.TTL)), "1")
	c.put(m, p+"bindnetaddr", in.BindNetAddr, "")
	c.put(m, p+"mcastaddr", in.MCastAddr, "")
	c.put(m, p+"broadcast", yesNoText(in.Broadcast), "no")
	if len(in.Members) > 0 {
		for _, a := range in.Members {
			m.sub("member").set("memberaddr", a)
		}
	}
	if in.Line == 0 && len(m.items) == 0 && len(m.subs) == 0 {
		return // a link without a section and with defaults only
	}
	m.set("linknumber", itoa(in.LinkNumber))
	parent.subs = append(parent.subs, m)
}

func (c *Config) marshalQuorum(root *msec) {
	q := &c.Quorum
	if q.Provider == "" && q.Device == nil && !c.hasSection("quorum") {
		return
	}
	m := root.sub("quorum")
	c.put(m, "quorum.provider", q.Provider, "")
	c.put(m, "quorum.expected_votes", fmtU(q.ExpectedVotes), "0")
	c.put(m, "quorum.votes", fmtU(q.Votes), "0")
	c.put(m, "quorum.two_node", fmtFlag(q.TwoNode), "0")
	if !q.WaitForAllAuto || q.WaitForAll != q.TwoNode {
		m.set("wait_for_all", fmtFlag(q.WaitForAll))
	}
	c.put(m, "quorum.last_man_standing", fmtFlag(q.LastManStanding), "0")
	c.put(m, "quorum.last_man_standing_window", fmtMS(q.LastManStandingWindow), fmtMS(defaultLMSWindow))
	c.put(m, "quorum.auto_tie_breaker", fmtFlag(q.AutoTieBreaker), "0")
	c.put(m, "quorum.auto_tie_breaker_node", q.AutoTieBreakerNode.String(), "lowest")
	c.put(m, "quorum.allow_downscale", fmtFlag(q.AllowDownscale), "0")
	c.put(m, "quorum.expected_votes_tracking", fmtFlag(q.ExpectedVotesTracking && !q.AllowDownscale), "0")
	if d := q.Device; d != nil {
		c.marshalDevice(m.sub("device"), d)
	}
}

func (c *Config) marshalDevice(m *msec, d *Device) {
	c.put(m, "quorum.device.model", d.Model, "")
	if !d.VotesAuto {
		m.set("votes", fmtU(d.Votes))
	}
	c.put(m, "quorum.device.timeout", fmtMS(d.Timeout), fmtMS(defaultDeviceTimeout))
	c.put(m, "quorum.device.sync_timeout", fmtMS(d.SyncTimeout), fmtMS(defaultDeviceSyncTimeout))
	c.put(m, "quorum.device.master_wins", fmtFlag(d.MasterWins), "0")
	n := m.sub("net")
	const p = "quorum.device.net."
	c.put(n, p+"host", d.Net.Host, "")
	c.put(n, p+"port", strconv.Itoa(int(d.Net.Port)), strconv.Itoa(defaultQnetdPort))
	c.put(n, p+"tls", d.Net.TLS, "on")
	c.put(n, p+"algorithm", d.Net.Algorithm, "ffsplit")
	c.put(n, p+"tie_breaker", d.Net.TieBreaker.String(), "lowest")
	if d.Net.ConnectTimeout != 0 {
		n.set("connect_timeout", fmtMS(d.Net.ConnectTimeout))
	}
	c.put(n, p+"force_ip_version", strconv.Itoa(d.Net.ForceIPVersion), "0")
	c.put(n, p+"keep_active_partition_tie_breaker", map[bool]string{true: "on", false: "off"}[d.Net.KeepActivePartitionTieBreaker], "on")
	for _, k := range slices.Sorted(maps.Keys(d.Heuristics)) {
		m.setKey("heuristics."+k, d.Heuristics[k])
	}
}

// hasSection reports whether the parsed file had a section with this key.
func (c *Config) hasSection(key string) bool {
	return c.tree != nil && slices.ContainsFunc(c.tree.Sections, func(s *Section) bool { return s.Name == key })
}
