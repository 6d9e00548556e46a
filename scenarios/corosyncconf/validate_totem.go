package corosyncconf

import (
	"net/netip"
	"strconv"
)

// buildInterface gives link l corosync's defaults overlaid with its merged
// interface section (nil when it has none), checking the per-interface rules
// of totem_config_validate and get_interface_params.
func (b *builder) buildInterface(l int, in *ifaceSection, broadcast bool) Interface {
	t := &b.c.Totem
	it := Interface{
		LinkNumber: l, KnetLinkPriority: 1, KnetPingPrecision: 2048, KnetPongCount: 2,
		KnetTransport: "udp", MCastPort: uint16(defaultPort + l), TTL: 1,
	}
	if broadcast {
		it.MCastPort = uint16(defaultPort + 2*l)
	}
	prefix := "totem.interface." + itoa(l) + "."
	var vals map[string]entry
	if in != nil {
		it.Line, vals = in.line, in.vals
		for _, m := range in.members {
			it.Members = append(it.Members, m.value)
		}
	}
	num := func(k string) (uint64, int, bool) {
		e, ok := vals[k]
		if !ok {
			return 0, 0, false
		}
		v, _ := cStrtoull(e.value)
		return v, e.line, true
	}
	suffix := " for interface " + itoa(l)
	if v, line, ok := num("mcastport"); ok {
		it.MCastPort = uint16(v)
		if v == 0 {
			b.fail(line, prefix+"mcastport", prefixTotem+"No multicast port specified"+suffix)
		}
	}
	if v, line, ok := num("ttl"); ok {
		it.TTL = uint8(v)
		if v != 1 && t.Transport != "udp" {
			b.fail(line, prefix+"ttl", prefixTotem+"Can only set ttl on multicast transport types"+suffix)
		}
	}
	if v, line, ok := num("knet_link_priority"); ok {
		it.KnetLinkPriority = uint8(v)
		if v != 1 && t.Transport != "knet" {
			b.fail(line, prefix+"knet_link_priority", prefixTotem+"Can only set link priority on knet transport type"+suffix)
		}
	}
	if v, _, ok := num("knet_ping_interval"); ok {
		it.KnetPingInterval = ms(v)
	}
	if v, _, ok := num("knet_ping_timeout"); ok {
		it.KnetPingTimeout = ms(v)
	}
	if v, _, ok := num("knet_ping_precision"); ok {
		it.KnetPingPrecision = uint32(v)
	}
	if v, _, ok := num("knet_pong_count"); ok && v != 0 {
		it.KnetPongCount = uint32(v)
	}
	if e, ok := vals["knet_transport"]; ok {
		it.KnetTransport = e.value
		switch e.value {
		case "udp":
		case "sctp":
			b.warn(e.line, prefix+"knet_transport", "WARNING SCTP transport is deprecated and will be removed in a future release.")
		default:
			b.invalid(e.line, prefix+"knet_transport", "Unrecognised knet_transport. expected 'udp' or 'sctp'")
		}
	}
	if e, ok := vals["bindnetaddr"]; ok {
		it.BindNetAddr = e.value
		if t.Transport == "knet" && len(b.c.Nodes) > 0 {
			b.warn(e.line, prefix+"bindnetaddr", "bindnetaddr is ignored: with a nodelist corosync takes the addresses from ring%d_addr", l)
		}
	}
	it.MCastAddr = vals["mcastaddr"].value
	it.Broadcast = vals["broadcast"].value == "yes"
	if t.Transport == "udp" && !broadcast {
		b.checkMcast(&it, prefix, suffix, vals)
	}
	return it
}

// checkMcast applies the udp multicast checks to literal addresses: an
// address must exist (corosync derives one from cluster_name) and be a
// multicast address.
func (b *builder) checkMcast(it *Interface, prefix, suffix string, vals map[string]entry) {
	e, ok := vals["mcastaddr"]
	if !ok {
		if b.c.ClusterName == "" {
			b.fail(it.Line, prefix+"mcastaddr", prefixTotem+"No multicast address specified"+suffix)
		}
		return
	}
	if a, err := netip.ParseAddr(e.value); err == nil && !a.IsMulticast() {
		b.fail(e.line, prefix+"mcastaddr", prefixTotem+"mcastaddr is not a correct multicast address"+suffix)
	}
}

// timers are the totem timers after corosync's defaulting and derivation
// (totem_volatile_config_read), in milliseconds, as uint32 like corosync.
type timers struct {
	token, retransmit, hold, join, consensus, merge, downcheck, netDelay uint32
}

// effectiveTimers derives the timers corosync validates. The token grows by
// token_coefficient for each node beyond two with a link-0 address.
func (b *builder) effectiveTimers() timers {
	t := &b.c.Totem
	var tm timers
	tm.token = uint32(toMS(t.Token))
	members := 0
	for _, n := range b.c.Nodes {
		if n.RingAddrs[0] != "" {
			members++
		}
	}
	if members > 2 {
		tm.token += uint32(members-2) * uint32(toMS(t.TokenCoefficient))
	}
	tm.retransmit = uint32(toMS(t.TokenRetransmit))
	if tm.retransmit == 0 {
		tm.retransmit = uint32(int64(float64(tm.token) / (float64(t.TokenRetransmitsBeforeLossConst) + 0.2)))
	}
	tm.hold = uint32(toMS(t.Hold))
	if tm.hold == 0 {
		// Written as two statements so no fused multiply-add changes the result.
		scaled := float64(tm.retransmit) * 0.8
		tm.hold = uint32(int64(scaled - 10))
	}
	tm.join = uint32(toMS(t.Join))
	tm.consensus = uint32(toMS(t.Consensus))
	if tm.consensus == 0 {
		tm.consensus = uint32(int64(float32(1.2 * float64(tm.token))))
	}
	tm.merge = uint32(toMS(t.Merge))
	tm.downcheck = uint32(toMS(t.Downcheck))
	tm.netDelay = uint32(toMS(t.MaxNetworkDelay))
	return tm
}

// cint formats a uint32 as C's %d does.
func cint(v uint32) string { return strconv.Itoa(int(int32(v))) }

// validateTotem runs totem_config_validate and
// totem_volatile_config_validate (exec/totemconfig.c).
func (b *builder) validateTotem() {
	t := &b.c.Totem
	switch t.Transport {
	case "knet", "udp", "udpu":
	default:
		b.invalid(b.line("totem.transport"), "totem.transport", "Invalid transport type. Should be udpu, udp or knet")
	}
	switch {
	case len(b.c.Interfaces) == 0 && len(b.badNode) == 0:
		b.invalid(0, "", prefixTotem+"No interfaces defined")
	case len(b.c.Nodes) == 0:
		b.invalid(0, "nodelist", prefixTotem+"No valid name found for local host")
	}
	if t.Version != 2 {
		b.invalid(b.line("totem.version", "totem"), "totem.version", prefixTotem+"This totem parser can only parse version 2 configurations.")
	}
	b.validateTimers()
	b.validateLinks()
	switch t.LinkMode {
	case "active", "passive", "rr":
	default:
		b.invalid(b.line("totem.link_mode"), "totem.link_mode",
			prefixTotem+"The Knet link mode \"%s\" specified is invalid.  It must be active, passive or rr.", t.LinkMode)
	}
	if t.Transport == "udp" || t.Transport == "udpu" {
		if n := len(b.c.Interfaces); n > 1 {
			b.invalid(b.line("totem.transport"), "totem.transport", prefixTotem+"%d is too many configured interfaces for non-Knet transport.", n)
		}
		if t.CryptoCipher != "none" || t.CryptoHash != "none" {
			b.invalid(b.line("totem.crypto_cipher", "totem.crypto_hash", "totem.secauth"), "totem.secauth",
				prefixTotem+"crypto_cipher & crypto_hash are only valid for the Knet transport.")
		}
	}
}

// validateTimers checks the effective timers in corosync's order and, like
// corosync, reports only the first failure: one bad token usually makes the
// derived timers fail as well.
func (b *builder) validateTimers() {
	tm := b.effectiveTimers()
	const minimum, minimumHold = 30, 14
	type check struct {
		bad  bool
		keys []string // the first is the key reported; the others locate the line
		msg  string
	}
	small := func(what string, v, min uint32, keys ...string) check {
		return check{v < min, keys, "The " + what + " parameter (" + cint(v) + " ms) may not be less than (" + itoa(int(min)) + " ms)."}
	}
	retransmit := small("token retransmit timeout", tm.retransmit, minimum, "totem.token_retransmit")
	if !b.c.Has("totem.token_retransmit") {
		retransmit = check{tm.retransmit < minimum, []string{"totem.token_retransmits_before_loss_const", "totem.token"},
			"Not appropriate token or token_retransmits_before_loss_const value set"}
	}
	w := b.c.Totem.TokenWarning
	for _, c := range []check{
		small("max_network_delay", tm.netDelay, minimum, "totem.max_network_delay"),
		small("token timeout", tm.token, minimum, "totem.token", "totem.token_coefficient"),
		{w > 100, []string{"totem.token_warning"}, "The token warning parameter (" + cint(w) + "%) must be between 0 (disabled) and 100."},
		retransmit,
		small("token hold timeout", tm.hold, minimumHold, "totem.hold", "totem.token_retransmit", "totem.token"),
		small("join timeout", tm.join, minimum, "totem.join"),
		small("consensus timeout", tm.consensus, minimum, "totem.consensus", "totem.token"),
		{tm.consensus < tm.join, []string{"totem.consensus", "totem.join", "totem.token"},
			"The consensus timeout parameter (" + cint(tm.consensus) + " ms) may not be less than join timeout (" + cint(tm.join) + " ms)."},
		small("merge timeout", tm.merge, minimum, "totem.merge"),
		small("downcheck timeout", tm.downcheck, minimum, "totem.downcheck"),
	} {
		if c.bad {
			b.fail(b.line(append(c.keys, "totem")...), c.keys[0], prefixTotem+c.msg)
			return
		}
	}
}

// validateLinks checks that every node has an address on every link in use,
// that a multi-link cluster names every node, and that the literal
// addresses of one link share an IP family.
func (b *builder) validateLinks() {
	if len(b.c.Interfaces) > 1 {
		for k, n := range b.c.Nodes {
			if n.Name == "" {
				prefix := "nodelist.node." + itoa(k)
				b.invalid(n.Line, prefix, prefixTotem+"for a multi-link configuration, all nodes must have a 'name' attribute")
			}
		}
	}
	used := map[int]bool{}
	for _, n := range b.c.Nodes {
		for _, l := range n.Links() {
			used[l] = true
		}
	}
	for k, n := range b.c.Nodes {
		if len(n.Links()) == 0 || b.badNode[k] {
			continue // reported by buildNodes
		}
		for _, it := range b.c.Interfaces {
			if n.RingAddrs[it.LinkNumber] == "" && used[it.LinkNumber] {
				b.invalid(n.Line, "nodelist.node."+itoa(k), prefixTotem+"Not all nodes have the same number of links")
				break
			}
		}
	}
	for _, it := range b.c.Interfaces {
		b.checkFamilies(it)
	}
}

// checkFamilies compares the literal addresses of a link with the first
// one; host names are skipped (they are resolved later, by the caller).
func (b *builder) checkFamilies(it Interface) {
	l := it.LinkNumber
	users := 0
	var first netip.Addr
	for k, n := range b.c.Nodes {
		addr := n.RingAddrs[l]
		if addr == "" {
			continue
		}
		users++
		a, err := netip.ParseAddr(addr)
		if err != nil {
			continue
		}
		if !first.IsValid() {
			first = a
			continue
		}
		if a.Is4() != first.Is4() {
			key := "nodelist.node." + itoa(k) + ".ring" + itoa(l) + "_addr"
			b.invalid(b.line(key), key, prefixTotem+"Nodes for link %d have different IP families (compared %s with %s)", l, a, first)
		}
	}
	if users == 0 && len(b.c.Nodes) > 0 {
		b.invalid(it.Line, "totem.interface."+itoa(l), prefixTotem+"Not all nodes have the same number of links")
	}
}
