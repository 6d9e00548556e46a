package totem

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// Corosync defaults and limits (corosync exec/totemconfig.c, include/corosync/totem/totem.h).
const (
	defaultToken                  = 3000 * time.Millisecond
	defaultTokenCoefficient       = 650 * time.Millisecond
	defaultTokenRetransmitsBefore = 4
	defaultJoin                   = 50 * time.Millisecond
	defaultMerge                  = 200 * time.Millisecond
	defaultMaxMessages            = 17
	defaultWindowSize             = 50
	defaultMissCountConst         = 5
	defaultSeqnoUnchangedConst    = 30
	defaultFailRecvConst          = 2500

	// DefaultLoopback is Config.Loopback's default: two thread hand-offs
	// (corosync to knet's send thread, back to corosync's poll loop) on a
	// busy two-core machine, as in the reference measurements; with it the
	// restart bursts of docs/fidelity.md settle as Corosync's do.
	DefaultLoopback = 200 * time.Microsecond

	// hz is the Linux scheduler frequency corosync assumes; 1000/HZ = 10 ms.
	hzMillis = 10
	// minimumTimeoutMs is corosync's MINIMUM_TIMEOUT, 3 × 1000/HZ.
	minimumTimeoutMs = 3 * hzMillis
	// minimumHoldMs is corosync's MINIMUM_TIMEOUT_HOLD, MINIMUM_TIMEOUT × 0.8 − 1000/HZ.
	minimumHoldMs = 14

	// MaxProcessors is corosync's PROCESSOR_COUNT_MAX.
	MaxProcessors = 384
	// MaxRetransmitEntries is corosync's RETRANSMIT_ENTRIES_MAX (rtr list length).
	MaxRetransmitEntries = 30
	// QueueSize is corosync's QUEUE_RTR_ITEMS_SIZE_MAX (sort queue slots).
	QueueSize = 16384
	// MaxPayload is the largest application payload Multicast accepts
	// (corosync MESSAGE_SIZE_MAX, 1 MiB after reassembly).
	MaxPayload = 1 << 20
)

// ErrConfig is the sentinel wrapped by every configuration error; the
// message after it follows corosync's "parse error in config: …" wording.
var ErrConfig = errors.New("totem: parse error in config")

// Config is the totem section of corosync.conf plus the node's identity.
// A zero duration or count selects corosync's default or derivation (§9 of
// the spec); TokenCoefficient < 0 disables the per-node token scaling
// (corosync's token_coefficient: 0).
type Config struct {
	// Self is this node's nodeid; it must appear in Nodes.
	Self wire.NodeID
	// Nodes is the configured nodelist including Self. Its size N sets the
	// effective token timeout (token + (N−2) × token_coefficient for N ≥ 3).
	Nodes []wire.NodeID

	Token            time.Duration // totem.token (before scaling), default 3000ms
	TokenCoefficient time.Duration // totem.token_coefficient, default 650ms; < 0 disables
	Consensus        time.Duration // totem.consensus, default 1.2 × effective token
	Join             time.Duration // totem.join, default 50ms
	Merge            time.Duration // totem.merge, default 200ms
	TokenRetransmit  time.Duration // totem.token_retransmit, default T / (const + 0.2)
	Hold             time.Duration // totem.hold, default 0.8 × token_retransmit − 10ms
	SendJoin         time.Duration // totem.send_join, default 0 (no jitter)

	// Loopback is how long a node's own JOIN, token or commit token takes
	// to come back to it. Corosync multicasts its JOINs to every node,
	// itself included, and passes a ring of one its tokens, through knet's
	// loopback link: the datagram crosses knet's threads and corosync's
	// poll loop before memb_join_process sees it, so datagrams of other
	// nodes already on their way are processed first. After a burst of
	// restarts that ordering decides whether a node that times out forms a
	// ring of itself at once (and its JOIN failing the others makes them
	// fail it) or first hears the others' JOINs: with no delay the
	// simulator chained singleton rings for many seconds where Corosync
	// settles in one or two consensus rounds (docs/fidelity.md). Not a
	// corosync.conf key. 0 selects DefaultLoopback; a negative value
	// processes them at once.
	Loopback time.Duration

	TokenRetransmitsBeforeLossConst int // default 4
	MaxMessages                     int // default 17
	WindowSize                      int // default 50
	MissCountConst                  int // default 5
	SeqnoUnchangedConst             int // default 30
	FailRecvConst                   int // default 2500
}

// Timers holds the effective values derived from a Config by Derive.
type Timers struct {
	Token           time.Duration // effective token (loss) timeout T
	TokenRetransmit time.Duration
	Hold            time.Duration
	Consensus       time.Duration
	Join            time.Duration
	Merge           time.Duration
	SendJoin        time.Duration
	Loopback        time.Duration

	TokenRetransmitsBeforeLossConst int
	MaxMessages                     int
	WindowSize                      int
	MissCountConst                  int
	SeqnoUnchangedConst             int
	FailRecvConst                   int
}

// ms truncates a duration to whole milliseconds, as corosync stores them.
func ms(d time.Duration) int64 { return int64(d / time.Millisecond) }

func fromMs(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

func orDefault[T time.Duration | int](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Derive computes the effective timers of c with corosync's rules
// (totem_volatile_config_read) and validates them like
// totem_volatile_config_validate. Integer arithmetic follows C truncation.
func Derive(c Config) (Timers, error) {
	if err := c.validateCounts(); err != nil {
		return Timers{}, err
	}
	t := Timers{
		TokenRetransmitsBeforeLossConst: orDefault(c.TokenRetransmitsBeforeLossConst, defaultTokenRetransmitsBefore),
		MaxMessages:                     orDefault(c.MaxMessages, defaultMaxMessages),
		WindowSize:                      orDefault(c.WindowSize, defaultWindowSize),
		MissCountConst:                  orDefault(c.MissCountConst, defaultMissCountConst),
		SeqnoUnchangedConst:             orDefault(c.SeqnoUnchangedConst, defaultSeqnoUnchangedConst),
		FailRecvConst:                   orDefault(c.FailRecvConst, defaultFailRecvConst),
		Join:                            fromMs(ms(orDefault(c.Join, defaultJoin))),
		Merge:                           fromMs(ms(orDefault(c.Merge, defaultMerge))),
		Loopback:                        loopback(c.Loopback),
		SendJoin:                        fromMs(ms(c.SendJoin)),
	}
	token := ms(orDefault(c.Token, defaultToken))
	if n := int64(len(c.Nodes)); n > 2 && c.TokenCoefficient >= 0 {
		token += (n - 2) * ms(orDefault(c.TokenCoefficient, defaultTokenCoefficient))
	}
	t.Token = fromMs(token)
	rt := int64(float64(token) / (float64(t.TokenRetransmitsBeforeLossConst) + 0.2))
	if c.TokenRetransmit != 0 {
		rt = ms(c.TokenRetransmit)
	}
	t.TokenRetransmit = fromMs(rt)
	hold := int64(float64(rt)*0.8 - hzMillis)
	if c.Hold != 0 {
		hold = ms(c.Hold)
	}
	t.Hold = fromMs(hold)
	cons := int64(float32(1.2 * float64(token)))
	if c.Consensus != 0 {
		cons = ms(c.Consensus)
	}
	t.Consensus = fromMs(cons)
	return t, t.validate(c.TokenRetransmit != 0)
}

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// validate mirrors corosync's totem_volatile_config_validate.
func (t Timers) validate(retransmitSet bool) error {
	switch {
	case ms(t.Token) < minimumTimeoutMs:
		return configErr("The token timeout parameter (%d ms) may not be less than (%d ms).", ms(t.Token), minimumTimeoutMs)
	case ms(t.TokenRetransmit) < minimumTimeoutMs && retransmitSet:
		return configErr("The token retransmit timeout parameter (%d ms) may not be less than (%d ms).", ms(t.TokenRetransmit), minimumTimeoutMs)
	case ms(t.TokenRetransmit) < minimumTimeoutMs:
		return configErr("Not appropriate token or token_retransmits_before_loss_const value set")
	case ms(t.Hold) < minimumHoldMs:
		return configErr("The token hold timeout parameter (%d ms) may not be less than (%d ms).", ms(t.Hold), minimumHoldMs)
	case ms(t.Join) < minimumTimeoutMs:
		return configErr("The join timeout parameter (%d ms) may not be less than (%d ms).", ms(t.Join), minimumTimeoutMs)
	case ms(t.Consensus) < minimumTimeoutMs:
		return configErr("The consensus timeout parameter (%d ms) may not be less than (%d ms).", ms(t.Consensus), minimumTimeoutMs)
	case t.Consensus < t.Join:
		return configErr("The consensus timeout parameter (%d ms) may not be less than join timeout (%d ms).", ms(t.Consensus), ms(t.Join))
	case ms(t.Merge) < minimumTimeoutMs:
		return configErr("The merge timeout parameter (%d ms) may not be less than (%d ms).", ms(t.Merge), minimumTimeoutMs)
	case t.MaxMessages > t.WindowSize:
		return configErr("The max_messages parameter (%d messages) may not be greater than the window_size parameter (%d messages).", t.MaxMessages, t.WindowSize)
	case t.WindowSize+t.MaxMessages > QueueSize/2:
		return configErr("The window_size parameter (%d messages) is too large.", t.WindowSize)
	}
	return nil
}

// validateCounts rejects negative values and a malformed nodelist.
func (c Config) validateCounts() error {
	for _, v := range []struct {
		name string
		n    int
	}{
		{"token_retransmits_before_loss_const", c.TokenRetransmitsBeforeLossConst},
		{"max_messages", c.MaxMessages},
		{"window_size", c.WindowSize},
		{"miss_count_const", c.MissCountConst},
		{"seqno_unchanged_const", c.SeqnoUnchangedConst},
		{"fail_recv_const", c.FailRecvConst},
	} {
		if v.n < 0 {
			return configErr("The %s parameter (%d) may not be negative.", v.name, v.n)
		}
	}
	for _, d := range []time.Duration{c.Token, c.Consensus, c.Join, c.Merge, c.TokenRetransmit, c.Hold, c.SendJoin} {
		if d < 0 {
			return configErr("Timeouts may not be negative (%v).", d)
		}
	}
	if len(c.Nodes) == 0 || len(c.Nodes) > MaxProcessors {
		return configErr("The nodelist must hold 1 to %d nodes (has %d).", MaxProcessors, len(c.Nodes))
	}
	sorted := slices.Clone(c.Nodes)
	slices.Sort(sorted)
	for i, id := range sorted {
		if id == 0 {
			return configErr("nodeid 0 is reserved.")
		}
		if i > 0 && sorted[i-1] == id {
			return configErr("nodeid %d appears twice in the nodelist.", id)
		}
	}
	if c.Self == 0 || !slices.Contains(sorted, c.Self) {
		return configErr("This node's nodeid %d is not in the nodelist.", c.Self)
	}
	return nil
}

// loopback resolves Config.Loopback: 0 is the default, negative none.
func loopback(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return DefaultLoopback
	case d < 0:
		return 0
	}
	return d
}
