package scenarios

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/quorate/quorate/scenarios/corosyncconf"
)

type rawFault struct {
	At        time.Duration `mapstructure:"at"`
	Action    string        `mapstructure:"action"`
	Node      string        `mapstructure:"node"`
	Nodes     []string      `mapstructure:"nodes"`
	After     time.Duration `mapstructure:"after"`
	Boot      rawDist       `mapstructure:"boot"`
	Groups    [][]string    `mapstructure:"groups"`
	Links     []int         `mapstructure:"links"`
	From      []string      `mapstructure:"from"`
	To        []string      `mapstructure:"to"`
	Switch    string        `mapstructure:"switch"`
	Link      int           `mapstructure:"link"`
	Latency   rawDist       `mapstructure:"latency"`
	Loss      float64       `mapstructure:"loss"`
	Votes     int           `mapstructure:"votes"`
	On        string        `mapstructure:"on"`
	Conf      string        `mapstructure:"conf"`
	Algorithm string        `mapstructure:"algorithm"`
	Force     bool          `mapstructure:"force"`
	Bundle    bool          `mapstructure:"bundle"`
}

type rawExpect struct {
	At            time.Duration   `mapstructure:"at"`
	By            time.Duration   `mapstructure:"by"`
	Within        time.Duration   `mapstructure:"within"`
	AtEnd         bool            `mapstructure:"at_end"`
	AfterFault    int             `mapstructure:"after_fault"`
	During        []time.Duration `mapstructure:"during"`
	Node          string          `mapstructure:"node"`
	Nodes         []string        `mapstructure:"nodes"`
	Peer          string          `mapstructure:"peer"`
	Link          int             `mapstructure:"link"`
	Guest         string          `mapstructure:"guest"`
	Quorate       bool            `mapstructure:"quorate"`
	Members       []string        `mapstructure:"members"`
	TotalVotes    int             `mapstructure:"total_votes"`
	ExpectedVotes int             `mapstructure:"expected_votes"`
	Quorum        int             `mapstructure:"quorum"`
	ActiveLink    int             `mapstructure:"active_link"`
	LinkUp        bool            `mapstructure:"link_up"`
	Running       bool            `mapstructure:"running"`
	Check         string          `mapstructure:"check"`
	Metric        string          `mapstructure:"metric"`
	After         time.Duration   `mapstructure:"after"`
	Before        time.Duration   `mapstructure:"before"`
	Max           float64         `mapstructure:"max"`
	Min           float64         `mapstructure:"min"`
	Equals        float64         `mapstructure:"equals"`
	ConfigVersion uint64          `mapstructure:"config_version"`
	Fault         int             `mapstructure:"fault"`
	Refused       bool            `mapstructure:"refused"`
	Reason        string          `mapstructure:"reason"`
}

// Known checks and metrics (scenario-format.md, "expect").
var (
	knownChecks  = []string{"linearizable", "total_order", "virtual_synchrony", "liveness"}
	knownMetrics = []string{"membership_changes", "acked_writes_lost", "ops", "ops_ok", "ops_refused",
		"quorate_fraction", "refused", "token_retransmits", "tokens_lost"}
)

func faultActions() []string {
	var as []string
	for a := range faultFields {
		as = append(as, a)
	}
	sort.Strings(as)
	return as
}

func (b *builder) faults(rs []rawFault) {
	for i := range rs {
		r, p := &rs[i], fmt.Sprintf("faults[%d]", i)
		f := Fault{At: r.At, Action: r.Action, Index: i, Pos: b.w.valPos(p)}
		if !b.has(p + ".at") {
			b.errf(p+".at", "required: when the fault happens")
		} else {
			b.within(p+".at", f.At)
		}
		fields, ok := faultFields[f.Action]
		switch {
		case !b.has(p + ".action"):
			b.errf(p+".action", "required: one of %s", strings.Join(faultActions(), ", "))
		case !ok:
			b.errf(p+".action", "unknown action %q%s (known: %s)", f.Action, suggest(f.Action, faultActions()),
				strings.Join(faultActions(), ", "))
		}
		if !ok {
			continue
		}
		for _, req := range faultRequired[f.Action] {
			if !b.has(p + "." + req) {
				b.errf(p+"."+req, "required for action %s", f.Action)
			}
		}
		if strings.HasPrefix(f.Action, "qnetd_") && b.s.Cluster.Quorum.Device == nil && !hasSetup(rs) {
			b.errf(p+".action", "%s needs a quorum device (cluster.quorum.device or a qdevice_setup fault)", f.Action)
		}
		b.operatorAction(p, r, &f)
		for _, k := range fields {
			if b.has(p + "." + k) {
				b.faultField(p, k, r, &f)
			}
		}
		b.s.Faults = append(b.s.Faults, f)
	}
}

// faultField copies and checks one field that the file gives for a fault.
func (b *builder) faultField(p, k string, r *rawFault, f *Fault) {
	fp := p + "." + k
	switch k {
	case "node":
		f.Node = r.Node
		b.nodeRef(fp, r.Node)
	case "nodes":
		f.Nodes = r.Nodes
		b.nodeRefs(fp, r.Nodes)
	case "after":
		f.After = r.After
	case "boot":
		d := b.dist(fp, &r.Boot)
		f.Boot = &d
	case "groups":
		f.Groups = r.Groups
		b.groups(fp, r.Groups)
	case "links":
		f.Links = r.Links
		if len(r.Links) == 0 {
			b.errf(fp, "must not be empty (leave it out for all links)")
		}
		for i, l := range r.Links {
			b.linkRef(fmt.Sprintf("%s[%d]", fp, i), l)
		}
	case "from":
		f.From = r.From
		b.nodeRefs(fp, r.From)
	case "to":
		f.To = r.To
		b.nodeRefs(fp, r.To)
	case "switch":
		f.Switch = r.Switch
		if !b.switches[r.Switch] {
			var sw []string
			for s := range b.switches {
				sw = append(sw, s)
			}
			sort.Strings(sw)
			b.errf(fp, "unknown switch %q (switches: %s)", r.Switch, strings.Join(sw, ", "))
		}
	case "link":
		f.Link = r.Link
		b.linkRef(fp, r.Link)
	case "latency":
		d := b.dist(fp, &r.Latency)
		f.Latency = &d
	case "loss":
		f.Loss = r.Loss
		b.probability(fp, r.Loss)
	case "votes":
		f.Votes = r.Votes
		if r.Votes < 1 {
			b.errf(fp, "%d is too small; pvecm expected takes 1 or more", r.Votes)
		}
	case "conf":
		f.ConfText = r.Conf
		b.editConf(fp, r.Conf, f)
	case "on":
		f.On = r.On
		b.nodeRef(fp, r.On)
		if r.On == r.Node && b.has(p+".node") {
			b.errf(fp, "the operator must act on another node than the one %s", map[bool]string{true: "added", false: "removed"}[f.Action == "add_node"])
		}
	case "algorithm":
		f.Algorithm = r.Algorithm
		b.oneOf(fp, r.Algorithm, "ffsplit", "lms")
	case "force":
		f.Force = r.Force
	case "bundle":
		f.Bundle = r.Bundle
	}
}

// groups checks a partition: two groups or more, none empty, every node in
// at most one group.
func (b *builder) groups(p string, gs [][]string) {
	if len(gs) < 2 {
		b.errf(p, "a partition needs at least two groups, e.g. [[hp1, hp2], [hp3]]")
	}
	in := map[string]int{}
	for i, g := range gs {
		gp := fmt.Sprintf("%s[%d]", p, i)
		if len(g) == 0 {
			b.errf(gp, "group is empty")
		}
		for j, n := range g {
			np := fmt.Sprintf("%s[%d]", gp, j)
			if k, dup := in[n]; dup {
				b.errf(np, "node %q is already in group %d", n, k)
				continue
			}
			in[n] = i
			b.nodeRef(np, n)
		}
	}
}

func (b *builder) expects(rs []rawExpect, faults []rawFault) {
	for i := range rs {
		r, p := &rs[i], fmt.Sprintf("expect[%d]", i)
		e := Expect{Pos: b.w.valPos(p)}
		var forms []string
		for _, f := range []string{"at", "by", "within", "during", "at_end", "check", "metric", "fault"} {
			if b.has(p + "." + f) {
				forms = append(forms, f)
			}
		}
		if len(forms) != 1 {
			found := "none"
			if len(forms) > 1 {
				found = strings.Join(forms, ", ")
			}
			b.errf(p, "needs exactly one of at, by, within, during, at_end, check, metric or fault (found: %s)", found)
			continue
		}
		switch forms[0] {
		case "at":
			t := r.At
			e.At = &t
			b.within(p+".at", t)
		case "by":
			t := r.By
			e.By = &t
			b.within(p+".by", t)
			b.window(p, r, &e, faults)
		case "within":
			d := r.Within
			e.Within = &d
			if d <= 0 {
				b.errf(p+".within", "must be greater than 0: how long after the fault the state must be reached")
			}
			b.window(p, r, &e, faults)
		case "at_end":
			if !r.AtEnd {
				b.errf(p+".at_end", "only at_end: true is meaningful (the state when the run stops)")
			}
			e.AtEnd = true
		case "during":
			if len(r.During) != 2 {
				b.errf(p+".during", "is an interval [from, to]: two times, not %d", len(r.During))
				break
			}
			iv := [2]time.Duration{r.During[0], r.During[1]}
			e.During = &iv
			if iv[0] > iv[1] {
				b.errf(p+".during", "the interval [%s, %s] ends before it starts", formatDuration(iv[0]), formatDuration(iv[1]))
			}
			b.within(p+".during[1]", iv[1])
		case "check":
			e.Check = r.Check
			if !contains(knownChecks, r.Check) {
				b.errf(p+".check", "unknown check %q%s (known: %s)", r.Check, suggest(r.Check, knownChecks), strings.Join(knownChecks, ", "))
			}
		case "metric":
			b.metric(p, r, &e)
		case "fault":
			b.faultExpect(p, r, &e, faults)
		}
		if e.At != nil || e.By != nil || e.Within != nil || e.During != nil || e.AtEnd {
			b.state(p, r, &e)
		}
		e.Text = expectText(&e)
		b.s.Expect = append(b.s.Expect, e)
	}
}

// window resolves the interval a by or within expectation is judged over.
// by T opens at the last fault before T (at 0 when none is); within D opens
// at the last fault of the run. after_fault: N (the file's faults[N]) or
// after: T0 open it explicitly. by closes at T, within D after the opening.
func (b *builder) window(p string, r *rawExpect, e *Expect, faults []rawFault) {
	has := func(k string) bool { return b.has(p + "." + k) }
	at := func(i int) (time.Duration, bool) { return faults[i].At, b.has(fmt.Sprintf("faults[%d].at", i)) }
	var from time.Duration
	switch {
	case has("after") && has("after_fault"):
		b.errf(p+".after_fault", "give after or after_fault, not both")
		return
	case has("after_fault"):
		n := r.AfterFault
		if n < 0 || n >= len(faults) {
			b.errf(p+".after_fault", "is faults[%d], but the file has %d fault(s) (faults[0]..faults[%d])", n, len(faults), len(faults)-1)
			return
		}
		t, ok := at(n)
		if !ok {
			return // faults[n].at is reported missing already
		}
		from, e.AfterFault = t, &n
		e.Anchor = fmt.Sprintf("faults[%d] %s at %s", n, faults[n].Action, formatDuration(t))
	case has("after"):
		from = r.After
		b.within(p+".after", from)
		e.Anchor = "after " + formatDuration(from)
	default:
		last := -1
		for i := range faults {
			t, ok := at(i)
			if !ok || (e.By != nil && t >= *e.By) {
				continue
			}
			if last < 0 || t >= faults[last].At {
				last = i
			}
		}
		if last < 0 {
			if e.Within != nil {
				b.errf(p+".within", "follows a fault, but the file has none before it: give after: T or after_fault: N")
			}
			break
		}
		from = faults[last].At
		e.Anchor = fmt.Sprintf("faults[%d] %s at %s", last, faults[last].Action, formatDuration(from))
	}
	e.Window[0] = from
	switch {
	case e.By != nil:
		e.Window[1] = *e.By
		if from > *e.By {
			b.errf(p+".by", "%s is before the start of its window (%s)", formatDuration(*e.By), e.Anchor)
		}
	case e.Within != nil:
		e.Window[1] = from + *e.Within
		if b.s.Duration > 0 && e.Window[1] > b.s.Duration {
			b.errf(p+".within", "%s after %s ends at %s, after the end of the run (duration %s)",
				formatDuration(*e.Within), e.Anchor, formatDuration(e.Window[1]), formatDuration(b.s.Duration))
		}
	}
}

// state fills and checks the state fields of a time-form expectation.
func (b *builder) state(p string, r *rawExpect, e *Expect) {
	has := func(k string) bool { return b.has(p + "." + k) }
	intp := func(k string, v int) *int {
		if !has(k) {
			return nil
		}
		if v < 0 {
			b.errf(p+"."+k, "%d is negative", v)
		}
		return &v
	}
	boolp := func(k string, v bool) *bool {
		if !has(k) {
			return nil
		}
		return &v
	}
	e.Node, e.Nodes, e.Peer, e.Guest = r.Node, r.Nodes, r.Peer, r.Guest
	e.Link = intp("link", r.Link)
	e.Quorate = boolp("quorate", r.Quorate)
	if has("members") {
		e.Members = append([]string{}, r.Members...)
		for i, m := range r.Members {
			b.nodeRef(fmt.Sprintf("%s.members[%d]", p, i), m)
		}
	}
	e.TotalVotes = intp("total_votes", r.TotalVotes)
	e.ExpectedVotes = intp("expected_votes", r.ExpectedVotes)
	e.Quorum = intp("quorum", r.Quorum)
	e.ActiveLink = intp("active_link", r.ActiveLink)
	e.LinkUp = boolp("link_up", r.LinkUp)
	e.Running = boolp("running", r.Running)
	if has("config_version") {
		v := r.ConfigVersion
		e.ConfigVersion = &v
	}

	if has("guest") {
		if !b.guests[r.Guest] {
			b.errf(p+".guest", "unknown guest %q (guests are declared in workload.guests)", r.Guest)
		}
		if !has("running") {
			b.errf(p+".running", "required with guest")
		}
		for _, k := range []string{"node", "nodes", "peer", "link", "quorate", "members",
			"total_votes", "expected_votes", "quorum", "active_link", "link_up", "config_version"} {
			if has(k) {
				b.errf(p+"."+k, "not allowed with guest: running asks whether the guest runs anywhere")
			}
		}
		return
	}
	if has("running") {
		b.errf(p+".running", "needs guest: the guest whose state is asserted")
		return
	}
	switch {
	case has("node") && has("nodes"):
		b.errf(p+".nodes", "give node or nodes, not both")
	case has("node"):
		b.nodeRef(p+".node", r.Node)
	case has("nodes"):
		b.nodeRefs(p+".nodes", r.Nodes)
	default:
		b.errf(p+".node", "required: the node whose view is asserted (or nodes: [...])")
	}
	if e.Quorate == nil && e.Members == nil && e.TotalVotes == nil && e.ExpectedVotes == nil &&
		e.Quorum == nil && e.ActiveLink == nil && e.LinkUp == nil && e.ConfigVersion == nil {
		b.errf(p, "asserts nothing: give at least one of quorate, members, total_votes, "+
			"expected_votes, quorum, active_link, link_up, config_version")
	}
	if e.ActiveLink != nil {
		b.linkRef(p+".active_link", *e.ActiveLink)
	}
	needPeer := e.ActiveLink != nil || e.LinkUp != nil
	switch {
	case needPeer && !has("peer"):
		b.errf(p+".peer", "required with active_link and link_up: the node at the other end")
	case !needPeer && has("peer"):
		b.errf(p+".peer", "only meaningful with active_link or link_up")
	case has("peer"):
		b.nodeRef(p+".peer", r.Peer)
		if has("node") && r.Peer == r.Node {
			b.errf(p+".peer", "must be another node than node")
		}
	}
	switch {
	case e.LinkUp != nil && e.Link == nil:
		b.errf(p+".link", "required with link_up: which link")
	case e.LinkUp == nil && e.Link != nil:
		b.errf(p+".link", "only meaningful with link_up")
	case e.Link != nil:
		b.linkRef(p+".link", *e.Link)
	}
}

// metric fills and checks a metric expectation.
func (b *builder) metric(p string, r *rawExpect, e *Expect) {
	has := func(k string) bool { return b.has(p + "." + k) }
	e.Metric = r.Metric
	if !contains(knownMetrics, r.Metric) {
		b.errf(p+".metric", "unknown metric %q%s (known: %s)", r.Metric, suggest(r.Metric, knownMetrics), strings.Join(knownMetrics, ", "))
	}
	if has("after") {
		t := r.After
		e.After = &t
		b.within(p+".after", t)
	}
	if has("before") {
		t := r.Before
		e.Before = &t
		b.within(p+".before", t)
		if e.After != nil && *e.After >= t {
			b.errf(p+".before", "the window [%s, %s) is empty", formatDuration(*e.After), formatDuration(t))
		}
	}
	bound := func(k string, v float64) *float64 {
		if !has(k) {
			return nil
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			b.errf(p+"."+k, "must be a finite number")
		}
		return &v
	}
	e.Max, e.Min, e.Equals = bound("max", r.Max), bound("min", r.Min), bound("equals", r.Equals)
	switch {
	case e.Max == nil && e.Min == nil && e.Equals == nil:
		b.errf(p, "a metric expectation needs max, min or equals")
	case e.Equals != nil && (e.Max != nil || e.Min != nil):
		b.errf(p+".equals", "equals cannot be combined with max or min")
	case e.Max != nil && e.Min != nil && *e.Min > *e.Max:
		b.errf(p+".min", "min (%v) is greater than max (%v)", *e.Min, *e.Max)
	}
}

// FaultActions lists the fault actions a scenario may name, sorted: the
// report's typed list of actions is checked against it.
func FaultActions() []string { return faultActions() }

// editConf checks edit_conf's corosync.conf, given inline: it must parse
// and validate as corosync would and hold nothing the engine cannot
// honour; errors name the scenario's line. The scenario must start from a
// cluster.corosync_conf (the configuration being edited), and the edit
// keeps its cluster name and nodelist (nodes come and go with add_node and
// delnode). Whether config_version grows is decided when it runs: a lower
// one is a refusal the report shows, as the agent refuses it.
func (b *builder) editConf(fp, text string, f *Fault) {
	base := b.w.valPos(fp)
	f.ConfLine = base.Line
	if b.conf == nil {
		b.errf(fp, "edit_conf edits the cluster's corosync.conf: the scenario needs cluster.corosync_conf")
		return
	}
	c, err := corosyncconf.Parse(b.c.file, []byte(text))
	if err == nil {
		err = c.Unsupported()
	}
	if err != nil {
		var list corosyncconf.ErrorList
		var one *corosyncconf.Error
		switch {
		case errors.As(err, &list):
			for _, e := range list {
				b.c.add(Position{File: b.c.file, Line: base.Line + e.Line}, fp, "%s", e.Msg)
			}
		case errors.As(err, &one):
			b.c.add(Position{File: b.c.file, Line: base.Line + one.Line}, fp, "%s", one.Msg)
		default:
			b.errf(fp, "%v", err)
		}
		return
	}
	if c.ClusterName != b.conf.ClusterName {
		b.errf(fp, "renames the cluster %q to %q; corosync cannot change cluster_name", b.conf.ClusterName, c.ClusterName)
	}
	ids := func(cc *corosyncconf.Config) []uint32 {
		var out []uint32
		for _, n := range cc.Nodes {
			out = append(out, n.NodeID)
		}
		sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
		return out
	}
	if a, o := ids(c), ids(b.conf); fmt.Sprint(a) != fmt.Sprint(o) {
		b.errf(fp, "changes the nodelist from %v to %v; edit_conf keeps the nodes (use delnode)", o, a)
	}
	f.Conf = c
}
