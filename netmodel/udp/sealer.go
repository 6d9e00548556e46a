package udp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// Packet layout. Every packet is a clear header followed by the AES-256-GCM
// sealing of the engine's frame; the whole header is the AEAD's additional
// data, so no header bit can be changed without failing authentication.
//
//	offset size field
//	0      2    magic 0x51 0x55 ("QU")
//	2      1    version (1)
//	3      1    link number the sender sent on
//	4      4    sender node id
//	8      4    destination node id
//	12     4    epoch: random per Sealer (per process start), the nonce salt
//	16     8    counter: per (sender, link), starts at the sender's wall
//	            clock in Unix nanoseconds and grows by one per packet
//	24     ...  ciphertext of the payload, then the 16-byte GCM tag
//
// All integers are big-endian. The GCM nonce is bytes 12..24 of the header
// (epoch || counter).
const (
	// HeaderLen is the size of the clear header.
	HeaderLen = 24
	// TagLen is the size of the GCM authentication tag.
	TagLen = 16
	// Overhead is what sealing adds to a payload.
	Overhead = HeaderLen + TagLen
	// MaxPacket is the largest packet sent or accepted: the largest UDP
	// payload an IPv4 datagram can carry (65535 - 20 - 8).
	MaxPacket = 65507
	// MaxPayload is the largest payload Seal accepts.
	MaxPayload = MaxPacket - Overhead

	magic0  = 0x51
	magic1  = 0x55
	version = 1
)

// kdfSalt and kdfInfo fix the key derivation. Changing either, or the
// packet layout, requires a new version byte and a new info string.
const (
	kdfSalt = "quorate netmodel/udp salt"
	kdfInfo = "quorate netmodel/udp v1 aes-256-gcm sender-link key"
)

// Errors from Seal, Open and ParseHeader. Open's errors say which check
// failed; the transport counts them by Reason.
var (
	ErrShortPacket    = errors.New("udp: packet shorter than header and tag")
	ErrOversized      = errors.New("udp: packet or payload too large")
	ErrBadHeader      = errors.New("udp: bad magic number or version")
	ErrBadLink        = errors.New("udp: link number out of range")
	ErrWrongDest      = errors.New("udp: packet addressed to another node")
	ErrUnknownSender  = errors.New("udp: packet from a node without a key")
	ErrAuthentication = errors.New("udp: packet failed authentication")
)

// Header is the clear header of a packet. Until Open has returned it
// without error, every field is an unauthenticated claim.
type Header struct {
	Link    wire.LinkNo
	From    wire.NodeID
	To      wire.NodeID
	Epoch   uint32
	Counter uint64
}

// ParseHeader checks the size, magic number, version and link number of
// packet and decodes its header. It does not authenticate anything.
func ParseHeader(packet []byte) (Header, error) {
	var h Header
	if len(packet) < Overhead {
		return h, ErrShortPacket
	}
	if len(packet) > MaxPacket {
		return h, ErrOversized
	}
	if packet[0] != magic0 || packet[1] != magic1 || packet[2] != version {
		return h, ErrBadHeader
	}
	if packet[3] >= wire.MaxLinks {
		return h, ErrBadLink
	}
	h.Link = wire.LinkNo(packet[3])
	h.From = wire.NodeID(binary.BigEndian.Uint32(packet[4:]))
	h.To = wire.NodeID(binary.BigEndian.Uint32(packet[8:]))
	h.Epoch = binary.BigEndian.Uint32(packet[12:])
	h.Counter = binary.BigEndian.Uint64(packet[16:])
	return h, nil
}

// Sealer seals packets as one node and opens packets from a fixed set of
// peers. It holds keys and send counters only: no socket, no replay state
// (the transport keeps that), so it can be tested and fuzzed on its own.
//
// # Keys
//
// Every (sender, link) pair has its own AES-256 key:
//
//	prk = HKDF-Extract(SHA-256, salt = "quorate netmodel/udp salt", authkey)
//	key(sender, link) = HKDF-Expand(SHA-256, prk,
//	        "quorate netmodel/udp v1 aes-256-gcm sender-link key" || be32(sender) || link, 32)
//
// The split follows the nonce: GCM must never see one (key, nonce) pair
// twice, and the nonce is the sender's epoch and its counter, which counts
// per (sender, link). A key per sender and link therefore makes nonce
// uniqueness a local matter of one counter, with no coordination between
// nodes or links. A key per direction (sender, receiver) would add nothing:
// the destination id is in the authenticated header, so a packet for node 2
// cannot be redirected to node 3. Every node can derive every key (they all
// hold the authkey), so, as with knet, the keys authenticate membership of
// the cluster, not individual nodes.
//
// Across restarts of a sender the nonce stays unique twice over: a new
// Sealer starts its counters at the wall clock in nanoseconds, beyond every
// counter the previous one used (it cannot have sent faster than one packet
// per nanosecond), and it draws a fresh random epoch, so even a clock set
// back repeats a nonce only if the 32-bit epochs also collide.
//
// A Sealer is safe for concurrent use.
type Sealer struct {
	self  wire.NodeID
	epoch uint32
	next  [wire.MaxLinks]atomic.Uint64 // next counter to use, per link
	send  [wire.MaxLinks]cipher.AEAD
	recv  map[wire.NodeID]*[wire.MaxLinks]cipher.AEAD // read-only after construction
}

// NewSealer returns a Sealer for node self that opens packets from peers
// (self is ignored among them). key is the cluster's authkey (see LoadKey);
// the epoch comes from crypto/rand and the counters start at the current
// wall-clock time in Unix nanoseconds.
func NewSealer(key []byte, self wire.NodeID, peers []wire.NodeID) (*Sealer, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("udp: draw epoch: %w", err)
	}
	return newSealer(key, self, peers, binary.BigEndian.Uint32(b[:]), uint64(time.Now().UnixNano()))
}

// newSealer is NewSealer with the epoch and the first counter given, for
// tests, fuzzing and benchmarks.
func newSealer(key []byte, self wire.NodeID, peers []wire.NodeID, epoch uint32, counter uint64) (*Sealer, error) {
	if err := checkKeySize(len(key)); err != nil {
		return nil, err
	}
	if self == 0 {
		return nil, fmt.Errorf("%w: node id 0 is reserved", ErrConfig)
	}
	prk, err := hkdf.Extract(sha256.New, key, []byte(kdfSalt))
	if err != nil {
		return nil, fmt.Errorf("udp: hkdf extract: %w", err)
	}
	s := &Sealer{self: self, epoch: epoch, recv: make(map[wire.NodeID]*[wire.MaxLinks]cipher.AEAD)}
	for l := range wire.MaxLinks {
		s.next[l].Store(counter)
	}
	if err := deriveLinks(prk, self, &s.send); err != nil {
		return nil, err
	}
	for _, p := range peers {
		if p == 0 {
			return nil, fmt.Errorf("%w: peer node id 0 is reserved", ErrConfig)
		}
		if p == self || s.recv[p] != nil {
			continue
		}
		keys := new([wire.MaxLinks]cipher.AEAD)
		if err := deriveLinks(prk, p, keys); err != nil {
			return nil, err
		}
		s.recv[p] = keys
	}
	return s, nil
}

// deriveLinks fills out with the AEADs of sender's eight links.
func deriveLinks(prk []byte, sender wire.NodeID, out *[wire.MaxLinks]cipher.AEAD) error {
	for l := range wire.MaxLinks {
		info := make([]byte, 0, len(kdfInfo)+5)
		info = append(info, kdfInfo...)
		info = binary.BigEndian.AppendUint32(info, uint32(sender))
		info = append(info, byte(l))
		k, err := hkdf.Expand(sha256.New, prk, string(info), 32)
		if err != nil {
			return fmt.Errorf("udp: hkdf expand: %w", err)
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return fmt.Errorf("udp: aes: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return fmt.Errorf("udp: gcm: %w", err)
		}
		out[l] = aead
	}
	return nil
}

// Self returns the node the Sealer seals as.
func (s *Sealer) Self() wire.NodeID { return s.self }

// Epoch returns the Sealer's random epoch, the salt of its nonces.
func (s *Sealer) Epoch() uint32 { return s.epoch }

// Peers returns the nodes whose packets Open accepts, in increasing order.
func (s *Sealer) Peers() []wire.NodeID {
	ids := make([]wire.NodeID, 0, len(s.recv))
	for id := range s.recv {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// SealDatagram is Seal for the bytes of d, its Header followed by its
// Payload (wire.Datagram), as node d.From sends them to d.To on d.Link,
// without joining them first when there is a header: the two are copied
// into dst once and encrypted in place. dst must not overlap d's bytes.
func (s *Sealer) SealDatagram(dst []byte, d wire.Datagram) ([]byte, error) {
	if len(d.Header) == 0 {
		return s.Seal(dst, d.To, d.Link, d.Payload)
	}
	if d.Link >= wire.MaxLinks {
		return dst, ErrBadLink
	}
	if d.Len() > MaxPayload {
		return dst, ErrOversized
	}
	c := s.next[d.Link].Add(1) - 1
	dst = slices.Grow(dst, Overhead+d.Len())
	start := len(dst)
	dst = dst[:start+HeaderLen]
	h := dst[start:]
	h[0], h[1], h[2], h[3] = magic0, magic1, version, byte(d.Link)
	binary.BigEndian.PutUint32(h[4:], uint32(s.self))
	binary.BigEndian.PutUint32(h[8:], uint32(d.To))
	binary.BigEndian.PutUint32(h[12:], s.epoch)
	binary.BigEndian.PutUint64(h[16:], c)
	// The plaintext right after the header, sealed in place (the AEAD's
	// output overlaps its input exactly).
	plain := d.AppendTo(dst)[start+HeaderLen:]
	return s.send[d.Link].Seal(dst, h[12:HeaderLen], plain, h), nil
}

// Seal appends to dst the packet carrying payload from the Sealer's node to
// node to on link, and returns the extended slice. Each call uses the next
// counter of link. dst and payload must not overlap. It fails only for a
// link out of range or a payload longer than MaxPayload.
func (s *Sealer) Seal(dst []byte, to wire.NodeID, link wire.LinkNo, payload []byte) ([]byte, error) {
	if link >= wire.MaxLinks {
		return dst, ErrBadLink
	}
	if len(payload) > MaxPayload {
		return dst, ErrOversized
	}
	c := s.next[link].Add(1) - 1
	// The header is written in place, then serves as nonce and additional
	// data; the ciphertext goes after it.
	dst = slices.Grow(dst, Overhead+len(payload))
	start := len(dst)
	dst = dst[:start+HeaderLen]
	h := dst[start:]
	h[0], h[1], h[2], h[3] = magic0, magic1, version, byte(link)
	binary.BigEndian.PutUint32(h[4:], uint32(s.self))
	binary.BigEndian.PutUint32(h[8:], uint32(to))
	binary.BigEndian.PutUint32(h[12:], s.epoch)
	binary.BigEndian.PutUint64(h[16:], c)
	return s.send[link].Seal(dst, h[12:HeaderLen], payload, h), nil
}

// Open authenticates packet as one sent to the Sealer's node by one of its
// peers, appends the payload to dst and returns the header and the extended
// slice. dst and packet must not overlap. On error dst is returned
// unchanged, and the error is one of ErrShortPacket, ErrOversized,
// ErrBadHeader, ErrBadLink, ErrWrongDest, ErrUnknownSender or
// ErrAuthentication, checked in that order; the payload is never looked at
// before the tag has been verified. Open does not detect replays.
func (s *Sealer) Open(dst, packet []byte) (Header, []byte, error) {
	h, err := ParseHeader(packet)
	if err != nil {
		return h, dst, err
	}
	if h.To != s.self {
		return h, dst, ErrWrongDest
	}
	keys := s.recv[h.From]
	if keys == nil {
		return h, dst, ErrUnknownSender
	}
	out, err := keys[h.Link].Open(dst, packet[12:HeaderLen], packet[HeaderLen:], packet[:HeaderLen])
	if err != nil {
		return h, dst, ErrAuthentication
	}
	return h, out, nil
}
