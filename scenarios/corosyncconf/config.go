package corosyncconf

import "time"

// MaxLinks is the number of knet links (KNET_MAX_LINK): link numbers and the
// X of ringX_addr run from 0 to MaxLinks-1.
const MaxLinks = 8

// Config is a corosync.conf that corosync 3 would start with, in typed form.
//
// Fields hold the configured values with corosync's defaults filled in,
// except the few that corosync derives from the effective token timeout or
// the node count; those stay zero when the file leaves them out and say so
// in their comment. Has and Line tell whether and where the file sets a key.
type Config struct {
	File          string // the name given to Parse or Load
	ClusterName   string // totem.cluster_name
	ConfigVersion uint64 // totem.config_version; 0 when absent

	Totem      Totem
	Interfaces []Interface // one per link in use, sorted by LinkNumber
	Nodes      []Node      // nodelist.node entries in file order
	Quorum     Quorum

	// Logging and System hold the logging and system sections loosely, as
	// cmap keys without their "logging." / "system." prefix, e.g.
	// "to_syslog" or "logger_subsys.QUORUM.debug". Nil when absent.
	Logging map[string]string
	System  map[string]string

	// Warnings lists what corosync accepts but ignores, adjusts or only
	// logs (legacy keys, unknown keys, options votequorum disables), with
	// the line they are about. They never stop a load.
	Warnings []*Error

	tree     *Section
	keys     map[string]entry // every cmap key the file sets, numbered as corosync does
	sections map[string]int   // section keys ("totem", "nodelist.node.0") → opening line
}

// entry is one value of the flat cmap view with the line that set it.
type entry struct {
	value string
	line  int
}

// Totem is the totem section (exec/totemconfig.c). Spans are milliseconds in
// the file and time.Duration here.
type Totem struct {
	Version   uint32 // must be 2
	Transport string // knet (default), udpu or udp
	LinkMode  string // passive (default), active or rr
	IPVersion string // ipv6-4 (default; ipv4 for udp), ipv4, ipv6, ipv4-6

	Token                           time.Duration // 3000ms; before token_coefficient is applied
	TokenCoefficient                time.Duration // 650ms; 0 disables the per-node scaling
	TokenRetransmit                 time.Duration // 0 = derived: effective token / (const + 0.2)
	Hold                            time.Duration // 0 = derived: token_retransmit * 0.8 - 10ms
	TokenRetransmitsBeforeLossConst uint32        // 4
	TokenWarning                    uint32        // percent of the token, 75; 0 disables
	Join                            time.Duration // 50ms
	SendJoin                        time.Duration // 0
	Consensus                       time.Duration // 0 = derived: 1.2 * effective token
	Merge                           time.Duration // 200ms
	Downcheck                       time.Duration // 1000ms
	FailRecvConst                   uint32        // 2500
	SeqnoUnchangedConst             uint32        // 30
	HeartbeatFailuresAllowed        uint32        // 0 (heartbeat off)
	MaxNetworkDelay                 time.Duration // 50ms
	WindowSize                      uint32        // 50
	MaxMessages                     uint32        // 17
	MissCountConst                  uint32        // 5
	CancelTokenHoldOnRetransmit     bool          // no

	SecAuth      bool   // "secauth: on"; any other value is off, as in corosync
	CryptoCipher string // effective: none, aes256, aes192, aes128 (secauth on: aes256)
	CryptoHash   string // effective: none, md5, sha1, sha256, sha384, sha512 (secauth on: sha256)
	CryptoModel  string // nss (default), openssl, gcrypt
	KeyFile      string // /etc/corosync/authkey unless set
	Key          string // inline key; "" when absent

	NetMTU                   uint32        // 65536 for knet, 1500 for udp/udpu
	KnetMTU                  uint32        // 0 = path MTU discovery
	KnetPMTUDInterval        time.Duration // 30s (the file counts seconds)
	KnetCompressionModel     string        // none
	KnetCompressionThreshold uint32        // 0 (knet then uses its own default, 100 bytes)
	KnetCompressionLevel     int32         // 0
	BlockUnlistedIPs         bool          // yes
	ClearNodeHighBit         bool          // no
	IPDSCP                   uint8         // 0; symbolic names (ef, af41, ...) resolved
}

// Interface is one knet link: its totem.interface section merged with
// corosync's defaults. A link used by the nodelist but without a section has
// an Interface with Line 0 and all defaults.
type Interface struct {
	LinkNumber        int
	KnetLinkPriority  uint8         // 1; passive mode prefers the highest (0 ties with 1)
	KnetPingInterval  time.Duration // 0 = derived: effective token / (pong_count * 2)
	KnetPingTimeout   time.Duration // 0 = derived: effective token / pong_count
	KnetPingPrecision uint32        // 2048
	KnetPongCount     uint32        // 2 (0 in the file also means 2)
	KnetTransport     string        // udp (or sctp)
	MCastPort         uint16        // 5405 + link number (5405 + 2*link with broadcast)
	BindNetAddr       string        // legacy; knet takes addresses from the nodelist
	MCastAddr         string        // udp only
	Broadcast         bool          // udp only
	TTL               uint8         // 1; udp only
	Members           []string      // legacy member { memberaddr } entries
	Line              int           // line of "interface {"; 0 without a section
}

// Node is one nodelist.node entry.
type Node struct {
	Name            string
	NodeID          uint32 // required for knet; generated from ring0_addr for udp/udpu
	NodeIDGenerated bool   // NodeID was derived from an IPv4 ring0_addr (udp/udpu)
	QuorumVotes     uint32 // 1
	// RingAddrs holds ringX_addr by link number; "" where the node has none.
	RingAddrs [MaxLinks]string
	// Extra holds other keys of the node section (corosync keeps them in
	// cmap for other tools); nil when there are none.
	Extra map[string]string
	Line  int // line of "node {"
}

// Quorum is the quorum section as votequorum_readconfig (exec/votequorum.c)
// uses it at startup: where votequorum disables an option (two_node with
// auto_tie_breaker, auto_tie_breaker in an odd cluster without
// wait_for_all, an invalid auto_tie_breaker_node), the field shows the
// result and a warning says why.
type Quorum struct {
	Provider              string // "" = no quorum provider: always quorate
	ExpectedVotes         uint32 // 0 = from the nodelist
	Votes                 uint32 // deprecated quorum.votes; 0 when absent
	TwoNode               bool
	WaitForAll            bool // two_node's value when the key is absent
	WaitForAllAuto        bool // wait_for_all absent: it follows two_node
	LastManStanding       bool
	LastManStandingWindow time.Duration // 10s
	AutoTieBreaker        bool
	AutoTieBreakerNode    TieBreaker // lowest unless set
	AllowDownscale        bool
	ExpectedVotesTracking bool
	Device                *Device // nil without quorum.device
}

// TieBreakerMode says which partition wins a tie.
type TieBreakerMode string

// Tie-breaker modes of quorum.auto_tie_breaker_node and
// quorum.device.net.tie_breaker.
const (
	TieBreakerLowest  TieBreakerMode = "lowest"
	TieBreakerHighest TieBreakerMode = "highest"
	TieBreakerList    TieBreakerMode = "list" // NodeIDs, in priority order
)

// TieBreaker is a tie-breaker setting: lowest, highest, or node ids.
type TieBreaker struct {
	Mode    TieBreakerMode
	NodeIDs []uint32 // Mode == TieBreakerList
}

// Device is quorum.device, the qdevice (corosync-qdevice) configuration.
type Device struct {
	Model       string        // "net", the only model
	Votes       uint32        // configured, or computed as votequorum does (see VotesAuto)
	VotesAuto   bool          // votes absent: votequorum uses nodelist votes - 1
	Timeout     time.Duration // 10s
	SyncTimeout time.Duration // 30s
	MasterWins  bool
	Net         DeviceNet
	// Heuristics holds quorum.device.heuristics keys without that prefix
	// ("mode", "timeout", "exec_ping", ...); nil when absent.
	Heuristics map[string]string
	Line       int // line of "device {"
}

// DeviceNet is quorum.device.net, the connection to corosync-qnetd.
type DeviceNet struct {
	Host                          string
	Port                          uint16        // 5403
	TLS                           string        // on (default), off or required
	Algorithm                     string        // ffsplit (default), lms, 2nodelms, test
	TieBreaker                    TieBreaker    // lowest
	ConnectTimeout                time.Duration // 0 = derived from the device timeout
	ForceIPVersion                int           // 0, 4 or 6
	KeepActivePartitionTieBreaker bool          // on
}

// String returns the setting as written in corosync.conf: "lowest",
// "highest" or the space-separated node ids.
func (t TieBreaker) String() string {
	if t.Mode != TieBreakerList {
		return string(t.Mode)
	}
	s := ""
	for i, id := range t.NodeIDs {
		if i > 0 {
			s += " "
		}
		s += uitoa(uint64(id))
	}
	return s
}
