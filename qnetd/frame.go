package qnetd

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/quorate/quorate/engine/wire"
)

// The stream between a node's qdevice and the daemon carries frames: a
// 4-byte big-endian length, then that many bytes. The first frame each way
// is a hello (the client names its cluster and node, the daemon accepts or
// refuses with a reason); every later frame is one quorum.DevMsg, the
// engine's client↔arbiter message. TCP with TLS gives the reliable ordered
// stream the engine assumes (engine/quorum StreamOp).

// MaxFrame bounds one frame's payload. The largest DevMsg lists every
// node of a cluster (corosync allows 384 nodes, 4 bytes each), far below
// this; anything larger is a broken or hostile peer.
const MaxFrame = 64 << 10

// DefaultPort is qnetd's TCP port (corosync-qnetd's default).
const DefaultPort = 5403

// Errors of the frame layer. A connection that yields one is closed.
var (
	ErrFrameTooLarge = errors.New("qnetd: frame too large")
	ErrFrameEmpty    = errors.New("qnetd: empty frame")
	ErrTruncated     = errors.New("qnetd: truncated frame")
	ErrBadHello      = errors.New("qnetd: malformed hello")
)

// ReadFrame reads one frame's payload from r. A length of 0 or above
// MaxFrame, or a stream that ends inside a frame, is an error; a stream
// that ends cleanly between frames gives io.EOF.
func ReadFrame(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if n, err := io.ReadFull(r, hdr[:]); err != nil {
		if n > 0 && errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ErrTruncated
		}
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	switch {
	case n == 0:
		return nil, ErrFrameEmpty
	case n > MaxFrame:
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrFrameTooLarge, n, MaxFrame)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, ErrTruncated
		}
		return nil, err
	}
	return b, nil
}

// AppendFrame appends payload framed to dst.
func AppendFrame(dst, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// WriteFrame writes payload as one frame. Payloads are produced by this
// program, so an oversized one is a bug, reported as an error.
func WriteFrame(w io.Writer, payload []byte) error {
	if len(payload) == 0 || len(payload) > MaxFrame {
		return fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, len(payload))
	}
	_, err := w.Write(AppendFrame(make([]byte, 0, 4+len(payload)), payload))
	return err
}

// helloMagic opens both hellos; helloVersion is the protocol version.
const (
	helloMagic   = "QNTD"
	helloVersion = 1
	maxName      = 255
)

// Hello is the client's first frame: who is connecting. The cluster must
// be the one its certificate names. Node 0 is a probe (`quorate qdevice
// setup` checking a bundle): the daemon answers and closes without
// involving the arbiter.
type Hello struct {
	Cluster string
	Node    wire.NodeID
}

// AppendHello encodes h: magic, version, nodeid (4 bytes), cluster name
// (1-byte length, bytes).
func AppendHello(dst []byte, h Hello) []byte {
	dst = append(dst, helloMagic...)
	dst = append(dst, helloVersion)
	dst = binary.BigEndian.AppendUint32(dst, uint32(h.Node))
	dst = append(dst, byte(len(h.Cluster)))
	return append(dst, h.Cluster...)
}

// DecodeHello decodes a client hello, refusing anything but an exact,
// well-formed encoding.
func DecodeHello(b []byte) (Hello, error) {
	rest, err := helloHeader(b, 6)
	if err != nil {
		return Hello{}, err
	}
	node := wire.NodeID(binary.BigEndian.Uint32(rest))
	name, err := helloString(rest[4:])
	switch {
	case err != nil:
		return Hello{}, err
	case name == "":
		return Hello{}, fmt.Errorf("%w: empty cluster name", ErrBadHello)
	}
	return Hello{Cluster: name, Node: node}, nil
}

// HelloReply is the daemon's first frame: OK, or the reason for refusing
// (after which it closes the stream).
type HelloReply struct {
	OK     bool
	Reason string
}

// AppendHelloReply encodes r: magic, version, status (0 OK, 1 refused),
// reason (1-byte length, bytes; cut at 255).
func AppendHelloReply(dst []byte, r HelloReply) []byte {
	dst = append(dst, helloMagic...)
	dst = append(dst, helloVersion)
	status := byte(1)
	if r.OK {
		status = 0
	}
	reason := r.Reason
	if len(reason) > maxName {
		reason = reason[:maxName]
	}
	dst = append(dst, status, byte(len(reason)))
	return append(dst, reason...)
}

// DecodeHelloReply decodes the daemon's hello.
func DecodeHelloReply(b []byte) (HelloReply, error) {
	rest, err := helloHeader(b, 2)
	if err != nil {
		return HelloReply{}, err
	}
	if rest[0] > 1 {
		return HelloReply{}, fmt.Errorf("%w: status %d", ErrBadHello, rest[0])
	}
	reason, err := helloString(rest[1:])
	if err != nil {
		return HelloReply{}, err
	}
	return HelloReply{OK: rest[0] == 0, Reason: reason}, nil
}

// helloHeader checks magic and version and that at least min bytes follow.
func helloHeader(b []byte, min int) ([]byte, error) {
	if len(b) < len(helloMagic)+1+min || string(b[:len(helloMagic)]) != helloMagic {
		return nil, fmt.Errorf("%w: not a quorate qnetd hello", ErrBadHello)
	}
	if v := b[len(helloMagic)]; v != helloVersion {
		return nil, fmt.Errorf("%w: version %d, this daemon speaks %d", ErrBadHello, v, helloVersion)
	}
	return b[len(helloMagic)+1:], nil
}

// helloString reads a length-prefixed string that must end the message and
// be printable.
func helloString(b []byte) (string, error) {
	if len(b) < 1 || int(b[0]) != len(b)-1 {
		return "", fmt.Errorf("%w: bad string length", ErrBadHello)
	}
	s := string(b[1:])
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == 0xfffd }) {
		return "", fmt.Errorf("%w: control characters in %q", ErrBadHello, s)
	}
	return s, nil
}
