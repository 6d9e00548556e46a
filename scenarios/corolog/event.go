package corolog

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Kind is what a log line reports.
type Kind int

// The events Classify recognises, in corosync's and pmxcfs's words.
const (
	KindOther           Kind = iota
	KindStart                // [MAIN  ] Corosync Cluster Engine 3.1.7 starting up
	KindShutdown             // [MAIN  ] Node was shut down by a signal (a clean stop begins)
	KindExit                 // [MAIN  ] Corosync Cluster Engine exiting normally
	KindLocalAddr            // [TOTEM ] Configured link number 0: local addr: 10.99.0.1, port=5405 (Link, Addr)
	KindHostJoined           // [KNET  ] link: Resetting MTU for link 0 because host 1 joined (Host)
	KindLinkUp               // [KNET  ] rx: host: 2 link: 0 is up (Host, Link)
	KindLinkDown             // [KNET  ] link: host: 2 link: 0 is down (Host, Link)
	KindNoLinks              // [KNET  ] host: host: 2 has no active links (Host)
	KindRing                 // [TOTEM ] A new membership (1.d) was formed. Members left: 2 3 (Ring, Joined, Left)
	KindMembers              // [QUORUM] Members[3]: 1 2 3 (IDs)
	KindQuorate              // [QUORUM] This node is within the primary component ... (Quorate)
	KindTokenWarning         // [TOTEM ] Token has not been received in 2737 ms (Millis)
	KindTokenLost            // [TOTEM ] A processor failed, forming new configuration: token timed out (3650ms), ...
	KindRetransmit           // [TOTEM ] Retransmit List: 1a 1b (Seqs)
	KindFailedToReceive      // [TOTEM ] FAILED TO RECEIVE
	KindConfigReload         // [CFG   ] Config reload requested by node 1
	KindExpected             // [VOTEQ ] ... expected_votes ... N (Votes): a changed expected vote count
	KindPmxQuorum            // pmxcfs [status] notice: node has quorum / node lost quorum (Quorate)
	KindPmxMembers           // pmxcfs [dcdb] notice: members: 1/812, 2/911 (IDs)
)

var kindNames = [...]string{"other", "start", "shutdown", "exit", "local_addr", "host_joined", "link_up", "link_down",
	"no_links", "ring", "members", "quorate", "token_warning", "token_lost", "retransmit", "failed_to_receive",
	"config_reload", "expected", "pmxcfs_quorum", "pmxcfs_members"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Event is one classified line.
type Event struct {
	Line
	Kind    Kind
	Host    uint32 // the knet host (node id) the line is about
	Link    int
	Addr    string
	Ring    string // "1.d": the representative's node id and the ring sequence, hexadecimal
	Joined  []uint32
	Left    []uint32
	IDs     []uint32
	Quorate bool
	Millis  int
	Seqs    []uint64
	Votes   int
}

// The patterns of Classify, compiled on first use: every quorate command
// (the agent among them) links this package, and only the log importers
// need them.
var (
	reStart = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^Corosync Cluster Engine (?:\('?)?([0-9][0-9.]*)'?\)?:? ?(?:starting up|started and ready)`)
	})
	reLocalAddr = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^Configured link number (\d+): local addr: ([^,]+), port=\d+`)
	})
	reJoined = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^link: Resetting MTU for link (\d+) because host (\d+) joined`)
	})
	reLinkUp   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^rx: host: (\d+) link: (\d+) is up`) })
	reLinkDown = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^link: host: (\d+) link: (\d+) is down`) })
	reNoLinks  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^host: host: (\d+) has no active links`) })
	reRing     = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^A new membership \(([0-9a-fA-F]+\.[0-9a-fA-F]+)\) was formed\.(?: Members(?: joined:((?: \d+)+))?(?: left:((?: \d+)+))?)?\s*$`)
	})
	reMembers    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^Members\[(\d+)\]:((?: \d+)*)\s*$`) })
	reTokenWarn  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^Token has not been received in (\d+) ms`) })
	reRetransmit = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^Retransmit List:((?: [0-9a-fA-F]+)+)\s*$`) })
	reReload     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^Config reload requested by node (\d+)`) })
	reExpected   = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`[Ee]xpected[_ ]votes(?: set| changed)?(?: to|:|=)? ?(\d+)`)
	})
	rePmxMembers = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^members: (\d+/\d+(?:, \d+/\d+)*)\s*$`) })
)

// Classify recognises what l reports; an unrecognised line is KindOther.
func Classify(l Line) Event {
	e := Event{Line: l}
	m := l.Msg
	if l.Prog == "pmxcfs" {
		switch {
		case strings.HasPrefix(m, "node has quorum"):
			e.Kind, e.Quorate = KindPmxQuorum, true
		case strings.HasPrefix(m, "node lost quorum"):
			e.Kind = KindPmxQuorum
		default:
			if g := rePmxMembers().FindStringSubmatch(m); g != nil {
				e.Kind = KindPmxMembers
				for _, p := range strings.Split(g[1], ", ") {
					e.IDs = append(e.IDs, atou(p[:strings.IndexByte(p, '/')]))
				}
			}
		}
		return e
	}
	switch l.Subsys {
	case "MAIN":
		switch {
		case reStart().MatchString(m):
			e.Kind = KindStart
		case strings.HasPrefix(m, "Node was shut down by a signal"):
			e.Kind = KindShutdown
		case strings.HasPrefix(m, "Corosync Cluster Engine exiting normally"):
			e.Kind = KindExit
		}
	case "TOTEM":
		if g := reLocalAddr().FindStringSubmatch(m); g != nil {
			e.Kind, e.Link, e.Addr = KindLocalAddr, atoi(g[1]), strings.TrimSpace(g[2])
		} else if g := reRing().FindStringSubmatch(m); g != nil {
			e.Kind, e.Ring, e.Joined, e.Left = KindRing, strings.ToLower(g[1]), ids(g[2]), ids(g[3])
		} else if g := reTokenWarn().FindStringSubmatch(m); g != nil {
			e.Kind, e.Millis = KindTokenWarning, atoi(g[1])
		} else if strings.HasPrefix(m, "A processor failed, forming new configuration") {
			e.Kind = KindTokenLost
		} else if g := reRetransmit().FindStringSubmatch(m); g != nil {
			e.Kind = KindRetransmit
			for _, f := range strings.Fields(g[1]) {
				v, _ := strconv.ParseUint(f, 16, 64)
				e.Seqs = append(e.Seqs, v)
			}
		} else if strings.HasPrefix(m, "FAILED TO RECEIVE") {
			e.Kind = KindFailedToReceive
		}
	case "KNET":
		if g := reLinkUp().FindStringSubmatch(m); g != nil {
			e.Kind, e.Host, e.Link = KindLinkUp, atou(g[1]), atoi(g[2])
		} else if g := reLinkDown().FindStringSubmatch(m); g != nil {
			e.Kind, e.Host, e.Link = KindLinkDown, atou(g[1]), atoi(g[2])
		} else if g := reNoLinks().FindStringSubmatch(m); g != nil {
			e.Kind, e.Host = KindNoLinks, atou(g[1])
		} else if g := reJoined().FindStringSubmatch(m); g != nil {
			e.Kind, e.Link, e.Host = KindHostJoined, atoi(g[1]), atou(g[2])
		}
	case "QUORUM":
		if g := reMembers().FindStringSubmatch(m); g != nil {
			e.Kind, e.IDs = KindMembers, ids(g[2])
		} else if strings.HasPrefix(m, "This node is within the primary component") {
			e.Kind, e.Quorate = KindQuorate, true
		} else if strings.HasPrefix(m, "This node is within the non-primary component") {
			e.Kind = KindQuorate
		}
	case "CFG":
		if reReload().MatchString(m) {
			e.Kind = KindConfigReload
		}
	case "VOTEQ":
		if g := reExpected().FindStringSubmatch(m); g != nil && !strings.Contains(m, "Waiting for all") {
			e.Kind, e.Votes = KindExpected, atoi(g[1])
		}
	}
	return e
}

func ids(s string) []uint32 {
	var out []uint32
	for _, f := range strings.Fields(s) {
		out = append(out, atou(f))
	}
	return out
}

func atoi(s string) int {
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

func atou(s string) uint32 {
	v, _ := strconv.ParseUint(s, 10, 32)
	return uint32(v)
}
