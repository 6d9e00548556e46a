package journal

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/quorate/quorate/engine/links"
	"github.com/quorate/quorate/scenarios"
)

// Imported is a scenario rebuilt from the journals of a real cluster.
type Imported struct {
	// YAML is the scenario file, with comments that say which journal
	// records each fault comes from. Scenario is YAML as the loader read
	// it back: the file is known to be valid.
	YAML     []byte
	Scenario *scenarios.Scenario
	// Membership is the observed sequence of member sets of every node
	// that has a journal, named as in the scenario.
	Membership Sequences
	// MembershipAt holds, beside each set of Membership, when the node
	// installed it, from Start.
	MembershipAt map[string][]time.Duration
	// Quorum is the observed sequence of quorum verdicts of every node
	// that has a journal.
	Quorum Verdicts
	// Start is the wall-clock instant that is 0s in the scenario.
	Start time.Time
}

// settle is the least simulated time after the last record: enough for a
// cluster to finish what the last record started.
const settle = 5 * time.Second

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// importer holds the merged view of the journals.
type importer struct {
	cfg      *Config
	cfgAt    Entry
	cluster  string
	names    map[string]string // journal node name -> scenario node name
	order    []string          // journal node names in nodelist order
	byNode   map[string][]Entry
	sessions map[string][]*session
	t0, end  time.Time
	interval time.Duration // knet ping interval
	timeout  time.Duration // knet ping timeout
	upDelay  time.Duration // from a repaired path to knet's link up
	links    []int
	opts     Options
	// added are the nodes that a later start record's nodelist has and
	// the earliest one lacks (pvecm add), in the order they first
	// appear: the replay joins each with an add_node when its agent
	// first starts.
	added []addedNode
	// changes are the cluster's configuration changes after the earliest
	// start record, in config_version order (confchanges.go).
	changes []confChange
}

// addedNode is a node that joined the cluster after the earliest start
// record.
type addedNode struct {
	node ConfigNode
	at   Entry // the first start record that lists it
}

// session is one run of one agent: from its start record (or its first
// record, when the journal begins later) to its stop record or its last
// record.
type session struct {
	node    string
	first   Entry // the start record, or the first record when started is false
	started bool
	stop    *Entry
	last    Entry
	entries []Entry
	crashAt time.Time // set when the session ended without a stop record and another began
	crashed bool      // ended without stop and did not run to the end of the journals
}

// Import merges the journals of one cluster by wall-clock time and builds
// the scenario that replays what they recorded; name is the scenario's
// name ("" gives "trace-<cluster>").
//
// The cluster (nodes, votes, links, token, link mode, quorum options) comes
// from the earliest start record. A session of an agent that ends without a
// stop record while a later one begins is a crash and a restart; a stop
// and a later start is the same in the simulator, where a stopped agent,
// like a real one, says nothing to its peers. A link is cut between two
// nodes while both saw it down; the cuts are grouped in time (knet detects
// a cut within a ping timeout, plus a ping interval of skew between the
// two sides) and written as the plainest faults the format has: a switch
// down when every pair is cut on a link, an isolated node when it lost
// every link, a NIC down when it lost every peer on one link, a partition
// when the cut pairs split the nodes into groups, one-way drops otherwise.
// The times are estimates from knet's rules (see lostAt): a cut starts
// knet's detection time (the ping timeout times its backoff, less half a
// ping interval) before the first side declared the link down, a crash
// likewise before the first peer noticed, and a repair pong_count and a
// half ping intervals before the first link up.
func Import(js []*Journal, name string) (*Imported, error) {
	return ImportWith(js, name, Options{})
}

// ImportWith is Import with the changes of o.
func ImportWith(js []*Journal, name string, o Options) (*Imported, error) {
	if len(js) == 0 {
		return nil, fmt.Errorf("%w: no journals", ErrInput)
	}
	im := &importer{names: map[string]string{}, byNode: map[string][]Entry{}, sessions: map[string][]*session{}, opts: o}
	if err := im.merge(js); err != nil {
		return nil, err
	}
	im.staggerStarts()
	im.split()
	im.findEnd()
	im.crashes()
	im.findConfChanges()
	y := im.yaml(cmp.Or(name, "trace-"+im.cluster), js)
	sc, err := scenarios.Parse(cmp.Or(name, "trace-"+im.cluster)+".yaml", y)
	if err != nil && o.Cluster != nil {
		return nil, fmt.Errorf("%w: the changed cluster cannot replay the recorded faults (a node or link they name is gone?):\n%w", ErrInput, err)
	} else if err != nil {
		return nil, fmt.Errorf("journal: the imported scenario does not load (a bug of the importer):\n%w\n%s", err, y)
	}
	out := &Imported{YAML: y, Scenario: sc, Membership: Sequences{}, MembershipAt: map[string][]time.Duration{}, Quorum: Verdicts{}, Start: im.t0}
	for _, n := range im.order {
		for _, e := range im.byNode[n] {
			switch {
			case e.Kind == KindMembership:
				sn := im.names[n]
				before := len(out.Membership[sn])
				out.Membership.Add(sn, im.mapNames(e.Members))
				if len(out.Membership[sn]) > before {
					out.MembershipAt[sn] = append(out.MembershipAt[sn], e.Time.Sub(im.t0))
				}
			case e.Kind == KindQuorum && e.Quorate != nil:
				out.Quorum.Add(im.names[n], *e.Quorate)
			}
		}
	}
	return out, nil
}

// merge checks that the journals are of one cluster and nodelist and
// groups their records by node, in wall-clock order.
func (im *importer) merge(js []*Journal) error {
	firstOf := js[0].Entries[0]
	im.cluster = firstOf.Cluster
	// One node's files (a rotated journal.jsonl.1 and journal.jsonl) are
	// taken in the order of their first records and each in file order,
	// which a step of the wall clock cannot upset. A file given twice is
	// read once.
	js = slices.Clone(js)
	sort.SliceStable(js, func(a, b int) bool { return js[a].Entries[0].Time.Before(js[b].Entries[0].Time) })
	seen := map[string]bool{}
	for _, j := range js {
		if seen[j.File] {
			continue
		}
		seen[j.File] = true
		for _, e := range j.Entries {
			if e.Cluster != im.cluster {
				return errAt(e.File, e.Line, "record of cluster %q, but %s:%d is of cluster %q: journals of different clusters",
					e.Cluster, firstOf.File, firstOf.Line, im.cluster)
			}
			if e.Kind == KindStart && (im.cfg == nil || e.Time.Before(im.cfgAt.Time)) {
				im.cfg, im.cfgAt = e.Config, e
			}
			im.byNode[e.Node] = append(im.byNode[e.Node], e)
			if im.t0.IsZero() || e.Time.Before(im.t0) {
				im.t0 = e.Time
			}
		}
	}
	if im.cfg == nil {
		return errAt(js[0].File, 0, "no start record in any journal: the cluster's configuration is unknown (give the file the agent started with, e.g. journal.jsonl.1)")
	}
	if len(im.cfg.Nodes) == 0 || len(im.cfg.Links) == 0 {
		return errAt(im.cfgAt.File, im.cfgAt.Line, "start record with an empty nodelist or no links")
	}
	im.findAdded()
	used := map[string]bool{}
	nodes := slices.Clone(im.cfg.Nodes)
	for _, a := range im.added {
		nodes = append(nodes, a.node)
	}
	for _, n := range nodes {
		sn := n.Name
		if !nameRE.MatchString(sn) || used[sn] {
			sn = "node" + strconv.FormatUint(uint64(n.ID), 10)
		}
		used[sn] = true
		im.names[n.Name] = sn
		im.order = append(im.order, n.Name)
	}
	for node, es := range im.byNode {
		if _, ok := im.names[node]; !ok {
			return errAt(es[0].File, es[0].Line, "node %q is not in the nodelist of the start record at %s:%d", node, im.cfgAt.File, im.cfgAt.Line)
		}
		for _, e := range es {
			for _, m := range append(slices.Clone(e.Members), e.Peer) {
				if _, ok := im.names[m]; m != "" && !ok {
					return errAt(e.File, e.Line, "node %q is not in the nodelist of the start record at %s:%d", m, im.cfgAt.File, im.cfgAt.Line)
				}
			}
			if e.Link != nil && !slices.ContainsFunc(im.cfg.Links, func(l ConfigLink) bool { return l.Number == *e.Link }) {
				return errAt(e.File, e.Line, "link %d is not configured in the start record at %s:%d", *e.Link, im.cfgAt.File, im.cfgAt.Line)
			}
		}
	}
	for _, l := range im.cfg.Links {
		im.links = append(im.links, l.Number)
	}
	slices.Sort(im.links)
	im.interval, im.timeout = im.knetTimers()
	// knet declares a link up on the pong after pong_count good ones;
	// the first ping after the repair comes half an interval later on
	// average.
	pong := 2
	for _, l := range im.cfg.Links {
		pong = max(pong, l.PongCount)
	}
	im.upDelay = im.interval * time.Duration(2*pong+1) / 2
	return nil
}

// findAdded lists the nodes that later start records add to the earliest
// nodelist, in the order of the start records that first list them. A
// what-if cluster (Options.Cluster) replaces the recorded one whole and
// adds nobody.
func (im *importer) findAdded() {
	if im.opts.Cluster != nil {
		return
	}
	var starts []Entry
	for _, es := range im.byNode {
		for _, e := range es {
			if e.Kind == KindStart {
				starts = append(starts, e)
			}
		}
	}
	sort.SliceStable(starts, func(a, b int) bool {
		if !starts[a].Time.Equal(starts[b].Time) {
			return starts[a].Time.Before(starts[b].Time)
		}
		return starts[a].Node < starts[b].Node
	})
	known := map[string]bool{}
	ids := map[uint32]bool{}
	for _, n := range im.cfg.Nodes {
		known[n.Name], ids[n.ID] = true, true
	}
	for _, e := range starts {
		for _, n := range e.Config.Nodes {
			if !known[n.Name] && !ids[n.ID] {
				known[n.Name], ids[n.ID] = true, true
				im.added = append(im.added, addedNode{node: n, at: e})
			}
		}
	}
}

// knetTimers derives the knet heartbeat as corosync does: interval =
// effective token / (pong_count x 2), timeout = effective token /
// pong_count, unless the interfaces set them (the longest wins).
func (im *importer) knetTimers() (interval, timeout time.Duration) {
	c := im.cfg
	eff := time.Duration(c.Token)
	if n := len(c.Nodes); n > 2 {
		eff += time.Duration(n-2) * time.Duration(c.TokenCoefficient)
	}
	for _, l := range c.Links {
		pong := time.Duration(cmp.Or(l.PongCount, 2))
		interval = max(interval, cmp.Or(time.Duration(l.PingInterval), eff/(pong*2)))
		timeout = max(timeout, cmp.Or(time.Duration(l.PingTimeout), eff/pong))
	}
	return interval, timeout
}

// split cuts every node's records into sessions.
func (im *importer) split() {
	for _, n := range im.order {
		var cur *session
		for _, e := range im.byNode[n] {
			if e.Kind == KindStart || cur == nil {
				cur = &session{node: n, first: e, started: e.Kind == KindStart, last: e}
				im.sessions[n] = append(im.sessions[n], cur)
			}
			cur.entries = append(cur.entries, e)
			cur.last = e
			if e.Kind == KindStop {
				cur.stop = &cur.entries[len(cur.entries)-1]
				cur = nil
			}
		}
	}
}

// findEnd sets the end of the recording: the last record that is not an
// agent's final stop. Stops after it are the end of the recording, not
// faults.
func (im *importer) findEnd() {
	for _, n := range im.order {
		ss := im.sessions[n]
		for i, s := range ss {
			for _, e := range s.entries {
				if i == len(ss)-1 && s.stop != nil && e.Line == s.stop.Line && e.File == s.stop.File {
					continue
				}
				if e.Time.After(im.end) {
					im.end = e.Time
				}
			}
		}
	}
}

// crashes estimates when each session without a stop record ended: when the
// peers noticed, less knet's detection time, but not before the node's own
// last record. A crashed agent's host still runs, so its kernel answers the
// next datagram to the closed ports with ICMP port unreachable and knet
// takes the link down at the following heartbeat pass: the earliest
// link_down about it came about half a pass after the crash, not a pong
// timeout.
func (im *importer) crashes() {
	for _, n := range im.order {
		ss := im.sessions[n]
		for i, s := range ss {
			if s.stop != nil {
				continue
			}
			limit := im.end.Add(time.Nanosecond)
			if i+1 < len(ss) {
				limit = ss[i+1].first.Time
			}
			at, seen := im.peersLost(n, s.last.Time, limit, true)
			switch {
			case i+1 < len(ss):
				s.crashed = true
			case seen && im.lostAtEnd(n):
				s.crashed = true
			default:
				continue
			}
			s.crashAt = s.last.Time
			if seen && at.After(s.crashAt) {
				s.crashAt = at
			}
			// The peers' token loss dates a crash better than knet's
			// detection: the first hint after the node's last record.
			if h, ok := im.hint(s.last.Time, s.last.Time.Add(time.Nanosecond), s.crashAt.Add(im.timeout*links.PongTimeoutBackoff)); ok {
				s.crashAt = h
			}
		}
	}
}

// peersLost returns the earliest estimated loss of node among the
// link_down records about it that peers wrote in (after, before): each
// record's time less knet's detection time then, which is half a heartbeat
// pass when icmp (the node's closed ports answered) and the pong timeout
// otherwise.
func (im *importer) peersLost(node string, after, before time.Time, icmp bool) (time.Time, bool) {
	var first time.Time
	for _, p := range im.order {
		for _, s := range im.sessions[p] {
			since := map[int]time.Time{}
			for _, e := range s.entries {
				if e.Kind != KindLinkDown || e.Peer != node {
					continue
				}
				from, downBefore := since[*e.Link]
				since[*e.Link] = e.Time
				if !e.Time.After(after) || !e.Time.Before(before) {
					continue
				}
				at := e.Time.Add(-links.TimerRes / 2)
				if !icmp {
					at = im.lostAt(s, e, from, downBefore)
				}
				if first.IsZero() || at.Before(first) {
					first = at
				}
			}
		}
	}
	return first, !first.IsZero()
}

// lostAtEnd reports whether every peer still running at the end sees
// every link to node down.
func (im *importer) lostAtEnd(node string) bool {
	any := false
	for _, p := range im.order {
		ss := im.sessions[p]
		if p == node || len(ss) == 0 {
			continue
		}
		last := ss[len(ss)-1]
		if last.stop != nil && !last.stop.Time.After(im.end) {
			continue
		}
		up := map[int]bool{}
		for _, e := range last.entries {
			if e.Peer == node && (e.Kind == KindLinkUp || e.Kind == KindLinkDown) {
				up[*e.Link] = e.Kind == KindLinkUp
			}
		}
		for _, u := range up {
			if u {
				return false
			}
		}
		any = true
	}
	return any
}

func (im *importer) mapNames(ns []string) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = im.names[n]
	}
	return out
}

// rel is a wall-clock instant as scenario time, rounded to the millisecond.
func (im *importer) rel(t time.Time) time.Duration {
	return max(t.Sub(im.t0).Round(time.Millisecond), 0)
}

func dur(d time.Duration) string { return d.Round(time.Millisecond).String() }

// fault is one line of the faults section.
type fault struct {
	at    time.Duration
	seq   int
	line  string
	notes []string
}

// yaml writes the scenario.
func (im *importer) yaml(name string, js []*Journal) []byte {
	c := im.cfg
	if im.opts.Cluster != nil {
		c = im.opts.Cluster
	}
	var b strings.Builder
	files := make([]string, len(js))
	for i, j := range js {
		files[i] = j.File
	}
	source := cmp.Or(im.opts.Source, "the agents' journals")
	fmt.Fprintf(&b, "# Imported by quorate trace import from %s.\n", strings.Join(files, ", "))
	fmt.Fprintf(&b, "# 0s is %s; the recording ends at %s.\n", im.t0.Format(time.RFC3339Nano), dur(im.end.Sub(im.t0)))
	for _, n := range im.opts.Notes {
		fmt.Fprintf(&b, "# %s\n", oneLine(n))
	}
	fmt.Fprintf(&b, "name: %s\n", name)
	what := "replayed"
	if im.opts.Cluster != nil {
		what = "replayed on a changed cluster (what if)"
	}
	fmt.Fprintf(&b, "description: >\n  %s of cluster %s (config_version %d, %d nodes) %s:\n"+
		"  the observed crashes, restarts and link cuts at their relative times.\n", upperFirst(source), im.cluster, c.ConfigVersion, len(c.Nodes), what)
	b.WriteString("seed: 1\n")
	fmt.Fprintf(&b, "duration: %s\n", dur(im.end.Sub(im.t0)+settle))
	b.WriteString("cluster:\n  nodes:\n")
	for _, n := range c.Nodes {
		sn := cmp.Or(im.names[n.Name], n.Name)
		fmt.Fprintf(&b, "    - {name: %s, id: %d, votes: %d", sn, n.ID, n.Votes)
		if ss := im.sessions[n.Name]; len(ss) > 0 && ss[0].started && im.rel(ss[0].first.Time) > 0 {
			fmt.Fprintf(&b, ", boot_at: %s", dur(im.rel(ss[0].first.Time)))
		}
		b.WriteString("}")
		var addrs []string
		for _, l := range im.links {
			if a := n.Addrs[strconv.Itoa(l)]; a != "" {
				addrs = append(addrs, fmt.Sprintf("ring%d_addr %s", l, a))
			}
		}
		if len(im.byNode[n.Name]) == 0 {
			addrs = append(addrs, "no journal: assumed up throughout")
		}
		if len(addrs) > 0 {
			b.WriteString("  # " + strings.Join(addrs, ", "))
		}
		b.WriteString("\n")
	}
	if len(im.added) > 0 || len(im.changes) > 0 {
		im.addedYAML(&b, c)
	}
	fmt.Fprintf(&b, "  totem:\n    token: %s\n    token_coefficient: %s\n", dur(time.Duration(c.Token)), dur(time.Duration(c.TokenCoefficient)))
	for _, kv := range []struct {
		k string
		v Duration
	}{{"consensus", c.Consensus}, {"join", c.Join}, {"merge", c.Merge}} {
		if kv.v != 0 {
			fmt.Fprintf(&b, "    %s: %s\n", kv.k, dur(time.Duration(kv.v)))
		}
	}
	if c.ExpectedVotes != 0 || c.TwoNode || c.WaitForAll || c.LastManStanding || c.AutoTieBreaker || c.Device {
		b.WriteString("  quorum:\n")
		if c.ExpectedVotes != 0 {
			fmt.Fprintf(&b, "    expected_votes: %d\n", c.ExpectedVotes)
		}
		fmt.Fprintf(&b, "    two_node: %t\n    wait_for_all: %t\n    last_man_standing: %t\n    auto_tie_breaker: %t\n",
			c.TwoNode, c.WaitForAll, c.LastManStanding, c.AutoTieBreaker)
		if c.Device {
			fmt.Fprintf(&b, "    device: {algorithm: %s}   # the simulator's qnetd stands for the recorded one\n", c.deviceAlgorithm())
		}
	}
	fmt.Fprintf(&b, "network:\n  link_mode: %s\n  links:\n", cmp.Or(c.LinkMode, "passive"))
	for _, l := range c.Links {
		fmt.Fprintf(&b, "    - {number: %d, switch: link%d, priority: %d", l.Number, l.Number, l.Priority)
		if l.PingInterval != 0 {
			fmt.Fprintf(&b, ", ping_interval: %s", dur(time.Duration(l.PingInterval)))
		}
		if l.PingTimeout != 0 {
			fmt.Fprintf(&b, ", ping_timeout: %s", dur(time.Duration(l.PingTimeout)))
		}
		if l.PongCount != 0 {
			fmt.Fprintf(&b, ", pong_count: %d", l.PongCount)
		}
		b.WriteString("}\n")
	}
	faults := append(im.nodeFaults(), im.linkFaults()...)
	faults = append(faults, im.addFaults()...)
	faults = append(faults, im.confFaults()...)
	for _, x := range im.opts.Extra {
		at := im.rel(x.At)
		f := fault{at: at, seq: 5, line: fmt.Sprintf("{at: %s, %s}", dur(at), x.Fields)}
		if x.Note != "" {
			f.notes = []string{oneLine(x.Note)}
		}
		faults = append(faults, f)
	}
	sort.SliceStable(faults, func(i, j int) bool {
		if faults[i].at != faults[j].at {
			return faults[i].at < faults[j].at
		}
		return faults[i].seq < faults[j].seq
	})
	if len(faults) == 0 {
		b.WriteString("faults: []\n")
	} else {
		b.WriteString("faults:\n")
	}
	for _, f := range faults {
		for _, n := range f.notes {
			fmt.Fprintf(&b, "  # %s\n", n)
		}
		fmt.Fprintf(&b, "  - %s\n", f.line)
	}
	if !im.opts.NoExpect {
		b.WriteString(im.expect())
	}
	return []byte(b.String())
}

// nodeFaults are the crashes, stops and restarts.
func (im *importer) nodeFaults() []fault {
	var out []fault
	for _, n := range im.order {
		sn := im.names[n]
		ss := im.sessions[n]
		for i, s := range ss {
			if i > 0 && s.started {
				out = append(out, fault{at: im.rel(s.first.Time), seq: 1,
					line:  fmt.Sprintf("{at: %s, action: restart, node: %s}", dur(im.rel(s.first.Time)), sn),
					notes: []string{fmt.Sprintf("%s: agent started again (%s:%d)", sn, s.first.File, s.first.Line)}})
			}
			switch {
			case removed(s):
				// delnode (confFaults) stops it, as the member's
				// NODELIST_DEL stopped the agent.
			case s.stop != nil && (i < len(ss)-1 || !s.stop.Time.After(im.end)):
				at := im.rel(s.stop.Time)
				out = append(out, fault{at: at, seq: 0,
					line: fmt.Sprintf("{at: %s, action: crash, node: %s}", dur(at), sn),
					notes: []string{fmt.Sprintf("%s: agent stopped (%s:%d, %s); a stopped agent tells its peers nothing, as a crashed one",
						sn, s.stop.File, s.stop.Line, cmp.Or(s.stop.Reason, "no reason"))}})
			case s.crashed:
				at := im.rel(s.crashAt)
				out = append(out, fault{at: at, seq: 0,
					line:  fmt.Sprintf("{at: %s, action: crash, node: %s}", dur(at), sn),
					notes: []string{fmt.Sprintf("%s: journal ends without a stop record at %s:%d; peers lost it", sn, s.last.File, s.last.Line)}})
			}
		}
	}
	return out
}

// span is an interval of wall-clock time; to is the zero time when open.
type span struct {
	from, to time.Time
	healed   bool      // ended by a link_up, not by the end of the session
	cutAt    time.Time // the estimated moment the path broke
}

// pair is an unordered pair of journal node names (a < b) on a link.
type pair struct {
	a, b string
	link int
}

// downs returns, per observer, peer and link, the spans in which the
// observer's knet had the link to the peer down.
func (im *importer) downs() map[pair][]span {
	out := map[pair][]span{} // pair{a: observer, b: peer}
	for _, n := range im.order {
		for _, s := range im.sessions[n] {
			open := map[pair]span{}
			reset := map[pair]time.Time{} // last restart of the pong timeout backoff
			for _, e := range s.entries {
				if e.Kind != KindLinkUp && e.Kind != KindLinkDown {
					continue
				}
				k := pair{n, e.Peer, *e.Link}
				sp, isDown := open[k]
				switch {
				case e.Kind == KindLinkDown && !isDown:
					since, downBefore := reset[k]
					open[k] = span{from: e.Time, cutAt: im.lostAt(s, e, since, downBefore)}
					reset[k] = e.Time
				case e.Kind == KindLinkUp && isDown:
					sp.to, sp.healed = e.Time, true
					out[k] = append(out[k], sp)
					delete(open, k)
				}
			}
			end := s.last.Time
			if s.stop == nil && !s.crashed {
				end = im.end.Add(time.Hour) // still down when the recording ends
			} else if s.crashed {
				end = s.crashAt
			}
			for k, sp := range open {
				sp.to = end
				out[k] = append(out[k], sp)
			}
		}
	}
	return out
}

// startStep is how far apart the replay boots nodes whose records date
// their starts to one instant.
const startStep = 10 * time.Millisecond

// staggerStarts boots the nodes whose first start records carry the same
// instant startStep apart, in nodelist order, and says so in the
// scenario's notes. Daemons never start in the same nanosecond: launched
// together by one script, the recorded Corosync incidents' daemons formed
// their first rings 4 to 76 ms apart by their hires timestamps. Records
// that cannot tell them apart (Corosync logs that count whole seconds, or
// that begin after the start, imported through here) would have the
// replay boot them in one nanosecond and run their timers in lockstep:
// three nodes whose merge detections cross within 70 µs can split their
// first ring into a COMMIT that waits out a whole token timeout, a race no
// real start runs. The records dated at the start (the members and
// verdict of a log that begins after it) move with it.
func (im *importer) staggerStarts() {
	seen := map[int64]int{}
	var moved []string
	for _, n := range im.order {
		es := im.byNode[n]
		k := slices.IndexFunc(es, func(e Entry) bool { return e.Kind == KindStart })
		if k < 0 {
			continue
		}
		at := es[k].Time
		i := seen[at.UnixNano()]
		seen[at.UnixNano()]++
		if i == 0 {
			continue
		}
		to := at.Add(time.Duration(i) * startStep)
		for j := k; j < len(es) && es[j].Time.Before(to); j++ {
			es[j].Time = to
		}
		moved = append(moved, im.names[n])
	}
	if len(moved) > 0 {
		im.opts.Notes = append(slices.Clip(im.opts.Notes), fmt.Sprintf("The records date the start of %s to the same instant as another node's; the replay boots each %v after the one before it in the nodelist.",
			strings.Join(moved, ", "), startStep))
	}
}

// lostAt estimates when the path behind link_down record e of session s
// broke. knet declares a link down at the first heartbeat wake (every
// links.TimerRes) at which the last pong is older than the ping timeout
// times the backoff; the last pong came half a ping interval before the
// break on average. The backoff is links.PongTimeoutBackoff when the
// agent starts and when the link goes down, and drops by one at each
// whole second of the agent's heartbeat (counted from the agent's start,
// which the record's monotonic instant gives) down to 1. So a link cut in
// an agent's first seconds, or soon after it last failed (prev, when
// downBefore), is noticed several timeouts late, and the cut must be
// placed that much earlier for the simulator to see the same token
// losses.
func (im *importer) lostAt(s *session, e Entry, prev time.Time, downBefore bool) time.Time {
	origin := s.first.Time
	if e.Mono > 0 {
		origin = e.Time.Add(-time.Duration(e.Mono))
	}
	tick := func(t time.Time) int { return int(t.Sub(origin) / time.Second) }
	ticks := tick(e.Time)
	if downBefore {
		ticks -= tick(prev)
	}
	backoff := max(links.PongTimeoutBackoff-ticks, 1)
	return e.Time.Add(-im.timeout*time.Duration(backoff) + im.interval/2 - links.TimerRes/2)
}

// cuts are the links seen down from both sides, as estimated physical
// spans.
func (im *importer) cuts() map[pair][]span {
	d := im.downs()
	out := map[pair][]span{}
	for i, a := range im.order {
		for _, b := range im.order[i+1:] {
			for _, l := range im.links {
				for _, x := range d[pair{a, b, l}] {
					for _, y := range d[pair{b, a, l}] {
						lo, hi := later(x.from, y.from), earlier(x.to, y.to)
						if !lo.Before(hi) {
							continue
						}
						from := earlier(x.cutAt, y.cutAt)
						to := hi
						if (hi.Equal(x.to) && x.healed) || (hi.Equal(y.to) && y.healed) {
							to = hi.Add(-im.upDelay)
						}
						if !to.After(from) {
							to = from.Add(time.Millisecond)
						}
						out[pair{a, b, l}] = append(out[pair{a, b, l}], span{from: from, to: to})
					}
				}
			}
		}
	}
	return out
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// linkFaults turns the cuts into faults: the change points are grouped
// (the estimates of the pairs of one physical event spread over up to a
// ping timeout and a ping interval), the network's state after each
// group is described by conditions, and the difference between consecutive
// descriptions becomes faults.
func (im *importer) linkFaults() []fault {
	cuts := im.cuts()
	type point struct {
		t   time.Time
		end bool
	}
	var points []point
	for _, ss := range cuts {
		for _, s := range ss {
			points = append(points, point{s.from, false})
			if !s.to.After(im.end) { // else still cut when the recording ends
				points = append(points, point{s.to, true})
			}
		}
	}
	slices.SortStableFunc(points, func(a, b point) int { return a.t.Compare(b.t) })
	window := im.timeout + im.interval
	var out []fault
	prev := map[string]cond{}
	for i := 0; i < len(points); {
		// A group holds cuts or repairs, never both: a short outage stays
		// an outage and a repair, and a cut just after a repair is not
		// moved back to it.
		first, j := points[i].t, i
		for j < len(points) && points[j].t.Sub(first) <= window && points[j].end == points[i].end {
			j++
		}
		lastT := points[j-1].t
		i = j
		cut := map[pair]bool{}
		for p, ss := range cuts {
			for _, s := range ss {
				if !s.from.After(lastT) && lastT.Before(s.to) {
					cut[p] = true
				}
			}
		}
		next := im.describe(cut)
		if !points[i-1].end {
			if h, ok := im.hint(first, first.Add(-3*im.timeout), first.Add(3*im.timeout)); ok {
				first = h
			}
		}
		out = append(out, im.diff(im.rel(first), prev, next, cut)...)
		prev = next
	}
	return out
}

// cond is one condition of the network: a fault in effect.
type cond struct {
	action string // switch_down, isolate, link_down, partition, drop
	line   string // the fault's fields after "action: ..."
}

// describe names the cut pairs with the plainest conditions.
func (im *importer) describe(cut map[pair]bool) map[string]cond {
	out := map[string]cond{}
	add := func(c cond) { out[c.action+" "+c.line] = c }
	// Pairs are keyed with a before b in nodelist order.
	idx := map[string]int{}
	for i, n := range im.order {
		idx[n] = i
	}
	isCut := func(a, b string, l int) bool {
		if idx[a] > idx[b] {
			a, b = b, a
		}
		return cut[pair{a, b, l}]
	}
	n := len(im.order)
	switchDown := map[int]bool{}
	for _, l := range im.links {
		all := n >= 2
		for i, a := range im.order {
			for _, b := range im.order[i+1:] {
				all = all && isCut(a, b, l)
			}
		}
		if all {
			switchDown[l] = true
			add(cond{action: "switch_down", line: "switch: link" + strconv.Itoa(l)})
		}
	}
	gone := map[pair]bool{} // node a's link l accounted for (isolated or NIC down)
	cutOff := func(a string, l int) bool {
		for _, b := range im.order {
			if b != a && !isCut(a, b, l) {
				return false
			}
		}
		return n >= 2
	}
	for _, a := range im.order {
		var open []int
		all := true
		for _, l := range im.links {
			all = all && cutOff(a, l)
			if !switchDown[l] {
				open = append(open, l)
			}
		}
		if !all || len(open) == 0 || n < 3 {
			continue
		}
		line := "node: " + im.names[a]
		if len(open) < len(im.links) {
			line += ", links: " + intList(open)
		}
		add(cond{action: "isolate", line: line})
		for _, l := range open {
			gone[pair{a: a, link: l}] = true
		}
	}
	for _, l := range im.links {
		if switchDown[l] {
			continue
		}
		for _, a := range im.order {
			if !gone[pair{a: a, link: l}] && cutOff(a, l) && n >= 3 {
				add(cond{action: "link_down", line: fmt.Sprintf("node: %s, link: %d", im.names[a], l)})
				gone[pair{a: a, link: l}] = true
			}
		}
		// What is left on the link: a partition if the cut pairs split the
		// remaining nodes into groups, else one-way drops.
		var rest []string
		for _, a := range im.order {
			if !gone[pair{a: a, link: l}] {
				rest = append(rest, a)
			}
		}
		group := map[string]int{}
		var groups [][]string
		for _, a := range rest {
			if _, ok := group[a]; ok {
				continue
			}
			g := len(groups)
			group[a] = g
			members := []string{a}
			for k := 0; k < len(members); k++ {
				for _, b := range rest {
					if _, ok := group[b]; !ok && !isCut(members[k], b, l) {
						group[b] = g
						members = append(members, b)
					}
				}
			}
			groups = append(groups, members)
		}
		clean := len(groups) >= 2
		for i, a := range rest {
			for _, b := range rest[i+1:] {
				if isCut(a, b, l) != (group[a] != group[b]) {
					clean = false
				}
			}
		}
		if clean {
			parts := make([]string, len(groups))
			for i, g := range groups {
				parts[i] = "[" + strings.Join(im.mapNames(g), ", ") + "]"
			}
			add(cond{action: "partition", line: fmt.Sprintf("groups: [%s], links: [%d]", strings.Join(parts, ", "), l)})
			continue
		}
		for i, a := range rest {
			for _, b := range rest[i+1:] {
				if isCut(a, b, l) {
					add(cond{action: "drop", line: fmt.Sprintf("from: [%s, %s], to: [%s, %s], links: [%d]",
						im.names[a], im.names[b], im.names[b], im.names[a], l)})
				}
			}
		}
	}
	return out
}

// diff turns the change from prev to next into faults at at: recoveries,
// then (when an isolate, partition or drop ended) a heal and the ones
// that remain, then the new faults.
func (im *importer) diff(at time.Duration, prev, next map[string]cond, cut map[pair]bool) []fault {
	var out []fault
	emit := func(seq int, action, line string) {
		f := fault{at: at, seq: seq, line: fmt.Sprintf("{at: %s, action: %s", dur(at), action)}
		if line != "" {
			f.line += ", " + line
		}
		f.line += "}"
		out = append(out, f)
	}
	keys := func(m map[string]cond) []string {
		ks := make([]string, 0, len(m))
		for k := range m {
			ks = append(ks, k)
		}
		slices.Sort(ks)
		return ks
	}
	healing := false
	for _, k := range keys(prev) {
		if _, ok := next[k]; ok {
			continue
		}
		c := prev[k]
		switch c.action {
		case "switch_down":
			emit(2, "switch_up", c.line)
		case "link_down":
			emit(2, "link_up", c.line)
		default:
			healing = true
		}
	}
	if healing {
		emit(3, "heal", "")
	}
	for _, k := range keys(next) {
		c := next[k]
		_, had := prev[k]
		if had && (!healing || c.action == "switch_down" || c.action == "link_down") {
			continue
		}
		emit(4, c.action, c.line)
	}
	if len(out) > 0 {
		out[0].notes = append(out[0].notes, "links seen down from both sides: "+im.cutText(cut))
	}
	return out
}

// cutText lists the cut pairs per link, "none" when every link is whole.
func (im *importer) cutText(cut map[pair]bool) string {
	var parts []string
	for _, l := range im.links {
		var ps []string
		for i, a := range im.order {
			for _, b := range im.order[i+1:] {
				if cut[pair{a, b, l}] {
					ps = append(ps, im.names[a]+"-"+im.names[b])
				}
			}
		}
		if len(ps) > 0 {
			parts = append(parts, fmt.Sprintf("link %d: %s", l, strings.Join(ps, " ")))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

func intList(ls []int) string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = strconv.Itoa(l)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// expect asserts the final state each running node recorded: its members
// and its quorum verdict at the end of the run.
func (im *importer) expect() string {
	var b strings.Builder
	at := dur(im.end.Sub(im.t0) + settle)
	for _, n := range im.order {
		ss := im.sessions[n]
		if len(ss) == 0 {
			continue
		}
		last := ss[len(ss)-1]
		if last.crashed || (last.stop != nil && !last.stop.Time.After(im.end)) {
			continue
		}
		var members []string
		var quorate *bool
		for _, e := range last.entries {
			switch e.Kind {
			case KindMembership:
				members = im.mapNames(e.Members)
			case KindQuorum:
				quorate = e.Quorate
			}
		}
		if members == nil && quorate == nil {
			continue
		}
		fmt.Fprintf(&b, "  - {at: %s, node: %s", at, im.names[n])
		if members != nil {
			slices.Sort(members)
			fmt.Fprintf(&b, ", members: [%s]", strings.Join(members, ", "))
		}
		if quorate != nil {
			fmt.Fprintf(&b, ", quorate: %t", *quorate)
		}
		b.WriteString("}\n")
	}
	if b.Len() == 0 {
		return ""
	}
	return "expect:   # the state every running node recorded last\n" + b.String()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// oneLine keeps a comment on its line.
func oneLine(s string) string { return strings.NewReplacer("\n", " ", "\r", " ").Replace(s) }
