package agent

import (
	"github.com/quorate/quorate/engine/clusterlog"
	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/wire"
)

// DefaultAdminSocket is where the agent listens for management commands
// unless told otherwise, and where the CLI looks for it.
const DefaultAdminSocket = "/run/quorate/admin.sock"

// DefaultDataDir is where the agent keeps its state: config.db, with the
// ring sequence and the replicated store (package configdb).
const DefaultDataDir = "/var/lib/quorate"

// Commands of the admin socket.
const (
	CmdStatus   = "status"   // StatusInfo: what `pvecm status` prints
	CmdNodes    = "nodes"    // StatusInfo plus the configured nodelist
	CmdExpected = "expected" // `pvecm expected Votes`
	CmdDelnode  = "delnode"  // `pvecm delnode Node`
	CmdLinks    = "links"    // per peer: active link, link state
	CmdMembers  = "members"  // Totem's state, ring id and members
	CmdStats    = "stats"    // packet and protocol counters
	CmdCfsGet   = "cfs-get"  // read one entry of the replicated store
	CmdCfsPut   = "cfs-put"  // write one entry through the total order
	CmdCfsRm    = "cfs-rm"   // remove one entry through the total order
	CmdCfsLs    = "cfs-ls"   // list the entries under a directory
	CmdCfsMv    = "cfs-mv"   // rename one entry (Path to To) through the total order
	CmdLoad     = "load"     // start or stop the load generator (LoadSpec)
	CmdDelay    = "delay"    // set a link's extra send delay (DelaySpec)
	// CmdJoinToken issues a single-use join token for `quorate add`,
	// valid for TTL seconds (default DefaultTokenTTL).
	CmdJoinToken = "join-token"
	// CmdQdeviceSetup adds a qnetd quorum device cluster-wide (Host,
	// Port, Algorithm, Bundle); CmdQdeviceRemove removes it.
	CmdQdeviceSetup  = "qdevice-setup"
	CmdQdeviceRemove = "qdevice-remove"
	// CmdConfHistory lists the corosync.conf versions this node kept;
	// CmdConfRollback installs the kept text of Version as a new version.
	CmdConfHistory  = "conf-history"
	CmdConfRollback = "conf-rollback"
	// CmdLog adds Log to the cluster log (its Pri, Tag, PID, User and
	// Msg; the agent sets the rest); CmdClusterLog reads the newest Max
	// entries (50 when 0), pmxcfs's .clusterlog.
	CmdLog        = "log"
	CmdClusterLog = "clusterlog"
	// CmdWatch turns the connection into a stream of WatchEvent lines
	// (watch.go).
	CmdWatch = "watch"
	// CmdCfsLock takes or renews the lock Path for Holder (default: this
	// node's name) for TTL seconds (pmxcfs's lock directories); cfs-rm
	// releases it.
	CmdCfsLock = "cfs-lock"
)

// Codes of a failed store operation (Response.Code): what a client may
// conclude about its effect.
const (
	CodeReadOnly      = "read_only"     // refused at once without quorum: no effect
	CodeNotFound      = "not_found"     // the entry does not exist
	CodeConflict      = "conflict"      // the version moved: no effect
	CodeAborted       = "aborted"       // a membership change aborted it: no effect
	CodeIndeterminate = "indeterminate" // it may or may not have taken effect
	CodeStopped       = "stopped"       // the agent stopped first: unknown for a write
	CodeLocked        = "locked"        // the entry is a lock held by another node: no effect
	CodeExists        = "exists"        // a plain value where a lock was asked: no effect
	CodeTooLarge      = "too_large"     // over the value limit (pmxcfs: EFBIG): no effect
	CodeBadKey        = "bad_key"       // not a valid path: no effect
)

// Request is one admin command: the client writes it as one JSON value and
// reads one Response back on the same connection.
type Request struct {
	Cmd string `json:"cmd"`
	// Votes is the argument of expected.
	Votes int `json:"votes,omitempty"`
	// Node is the argument of delnode: a nodelist name, a ring0 address
	// or a nodeid.
	Node string `json:"node,omitempty"`
	// Path is the entry of cfs-get, cfs-put and cfs-rm, or the directory
	// of cfs-ls ("" lists everything). A leading "/" is ignored.
	Path string `json:"path,omitempty"`
	// To is the new path of cfs-mv.
	To string `json:"to,omitempty"`
	// Value is what cfs-put writes; null (missing) is a bad request, an
	// empty string an empty value.
	Value []byte `json:"value"`
	// IfVersion makes cfs-put a compare-and-set: the write applies only
	// if the entry's version is still *IfVersion (0: the entry is absent),
	// else it fails with CodeConflict.
	IfVersion *uint64 `json:"if_version,omitempty"`
	// Ordered makes cfs-get a linearizable read through the total order
	// instead of a read of the local replica.
	Ordered bool `json:"ordered,omitempty"`
	// Load is the argument of load.
	Load *LoadSpec `json:"load,omitempty"`
	// Delay is the argument of delay.
	Delay *DelaySpec `json:"delay,omitempty"`
	// TTL is the lifetime of a join token in seconds (0 takes the
	// default), or of a lock (cfs-lock).
	TTL int `json:"ttl,omitempty"`
	// Host, Port, Algorithm and Bundle are the arguments of qdevice-setup:
	// the qnetd's address, the algorithm ("" chooses by the node count)
	// and the client bundle's PEM.
	Host      string `json:"host,omitempty"`
	Port      int    `json:"port,omitempty"`
	Algorithm string `json:"algorithm,omitempty"`
	Bundle    []byte `json:"bundle,omitempty"`
	// Holder is who takes the lock of cfs-lock.
	Holder string `json:"holder,omitempty"`
	// Force lets qdevice-setup add a device to an odd node count.
	Force bool `json:"force,omitempty"`
	// Version is the config_version conf-rollback goes back to.
	Version uint64 `json:"version,omitempty"`
	// Log is the entry of log.
	Log *clusterlog.Entry `json:"log,omitempty"`
	// Max bounds clusterlog's answer.
	Max int `json:"max,omitempty"`
}

// LoadSpec is one run of the load generator: Count application messages
// of Size bytes multicast through Totem's total order, at most Rate per
// second (0: as fast as Totem takes them) and with at most Window of them
// sent and not yet delivered back to this node (0: no limit; 1 is
// cpgbench's ping mode). A new run replaces the current one; Count 0 stops
// it. Size includes the generator's 28-byte header (see load.go).
type LoadSpec struct {
	Count  int     `json:"count"`
	Size   int     `json:"size"`
	Rate   float64 `json:"rate,omitempty"`
	Window int     `json:"window,omitempty"`
}

// LoadInfo reports the load generator and the checks every agent makes of
// the load messages it delivers, from every sender; all counters are
// cumulative since the agent started (take two readings and subtract for
// a window; LatencyHistogram.Sub does it for the histograms).
type LoadInfo struct {
	Running bool `json:"running"`
	// Spec and Remaining describe the current or last run.
	Spec      *LoadSpec `json:"spec,omitempty"`
	Remaining int       `json:"remaining"`
	// Sent counts the load messages this agent multicast; InFlight those
	// of them not delivered back yet.
	Sent     uint64 `json:"sent"`
	InFlight int    `json:"in_flight"`
	// Throttled counts the times the generator backed off because Totem's
	// queue was full.
	Throttled uint64 `json:"throttled"`
	// Delivered counts the load messages delivered here, BySender by
	// sender name.
	Delivered uint64            `json:"delivered"`
	BySender  map[string]uint64 `json:"by_sender"`
	// Gaps counts messages missing from a sender's sequence, Reorders
	// messages delivered after a later one of the same sender; both stay 0
	// on a node that was a member throughout.
	Gaps     uint64 `json:"gaps"`
	Reorders uint64 `json:"reorders"`
	// Digest hashes (sender, origin, seq) of every load message in
	// delivery order: nodes that delivered the same messages in the same
	// (agreed) order show the same digest.
	Digest string `json:"digest"`
	// OwnLatency is Multicast to delivery of this agent's messages;
	// PeerLatency of the other nodes' messages, from the sender's
	// CLOCK_MONOTONIC to this node's, meaningful only on one machine.
	// Skewed counts peer messages stamped in this node's future (another
	// clock), which are left out.
	OwnLatency  LatencyHistogram `json:"own_latency"`
	PeerLatency LatencyHistogram `json:"peer_latency"`
	Skewed      uint64           `json:"skewed"`
}

// Response is the agent's answer. OK false comes with Error in the words
// of the tool the command imitates; BadRequest says the request itself was
// wrong (unknown command or node, deleting the local node), as opposed to a
// refusal by the engine (no quorum, CS_ERR_INVALID_PARAM).
type Response struct {
	OK         bool   `json:"ok"`
	Error      string `json:"error,omitempty"`
	BadRequest bool   `json:"bad_request,omitempty"`
	// Code classifies a store operation's failure for programs (one of
	// the Code constants), where Error words it for people.
	Code string `json:"code,omitempty"`

	Status   *StatusInfo  `json:"status,omitempty"`   // status, nodes
	Nodelist []NodeInfo   `json:"nodelist,omitempty"` // nodes
	Links    *LinksInfo   `json:"links,omitempty"`    // links
	Members  *MembersInfo `json:"members,omitempty"`  // members
	Stats    *StatsInfo   `json:"stats,omitempty"`    // stats
	// Deleted is the nodeid delnode removed.
	Deleted wire.NodeID `json:"deleted,omitempty"`
	// ConfigVersion is the cluster's config_version after qdevice-setup,
	// qdevice-remove, conf-rollback or a cfs-put of corosync.conf.
	ConfigVersion uint64 `json:"config_version,omitempty"`
	// Entry is the entry cfs-get read, with its value, or the one cfs-put
	// wrote, without it.
	Entry *StoreEntry `json:"entry,omitempty"`
	// Entries are cfs-ls's answer, sorted by path, without values.
	Entries []StoreEntry `json:"entries,omitempty"`
	// Token is the join token join-token issued, and Expires its expiry
	// (RFC 3339).
	Token   string `json:"token,omitempty"`
	Expires string `json:"expires,omitempty"`
	// History is conf-history's answer, oldest first, the current version
	// last.
	History []ConfVersion `json:"history,omitempty"`
	// ClusterLog is clusterlog's answer, newest first.
	ClusterLog []clusterlog.Entry `json:"cluster_log,omitempty"`
}

// StoreEntry is one entry of the replicated configuration store.
type StoreEntry struct {
	Path string `json:"path"`
	// Size is the value's length in bytes.
	Size int `json:"size"`
	// Version is the store-wide version at which the entry was last
	// written (pmxcfs's inode version).
	Version uint64 `json:"version"`
	// Lock is the holder when the entry is a lock (no value).
	Lock  string `json:"lock,omitempty"`
	Value []byte `json:"value,omitempty"`
}

// StatusInfo is everything reports.StatusView needs but the date, which
// the CLI adds when it prints.
type StatusInfo struct {
	ClusterName   string `json:"cluster_name"`
	ConfigVersion uint64 `json:"config_version"`
	Transport     string `json:"transport"`
	SecureAuth    bool   `json:"secure_auth"`
	// NodeName is the local node's nodelist name.
	NodeName string `json:"node_name"`
	// Quorum is votequorum's status on this node.
	Quorum quorum.Status `json:"quorum"`
	// Names and Addrs are the nodelist names and ring0 addresses.
	Names map[wire.NodeID]string `json:"names"`
	Addrs map[wire.NodeID]string `json:"addrs"`
}

// NodeInfo is one entry of the nodelist as the agent runs it (deleted
// nodes are gone), with whether it is in the current membership.
type NodeInfo struct {
	ID     wire.NodeID `json:"id"`
	Name   string      `json:"name"`
	Votes  int         `json:"votes"`
	Addrs  []string    `json:"addrs"` // ringX_addr by link number; "" where none
	Member bool        `json:"member"`
	Local  bool        `json:"local,omitempty"`
}

// LinksInfo is the knet view of every peer (corosync-cfgtool -n).
type LinksInfo struct {
	Self     wire.NodeID `json:"self"`
	LinkMode string      `json:"link_mode"`
	Peers    []PeerLinks `json:"peers"`
}

// PeerLinks is the link state towards one peer.
type PeerLinks struct {
	ID   wire.NodeID `json:"id"`
	Name string      `json:"name"`
	// Active is the link carrying traffic (passive mode) or the lowest
	// usable one (active, rr); -1 when the peer is unreachable.
	Active int        `json:"active"`
	Links  []LinkInfo `json:"links"`
}

// LinkInfo is one configured link towards a peer.
type LinkInfo struct {
	Link      int     `json:"link"`
	Local     string  `json:"local"`  // this node's address and port
	Remote    string  `json:"remote"` // the peer's address and port
	Up        bool    `json:"up"`
	LatencyMs float64 `json:"latency_ms"` // knet's mean pong latency
}

// MembersInfo is Totem's view: its state, the ring id and the members of
// the last regular configuration.
type MembersInfo struct {
	State   string       `json:"state"`
	Ring    string       `json:"ring"`
	RingSeq uint64       `json:"ring_seq"`
	Members []MemberInfo `json:"members"`
}

// MemberInfo is one ring member.
type MemberInfo struct {
	ID   wire.NodeID `json:"id"`
	Name string      `json:"name"`
}

// StatsInfo holds the agent's counters, all cumulative since it started.
type StatsInfo struct {
	// UDP transport (netmodel/udp): packets by outcome, drops and
	// rejections by reason.
	Sent       uint64            `json:"sent"`
	SendErrors uint64            `json:"send_errors"`
	Dropped    map[string]uint64 `json:"dropped"`
	Received   uint64            `json:"received"`
	Rejected   map[string]uint64 `json:"rejected"`
	ReadErrors uint64            `json:"read_errors"`
	// ICMPErrors counts the ICMP errors (port, host or network
	// unreachable) the kernel reported for datagrams to a peer.
	ICMPErrors uint64 `json:"icmp_errors"`
	// InboundDropped counts datagrams the transport accepted but the loop
	// could not take because its channel was full.
	InboundDropped uint64 `json:"inbound_dropped"`

	Links map[string]uint64 `json:"links"` // link layer: pings, pongs, data
	Totem map[string]uint64 `json:"totem"` // tokens, retransmits, messages
	// Deliveries counts the node's totally ordered output by kind
	// (message, transitional, regular) and messages by service.
	Deliveries map[string]uint64 `json:"deliveries"`
	// Qdevice is the qnetd client's state and counters; nil without a
	// quorum.device.
	Qdevice *QdeviceInfo `json:"qdevice,omitempty"`
	// Load is the load generator and the checks of the load messages.
	Load *LoadInfo `json:"load"`
	// Join counts the join listener's handshakes by outcome.
	Join map[string]uint64 `json:"join,omitempty"`
	// AuthFailed counts, per peer, the packets from its address that
	// failed authentication (Rejected["auth_failed"] by peer).
	AuthFailed map[string]uint64 `json:"auth_failed,omitempty"`
}
