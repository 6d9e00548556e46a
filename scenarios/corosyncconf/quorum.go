package corosyncconf

import "strings"

// buildQuorum fills Config.Quorum and applies votequorum_readconfig
// (exec/votequorum.c) at startup: its fatal errors become errors, and the
// options it disables with a CRIT log are disabled here with a warning.
func (b *builder) buildQuorum() {
	q := &b.c.Quorum
	flag := func(key string) bool { return b.num(key, 0, true) != 0 }
	q.Provider = b.str("quorum.provider", "")
	q.ExpectedVotes = b.u32("quorum.expected_votes", 0, true)
	q.Votes = b.u32("quorum.votes", 0, true)
	q.TwoNode = flag("quorum.two_node")
	q.WaitForAllAuto = !b.c.Has("quorum.wait_for_all")
	q.WaitForAll = flag("quorum.wait_for_all") || q.WaitForAllAuto && q.TwoNode
	q.LastManStanding = flag("quorum.last_man_standing")
	q.LastManStandingWindow = b.msDur("quorum.last_man_standing_window", defaultLMSWindow, true)
	q.AutoTieBreaker = flag("quorum.auto_tie_breaker")
	q.AutoTieBreakerNode = TieBreaker{Mode: TieBreakerLowest}
	q.AllowDownscale = flag("quorum.allow_downscale")
	q.ExpectedVotesTracking = flag("quorum.expected_votes_tracking") || q.AllowDownscale
	b.buildDevice()
	b.unknownQuorumKeys()

	switch line := b.line("quorum.provider"); {
	case !b.c.Has("quorum.provider"):
		b.noProvider()
		return
	case q.Provider == "corosync_ykd":
		b.invalid(line, "quorum.provider", "quorum provider corosync_ykd is not supported; use corosync_votequorum")
		return
	case q.Provider != "corosync_votequorum":
		b.invalid(line, "quorum.provider", "Invalid quorum provider")
		return
	}
	b.readVotequorum()
}

// knownQuorumKeys are the quorum keys votequorum and corosync-qdevice read
// (heuristics keys are checked by prefix).
var knownQuorumKeys = map[string]bool{
	"provider": true, "expected_votes": true, "votes": true, "two_node": true, "wait_for_all": true,
	"last_man_standing": true, "last_man_standing_window": true, "auto_tie_breaker": true,
	"auto_tie_breaker_node": true, "allow_downscale": true, "expected_votes_tracking": true,
	"leaving_timeout": true, "cancel_wait_for_all": true,
	"device.model": true, "device.votes": true, "device.timeout": true, "device.sync_timeout": true,
	"device.master_wins": true, "device.net.host": true, "device.net.port": true, "device.net.tls": true,
	"device.net.algorithm": true, "device.net.tie_breaker": true, "device.net.connect_timeout": true,
	"device.net.force_ip_version": true, "device.net.keep_active_partition_tie_breaker": true,
}

// unknownQuorumKeys warns about quorum keys nothing reads. Corosync keeps
// them in cmap without complaint, so they are not errors.
func (b *builder) unknownQuorumKeys() {
	for _, k := range b.c.Keys() {
		rest, ok := strings.CutPrefix(k, "quorum.")
		if ok && !knownQuorumKeys[rest] && !strings.HasPrefix(rest, "device.heuristics.") {
			b.warn(b.line(k), k, "unknown key %q in quorum is ignored", rest)
		}
	}
}

// noProvider warns that quorum options do nothing without a provider: the
// node is then always quorate.
func (b *builder) noProvider() {
	for _, k := range b.c.Keys() {
		if strings.HasPrefix(k, "quorum.") {
			b.warn(b.line(k), k, "%s is ignored: without quorum.provider corosync has no quorum provider and is always quorate", k)
			return
		}
	}
}

// readVotequorum is the startup part of votequorum_readconfig, in its order.
func (b *builder) readVotequorum() {
	q := &b.c.Quorum
	var nodeExpected, nodeCount uint32
	for _, n := range b.c.Nodes {
		nodeExpected += n.QuorumVotes
		nodeCount++
		if q.LastManStanding && n.QuorumVotes > 1 {
			b.warn(n.Line, "quorum.last_man_standing", "last_man_standing is disabled at runtime: node %s has %d votes (it needs 1 per node)", n.Name, n.QuorumVotes)
		}
	}
	if q.Votes != 0 && len(b.c.Nodes) > 0 {
		b.warn(b.line("quorum.votes"), "quorum.votes", "quorum.votes is ignored because the nodelist gives each node's votes")
	}
	d := q.Device
	haveDevice := d != nil && d.Model != ""
	if q.TwoNode && haveDevice {
		b.invalid(b.line("quorum.two_node"), "quorum.two_node", prefixQuorum+"two_node and quorum device cannot be configured at the same time!")
	}
	if q.TwoNode && nodeCount > 2 {
		b.warn(b.line("quorum.two_node"), "quorum.two_node", "two_node with %d nodes: corosync only sets quorum to 1 while at most two votes are present, so both sides of a 2+1 split can be quorate; this is a misconfiguration", nodeCount)
	}
	b.readAutoTieBreaker(nodeExpected)
	if haveDevice {
		for _, o := range []struct {
			on   bool
			name string
		}{{q.LastManStanding, "last_man_standing"}, {q.AutoTieBreaker, "auto_tie_breaker"}, {q.AllowDownscale, "allow_downscale"}} {
			if o.on {
				b.fail(b.line("quorum."+o.name), "quorum."+o.name, prefixQuorum+"quorum.device is not compatible with "+o.name)
			}
		}
		b.deviceVotes(nodeExpected, nodeCount)
	}
}

// readAutoTieBreaker parses auto_tie_breaker_node and applies the two_node
// and odd-cluster rules.
func (b *builder) readAutoTieBreaker(nodeExpected uint32) {
	q := &b.c.Quorum
	s, set := b.raw("quorum.auto_tie_breaker_node")
	line := b.line("quorum.auto_tie_breaker_node")
	if set {
		tb, ok := parseATB(s)
		q.AutoTieBreakerNode = tb
		switch {
		case !q.AutoTieBreaker:
			b.warn(line, "quorum.auto_tie_breaker_node", "auto_tie_breaker_node: is meaningless if auto_tie_breaker is set to 0")
		case !ok:
			q.AutoTieBreaker = false
			b.warn(line, "quorum.auto_tie_breaker_node", "auto_tie_breaker_nodes is not valid. It must be 'lowest', 'highest' or a space-separated list of node IDs. auto_tie_breaker is disabled")
		}
	}
	if q.TwoNode && q.AutoTieBreaker {
		q.TwoNode = false
		b.warn(b.line("quorum.two_node"), "quorum.two_node", "two_node and auto_tie_breaker are both specified but are not compatible. two_node has been disabled, please fix your corosync.conf")
	}
	if q.AutoTieBreaker && nodeExpected%2 == 1 && !q.WaitForAll {
		atbLine := b.line("quorum.auto_tie_breaker")
		if q.LastManStanding {
			b.invalid(atbLine, "quorum.auto_tie_breaker", prefixQuorum+"auto_tie_breaker & last_man_standing not available in odd sized cluster")
			return
		}
		q.AutoTieBreaker = false
		b.warn(atbLine, "quorum.auto_tie_breaker", "auto_tie_breaker is set and the cluster has an odd number of nodes. wait_for_all needs to be set for this configuration but it is missing. Therefore auto_tie_breaker has been disabled. Please fix your corosync.conf")
	}
}

// parseATB is parse_atb_string: "lowest", "highest", or node ids read with
// strtol until the first 0 or non-number. ok is false when none applies.
func parseATB(s string) (TieBreaker, bool) {
	switch s {
	case "lowest":
		return TieBreaker{Mode: TieBreakerLowest}, true
	case "highest":
		return TieBreaker{Mode: TieBreakerHighest}, true
	}
	first, _ := strtolPrefix(s)
	if int32(first) == 0 { // atoi
		return TieBreaker{Mode: TieBreakerLowest}, false
	}
	tb := TieBreaker{Mode: TieBreakerList}
	for rest := s; ; {
		var v int64
		v, rest = strtolPrefix(rest)
		if v == 0 {
			break
		}
		tb.NodeIDs = append(tb.NodeIDs, uint32(v))
	}
	return tb, true
}

// strtolPrefix is strtol(s, &end, 10) on the longest valid prefix; it
// returns 0 and s unchanged when there is none, and clamps on overflow.
func strtolPrefix(s string) (int64, string) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	j := i
	if j < len(s) && (s[j] == '+' || s[j] == '-') {
		j++
	}
	k := j
	for k < len(s) && '0' <= s[k] && s[k] <= '9' {
		k++
	}
	if k == j {
		return 0, s
	}
	v, ok := cStrtoll(s[i:k], 10)
	if !ok {
		v = 1<<63 - 1
		if s[i] == '-' {
			v = -1 << 63
		}
	}
	return v, s[k:]
}

// deviceVotes checks quorum.device.votes against expected_votes and the
// nodelist, and computes it when corosync does.
func (b *builder) deviceVotes(nodeExpected, nodeCount uint32) {
	q := &b.c.Quorum
	d := q.Device
	line := b.line("quorum.device.votes", "quorum.device")
	switch {
	case d.VotesAuto && q.ExpectedVotes != 0:
		b.invalid(line, "quorum.device.votes", prefixQuorum+"quorum.device.votes must be specified when quorum.expected_votes is set")
	case d.VotesAuto && nodeCount != nodeExpected:
		b.invalid(line, "quorum.device.votes", prefixQuorum+"quorum.device.votes must be specified when not all nodes votes 1")
	case d.VotesAuto:
		d.Votes = nodeExpected - 1
	case d.Votes > 0 && q.ExpectedVotes != 0 && int32(q.ExpectedVotes-d.Votes) < 2:
		b.invalid(line, "quorum.device.votes", prefixQuorum+"quorum.device.votes is too high or expected_votes is too low")
	}
}
