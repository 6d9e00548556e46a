package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/totem"
	"github.com/quorate/quorate/engine/wire"
)

// ServiceSync carries the service synchronisation that follows every
// regular configuration (corosync's sync.c, docs/reference/service-sync.md).
const ServiceSync byte = 5

// The services that take part in the synchronisation, in the order they
// run: corosync sorts them by service id (cmap 0, cpg 2, quorum 3,
// votequorum 5). Only their ids travel in the service-list message.
const (
	syncCmap       byte = 0
	syncCpg        byte = 2
	syncQuorum     byte = 3
	syncVotequorum byte = 5
)

var syncServices = []byte{syncCmap, syncCpg, syncQuorum, syncVotequorum}

func syncServiceName(id byte) string {
	switch id {
	case syncCmap:
		return "cmap"
	case syncCpg:
		return "cpg"
	case syncQuorum:
		return "quorum"
	case syncVotequorum:
		return "votequorum"
	}
	return fmt.Sprintf("service %d", id)
}

// The kinds of synchronisation message.
const (
	syncMsgBuild    byte = 1 // MESSAGE_REQ_SYNC_SERVICE_BUILD: the sender's services
	syncMsgBarrier  byte = 2 // MESSAGE_REQ_SYNC_BARRIER: the sender finished the current service
	syncMsgCmap     byte = 3 // cmap's sync message: the sender's totem.config_version
	syncMsgDownlist byte = 4 // cpg's downlist: the members the sender saw leave
)

// SyncMessage is one message of the service synchronisation. Every kind
// names the ring it belongs to; a message of another ring is discarded.
type SyncMessage struct {
	Kind     byte
	Ring     totem.RingID
	Services []byte        // syncMsgBuild
	Version  uint64        // syncMsgCmap
	Left     []wire.NodeID // syncMsgDownlist
}

// ErrSyncMessage is returned for a synchronisation message that cannot be
// decoded.
var ErrSyncMessage = errors.New("engine: malformed sync message")

const syncHeader = 1 + 4 + 8

// Encode returns the message's wire form (without the service byte).
func (m SyncMessage) Encode() []byte {
	b := make([]byte, syncHeader, syncHeader+16)
	b[0] = m.Kind
	binary.BigEndian.PutUint32(b[1:], uint32(m.Ring.Rep))
	binary.BigEndian.PutUint64(b[5:], m.Ring.Seq)
	switch m.Kind {
	case syncMsgBuild:
		b = append(b, byte(len(m.Services)))
		b = append(b, m.Services...)
	case syncMsgCmap:
		b = binary.BigEndian.AppendUint64(b, m.Version)
	case syncMsgDownlist:
		b = binary.BigEndian.AppendUint16(b, uint16(len(m.Left)))
		for _, id := range m.Left {
			b = binary.BigEndian.AppendUint32(b, uint32(id))
		}
	}
	return b
}

// DecodeSyncMessage parses a synchronisation message from a peer.
func DecodeSyncMessage(b []byte) (SyncMessage, error) {
	if len(b) < syncHeader {
		return SyncMessage{}, fmt.Errorf("%w: %d bytes, want at least %d", ErrSyncMessage, len(b), syncHeader)
	}
	m := SyncMessage{Kind: b[0], Ring: totem.RingID{Rep: wire.NodeID(binary.BigEndian.Uint32(b[1:])), Seq: binary.BigEndian.Uint64(b[5:])}}
	rest := b[syncHeader:]
	switch m.Kind {
	case syncMsgBuild:
		if len(rest) < 1 || len(rest) != 1+int(rest[0]) {
			return SyncMessage{}, fmt.Errorf("%w: service list of %d bytes", ErrSyncMessage, len(rest))
		}
		m.Services = slices.Clone(rest[1:])
	case syncMsgBarrier:
		if len(rest) != 0 {
			return SyncMessage{}, fmt.Errorf("%w: barrier with %d trailing bytes", ErrSyncMessage, len(rest))
		}
	case syncMsgCmap:
		if len(rest) != 8 {
			return SyncMessage{}, fmt.Errorf("%w: cmap message of %d bytes", ErrSyncMessage, len(rest))
		}
		m.Version = binary.BigEndian.Uint64(rest)
	case syncMsgDownlist:
		if len(rest) < 2 {
			return SyncMessage{}, fmt.Errorf("%w: downlist without count", ErrSyncMessage)
		}
		n := int(binary.BigEndian.Uint16(rest))
		if len(rest) != 2+4*n {
			return SyncMessage{}, fmt.Errorf("%w: downlist of %d entries in %d bytes", ErrSyncMessage, n, len(rest))
		}
		m.Left = make([]wire.NodeID, n)
		for i := range m.Left {
			m.Left[i] = wire.NodeID(binary.BigEndian.Uint32(rest[2+4*i:]))
		}
	default:
		return SyncMessage{}, fmt.Errorf("%w: kind %d", ErrSyncMessage, m.Kind)
	}
	return m, nil
}

// syncState is sync.c's my_state.
type syncState uint8

const (
	syncIdle         syncState = iota // no synchronisation running (completed or never started)
	syncServiceBuild                  // waiting for every member's service list
	syncProcess                       // the current service's process step runs
	syncBarrier                       // waiting for every member's barrier
)

// syncer is the node's service synchronisation: after every regular
// configuration the services (cmap, cpg, quorum, votequorum) are brought
// into agreement one after the other, each ended by a barrier that every
// member multicasts through Totem. Only when the last one activates is the
// configuration in service ("Completed service synchronization"):
// votequorum's verdict becomes visible and the store starts its own state
// exchange. A configuration change before that aborts the round.
type syncer struct {
	state    syncState
	ring     totem.RingID
	members  []wire.NodeID
	received []bool
	idx      int // position in syncServices of the current service
	trans    []wire.NodeID

	// cmap: this node's config version, the highest seen in the round,
	// whether a synchronisation with other members has completed before.
	version      uint64
	highest      uint64
	firstDone    bool
	cmapMulti    bool
	prevMembers  []wire.NodeID
	started      bool // a regular configuration was seen before
	left         []wire.NodeID
	downlistSeen int
}

// syncOutput is how the syncer acts on the node.
type syncOutput interface {
	syncMulticast(now Instant, m SyncMessage)
	syncEvent(detail string, nodes []wire.NodeID)
}

// start is sync_start for a regular configuration: any round in progress
// is aborted, this node's service list goes out, and every service's
// sync_init runs (votequorum's in the caller).
func (s *syncer) start(now Instant, out syncOutput, ring totem.RingID, members []wire.NodeID) {
	s.abort(out)
	s.state = syncServiceBuild
	s.ring = ring
	s.members = slices.Clone(members)
	s.received = make([]bool, len(members))
	s.idx = 0
	// sync_process_call_init: the transitional members still in the new
	// ring are the ones that were synchronised together before.
	s.trans = slices.DeleteFunc(slices.Clone(s.trans), func(id wire.NodeID) bool { return !slices.Contains(members, id) })
	if !s.started {
		// A node's first ring follows no earlier one: nobody was
		// synchronised with it before (cmap's "single node sync").
		s.trans = nil
	}
	s.started = true
	s.highest = s.version
	s.cmapMulti = len(s.trans) > 0
	s.left = s.left[:0]
	for _, id := range s.prevMembers {
		if !slices.Contains(members, id) {
			s.left = append(s.left, id)
		}
	}
	s.downlistSeen = 0
	out.syncMulticast(now, SyncMessage{Kind: syncMsgBuild, Ring: ring, Services: syncServices})
}

// transitional is sync_save_transitional.
func (s *syncer) transitional(members []wire.NodeID) { s.trans = slices.Clone(members) }

// abort is sync_abort: the round in progress (if any) ends without
// activating; its late messages are discarded by their ring id.
func (s *syncer) abort(out syncOutput) {
	if s.state == syncIdle {
		return
	}
	out.syncEvent(fmt.Sprintf("aborted ring=%s service=%s", s.ring, s.current()), s.members)
	s.state = syncIdle
	s.ring = totem.RingID{}
}

func (s *syncer) current() string {
	if s.state == syncServiceBuild {
		return "service-list"
	}
	if s.idx < len(syncServices) {
		return syncServiceName(syncServices[s.idx])
	}
	return "none"
}

// inService says the last regular configuration completed its
// synchronisation.
func (s *syncer) inService() bool { return s.state == syncIdle && s.ring != (totem.RingID{}) }

// mark records from's message of the current step and says whether every
// member's is in.
func (s *syncer) mark(from wire.NodeID) bool {
	if i := slices.Index(s.members, from); i >= 0 {
		s.received[i] = true
	}
	return !slices.Contains(s.received, false)
}

// deliver handles one synchronisation message in agreed order. It returns
// the service whose process step must run now (votequorum's is the
// caller's), or -1.
func (s *syncer) deliver(now Instant, out syncOutput, from wire.NodeID, m SyncMessage) (process int) {
	if s.state == syncIdle || m.Ring != s.ring {
		return -1 // "barrier for old ring - discarding"
	}
	switch m.Kind {
	case syncMsgBuild:
		// Every member runs the same services here; an unknown id would
		// join the list with no-op steps, as in sync.c.
		if s.state == syncServiceBuild && s.mark(from) {
			return s.processEnter(now, out)
		}
	case syncMsgCmap:
		s.highest = max(s.highest, m.Version)
	case syncMsgDownlist:
		s.downlistSeen++
	case syncMsgBarrier:
		if s.state != syncBarrier && s.state != syncProcess {
			return -1
		}
		if s.mark(from) {
			return s.activate(now, out)
		}
	}
	return -1
}

// processEnter is sync_process_enter followed by the process step of the
// current service.
func (s *syncer) processEnter(now Instant, out syncOutput) int {
	s.state = syncProcess
	clear(s.received)
	id := syncServices[s.idx]
	switch id {
	case syncCmap:
		out.syncMulticast(now, SyncMessage{Kind: syncMsgCmap, Ring: s.ring, Version: s.version})
	case syncCpg:
		out.syncMulticast(now, SyncMessage{Kind: syncMsgDownlist, Ring: s.ring, Left: slices.Clone(s.left)})
	case syncVotequorum:
		// votequorum's process step and barrier are its own messages
		// (NODEINFO, SYNC_BARRIER); the caller runs them and reports
		// completion through votequorumDone.
		return int(id)
	}
	s.state = syncBarrier
	out.syncMulticast(now, SyncMessage{Kind: syncMsgBarrier, Ring: s.ring})
	return -1
}

// activate is the barrier handler's commit: the current service activates
// and the next one's process step starts, or the round completes.
func (s *syncer) activate(now Instant, out syncOutput) int {
	switch syncServices[s.idx] {
	case syncCmap:
		// cmap_sync_activate: after the first synchronisation with other
		// members, a node whose config_version differs from the highest
		// one it received has an outdated corosync.conf (corosync exits).
		if s.cmapMulti && !s.firstDone {
			s.firstDone = true
			if s.version != 0 && s.highest != s.version {
				out.syncEvent(fmt.Sprintf("config_version %d differs from the highest received %d", s.version, s.highest), nil)
			}
		}
	case syncCpg:
		s.prevMembers = slices.Clone(s.members)
	}
	s.idx++
	return s.processEnter(now, out)
}

// votequorumDone is votequorum's barrier completing (EventSync for the
// ring being synchronised): the last service has activated.
func (s *syncer) votequorumDone(ring quorum.RingID, out syncOutput) bool {
	if s.state != syncProcess || s.idx >= len(syncServices) || syncServices[s.idx] != syncVotequorum {
		return false
	}
	if ring != (quorum.RingID{Rep: s.ring.Rep, Seq: s.ring.Seq}) {
		return false
	}
	s.state = syncIdle
	out.syncEvent("completed ring="+s.ring.String(), s.members)
	return true
}
