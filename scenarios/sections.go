package scenarios

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Corosync's lower bounds for totem timeouts (exec/totemconfig.c:
// 3 x 1000/HZ, and the hold timer's 30 x 0.8 - 10).
const (
	minTimeout     = 30 * time.Millisecond
	minHoldTimeout = 14 * time.Millisecond
)

func (b *builder) totem(r *rawTotem) {
	const p = "cluster.totem."
	t := Totem{
		Token: 3000 * time.Millisecond, TokenCoefficient: 650 * time.Millisecond,
		Join: 50 * time.Millisecond, Merge: 200 * time.Millisecond,
		MaxMessages: 17, WindowSize: 50, TokenRetransmitsBeforeLossConst: 4,
		MissCountConst: 5, SeqnoUnchangedConst: 30, FailRecvConst: 2500,
	}
	dur := func(key string, dst *time.Duration, v time.Duration) {
		if b.has(p + key) {
			*dst = v
		}
	}
	num := func(key string, dst *int, v int) {
		if b.has(p + key) {
			*dst = v
			if v < 1 {
				b.errf(p+key, "%d is too small; it must be at least 1", v)
			}
		}
	}
	dur("token", &t.Token, r.Token)
	dur("token_coefficient", &t.TokenCoefficient, r.TokenCoefficient)
	dur("consensus", &t.Consensus, r.Consensus)
	dur("join", &t.Join, r.Join)
	dur("merge", &t.Merge, r.Merge)
	dur("token_retransmit", &t.TokenRetransmit, r.TokenRetransmit)
	dur("hold", &t.Hold, r.Hold)
	dur("send_join", &t.SendJoin, r.SendJoin)
	num("max_messages", &t.MaxMessages, r.MaxMessages)
	num("window_size", &t.WindowSize, r.WindowSize)
	num("token_retransmits_before_loss_const", &t.TokenRetransmitsBeforeLossConst, r.TokenRetransmitsBeforeLossConst)
	num("miss_count_const", &t.MissCountConst, r.MissCountConst)
	num("seqno_unchanged_const", &t.SeqnoUnchangedConst, r.SeqnoUnchangedConst)
	num("fail_recv_const", &t.FailRecvConst, r.FailRecvConst)

	atLeast := func(key string, v, lo time.Duration, zeroMeansDerived bool) {
		if !b.has(p+key) || (zeroMeansDerived && v == 0) || v >= lo {
			return
		}
		msg := "%s is below corosync's minimum of %s"
		if zeroMeansDerived {
			msg += " (0 means derived from the token)"
		}
		b.errf(p+key, msg, formatDuration(v), formatDuration(lo))
	}
	atLeast("token", t.Token, minTimeout, false)
	atLeast("join", t.Join, minTimeout, false)
	atLeast("merge", t.Merge, minTimeout, false)
	atLeast("consensus", t.Consensus, minTimeout, true)
	atLeast("token_retransmit", t.TokenRetransmit, minTimeout, true)
	atLeast("hold", t.Hold, minHoldTimeout, true)
	if t.Consensus != 0 && t.Consensus >= minTimeout && t.Consensus < t.Join {
		b.errf(p+"consensus", "consensus (%s) may not be less than join (%s), as in corosync",
			formatDuration(t.Consensus), formatDuration(t.Join))
	}
	if t.MaxMessages >= 1 && t.WindowSize >= 1 && t.WindowSize < t.MaxMessages {
		b.errf(p+"window_size", "window_size (%d) may not be less than max_messages (%d)", t.WindowSize, t.MaxMessages)
	}
	b.s.Cluster.Totem = t
}

func (b *builder) quorum(r *rawQuorum) {
	const p = "cluster.quorum."
	q := Quorum{
		ExpectedVotes: r.ExpectedVotes, TwoNode: r.TwoNode, WaitForAll: r.WaitForAll,
		LastManStanding: r.LastManStanding, LastManStandingWindow: 10 * time.Second,
		AutoTieBreaker: r.AutoTieBreaker, AutoTieBreakerNode: "lowest",
	}
	q.WaitForAllSet = b.has(p + "wait_for_all")
	if q.ExpectedVotes < 0 {
		b.errf(p+"expected_votes", "%d is negative (0 means the sum of node votes)", q.ExpectedVotes)
	}
	if b.has(p + "last_man_standing_window") {
		q.LastManStandingWindow = r.LastManStandingWindow
		if q.LastManStandingWindow <= 0 {
			b.errf(p+"last_man_standing_window", "must be greater than 0")
		}
	}
	if b.has(p + "auto_tie_breaker_node") {
		b.tieBreakerNodes(p+"auto_tie_breaker_node", r.AutoTieBreakerNode, &q)
	}
	if b.has(p + "device") {
		q.Device = b.device(p+"device", &r.Device)
		if q.TwoNode {
			b.errf(p+"two_node", "two_node and a quorum device cannot be configured at the same time (corosync refuses to start)")
		}
	}
	b.s.Cluster.Quorum = q
}

// tieBreakerNodes reads auto_tie_breaker_node: lowest, highest, one node id,
// a list of ids, or corosync's space-separated list of ids.
func (b *builder) tieBreakerNodes(path string, v any, q *Quorum) {
	const want = "lowest, highest or a list of node ids"
	var ids []any
	switch x := v.(type) {
	case string:
		if x == "lowest" || x == "highest" {
			q.AutoTieBreakerNode = x
			return
		}
		for _, f := range strings.Fields(x) {
			ids = append(ids, f)
		}
		if len(ids) == 0 {
			b.errf(path, "%q is not %s", x, want)
			return
		}
	case []any:
		ids = x
		if len(ids) == 0 {
			b.errf(path, "the list of node ids is empty")
			return
		}
	default:
		ids = []any{x}
	}
	q.AutoTieBreakerNode = "list"
	for i, e := range ids {
		ep := path
		if _, isList := v.([]any); isList {
			ep = fmt.Sprintf("%s[%d]", path, i)
		}
		id, ok := b.nodeID(ep, e, want)
		if ok {
			q.AutoTieBreakerNodeList = append(q.AutoTieBreakerNodeList, id)
		}
	}
}

// nodeID reads one node id (a number, or digits as text) and checks that a
// node has it.
func (b *builder) nodeID(path string, v any, want string) (uint32, bool) {
	var n int64 = -1
	switch x := v.(type) {
	case int:
		n = int64(x)
	case string:
		if i, err := strconv.ParseInt(x, 10, 64); err == nil {
			n = i
		}
	}
	if n < 1 || n > 65535 {
		b.errf(path, "%s is not %s", valueWord(v), want)
		return 0, false
	}
	if _, ok := b.ids[uint32(n)]; !ok && b.refs {
		b.errf(path, "no node has id %d", n)
		return 0, false
	}
	return uint32(n), true
}

func (b *builder) device(p string, r *rawDevice) *Device {
	d := &Device{Algorithm: "ffsplit", TieBreaker: "lowest", Votes: r.Votes, Latency: constant(2 * time.Millisecond)}
	if b.has(p + ".algorithm") {
		d.Algorithm = r.Algorithm
		b.oneOf(p+".algorithm", r.Algorithm, "ffsplit", "lms")
	}
	if b.has(p + ".tie_breaker") {
		const want = "lowest, highest or a node id"
		if s, ok := r.TieBreaker.(string); ok && (s == "lowest" || s == "highest") {
			d.TieBreaker = s
		} else if id, ok := b.nodeID(p+".tie_breaker", r.TieBreaker, want); ok {
			d.TieBreaker = strconv.FormatUint(uint64(id), 10)
		}
	}
	if d.Votes < 0 {
		b.errf(p+".votes", "%d is negative (0 means derived from the algorithm)", d.Votes)
	}
	d.Timeout, d.SyncTimeout, d.MasterWins = r.Timeout, r.SyncTimeout, r.MasterWins
	if d.Timeout < 0 {
		b.errf(p+".timeout", "%v is negative (0 means votequorum's 10s)", d.Timeout)
	}
	if d.SyncTimeout < 0 {
		b.errf(p+".sync_timeout", "%v is negative (0 means votequorum's 30s)", d.SyncTimeout)
	}
	if b.has(p + ".latency") {
		d.Latency = b.dist(p+".latency", &r.Latency)
	}
	return d
}

func (b *builder) network(r *rawNetwork) {
	n := &b.s.Network
	n.LinkMode = "passive"
	if b.has("network.host_wait") {
		n.HostWait = r.HostWait
		if r.HostWait < MinHostWait || r.HostWait > MaxHostWait {
			b.errf("network.host_wait", "%v is out of range: %v to %v (the mean wait of a datagram for its daemon; leave it out for the simulator's default)", r.HostWait, MinHostWait, MaxHostWait)
		}
	}
	if b.has("network.link_mode") {
		n.LinkMode = r.LinkMode
		b.oneOf("network.link_mode", r.LinkMode, "passive", "active", "rr")
	} else if b.conf != nil && b.conf.Has("totem.link_mode") {
		n.LinkMode = b.conf.Totem.LinkMode
	}
	b.links, b.switches = map[int]bool{}, map[string]bool{}
	if len(r.Links) == 0 && b.conf != nil && !b.has("network.links") {
		b.confLinks(b.conf)
		return
	}
	if len(r.Links) == 0 {
		if b.has("network.links") {
			b.errf("network.links", "at least one link is needed (leave links out for the default link 0)")
		}
		n.Links = []Link{{Number: 0, Switch: "link0", Priority: 1, PongCount: 2,
			Latency: constant(100 * time.Microsecond), Pos: b.w.valPos("network")}}
		b.links[0], b.switches["link0"] = true, true
		return
	}
	for i, rl := range r.Links {
		p := fmt.Sprintf("network.links[%d]", i)
		l := Link{Number: i, Priority: 1, Latency: constant(100 * time.Microsecond),
			Loss: rl.Loss, Duplicate: rl.Duplicate, Reorder: rl.Reorder, PongCount: 2,
			Pos: b.w.valPos(p)}
		if b.has(p + ".number") {
			l.Number = rl.Number
		}
		if b.conf != nil {
			confLink(&l, b.conf)
		}
		if b.has(p + ".ping_interval") {
			l.PingInterval = rl.PingInterval
		}
		if b.has(p + ".ping_timeout") {
			l.PingTimeout = rl.PingTimeout
		}
		b.pingTimers(p, l)
		switch {
		case l.Number < 0 || l.Number > 7:
			b.errf(p+".number", "link %d is out of range: knet links are numbered 0..7", l.Number)
		case b.links[l.Number]:
			b.errf(p+".number", "link %d is listed twice", l.Number)
		default:
			b.links[l.Number] = true
		}
		l.Switch = fmt.Sprintf("link%d", l.Number)
		if b.has(p + ".switch") {
			l.Switch = rl.Switch
			if !nameRE().MatchString(l.Switch) {
				b.errf(p+".switch", "%q is not a valid switch name (letters, digits, '_', '.', '-')", l.Switch)
			}
		}
		b.switches[l.Switch] = true
		if b.has(p + ".priority") {
			l.Priority = rl.Priority
			if l.Priority < 0 || l.Priority > 255 {
				b.errf(p+".priority", "%d is out of range: knet link priority is 0..255", l.Priority)
			}
		}
		if b.has(p + ".latency") {
			l.Latency = b.dist(p+".latency", &rl.Latency)
		}
		b.probability(p+".loss", l.Loss)
		b.probability(p+".duplicate", l.Duplicate)
		if b.has(p + ".pong_count") {
			l.PongCount = rl.PongCount
			if l.PongCount < 1 {
				b.errf(p+".pong_count", "%d is too small; it must be at least 1", l.PongCount)
			}
		}
		n.Links = append(n.Links, l)
	}
	sort.SliceStable(n.Links, func(i, j int) bool { return n.Links[i].Number < n.Links[j].Number })
}

// defaultWorkload is the workload section's defaults. A multicast workload
// keeps the kv fields at these values too, so a Scenario built in code
// compares equal to its loaded YAML.
func defaultWorkload() *Workload {
	return &Workload{Kind: "kv", Rate: 100, Keys: 8, Mix: Mix{Read: 0.5, Write: 0.4, Cas: 0.1},
		ReadMode: "ordered", Timeout: 5 * time.Second}
}

func (b *builder) workload(r *rawWorkload) *Workload {
	const p = "workload."
	w := defaultWorkload()
	if b.has(p + "kind") {
		w.Kind = r.Kind
		b.oneOf(p+"kind", r.Kind, "kv", "multicast")
	}
	if w.Kind == "multicast" {
		w.Size = 1024
		if b.has(p + "size") {
			w.Size = int(r.Size)
			if w.Size <= 0 {
				b.errf(p+"size", "must be greater than 0")
			}
		}
		for _, k := range []string{"keys", "mix", "read_mode"} {
			if b.has(p + k) {
				b.errf(p+k, "only for kind: kv (this workload is multicast)")
			}
		}
	} else if b.has(p + "size") {
		b.errf(p+"size", "only for kind: multicast")
	}
	if b.has(p + "clients") {
		w.Clients = r.Clients
		b.nodeRefs(p+"clients", r.Clients)
	} else {
		w.Clients = b.s.NodeNames()
	}
	if b.has(p + "rate") {
		w.Rate = float64(r.Rate)
		if !(w.Rate > 0) || math.IsInf(w.Rate, 0) {
			b.errf(p+"rate", "must be greater than 0 operations per second")
		}
	}
	if b.has(p + "keys") {
		w.Keys = r.Keys
		if w.Keys < 1 {
			b.errf(p+"keys", "must be at least 1")
		}
	}
	if b.has(p + "mix") {
		w.Mix = Mix{Read: r.Mix.Read, Write: r.Mix.Write, Cas: r.Mix.Cas}
		b.probability(p+"mix.read", w.Mix.Read)
		b.probability(p+"mix.write", w.Mix.Write)
		b.probability(p+"mix.cas", w.Mix.Cas)
		if sum := w.Mix.Read + w.Mix.Write + w.Mix.Cas; math.Abs(sum-1) > 1e-9 {
			b.errf(p+"mix", "the fractions add up to %v; they must add up to 1 (missing ones count as 0)", sum)
		}
	}
	if b.has(p + "read_mode") {
		w.ReadMode = r.ReadMode
		b.oneOf(p+"read_mode", r.ReadMode, "ordered", "local")
	}
	if b.has(p + "timeout") {
		w.Timeout = r.Timeout
		if w.Timeout <= 0 {
			b.errf(p+"timeout", "must be greater than 0")
		}
	}
	b.guests = map[string]bool{}
	for i, rg := range r.Guests {
		gp := fmt.Sprintf("%sguests[%d]", p, i)
		g := Guest(rg)
		switch {
		case !b.has(gp + ".name"):
			b.errf(gp+".name", "required: every guest needs a name")
		case !nameRE().MatchString(g.Name):
			b.errf(gp+".name", "%q is not a valid guest name (letters, digits, '_', '.', '-')", g.Name)
		case b.guests[g.Name]:
			b.errf(gp+".name", "guest %q is listed twice", g.Name)
		default:
			b.guests[g.Name] = true
		}
		if !b.has(gp + ".node") {
			b.errf(gp+".node", "required: the node the guest runs on")
		} else {
			b.nodeRef(gp+".node", g.Node)
		}
		w.Guests = append(w.Guests, g)
	}
	return w
}
