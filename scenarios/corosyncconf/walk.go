package corosyncconf

import (
	"maps"
	"slices"
)

// walker replays corosync's parser callback (main_config_parser_cb in
// exec/coroparse.c) over a section tree: it type-checks the keys corosync
// checks while reading, renames keys the way corosync stores them in cmap
// (numbered nodes and interfaces, logger_subsys by subsys) and records each
// key with its line. Problems corosync reports as parser errors are
// recorded as syntax errors at the line corosync would name.
type walker struct {
	*problems
	keys     map[string]entry
	sections map[string]int // section keys ("totem", "nodelist.node.0") → opening line
	ifaces   []*ifaceSection
	nodes    int // node sections seen in the nodelist
	nodelist int // line of the first nodelist section
}

// ifaceSection is one totem.interface section as corosync collects it
// before storing its keys under the link number at the closing brace.
type ifaceSection struct {
	line     int
	link     int
	linkLine int  // line of the linknumber key; 0 when absent (link 0)
	explicit bool // the section sets linknumber
	vals     map[string]entry
	members  []entry
}

// Keys corosync type-checks while reading, by cmap path.
var (
	totemInts = map[string]intKind{
		"totem.version": kindU32, "totem.nodeid": kindU32, "totem.threads": kindU32,
		"totem.token": kindU32, "totem.token_coefficient": kindU32, "totem.token_retransmit": kindU32,
		"totem.token_warning": kindU32, "totem.hold": kindU32,
		"totem.token_retransmits_before_loss_const": kindU32, "totem.join": kindU32,
		"totem.send_join": kindU32, "totem.consensus": kindU32, "totem.merge": kindU32,
		"totem.downcheck": kindU32, "totem.fail_recv_const": kindU32,
		"totem.seqno_unchanged_const": kindU32, "totem.heartbeat_failures_allowed": kindU32,
		"totem.max_network_delay": kindU32, "totem.window_size": kindU32,
		"totem.max_messages": kindU32, "totem.miss_count_const": kindU32,
		"totem.knet_pmtud_interval": kindU32, "totem.knet_mtu": kindU32,
		"totem.knet_compression_threshold": kindU32, "totem.netmtu": kindU32,
		"totem.knet_compression_level": kindI32, "totem.config_version": kindU64,
	}
	quorumInts = map[string]intKind{
		"quorum.expected_votes": kindU32, "quorum.votes": kindU32,
		"quorum.last_man_standing_window": kindU32, "quorum.leaving_timeout": kindU32,
		"quorum.two_node": kindU8, "quorum.expected_votes_tracking": kindU8,
		"quorum.allow_downscale": kindU8, "quorum.wait_for_all": kindU8,
		"quorum.auto_tie_breaker": kindU8, "quorum.last_man_standing": kindU8,
		"quorum.device.timeout": kindU32, "quorum.device.sync_timeout": kindU32,
		"quorum.device.votes": kindU32, "quorum.device.master_wins": kindU8,
	}
	ifaceInts = map[string]intKind{
		"linknumber": kindU8, "mcastport": kindU16, "ttl": kindU8, "knet_link_priority": kindU8,
		"knet_ping_interval": kindU32, "knet_ping_timeout": kindU32,
		"knet_ping_precision": kindU32, "knet_pong_count": kindU32,
	}
	ifaceStrings = map[string]bool{"bindnetaddr": true, "mcastaddr": true, "broadcast": true, "knet_transport": true}
	// Value lists corosync checks while reading. Crypto and compression
	// names come from libknet; these are the lists of a full libknet build.
	totemEnums = map[string]struct{ prefix, list string }{
		"totem.crypto_model":           {"Invalid crypto model. Should be ", "nss, openssl or gcrypt"},
		"totem.crypto_cipher":          {"Invalid cipher type. Should be ", "none, aes256, aes192 or aes128"},
		"totem.crypto_hash":            {"Invalid hash type. Should be ", "none, md5, sha1, sha256, sha384 or sha512"},
		"totem.knet_compression_model": {"Invalid compression model. Should be ", "none, zlib, lz4, lz4hc, lzo2, lzma, bzip2 or zstd"},
	}
	systemEnums = map[string]struct{ msg, list string }{
		"system.qb_ipc_type":                {"Invalid system.qb_ipc_type", "native shm socket"},
		"system.sched_rr":                   {"Invalid system.sched_rr value", "yes no"},
		"system.move_to_root_cgroup":        {"Invalid system.move_to_root_cgroup", "yes no auto"},
		"system.allow_knet_handle_fallback": {"Invalid system.allow_knet_handle_fallback", "yes no"},
	}
)

// walk visits the whole tree.
func (w *walker) walk(root *Section) {
	for _, it := range root.Items {
		w.store(it.Key, it.Value, it.Line, it.Line)
		w.warn(it.Line, it.Key, "key %q outside any section is ignored", it.Key)
	}
	for _, s := range root.Sections {
		w.mark(s.Name, s.Line)
		switch s.Name {
		case "totem":
			w.walkTotem(s)
		case "quorum":
			w.walkQuorum(s, "quorum")
		case "nodelist":
			w.walkNodelist(s)
		case "logging":
			w.walkLogging(s)
		case "system":
			w.walkSystem(s)
		case "uidgid":
			w.walkUidgid(s)
		case "resources", "nozzle":
			w.walkLoose(s, s.Name)
		default:
			w.warn(s.Line, s.Name, "unknown section %q is ignored", s.Name)
			w.walkLoose(s, s.Name)
		}
	}
}

// mark remembers where a section starts (the first one, when repeated).
func (w *walker) mark(key string, line int) {
	if _, ok := w.sections[key]; !ok {
		w.sections[key] = line
	}
}

// store puts a key into the flat cmap view. Like icmap it refuses key names
// with characters outside [a-zA-Z0-9._/:-] or of the wrong length; corosync
// reports that as a parser error at errLine (the line being read when the
// key is stored).
func (w *walker) store(key, value string, line, errLine int) {
	if !validCmapKey(key) {
		w.syntax(errLine, key, capMsg("Can't store key \""+key+"\" into icmap, returned error is CS_ERR_NAME_TOO_LONG"))
		return
	}
	if old, ok := w.keys[key]; ok {
		first, second := min(old.line, line), max(old.line, line)
		w.warn(second, key, "%s is set more than once (lines %d and %d); corosync keeps the value from line %d",
			key, first, second, line)
	}
	w.keys[key] = entry{value: value, line: line}
}

// storeQuiet is store for keys corosync keeps but never reads, where a
// repeat is not worth a warning.
func (w *walker) storeQuiet(key, value string, line int) {
	if !validCmapKey(key) {
		w.syntax(line, key, capMsg("Can't store key \""+key+"\" into icmap, returned error is CS_ERR_NAME_TOO_LONG"))
		return
	}
	w.keys[key] = entry{value: value, line: line}
}

// walkLoose stores a subtree without checks, as corosync does for sections
// it has no rules for.
func (w *walker) walkLoose(s *Section, path string) {
	for _, it := range s.Items {
		w.store(joinPath(path, it.Key), it.Value, it.Line, it.Line)
	}
	for _, sub := range s.Sections {
		p := joinPath(path, sub.Name)
		w.mark(p, sub.Line)
		w.walkLoose(sub, p)
	}
}

// checkInt type-checks one value and stores it when it passes.
func (w *walker) checkInt(kind intKind, msgKey, storeKey string, it Item) {
	if _, _, msg := parseInt(kind, msgKey, it.Value); msg != "" {
		w.syntax(it.Line, storeKey, msg)
		return
	}
	w.store(storeKey, it.Value, it.Line, it.Line)
}

func (w *walker) walkTotem(s *Section) {
	for _, it := range s.Items {
		key := "totem." + it.Key
		if kind, ok := totemInts[key]; ok {
			w.checkInt(kind, key, key, it)
			continue
		}
		switch {
		case key == "totem.ip_version" && !slices.Contains([]string{"ipv4", "ipv6", "ipv6-4", "ipv4-6"}, it.Value):
			w.syntax(it.Line, key, "Invalid ip_version type")
			continue
		case key == "totem.ip_dscp":
			if _, ok := parseDSCP(it.Value); !ok {
				w.syntax(it.Line, key, capMsg("Value of key \"totem.ip_dscp\" is expected to be number (0..63) or symbolical dscp value, but \""+it.Value+"\" was given"))
				continue
			}
		}
		if e, ok := totemEnums[key]; ok && !inList(it.Value, e.list) {
			w.syntax(it.Line, key, e.prefix+e.list)
			continue
		}
		w.store(key, it.Value, it.Line, it.Line)
	}
	for _, sub := range s.Sections {
		if sub.Name == "interface" {
			w.walkInterface(sub)
			continue
		}
		p := "totem." + sub.Name
		w.mark(p, sub.Line)
		w.warn(sub.Line, p, "unknown section %q in totem is ignored", sub.Name)
		w.walkLoose(sub, p)
	}
}

// inList reports whether v is one of the names in a corosync value list
// ("a, b or c" or "a b c").
func inList(v, list string) bool {
	name := ""
	for i := 0; i <= len(list); i++ {
		if i == len(list) || list[i] == ' ' || list[i] == ',' {
			if name != "" && name != "or" && name == v {
				return true
			}
			name = ""
			continue
		}
		name += string(list[i])
	}
	return false
}

// walkInterface collects one interface section. Like corosync it holds the
// known keys until the closing brace and stores them under
// totem.interface.<linknumber>; other keys are stored as they are read,
// unnumbered ("totem.interface.ringnumber"), where nothing reads them.
func (w *walker) walkInterface(s *Section) {
	in := &ifaceSection{line: s.Line, vals: map[string]entry{}}
	for _, it := range s.Items {
		kind, isInt := ifaceInts[it.Key]
		switch {
		case isInt:
			key := "totem.interface." + it.Key
			v, _, msg := parseInt(kind, key, it.Value)
			if msg != "" {
				w.syntax(it.Line, key, msg)
				continue
			}
			if it.Key == "linknumber" {
				in.link, in.linkLine, in.explicit = int(v), it.Line, true
				continue
			}
			in.vals[it.Key] = entry{it.Value, it.Line}
		case ifaceStrings[it.Key]:
			in.vals[it.Key] = entry{it.Value, it.Line}
		default:
			w.storeQuiet("totem.interface."+it.Key, it.Value, it.Line)
			if it.Key == "ringnumber" {
				w.warn(it.Line, "totem.interface.ringnumber", "ringnumber is a corosync 2 key and is ignored by corosync 3 (use linknumber)")
			} else {
				w.warn(it.Line, "totem.interface."+it.Key, "unknown key %q in interface is ignored", it.Key)
			}
		}
	}
	for _, sub := range s.Sections {
		p := "totem.interface." + sub.Name
		if sub.Name != "member" {
			w.warn(sub.Line, p, "unknown section %q in interface is ignored", sub.Name)
			w.walkLoose(sub, p)
			continue
		}
		for _, it := range sub.Items {
			if it.Key != "memberaddr" {
				w.syntax(it.Line, p+"."+it.Key, "Only memberaddr is allowed in member section")
				continue
			}
			in.members = append(in.members, entry{it.Value, it.Line})
		}
		for _, ss := range sub.Sections {
			w.syntax(ss.Line, p+"."+ss.Name, "Subsections are not allowed within totem.interface.member section")
		}
	}
	// Corosync stores the held keys at the closing brace, numbered.
	prefix := "totem.interface." + itoa(in.link) + "."
	for _, k := range slices.Sorted(maps.Keys(in.vals)) {
		w.store(prefix+k, in.vals[k].value, in.vals[k].line, s.End)
	}
	for i, m := range in.members {
		w.store(prefix+"member."+itoa(i), m.value, m.line, s.End)
	}
	w.ifaces = append(w.ifaces, in)
}

// itoa formats a small int.
func itoa(i int) string {
	if i < 0 {
		return "-" + uitoa(uint64(-i))
	}
	return uitoa(uint64(i))
}
