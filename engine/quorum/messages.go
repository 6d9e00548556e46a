package quorum

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/quorate/quorate/engine/wire"
)

// NodeFlags are the per-node flags votequorum exchanges in NODEINFO
// (votequorum.c NODE_FLAGS_*).
type NodeFlags uint32

// The node flags, with corosync's values.
const (
	FlagQuorate           NodeFlags = 1
	FlagLeaving           NodeFlags = 2
	FlagWFAStatus         NodeFlags = 4
	FlagFirst             NodeFlags = 8
	FlagQdeviceRegistered NodeFlags = 16
	FlagQdeviceAlive      NodeFlags = 32
	FlagQdeviceCastVote   NodeFlags = 64
	FlagQdeviceMasterWins NodeFlags = 128

	flagsAll NodeFlags = 255
)

var nodeFlagNames = [...]string{"quorate", "leaving", "wfa", "first", "qdev_registered", "qdev_alive", "qdev_cast_vote", "qdev_master_wins"}

// String lists the set flags, e.g. "quorate|qdev_alive"; "-" when none.
func (f NodeFlags) String() string {
	var parts []string
	for i, name := range nodeFlagNames {
		if f&(1<<i) != 0 {
			parts = append(parts, name)
		}
	}
	if rest := f &^ flagsAll; rest != 0 {
		parts = append(parts, "0x"+strconv.FormatUint(uint64(rest), 16))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, "|")
}

// MsgKind identifies a votequorum message on the wire (the first byte).
type MsgKind uint8

// The votequorum messages. The first four mirror corosync's exec messages;
// SyncBarrier stands for the barrier of corosync's sync service, and
// NodelistDel for the corosync.conf distribution and reload that follow
// `pvecm delnode` (see RemoveNode).
const (
	MsgNodeInfo MsgKind = iota + 1
	MsgReconfigure
	MsgQdeviceReg
	MsgQdeviceRename
	MsgSyncBarrier
	MsgNodelistDel
)

var msgKindNames = [...]string{
	MsgNodeInfo:      "NODEINFO",
	MsgReconfigure:   "RECONFIGURE",
	MsgQdeviceReg:    "QDEVICE_REG",
	MsgQdeviceRename: "QDEVICE_RECONFIGURE",
	MsgSyncBarrier:   "SYNC_BARRIER",
	MsgNodelistDel:   "NODELIST_DEL",
}

// String returns the message's corosync-style name.
func (k MsgKind) String() string {
	if int(k) < len(msgKindNames) && msgKindNames[k] != "" {
		return msgKindNames[k]
	}
	return "MsgKind(" + strconv.Itoa(int(k)) + ")"
}

// ReconfigParam is the parameter a RECONFIGURE changes.
type ReconfigParam uint8

// The RECONFIGURE parameters (VOTEQUORUM_RECONFIG_PARAM_*).
const (
	ParamExpectedVotes ReconfigParam = iota + 1
	ParamNodeVotes
	ParamCancelWFA
)

// String returns the parameter's name.
func (p ReconfigParam) String() string {
	switch p {
	case ParamExpectedVotes:
		return "expected_votes"
	case ParamNodeVotes:
		return "node_votes"
	case ParamCancelWFA:
		return "cancel_wfa"
	}
	return "ReconfigParam(" + strconv.Itoa(int(p)) + ")"
}

// QdeviceOp is a QDEVICE_REG operation.
type QdeviceOp uint8

// The registration operations (VOTEQUORUM_QDEVICE_OPERATION_*).
const (
	QdeviceRegister QdeviceOp = iota + 1
	QdeviceUnregister
)

// String returns the operation's name.
func (o QdeviceOp) String() string {
	switch o {
	case QdeviceRegister:
		return "register"
	case QdeviceUnregister:
		return "unregister"
	}
	return "QdeviceOp(" + strconv.Itoa(int(o)) + ")"
}

// RingID identifies a Totem ring: its representative and sequence number
// (corosync's memb_ring_id).
type RingID struct {
	Rep wire.NodeID
	Seq uint64
}

// String prints the ring id as corosync does ("%x.%lx", e.g. "1.1c").
func (r RingID) String() string {
	return strconv.FormatUint(uint64(r.Rep), 16) + "." + strconv.FormatUint(r.Seq, 16)
}

// Message is one decoded votequorum message: NodeInfo, Reconfigure,
// QdeviceReg, QdeviceRename, SyncBarrier or NodelistDel.
type Message interface {
	Kind() MsgKind
	appendBody(b []byte) []byte
}

// NodeInfo announces a node's (or, for NodeID 0, the quorum device's)
// votes, expected votes and flags (req_exec_quorum_nodeinfo).
type NodeInfo struct {
	NodeID        wire.NodeID
	Votes         uint32
	ExpectedVotes uint32
	Flags         NodeFlags
}

// Reconfigure changes expected votes, a node's votes, or cancels
// wait_for_all on every member (req_exec_quorum_reconfigure).
type Reconfigure struct {
	NodeID wire.NodeID
	Value  uint32
	Param  ReconfigParam
}

// QdeviceReg registers or unregisters a quorum device name
// (req_exec_quorum_qdevice_reg).
type QdeviceReg struct {
	Op   QdeviceOp
	Name string
}

// QdeviceRename renames the device (req_exec_quorum_qdevice_reconfigure).
type QdeviceRename struct {
	OldName, NewName string
}

// SyncBarrier says the sender finished votequorum's sync process for Ring.
type SyncBarrier struct {
	Ring RingID
}

// NodelistDel removes a node from every member's nodelist and reloads the
// configuration (what pmxcfs and `corosync-cfgtool -R` do after delnode).
type NodelistDel struct {
	NodeID wire.NodeID
}

// Kind implements Message.
func (NodeInfo) Kind() MsgKind { return MsgNodeInfo }

// Kind implements Message.
func (Reconfigure) Kind() MsgKind { return MsgReconfigure }

// Kind implements Message.
func (QdeviceReg) Kind() MsgKind { return MsgQdeviceReg }

// Kind implements Message.
func (QdeviceRename) Kind() MsgKind { return MsgQdeviceRename }

// Kind implements Message.
func (SyncBarrier) Kind() MsgKind { return MsgSyncBarrier }

// Kind implements Message.
func (NodelistDel) Kind() MsgKind { return MsgNodelistDel }

// MaxNameLen bounds a device name (VOTEQUORUM_QDEVICE_MAX_NAME_LEN − 1).
const MaxNameLen = 254

// Decoding errors. A decoder returns one of these (wrapped) for any input
// that is not the canonical encoding of a message.
var (
	ErrShort    = errors.New("quorum: message too short")
	ErrTrailing = errors.New("quorum: trailing bytes")
	ErrKind     = errors.New("quorum: unknown message kind")
	ErrField    = errors.New("quorum: invalid field")
)

func be32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

func appendName(b []byte, s string) []byte {
	if len(s) > MaxNameLen {
		s = s[:MaxNameLen]
	}
	return append(append(b, byte(len(s))), s...)
}

func (m NodeInfo) appendBody(b []byte) []byte {
	return be32(be32(be32(be32(b, uint32(m.NodeID)), m.Votes), m.ExpectedVotes), uint32(m.Flags))
}

func (m Reconfigure) appendBody(b []byte) []byte {
	return append(be32(be32(b, uint32(m.NodeID)), m.Value), byte(m.Param))
}

func (m QdeviceReg) appendBody(b []byte) []byte { return appendName(append(b, byte(m.Op)), m.Name) }

func (m QdeviceRename) appendBody(b []byte) []byte {
	return appendName(appendName(b, m.OldName), m.NewName)
}

func (m SyncBarrier) appendBody(b []byte) []byte {
	return binary.BigEndian.AppendUint64(be32(b, uint32(m.Ring.Rep)), m.Ring.Seq)
}

func (m NodelistDel) appendBody(b []byte) []byte { return be32(b, uint32(m.NodeID)) }

// AppendMessage appends m's encoding to dst: one kind byte, then the
// fields big-endian; names carry a one-byte length (longer names are cut
// to MaxNameLen).
func AppendMessage(dst []byte, m Message) []byte {
	return m.appendBody(append(dst, byte(m.Kind())))
}

// reader is the shared field reader with this package's own helpers.
type reader struct{ wire.Reader }

func (r *reader) name() string {
	n := int(r.U8())
	if r.Err == nil && n > MaxNameLen {
		r.Err = fmt.Errorf("%w: name length %d", ErrField, n)
	}
	return string(r.Take(n))
}

// check reports an invalid field unless ok.
func (r *reader) check(ok bool, what string) {
	if r.Err == nil && !ok {
		r.Err = fmt.Errorf("%w: %s", ErrField, what)
	}
}

// finish returns the sticky error, or ErrTrailing if bytes remain.
func (r *reader) finish() error {
	if r.Err == nil && len(r.B) != 0 {
		r.Err = fmt.Errorf("%w (%d bytes)", ErrTrailing, len(r.B))
	}
	return r.Err
}

// DecodeMessage decodes one votequorum message. It never panics; anything
// but the exact encoding AppendMessage produces is an error, so a
// successful decode re-encodes to the same bytes.
func DecodeMessage(b []byte) (Message, error) {
	r := &reader{wire.NewReader(b, ErrShort)}
	kind := MsgKind(r.U8())
	var m Message
	switch kind {
	case MsgNodeInfo:
		m = NodeInfo{NodeID: wire.NodeID(r.U32()), Votes: r.U32(), ExpectedVotes: r.U32(), Flags: NodeFlags(r.U32())}
	case MsgReconfigure:
		v := Reconfigure{NodeID: wire.NodeID(r.U32()), Value: r.U32(), Param: ReconfigParam(r.U8())}
		r.check(v.Param >= ParamExpectedVotes && v.Param <= ParamCancelWFA, "reconfigure param")
		m = v
	case MsgQdeviceReg:
		v := QdeviceReg{Op: QdeviceOp(r.U8())}
		r.check(v.Op == QdeviceRegister || v.Op == QdeviceUnregister, "qdevice operation")
		v.Name = r.name()
		m = v
	case MsgQdeviceRename:
		m = QdeviceRename{OldName: r.name(), NewName: r.name()}
	case MsgSyncBarrier:
		m = SyncBarrier{Ring: RingID{Rep: wire.NodeID(r.U32()), Seq: r.U64()}}
	case MsgNodelistDel:
		m = NodelistDel{NodeID: wire.NodeID(r.U32())}
	default:
		if r.Err == nil {
			r.Err = fmt.Errorf("%w %d", ErrKind, kind)
		}
	}
	if err := r.finish(); err != nil {
		return nil, err
	}
	return m, nil
}

// String prints a compact one-line form for traces.
func (m NodeInfo) String() string {
	return fmt.Sprintf("NODEINFO node=%d votes=%d expected=%d flags=%v", m.NodeID, m.Votes, m.ExpectedVotes, m.Flags)
}

// String prints a compact one-line form for traces.
func (m Reconfigure) String() string {
	return fmt.Sprintf("RECONFIGURE node=%d %v=%d", m.NodeID, m.Param, m.Value)
}

// String prints a compact one-line form for traces.
func (m QdeviceReg) String() string { return fmt.Sprintf("QDEVICE_REG %v %q", m.Op, m.Name) }

// String prints a compact one-line form for traces.
func (m QdeviceRename) String() string {
	return fmt.Sprintf("QDEVICE_RECONFIGURE %q -> %q", m.OldName, m.NewName)
}

// String prints a compact one-line form for traces.
func (m SyncBarrier) String() string { return "SYNC_BARRIER ring=" + m.Ring.String() }

// String prints a compact one-line form for traces.
func (m NodelistDel) String() string { return fmt.Sprintf("NODELIST_DEL node=%d", m.NodeID) }
