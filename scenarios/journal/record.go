package journal

import "time"

// FormatVersion is the journal format the start record declares. Readers
// accept records of this version; fields are only ever added.
const FormatVersion = 1

// Kind is what a record reports.
type Kind string

// The record kinds, in the agent's words.
const (
	KindStart      Kind = "start"       // the agent started: Config is set
	KindStop       Kind = "stop"        // the agent stopped cleanly: Reason says why
	KindLinkUp     Kind = "link_up"     // knet declared the link to Peer up
	KindLinkDown   Kind = "link_down"   // knet declared the link to Peer down
	KindActiveLink Kind = "active_link" // traffic to Peer moved to Active (-1: no link)
	KindMembership Kind = "membership"  // Totem installed ring Ring with Members
	KindQuorum     Kind = "quorum"      // votequorum's verdict or numbers changed
	// KindConfig: the agent installed a newer cluster corosync.conf (live
	// or by its engine's restart): Config is set. Added nodes, removed
	// nodes and a quorum device set up or removed show in the sequence of
	// these records, which trace import replays.
	KindConfig Kind = "config"
)

// StopRemoved begins the Reason of the stop record of an agent that a
// member removed from the nodelist (delnode's NODELIST_DEL); Peer names
// that member.
const StopRemoved = "removed from the nodelist"

func (k Kind) valid() bool {
	switch k {
	case KindStart, KindStop, KindLinkUp, KindLinkDown, KindActiveLink, KindMembership, KindQuorum, KindConfig:
		return true
	}
	return false
}

// Record is one line of a journal. Every record names its cluster and node,
// so that a file on its own says whose it is; the other fields depend on
// Kind.
type Record struct {
	// Time is the wall clock when the agent wrote the record (RFC 3339
	// with nanoseconds in the file): what merges the journals of several
	// nodes, so it is only as good as their clock synchronisation.
	Time time.Time `json:"time"`
	// Mono is the engine's monotonic instant (nanoseconds since this agent
	// process started): exact within one run of one agent, and immune to
	// clock steps, but meaningless across processes.
	Mono    int64  `json:"mono_ns"`
	Kind    Kind   `json:"kind"`
	Cluster string `json:"cluster"`
	Node    string `json:"node"`
	NodeID  uint32 `json:"node_id"`

	Peer   string `json:"peer,omitempty"`
	PeerID uint32 `json:"peer_id,omitempty"`
	Link   *int   `json:"link,omitempty"`
	Active *int   `json:"active,omitempty"` // -1: the peer has no usable link

	Ring    string   `json:"ring,omitempty"`
	Members []string `json:"members,omitempty"`

	Quorate       *bool `json:"quorate,omitempty"`
	TotalVotes    *int  `json:"total_votes,omitempty"`
	ExpectedVotes *int  `json:"expected_votes,omitempty"`
	Quorum        *int  `json:"quorum,omitempty"`

	Config *Config `json:"config,omitempty"`
	Reason string  `json:"reason,omitempty"`
}

// Config summarises the corosync.conf an agent started with: what a
// simulated cluster needs to behave like the real one. Durations are as
// the file gives them, 0 where corosync derives the value.
type Config struct {
	Format        int          `json:"format"`
	ConfigVersion uint64       `json:"config_version"`
	Nodes         []ConfigNode `json:"nodes"`
	Links         []ConfigLink `json:"links"`
	LinkMode      string       `json:"link_mode"`

	Token            Duration `json:"token"`
	TokenCoefficient Duration `json:"token_coefficient"`
	Consensus        Duration `json:"consensus,omitempty"`
	Join             Duration `json:"join,omitempty"`
	Merge            Duration `json:"merge,omitempty"`

	ExpectedVotes   int  `json:"expected_votes,omitempty"`
	TwoNode         bool `json:"two_node,omitempty"`
	WaitForAll      bool `json:"wait_for_all,omitempty"`
	LastManStanding bool `json:"last_man_standing,omitempty"`
	AutoTieBreaker  bool `json:"auto_tie_breaker,omitempty"`
	// Device is true when the file configures a quorum device;
	// DeviceAlgorithm is its quorum.device.net.algorithm.
	Device          bool   `json:"device,omitempty"`
	DeviceAlgorithm string `json:"device_algorithm,omitempty"`
}

// ConfigNode is one nodelist entry; Addrs maps link numbers ("0") to the
// ringX_addr as written.
type ConfigNode struct {
	Name  string            `json:"name"`
	ID    uint32            `json:"id"`
	Votes int               `json:"votes"`
	Addrs map[string]string `json:"addrs"`
}

// ConfigLink is one interface section (one knet link).
type ConfigLink struct {
	Number       int      `json:"number"`
	Priority     int      `json:"priority"`
	Port         uint16   `json:"port"`
	PingInterval Duration `json:"ping_interval,omitempty"`
	PingTimeout  Duration `json:"ping_timeout,omitempty"`
	PongCount    int      `json:"pong_count,omitempty"`
}

// Duration is a time.Duration written as a Go duration string ("1s"), as
// in scenario files.
type Duration time.Duration

// MarshalText writes "1.5s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	*d = Duration(v)
	return err
}
