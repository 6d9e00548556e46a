package quorum

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// Vote is a qnetd decision as the client sees it (corosync-qdevice's
// tlv_vote).
type Vote uint8

// The votes. ACK and NACK are decisions; the others tell the client what
// to do with its current one.
const (
	VoteUndefined Vote = iota
	VoteACK
	VoteNACK
	VoteAskLater
	VoteWaitForReply
	VoteNoChange
)

var voteNames = [...]string{"undefined", "ACK", "NACK", "ask_later", "wait_for_reply", "no_change"}

// String returns the vote's name.
func (v Vote) String() string {
	if int(v) < len(voteNames) {
		return voteNames[v]
	}
	return "Vote(" + strconv.Itoa(int(v)) + ")"
}

// DevKind identifies a client↔arbiter message (the first byte).
type DevKind uint8

// The client↔arbiter messages, a compact stand-in for corosync-qdevice's
// TLV protocol over TCP/TLS.
const (
	DevInit DevKind = iota + 1
	DevInitReply
	DevMembership
	DevQuorum
	DevReply
	DevVoteInfo
	DevVoteInfoReply
	DevEcho
	DevEchoReply
)

var devKindNames = [...]string{
	DevInit:          "init",
	DevInitReply:     "init_reply",
	DevMembership:    "membership",
	DevQuorum:        "quorum",
	DevReply:         "reply",
	DevVoteInfo:      "vote_info",
	DevVoteInfoReply: "vote_info_reply",
	DevEcho:          "echo",
	DevEchoReply:     "echo_reply",
}

// String returns the message's name.
func (k DevKind) String() string {
	if int(k) < len(devKindNames) && devKindNames[k] != "" {
		return devKindNames[k]
	}
	return "DevKind(" + strconv.Itoa(int(k)) + ")"
}

// InitError is the arbiter's answer to DevInit (tlv_reply_error_code,
// reduced to the cases modelled).
type InitError uint8

// The init results.
const (
	InitOK InitError = iota
	InitUnsupportedAlgorithm
	InitInvalidNodeList
)

// String returns the result's name.
func (e InitError) String() string {
	switch e {
	case InitOK:
		return "ok"
	case InitUnsupportedAlgorithm:
		return "unsupported_algorithm"
	case InitInvalidNodeList:
		return "invalid_node_list"
	}
	return "InitError(" + strconv.Itoa(int(e)) + ")"
}

// DevMsg is one client↔arbiter message. Each call that hands bytes from
// one side to the other carries exactly one message.
type DevMsg struct {
	Kind DevKind
	// Seq numbers requests; replies echo it.
	Seq uint32
	// DevInit: the client's node, algorithm, tie-breaker, heartbeat
	// interval, configured nodelist and current ring id (zero if none yet).
	NodeID     wire.NodeID
	Algorithm  Algorithm
	TieBreaker TieBreaker
	Heartbeat  time.Duration // whole milliseconds on the wire
	// DevInit: config node list; DevMembership, DevQuorum: members.
	Nodes []wire.NodeID
	// DevInit, DevMembership, DevReply, DevVoteInfo: the ring the message is about.
	Ring RingID
	// DevQuorum: this node's votequorum is quorate.
	Quorate bool
	// DevReply, DevVoteInfo: the decision; DevReply: which request it answers.
	Vote  Vote
	Reply DevKind
	// DevInitReply: the result.
	Error InitError
}

// maxListLen bounds node lists on the wire (corosync's PROCESSOR_COUNT_MAX is 384).
const maxListLen = 1024

func appendList(b []byte, ids []wire.NodeID) []byte {
	if len(ids) > maxListLen {
		ids = ids[:maxListLen]
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(ids)))
	for _, id := range ids {
		b = be32(b, uint32(id))
	}
	return b
}

func appendRing(b []byte, r RingID) []byte {
	return binary.BigEndian.AppendUint64(be32(b, uint32(r.Rep)), r.Seq)
}

func b2u(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// AppendDevMsg appends m's encoding to dst. Only the fields its Kind uses
// are encoded.
func AppendDevMsg(dst []byte, m DevMsg) []byte {
	b := be32(append(dst, byte(m.Kind)), m.Seq)
	switch m.Kind {
	case DevInit:
		b = append(be32(b, uint32(m.NodeID)), byte(m.Algorithm), byte(m.TieBreaker.Mode))
		b = be32(be32(b, uint32(m.TieBreaker.Node)), uint32(m.Heartbeat/time.Millisecond))
		b = appendList(appendRing(b, m.Ring), m.Nodes)
	case DevInitReply:
		b = append(b, byte(m.Error))
	case DevMembership:
		b = appendList(appendRing(b, m.Ring), m.Nodes)
	case DevQuorum:
		b = appendList(append(b, b2u(m.Quorate)), m.Nodes)
	case DevReply:
		b = append(appendRing(append(b, byte(m.Reply)), m.Ring), byte(m.Vote))
	case DevVoteInfo:
		b = append(appendRing(b, m.Ring), byte(m.Vote))
	}
	return b
}

func (r *reader) list() []wire.NodeID {
	n := int(r.U16())
	r.check(n <= maxListLen, "node list length")
	if r.Err != nil {
		return nil
	}
	var ids []wire.NodeID
	for range n {
		ids = append(ids, wire.NodeID(r.U32()))
	}
	return ids
}

func (r *reader) ring() RingID { return RingID{Rep: wire.NodeID(r.U32()), Seq: r.U64()} }

func (r *reader) vote() Vote {
	v := Vote(r.U8())
	r.check(v >= VoteACK && v <= VoteNoChange, "vote")
	return v
}

// DecodeDevMsg decodes one client↔arbiter message. It never panics and
// accepts only canonical encodings, so a decoded message re-encodes to
// the same bytes.
func DecodeDevMsg(b []byte) (DevMsg, error) {
	r := &reader{wire.NewReader(b, ErrShort)}
	m := DevMsg{Kind: DevKind(r.U8()), Seq: r.U32()}
	switch m.Kind {
	case DevInit:
		m.NodeID = wire.NodeID(r.U32())
		m.Algorithm = Algorithm(r.U8())
		m.TieBreaker.Mode = TieBreakerMode(r.U8())
		m.TieBreaker.Node = wire.NodeID(r.U32())
		m.Heartbeat = time.Duration(r.U32()) * time.Millisecond
		m.Ring = r.ring()
		m.Nodes = r.list()
		r.check(m.Algorithm <= AlgorithmLMS, "algorithm")
		r.check(m.TieBreaker.Mode <= TieBreakerNodeID, "tie_breaker")
		r.check(m.TieBreaker.Mode == TieBreakerNodeID || m.TieBreaker.Node == 0, "tie_breaker node")
	case DevInitReply:
		m.Error = InitError(r.U8())
		r.check(m.Error <= InitInvalidNodeList, "init error")
	case DevMembership:
		m.Ring = r.ring()
		m.Nodes = r.list()
	case DevQuorum:
		q := r.U8()
		r.check(q <= 1, "quorate")
		m.Quorate = q == 1
		m.Nodes = r.list()
	case DevReply:
		m.Reply = DevKind(r.U8())
		r.check(m.Reply == DevMembership || m.Reply == DevQuorum, "reply kind")
		m.Ring = r.ring()
		m.Vote = r.vote()
	case DevVoteInfo:
		m.Ring = r.ring()
		m.Vote = r.vote()
	case DevVoteInfoReply, DevEcho, DevEchoReply:
	default:
		if r.Err == nil {
			r.Err = fmt.Errorf("%w %d", ErrKind, m.Kind)
		}
	}
	if err := r.finish(); err != nil {
		return DevMsg{}, err
	}
	return m, nil
}

// String prints a compact one-line form for traces.
func (m DevMsg) String() string {
	s := fmt.Sprintf("%v seq=%d", m.Kind, m.Seq)
	switch m.Kind {
	case DevInit:
		s += fmt.Sprintf(" node=%d algo=%v tie=%v hb=%v ring=%v nodes=%v", m.NodeID, m.Algorithm, m.TieBreaker, m.Heartbeat, m.Ring, m.Nodes)
	case DevInitReply:
		s += " " + m.Error.String()
	case DevMembership:
		s += fmt.Sprintf(" ring=%v nodes=%v", m.Ring, m.Nodes)
	case DevQuorum:
		s += fmt.Sprintf(" quorate=%v nodes=%v", m.Quorate, m.Nodes)
	case DevReply:
		s += fmt.Sprintf(" to=%v ring=%v vote=%v", m.Reply, m.Ring, m.Vote)
	case DevVoteInfo:
		s += fmt.Sprintf(" ring=%v vote=%v", m.Ring, m.Vote)
	}
	return s
}
