package quorum

//lint:file-ignore ST1005 configuration errors keep corosync's wording, so that operators recognise them

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// VotesNone is the NodeConfig.Votes value of a node that carries no vote
// (corosync.conf `quorum_votes: 0`). The zero value of Votes means "not
// set", which corosync reads as 1.
const VotesNone = -1

// Defaults from corosync's exec/votequorum.c and include/corosync/votequorum.h
// (spec quorum.md §2.3, §4.4).
const (
	DefaultLastManStandingWindow = 10 * time.Second
	DefaultDeviceTimeout         = 10 * time.Second
	DefaultDeviceSyncTimeout     = 30 * time.Second
	// maxVotes bounds configured votes and expected votes (they travel
	// as 32-bit numbers; far lower in any real cluster).
	maxVotes = 1 << 24
	// minDeviceTimeout keeps the derived qdevice timers positive.
	minDeviceTimeout = 100 * time.Millisecond
	// DefaultDeviceName is the name corosync-qdevice registers with.
	DefaultDeviceName = "Qdevice"
)

// NodeConfig is one nodelist entry.
type NodeConfig struct {
	ID wire.NodeID
	// Votes is `quorum_votes`: 0 means unset (1 vote), VotesNone means 0 votes.
	Votes int
}

// votes returns the entry's effective vote count.
func (n NodeConfig) votes() int {
	switch {
	case n.Votes == VotesNone:
		return 0
	case n.Votes == 0:
		return 1
	}
	return n.Votes
}

// Config is the `quorum` section of corosync.conf plus the nodelist, as one
// node reads it at startup (votequorum_readconfig). Field names mirror the
// corosync.conf keys.
type Config struct {
	// Self is this node's nodeid; it must appear in Nodes when Nodes is set.
	Self wire.NodeID
	// Nodes is the nodelist (every configured node, live or not).
	Nodes []NodeConfig
	// ExpectedVotes is quorum.expected_votes; 0 means "from the nodelist".
	ExpectedVotes int

	// TwoNode is quorum.two_node.
	TwoNode bool
	// WaitForAll is quorum.wait_for_all. With TwoNode, wait_for_all is on
	// unless the key is given explicitly as 0: set WaitForAllSet to say the
	// key is present.
	WaitForAll    bool
	WaitForAllSet bool
	// LastManStanding and LastManStandingWindow (0 = 10 s) are
	// quorum.last_man_standing(_window).
	LastManStanding       bool
	LastManStandingWindow time.Duration
	// AutoTieBreaker is quorum.auto_tie_breaker. AutoTieBreakerNode is
	// quorum.auto_tie_breaker_node: "" or "lowest", "highest", or a
	// space-separated nodeid list; AutoTieBreakerNodes, when non-empty, gives
	// the list directly and takes precedence.
	AutoTieBreaker      bool
	AutoTieBreakerNode  string
	AutoTieBreakerNodes []wire.NodeID

	// Device is quorum.device (model net); nil when no quorum device is
	// configured.
	Device *DeviceConfig
}

// Algorithm is quorum.device.net.algorithm.
type Algorithm uint8

// The qnetd decision algorithms this package models. The zero value is
// ffsplit, qdevice's default.
const (
	AlgorithmFFSplit Algorithm = iota
	AlgorithmLMS
)

// String returns the algorithm's corosync.conf spelling.
func (a Algorithm) String() string {
	switch a {
	case AlgorithmFFSplit:
		return "ffsplit"
	case AlgorithmLMS:
		return "lms"
	}
	return "Algorithm(" + strconv.Itoa(int(a)) + ")"
}

// TieBreakerMode is the kind of quorum.device.net.tie_breaker.
type TieBreakerMode uint8

// Tie-breaker modes; the zero value is lowest, qdevice's default.
const (
	TieBreakerLowest TieBreakerMode = iota
	TieBreakerHighest
	TieBreakerNodeID
)

// String returns the mode's corosync.conf spelling ("node" for a nodeid).
func (m TieBreakerMode) String() string {
	switch m {
	case TieBreakerLowest:
		return "lowest"
	case TieBreakerHighest:
		return "highest"
	case TieBreakerNodeID:
		return "node"
	}
	return "TieBreakerMode(" + strconv.Itoa(int(m)) + ")"
}

// TieBreaker is quorum.device.net.tie_breaker: lowest, highest or a nodeid.
type TieBreaker struct {
	Mode TieBreakerMode
	Node wire.NodeID // TieBreakerNodeID only
}

// String prints the tie-breaker as corosync.conf would spell it.
func (t TieBreaker) String() string {
	if t.Mode == TieBreakerNodeID {
		return t.Node.String()
	}
	return t.Mode.String()
}

// DeviceConfig is quorum.device with model net: the qdevice daemon on this
// node and what it tells the arbiter.
type DeviceConfig struct {
	Algorithm  Algorithm
	TieBreaker TieBreaker
	// Votes is quorum.device.votes; 0 means unset: nodelist size − 1 when
	// every node has one vote and ExpectedVotes is unset (§1.1).
	Votes int
	// Timeout (quorum.device.timeout, 10 s) and SyncTimeout
	// (quorum.device.sync_timeout, 30 s); 0 means the default.
	Timeout     time.Duration
	SyncTimeout time.Duration
	// MasterWins forces qdevice's master_wins on (`-S master_wins=on`).
	MasterWins bool
}

// Config errors. The messages after the prefix are corosync's, trailing
// exclamation marks included.
var (
	ErrNoNodelist      = errors.New("quorum: configuration error: nodelist or quorum.expected_votes must be configured!")
	ErrSelfMissing     = errors.New("quorum: this node is not in the nodelist")
	ErrBadNode         = errors.New("quorum: bad nodelist entry")
	ErrTwoNodeDevice   = errors.New("quorum: configuration error: two_node and quorum device cannot be configured at the same time!")
	ErrDeviceLMS       = errors.New("quorum: configuration error: quorum.device is not compatible with last_man_standing")
	ErrDeviceATB       = errors.New("quorum: configuration error: quorum.device is not compatible with auto_tie_breaker")
	ErrDeviceVotesEV   = errors.New("quorum: configuration error: quorum.device.votes must be specified when quorum.expected_votes is set")
	ErrDeviceVotesAll  = errors.New("quorum: configuration error: quorum.device.votes must be specified when not all nodes votes 1")
	ErrDeviceVotesHigh = errors.New("quorum: configuration error: quorum.device.votes is too high or expected_votes is too low")
	ErrATBLMSOdd       = errors.New("quorum: configuration error: auto_tie_breaker & last_man_standing not available in odd sized cluster")
	ErrATBNode         = errors.New("quorum: auto_tie_breaker_node must be 'lowest', 'highest' or a space-separated list of node IDs")
	ErrFFSplitVotes    = errors.New("quorum: 50:50 split algorithm works only if quorum.device.votes is 1 and every node has 1 vote")
	ErrBadValue        = errors.New("quorum: invalid value")
)

// ATBMode is the effective auto_tie_breaker mode (votequorum.c ATB_*).
type ATBMode uint8

// The auto_tie_breaker modes.
const (
	ATBNone ATBMode = iota
	ATBLowest
	ATBHighest
	ATBList
)

// String returns the mode's name.
func (m ATBMode) String() string {
	switch m {
	case ATBNone:
		return "none"
	case ATBLowest:
		return "lowest"
	case ATBHighest:
		return "highest"
	case ATBList:
		return "list"
	}
	return "ATBMode(" + strconv.Itoa(int(m)) + ")"
}

// settings is a validated Config with every default applied and the
// startup adjustments of votequorum_readconfig done.
type settings struct {
	self       wire.NodeID
	nodes      []NodeConfig // sorted by id
	init       Initial
	twoNode    bool
	wfa        bool
	wfaAutoset bool
	lms        bool
	lmsWindow  time.Duration
	atb        ATBMode
	atbInitial ATBMode
	atbList    []wire.NodeID
	device     *DeviceConfig // defaults applied
	warnings   []string
}

// parseATB turns the auto_tie_breaker_node settings into a mode and list
// (parse_atb_string).
func parseATB(s string, list []wire.NodeID) (ATBMode, []wire.NodeID, error) {
	if len(list) > 0 {
		if slices.Contains(list, 0) {
			return ATBNone, nil, ErrATBNode
		}
		return ATBList, slices.Clone(list), nil
	}
	switch strings.TrimSpace(s) {
	case "", "lowest":
		return ATBLowest, nil, nil
	case "highest":
		return ATBHighest, nil, nil
	}
	var ids []wire.NodeID
	for _, f := range strings.Fields(s) {
		n, err := strconv.ParseUint(f, 10, 32)
		if err != nil || n == 0 {
			return ATBNone, nil, fmt.Errorf("%w: %q", ErrATBNode, s)
		}
		ids = append(ids, wire.NodeID(n))
	}
	if len(ids) == 0 {
		return ATBNone, nil, fmt.Errorf("%w: %q", ErrATBNode, s)
	}
	return ATBList, ids, nil
}

// validate checks cfg and derives the settings, the way
// votequorum_readconfig(VOTEQUORUM_READCONFIG_STARTUP) does. Fatal
// corosync configuration errors are errors; the cases corosync fixes up
// with a CRIT log (two_node with ATB, ATB in an odd cluster without WFA)
// become warnings.
func (cfg Config) validate() (settings, error) {
	s := settings{self: cfg.Self}
	if cfg.Self == 0 {
		return s, fmt.Errorf("%w: node id 0 is reserved", ErrBadNode)
	}
	if cfg.ExpectedVotes < 0 || cfg.ExpectedVotes > maxVotes {
		return s, fmt.Errorf("%w: expected_votes %d", ErrBadValue, cfg.ExpectedVotes)
	}
	s.nodes = slices.Clone(cfg.Nodes)
	slices.SortFunc(s.nodes, func(a, b NodeConfig) int { return int(a.ID) - int(b.ID) })
	for i, n := range s.nodes {
		if n.ID == 0 || (i > 0 && s.nodes[i-1].ID == n.ID) || n.Votes < VotesNone || n.Votes > maxVotes {
			return s, fmt.Errorf("%w: %+v", ErrBadNode, n)
		}
	}
	if len(s.nodes) > 0 && !slices.ContainsFunc(s.nodes, func(n NodeConfig) bool { return n.ID == cfg.Self }) {
		return s, fmt.Errorf("%w (node %d)", ErrSelfMissing, cfg.Self)
	}
	init, err := InitialExpected(cfg)
	if err != nil {
		return s, err
	}
	s.init = init

	s.twoNode = cfg.TwoNode
	s.lms = cfg.LastManStanding
	s.lmsWindow = cfg.LastManStandingWindow
	if s.lmsWindow == 0 {
		s.lmsWindow = DefaultLastManStandingWindow
	}
	if s.lmsWindow < 0 {
		return s, fmt.Errorf("%w: last_man_standing_window %v", ErrBadValue, s.lmsWindow)
	}
	if cfg.AutoTieBreaker {
		s.atb, s.atbList, err = parseATB(cfg.AutoTieBreakerNode, cfg.AutoTieBreakerNodes)
		if err != nil {
			return s, err
		}
	}
	s.atbInitial = s.atb
	s.wfa = cfg.WaitForAll
	s.wfaAutoset = !cfg.WaitForAllSet && !cfg.WaitForAll
	if s.twoNode && s.atb != ATBNone {
		s.warnings = append(s.warnings, "two_node and auto_tie_breaker are both specified but are not compatible; two_node has been disabled")
		s.twoNode = false
	}
	if s.wfaAutoset {
		s.wfa = s.twoNode
	}
	if s.atb != ATBNone && init.NodelistVotes%2 == 1 && !s.wfa {
		if s.lms {
			return s, ErrATBLMSOdd
		}
		s.warnings = append(s.warnings, "auto_tie_breaker is set and the cluster has an odd number of nodes; wait_for_all is missing, so auto_tie_breaker has been disabled")
		s.atb = ATBNone
	}
	if cfg.Device != nil {
		d, err := cfg.deviceSettings(s.atb)
		if err != nil {
			return s, err
		}
		s.device = d
	}
	return s, nil
}

// deviceSettings checks the device's compatibility rules (votequorum_readconfig
// and qdevice's algorithm init) and fills in its defaults.
func (cfg Config) deviceSettings(atb ATBMode) (*DeviceConfig, error) {
	d := *cfg.Device
	switch {
	case cfg.TwoNode:
		return nil, ErrTwoNodeDevice
	case cfg.LastManStanding:
		return nil, ErrDeviceLMS
	case atb != ATBNone:
		return nil, ErrDeviceATB
	case d.Votes < 0 || d.Votes > maxVotes:
		return nil, fmt.Errorf("%w: quorum.device.votes %d", ErrBadValue, d.Votes)
	case d.Timeout < 0 || d.SyncTimeout < 0 || (d.Timeout > 0 && d.Timeout < minDeviceTimeout) ||
		(d.SyncTimeout > 0 && d.SyncTimeout < minDeviceTimeout):
		return nil, fmt.Errorf("%w: device timeouts must be at least %v", ErrBadValue, minDeviceTimeout)
	case d.Algorithm > AlgorithmLMS || d.TieBreaker.Mode > TieBreakerNodeID:
		return nil, fmt.Errorf("%w: algorithm %v tie_breaker %v", ErrBadValue, d.Algorithm, d.TieBreaker)
	case d.TieBreaker.Mode == TieBreakerNodeID && d.TieBreaker.Node == 0:
		return nil, fmt.Errorf("%w: tie_breaker node 0", ErrBadValue)
	}
	if d.Algorithm == AlgorithmFFSplit {
		if d.Votes != 1 || slices.ContainsFunc(cfg.Nodes, func(n NodeConfig) bool { return n.votes() != 1 }) {
			return nil, ErrFFSplitVotes
		}
	}
	if d.Timeout == 0 {
		d.Timeout = DefaultDeviceTimeout
	}
	if d.SyncTimeout == 0 {
		d.SyncTimeout = DefaultDeviceSyncTimeout
	}
	return &d, nil
}

// Initial is what votequorum_readconfig derives from the configuration at
// startup (spec §1.1).
type Initial struct {
	// Votes is this node's own votes.
	Votes int
	// ExpectedVotes is the node's starting us.expected_votes.
	ExpectedVotes int
	// NodelistVotes is the sum of quorum_votes over the nodelist, before any
	// device votes are added (the number corosync's odd/even checks use).
	NodelistVotes int
	// DeviceVotes is the quorum device's votes (0 without a device).
	DeviceVotes int
}

// InitialExpected computes a node's starting votes and expected votes from
// the nodelist and options, following votequorum_readconfig and
// votequorum_read_nodelist_configuration (spec §1.1): the nodelist sum; a
// quorum device without explicit votes in an all-one-vote nodelist gets N−1
// votes which are added to the sum; quorum.expected_votes overrides it.
func InitialExpected(cfg Config) (Initial, error) {
	var in Initial
	have := len(cfg.Nodes) > 0
	if !have && cfg.ExpectedVotes == 0 {
		return in, ErrNoNodelist
	}
	allOne := true
	in.Votes = 1
	for _, n := range cfg.Nodes {
		in.NodelistVotes += n.votes()
		if n.votes() != 1 {
			allOne = false
		}
		if n.ID == cfg.Self {
			in.Votes = n.votes()
		}
	}
	evNodelist := in.NodelistVotes
	if d := cfg.Device; d != nil {
		switch {
		case d.Votes == 0 && cfg.ExpectedVotes != 0:
			return in, ErrDeviceVotesEV
		case d.Votes == 0 && have && !allOne:
			return in, ErrDeviceVotesAll
		case d.Votes > 0 && cfg.ExpectedVotes != 0 && cfg.ExpectedVotes-d.Votes < 2:
			return in, ErrDeviceVotesHigh
		case d.Votes == 0:
			in.DeviceVotes = len(cfg.Nodes) - 1
			evNodelist += in.DeviceVotes
		default:
			in.DeviceVotes = d.Votes
		}
	}
	in.ExpectedVotes = evNodelist
	if cfg.ExpectedVotes != 0 {
		in.ExpectedVotes = cfg.ExpectedVotes
	}
	return in, nil
}
