package corolog

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quorate/quorate/scenarios/corosyncconf"
	"github.com/quorate/quorate/scenarios/journal"
)

// ImportOptions are the choices of an import.
type ImportOptions struct {
	// Name is the scenario's name; "" gives "incident-CLUSTER".
	Name string
	// TrustClocks takes the clock of a node that shares no membership with
	// the others as it is, instead of failing.
	TrustClocks bool
	// WhatIf, when set, is a changed corosync.conf: the scenario replays
	// the same faults at the same times on this cluster, without the
	// recorded outcome as expectations.
	WhatIf *corosyncconf.Config
}

// Incident is a scenario rebuilt from Corosync logs.
type Incident struct {
	*journal.Imported
	// Nodes says, per node with a log, which files and hosts were its and
	// how they were recognised.
	Nodes map[string][]string
	// Clocks is the alignment of every node's clock, reference first.
	Clocks []Alignment
	// Loss lists the episodes of message loss inferred from Totem's
	// retransmissions.
	Loss []Loss
	// FromFormed is true when the sequences of the nodes started together
	// begin at the cluster's formation (see trimStart).
	FromFormed bool
	// Notes are what the import recognised besides faults (token
	// warnings, config reloads), as written at the head of the scenario.
	Notes []string
}

// Import turns the logs of one incident and the cluster's corosync.conf
// into a scenario. See the package documentation.
func Import(conf *corosyncconf.Config, logs []*Log, o ImportOptions) (*Incident, error) {
	if len(logs) == 0 {
		return nil, fmt.Errorf("%w: no logs", ErrInput)
	}
	if len(conf.Nodes) == 0 {
		return nil, errAt(conf.File, 0, "no nodelist: the importer needs the nodelist to tell the nodes apart (supply the cluster's corosync.conf)")
	}
	srcs := split(logs)
	for _, s := range srcs {
		if err := checkIDs(conf, s); err != nil {
			return nil, err
		}
		if err := recognise(conf, s); err != nil {
			return nil, err
		}
	}
	names, events, how := byNode(conf, srcs)
	clocks, err := align(names, events, o.TrustClocks)
	if err != nil {
		return nil, err
	}
	for i, n := range names {
		es := events[n]
		for k := range es {
			es[k].Time = es[k].Time.Add(clocks[i].Offset)
		}
		slices.SortStableFunc(es, func(a, b Event) int { return a.Time.Compare(b.Time) })
	}
	t0 := events[names[0]][0].Time
	for _, n := range names {
		t0 = earliest(t0, events[n][0].Time)
	}
	cfg := journalConfig(conf)
	cluster := cmp.Or(conf.ClusterName, "corosync")
	stopped := shutdowns(names, events)
	var js []*journal.Journal
	for _, n := range names {
		js = append(js, records(conf, cfg, cluster, n, events[n], t0, stopped))
	}
	in := &Incident{Nodes: how, Clocks: clocks}
	opts := journal.Options{Source: "the corosync logs"}
	for _, n := range names {
		opts.Notes = append(opts.Notes, "Node "+n+": "+strings.Join(how[n], " and ")+".")
	}
	var worst time.Duration
	for _, c := range clocks {
		worst = max(worst, c.Residual)
		opts.Notes = append(opts.Notes, "Clock "+c.String()+".")
	}
	opts.Notes = append(opts.Notes, fmt.Sprintf("The clocks align within %v.", worst))
	in.Loss = losses(conf, names, events)
	for _, l := range in.Loss {
		for _, link := range l.Links {
			opts.Extra = append(opts.Extra,
				journal.ExtraFault{At: l.From, Fields: fmt.Sprintf("action: set_loss, link: %d, loss: %s", link, strconv.FormatFloat(l.Rate, 'f', -1, 64)), Note: l.String()},
				journal.ExtraFault{At: l.To, Fields: fmt.Sprintf("action: set_loss, link: %d, loss: 0", link), Note: "the retransmissions stop"})
		}
	}
	// "Token has not been received in N ms" dates the failure that
	// stopped the token: N ms before the line.
	for _, n := range names {
		for _, e := range events[n] {
			if e.Kind == KindTokenWarning {
				opts.Hints = append(opts.Hints, e.Time.Add(-time.Duration(e.Millis)*time.Millisecond))
			}
		}
	}
	x, notes := extras(conf, names, events)
	opts.Extra = append(opts.Extra, x...)
	in.Notes = notes
	opts.Notes = append(opts.Notes, notes...)
	if o.WhatIf != nil {
		opts.Cluster, opts.NoExpect = journalConfig(o.WhatIf), true
		opts.Notes = append(opts.Notes, "What if: the cluster of "+o.WhatIf.File+" instead of "+conf.File+"; no expectations (the recorded outcome is in the .members.json sidecar).")
	}
	name := cmp.Or(o.Name, "incident-"+sanitize(cluster))
	im, err := journal.ImportWith(js, name, opts)
	if err != nil {
		return nil, err
	}
	in.Imported = im
	in.trimStart(conf, names, events, t0)
	return in, nil
}

// trimStart cuts the observed sequences of the nodes that started together
// to begin at the cluster's formation: the first membership of all of
// them. Which of them formed a ring first, milliseconds apart, is a race
// of the real start that no replay times; the comparison cuts the
// simulated sequences alike (journal.Sequences.From).
func (in *Incident) trimStart(conf *corosyncconf.Config, names []string, events map[string][]Event, t0 time.Time) {
	var together []string
	for _, n := range names {
		es := events[n]
		if es[0].Kind != KindStart || es[0].Time.Sub(t0) < coStart {
			together = append(together, n)
		}
	}
	slices.Sort(together)
	trimmed := in.Membership.From(journal.Sequences{})
	for _, n := range together {
		seq := in.Membership[n]
		if i := slices.IndexFunc(seq, func(set []string) bool { return slices.Equal(set, together) }); i > 0 {
			trimmed[n] = seq[i:]
			in.MembershipAt[n] = in.MembershipAt[n][i:]
			in.FromFormed = true
		}
	}
	in.Membership = trimmed
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, s)
}

// journalConfig summarises the corosync.conf as the agent's start record
// does.
func journalConfig(c *corosyncconf.Config) *journal.Config { return journal.ConfigOf(c, nodeName) }

// coStart is how close to the first node's start another node's start
// counts as the same cluster start, whose first rings trimStart leaves out
// of the comparison.
const coStart = time.Second

// records writes one node's events as the agent's journal records: a
// start at "starting up" (or at t0 when the log begins after the start),
// a stop at "Node was shut down by a signal", knet's link changes, the
// member sets of "Members[N]:" and the quorum verdicts. Between a
// shutdown and the next start the node is down and its lines (knet's
// goodbyes) are left out.
func records(conf *corosyncconf.Config, cfg *journal.Config, cluster, name string, es []Event, t0 time.Time, stopped map[string][][2]time.Time) *journal.Journal {
	// The journal importer reads a file once; one journal of several
	// hosts is one journal per node here.
	j := &journal.Journal{File: es[0].File + " (" + name + ")"}
	var self uint32
	for i := range conf.Nodes {
		if nodeName(&conf.Nodes[i]) == name {
			self = conf.Nodes[i].NodeID
		}
	}
	nameOf := func(id uint32) string {
		for i := range conf.Nodes {
			if conf.Nodes[i].NodeID == id {
				return nodeName(&conf.Nodes[i])
			}
		}
		return ""
	}
	// The monotonic instant tells the journal importer how long the
	// process had run (knet's start-up backoff); a log that begins after
	// the start has run long.
	origin := t0.Add(-time.Hour)
	add := func(e Event, r journal.Record) {
		r.Time, r.Mono, r.Cluster, r.Node, r.NodeID = e.Time, int64(e.Time.Sub(origin)), cluster, name, self
		j.Entries = append(j.Entries, journal.Entry{Record: r, File: e.File, Line: e.Num})
	}
	down, ring := false, ""
	if es[0].Kind != KindStart {
		at := Event{Line: Line{Time: t0, File: es[0].File, Num: es[0].Num}}
		add(at, journal.Record{Kind: journal.KindStart, Config: cfg})
		// The members before the log began: the first new ring's
		// members less those that joined, plus those that left.
		if prev := before(es); prev != nil {
			var ms []string
			for _, id := range prev {
				ms = append(ms, nameOf(id))
			}
			add(at, journal.Record{Kind: journal.KindMembership, Members: ms})
		}
		// votequorum logs a verdict when it changes: before the first
		// one, the node had the other.
		if k := slices.IndexFunc(es, func(e Event) bool { return e.Kind == KindQuorate || e.Kind == KindStart }); k >= 0 && es[k].Kind == KindQuorate {
			q := !es[k].Quorate
			add(at, journal.Record{Kind: journal.KindQuorum, Quorate: &q})
		}
	}
	for i, e := range es {
		switch e.Kind {
		case KindStart:
			// corosync loads its services for a few hundred milliseconds
			// before Totem runs; the simulator's node runs at once, so the
			// start is dated at the node's first ring (or the first
			// thing it logs of its peers).
			for _, f := range es[i+1:] {
				if f.Kind == KindStart || f.Kind == KindShutdown {
					break
				}
				if f.Kind == KindRing || f.Kind == KindLinkUp || f.Kind == KindLinkDown || f.Kind == KindMembers {
					e.Time = f.Time
					break
				}
			}
			origin, down, ring = e.Time, false, ""
			add(e, journal.Record{Kind: journal.KindStart, Config: cfg})
			// votequorum starts not quorate and logs only a change.
			if conf.Quorum.Provider != "" {
				no := false
				add(e, journal.Record{Kind: journal.KindQuorum, Quorate: &no})
			}
		case KindShutdown:
			if !down {
				add(e, journal.Record{Kind: journal.KindStop, Reason: "signal"})
				down = true
			}
		case KindLinkUp, KindLinkDown:
			if down || e.Host == self || within(stopped[nameOf(e.Host)], e.Time) {
				continue // the peer's own shutdown, not a fault
			}
			k, link := journal.KindLinkUp, e.Link
			if e.Kind == KindLinkDown {
				k = journal.KindLinkDown
			}
			add(e, journal.Record{Kind: k, Peer: nameOf(e.Host), PeerID: e.Host, Link: &link})
		case KindRing:
			ring = e.Ring
		case KindMembers:
			if down {
				continue
			}
			var ms []string
			for _, id := range e.IDs {
				ms = append(ms, nameOf(id))
			}
			add(e, journal.Record{Kind: journal.KindMembership, Ring: ring, Members: ms})
		case KindQuorate:
			if down {
				continue
			}
			q := e.Quorate
			add(e, journal.Record{Kind: journal.KindQuorum, Quorate: &q})
		}
	}
	return j
}

// before returns the members a node had before its log's first new ring,
// from that ring's joined and left lists and the members it logged with
// it; nil when the log has no such ring or the ring changed nothing.
func before(es []Event) []uint32 {
	for i, e := range es {
		if e.Kind == KindStart {
			return nil
		}
		if e.Kind != KindRing {
			continue
		}
		if len(e.Joined) == 0 && len(e.Left) == 0 {
			return nil
		}
		for _, f := range es[i+1:] {
			if f.Kind == KindRing || f.Kind == KindStart {
				return nil
			}
			if f.Kind == KindMembers {
				var prev []uint32
				for _, id := range f.IDs {
					if !slices.Contains(e.Joined, id) {
						prev = append(prev, id)
					}
				}
				prev = append(prev, e.Left...)
				slices.Sort(prev)
				return slices.Compact(prev)
			}
		}
		return nil
	}
	return nil
}

// shutdowns are, per node, the spans from "Node was shut down by a
// signal" to its next start (or forever): knet's link-downs about a node
// that is stopping are its shutdown, not a fault. A span begins a second
// early in logs that count whole seconds.
func shutdowns(names []string, events map[string][]Event) map[string][][2]time.Time {
	out := map[string][][2]time.Time{}
	for _, n := range names {
		var from time.Time
		for _, e := range events[n] {
			switch {
			case e.Kind == KindShutdown && from.IsZero():
				from = e.Time
				if e.Coarse {
					from = from.Add(-time.Second)
				}
			case e.Kind == KindStart && !from.IsZero():
				out[n] = append(out[n], [2]time.Time{from, e.Time})
				from = time.Time{}
			}
		}
		if !from.IsZero() {
			out[n] = append(out[n], [2]time.Time{from, from.AddDate(100, 0, 0)})
		}
	}
	return out
}

func within(spans [][2]time.Time, t time.Time) bool {
	for _, s := range spans {
		if !t.Before(s[0]) && t.Before(s[1]) {
			return true
		}
	}
	return false
}

// Loss is an episode of message loss: Totem retransmitted messages, or
// knet lost a link on one side only, on some node between From and To.
type Loss struct {
	From, To time.Time
	// Lines counts the "Retransmit List" and "FAILED TO RECEIVE" lines,
	// Flaps the link-downs that only one side of the link logged.
	Lines, Flaps int
	// Links are the links the flaps were on; all links when the evidence
	// is Totem's alone (Totem does not say which link lost a message).
	Links []int
	// Rate estimates the per-packet loss, from the retransmissions when
	// there are enough (see retransmitRate), else from the flaps (see
	// flapRate).
	Rate   float64
	Failed bool // FAILED TO RECEIVE: a node gave up on messages
	File   string
	Line   int
}

func (l Loss) String() string {
	s := fmt.Sprintf("loss from %s:%d over %v: %d retransmission lines, %d one-sided link-downs; estimated per-packet loss %.2f",
		l.File, l.Line, l.To.Sub(l.From).Round(time.Millisecond), l.Lines, l.Flaps, l.Rate)
	if l.Failed {
		s += "; a node logged FAILED TO RECEIVE"
	}
	return s
}

// lossGap ends an episode: evidence further apart than this is two.
const lossGap = 5 * time.Second

// flap is a link-down that the peer did not log about the observer
// within a few seconds, while the peer was running: a lossy path, not a
// cut, a crash or a stop.
type flap struct {
	e        Event
	observer string
}

// flaps finds the one-sided link-downs.
func flaps(conf *corosyncconf.Config, names []string, events map[string][]Event, stopped map[string][][2]time.Time) []flap {
	idOf := map[string]uint32{}
	for i := range conf.Nodes {
		idOf[nodeName(&conf.Nodes[i])] = conf.Nodes[i].NodeID
	}
	var out []flap
	for _, a := range names {
		for _, e := range events[a] {
			if e.Kind != KindLinkDown {
				continue
			}
			mutual, silent := false, true
			for _, b := range names {
				if idOf[b] != e.Host {
					continue
				}
				for _, f := range events[b] {
					if f.Kind == KindLinkDown && f.Host == idOf[a] && f.Link == e.Link && f.Time.Sub(e.Time).Abs() <= lossGap {
						mutual = true
					}
				}
				// A peer whose next line is its start (or that has none)
				// was down: a crash or a stop, not a lossy path.
				if k := slices.IndexFunc(events[b], func(f Event) bool { return f.Time.After(e.Time) }); k >= 0 {
					silent = events[b][k].Kind == KindStart || within(stopped[b], e.Time)
				}
			}
			if !mutual && !silent {
				out = append(out, flap{e, a})
			}
		}
	}
	return out
}

// losses groups the evidence of all nodes (retransmission lines, FAILED
// TO RECEIVE, one-sided link-downs) into episodes. An episode is loss
// with three retransmission lines or two flaps: a single retransmission
// is the ordinary repair of a membership change, a single one-sided
// link-down a moment's congestion.
func losses(conf *corosyncconf.Config, names []string, events map[string][]Event) []Loss {
	var hits []evidence
	for _, n := range names {
		for _, e := range events[n] {
			if e.Kind == KindRetransmit || e.Kind == KindFailedToReceive {
				hits = append(hits, evidence{e, n})
			}
		}
	}
	for _, f := range flaps(conf, names, events, shutdowns(names, events)) {
		hits = append(hits, evidence{f.e, f.observer})
	}
	slices.SortStableFunc(hits, func(a, b evidence) int { return a.e.Time.Compare(b.e.Time) })
	_, timeout := knetTimers(conf)
	var out []Loss
	for i := 0; i < len(hits); {
		j := i + 1
		for j < len(hits) && hits[j].e.Time.Sub(hits[j-1].e.Time) <= lossGap {
			j++
		}
		ep := hits[i:j]
		i = j
		l := Loss{From: ep[0].e.Time, To: ep[len(ep)-1].e.Time.Add(time.Second), File: ep[0].e.File, Line: ep[0].e.Num}
		links := map[int]bool{}
		for _, h := range ep {
			switch h.e.Kind {
			case KindLinkDown:
				l.Flaps++
				links[h.e.Link] = true
			case KindFailedToReceive:
				l.Failed = true
				l.Lines++
			default:
				l.Lines++
			}
		}
		switch {
		case l.Lines >= 3:
			l.Rate, l.Links = retransmitRate(ep, names, len(conf.Nodes)), conf.LinkNumbers()
		case l.Flaps >= 2:
			// The flaps were detected up to a ping timeout after the loss
			// began.
			l.From = l.From.Add(-timeout)
			pairs := len(conf.Nodes) * (len(conf.Nodes) - 1) * len(links)
			l.Rate = flapRate(l.Flaps, pairs, l.To.Sub(l.From), timeout)
			l.Links = slices.Sorted(maps.Keys(links))
		default:
			continue
		}
		out = append(out, l)
	}
	return out
}

// evidence is a line of a node's log that tells of loss.
type evidence struct {
	e    Event
	node string
}

// retransmitRate estimates the per-packet loss from the retransmit lists:
// per node, the share of the sequence numbers in the range the lists span
// that they name is the share of multicasts some receiver missed,
// 1-(1-p)^(n-1) for n nodes each losing a packet with probability p. The
// median over the nodes is taken.
func retransmitRate(es []evidence, names []string, nodes int) float64 {
	var shares []float64
	for _, n := range names {
		seqs := map[uint64]bool{}
		for _, e := range es {
			if e.node == n {
				for _, s := range e.e.Seqs {
					seqs[s] = true
				}
			}
		}
		if len(seqs) < 2 {
			continue
		}
		lo, hi := uint64(math.MaxUint64), uint64(0)
		for s := range seqs {
			lo, hi = min(lo, s), max(hi, s)
		}
		shares = append(shares, float64(len(seqs))/float64(hi-lo+1))
	}
	share := 0.1
	if len(shares) > 0 {
		slices.Sort(shares)
		share = shares[len(shares)/2]
	}
	p := share
	if nodes > 2 {
		p = 1 - math.Pow(1-math.Min(share, 0.99), 1/float64(nodes-1))
	}
	return clampRate(p)
}

// flapRate estimates the per-packet loss from knet's one-sided
// link-downs: knet pings twice per ping timeout and declares the link
// down when neither ping came back in time, so a timeout window fails
// with probability q² where q = 1-(1-p)² is the loss of one round trip.
// flaps downs over pairs observed (node, peer, link) in span windows of
// timeout give q² and so p.
func flapRate(flaps, pairs int, span, timeout time.Duration) float64 {
	windows := float64(pairs) * math.Max(float64(span)/float64(timeout), 1)
	q := math.Sqrt(math.Min(float64(flaps)/windows, 1))
	return clampRate(1 - math.Sqrt(1-q))
}

func clampRate(p float64) float64 {
	return math.Round(math.Min(math.Max(p, 0.01), 0.5)*100) / 100
}

// knetTimers derives knet's ping interval and timeout as corosync does:
// interval = effective token / (pong_count x 2), timeout = effective
// token / pong_count, unless the interface sets them (the longest wins).
func knetTimers(c *corosyncconf.Config) (interval, timeout time.Duration) {
	eff := c.Totem.Token
	if n := len(c.Nodes); n > 2 {
		eff += time.Duration(n-2) * c.Totem.TokenCoefficient
	}
	for _, in := range c.Interfaces {
		pong := time.Duration(max(in.KnetPongCount, 1))
		interval = max(interval, cmp.Or(in.KnetPingInterval, eff/(pong*2)))
		timeout = max(timeout, cmp.Or(in.KnetPingTimeout, eff/pong))
	}
	return interval, cmp.Or(timeout, eff/2)
}

// extras are the faults and notes besides links, crashes and loss: a
// changed expected vote count becomes set_expected on that node; token
// warnings, config reloads and pmxcfs's quorum changes (which follow
// corosync's by the time pmxcfs polls) are notes.
func extras(conf *corosyncconf.Config, names []string, events map[string][]Event) ([]journal.ExtraFault, []string) {
	var out []journal.ExtraFault
	var notes []string
	configured := int(conf.Quorum.ExpectedVotes)
	if configured == 0 {
		for _, n := range conf.Nodes {
			configured += int(n.QuorumVotes)
		}
	}
	for _, n := range names {
		tokens, longest := 0, 0
		last := configured
		for _, e := range events[n] {
			switch e.Kind {
			case KindTokenWarning:
				tokens++
				longest = max(longest, e.Millis)
			case KindConfigReload:
				notes = append(notes, fmt.Sprintf("%s: config reload at %s (%s:%d); the scenario keeps the configuration given",
					n, e.Time.Format("15:04:05.000"), e.File, e.Num))
			case KindPmxQuorum:
				what := "lost quorum"
				if e.Quorate {
					what = "has quorum"
				}
				notes = append(notes, fmt.Sprintf("%s: pmxcfs: node %s at %s (%s:%d)", n, what, e.Time.Format("15:04:05.000"), e.File, e.Num))
			case KindExpected:
				if e.Votes != last && e.Votes > 0 {
					last = e.Votes
					out = append(out, journal.ExtraFault{At: e.Time, Fields: fmt.Sprintf("action: set_expected, node: %s, votes: %d", n, e.Votes),
						Note: fmt.Sprintf("%s: expected votes %d (%s:%d)", n, e.Votes, e.File, e.Num)})
				}
			}
		}
		if tokens > 0 {
			notes = append(notes, fmt.Sprintf("%s: \"Token has not been received\" %d time(s), the longest wait %d ms", n, tokens, longest))
		}
	}
	return out, notes
}
