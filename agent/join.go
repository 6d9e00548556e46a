package agent

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"unicode/utf8"
)

// The join protocol: how `quorate add` gets the cluster's corosync.conf and
// authkey from a running agent without sending a secret in the clear.
//
// Both sides know a pre-shared key (PSK): the cluster authkey itself, or
// the key derived from a join token (tokenPSK). Over one TCP connection:
//
//	client → hello      version, mode (authkey or token), client nonce (32
//	                    random bytes), the token id in token mode; in clear
//	server → challenge  version, server nonce (32 random bytes); in clear
//	client → request    the new node's name, nodeid and addresses, sealed
//	server → reply      the new corosync.conf and the authkey, sealed
//
// or, instead of challenge or reply, a refused frame with a reason in
// clear (never secret). Every frame is type (1 byte), body length (4 bytes,
// big endian), body.
//
// Keys: th = SHA-256(hello frame ‖ challenge frame); prk = HKDF-Extract
// (SHA-256, PSK, "quorate join v1"); the client's key is HKDF-Expand(prk,
// "client" ‖ th, 32), the server's HKDF-Expand(prk, "server" ‖ th, 32).
// Sealed bodies are AES-256-GCM with a 12-byte nonce holding the message
// number of the direction (0) and the frame type and th as additional
// data. Opening the request proves to the server that the client knows the
// PSK and that the request was made for this connection's fresh server
// nonce, so a recorded request replayed on another connection fails; the
// reply proves the same of the server to the client (mutual
// authentication), bound to the client's nonce.

const (
	joinVersion = 1
	nonceSize   = 32
	// maxJoinFrame bounds a frame body: the reply carries a corosync.conf
	// (at most a store value) and the authkey, JSON-encoded.
	maxJoinFrame = 3 << 20
	// maxRefusal bounds a refusal's text.
	maxRefusal = 512
)

// Frame types.
const (
	frameHello     byte = 1
	frameChallenge byte = 2
	frameRequest   byte = 3
	frameReply     byte = 4
	frameRefused   byte = 5
)

// Join modes: which PSK the client proves knowledge of.
const (
	modeAuthKey byte = 1
	modeToken   byte = 2
)

// Decoding errors; the server counts refusals by them.
var (
	errTruncated = errors.New("join: truncated frame")
	errMalformed = errors.New("join: malformed frame")
	errAuth      = errors.New("join: authentication failed")
)

// frame is one protocol frame; raw is its encoding (header included), as
// the transcript hashes it.
type frame struct {
	typ  byte
	body []byte
	raw  []byte
}

// readFrame reads one frame of at most maxJoinFrame bytes. A connection
// that ends inside a frame gives errTruncated; an unknown type or an
// oversized length, errMalformed.
func readFrame(r io.Reader) (frame, error) {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return frame{}, errTruncated
		}
		return frame{}, err
	}
	n := binary.BigEndian.Uint32(h[1:])
	if h[0] < frameHello || h[0] > frameRefused || n > maxJoinFrame {
		return frame{}, fmt.Errorf("%w: type %d, length %d", errMalformed, h[0], n)
	}
	raw := make([]byte, 5+int(n))
	copy(raw, h[:])
	if _, err := io.ReadFull(r, raw[5:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return frame{}, errTruncated
		}
		return frame{}, err
	}
	return frame{typ: h[0], body: raw[5:], raw: raw}, nil
}

// appendFrame encodes a frame.
func appendFrame(dst []byte, typ byte, body []byte) []byte {
	dst = append(dst, typ)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(body)))
	return append(dst, body...)
}

// hello is the client's first frame.
type hello struct {
	mode    byte
	nonce   [nonceSize]byte
	tokenID string // token mode only
}

func (h hello) encode() []byte {
	b := []byte{joinVersion, h.mode}
	b = append(b, h.nonce[:]...)
	b = append(b, byte(len(h.tokenID)))
	b = append(b, h.tokenID...)
	return appendFrame(nil, frameHello, b)
}

// decodeHello checks and decodes a hello body.
func decodeHello(b []byte) (hello, error) {
	var h hello
	if len(b) < 2+nonceSize+1 {
		return h, fmt.Errorf("%w: hello of %d bytes", errMalformed, len(b))
	}
	if b[0] != joinVersion {
		return h, fmt.Errorf("%w: protocol version %d, want %d", errMalformed, b[0], joinVersion)
	}
	h.mode = b[1]
	copy(h.nonce[:], b[2:2+nonceSize])
	rest := b[2+nonceSize:]
	n := int(rest[0])
	if len(rest) != 1+n {
		return h, fmt.Errorf("%w: hello token id length %d in %d bytes", errMalformed, n, len(rest)-1)
	}
	h.tokenID = string(rest[1:])
	switch {
	case h.mode == modeAuthKey && n == 0:
	case h.mode == modeToken && n == 16 && isHex(h.tokenID):
	default:
		return h, fmt.Errorf("%w: hello mode %d with a token id of %d bytes", errMalformed, h.mode, n)
	}
	return h, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// decodeChallenge checks and decodes a challenge body: the server nonce.
func decodeChallenge(b []byte) ([nonceSize]byte, error) {
	var n [nonceSize]byte
	if len(b) != 1+nonceSize || b[0] != joinVersion {
		return n, fmt.Errorf("%w: challenge of %d bytes", errMalformed, len(b))
	}
	copy(n[:], b[1:])
	return n, nil
}

// decodeRefusal returns a refusal's text, made printable.
func decodeRefusal(b []byte) string {
	if len(b) > maxRefusal {
		b = b[:maxRefusal]
	}
	if !utf8.Valid(b) {
		return fmt.Sprintf("%q", b)
	}
	return string(b)
}

// sessionKeys are the two directions' AEADs of one connection.
type sessionKeys struct {
	client, server cipher.AEAD
	th             [sha256.Size]byte
}

// deriveKeys derives the connection's keys from the PSK and the two clear
// frames.
func deriveKeys(psk []byte, helloRaw, challengeRaw []byte) (*sessionKeys, error) {
	h := sha256.New()
	h.Write(helloRaw)
	h.Write(challengeRaw)
	k := &sessionKeys{}
	h.Sum(k.th[:0])
	prk, err := hkdf.Extract(sha256.New, psk, []byte("quorate join v1"))
	if err != nil {
		return nil, err
	}
	mk := func(label string) (cipher.AEAD, error) {
		key, err := hkdf.Expand(sha256.New, prk, label+string(k.th[:]), 32)
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(block)
	}
	if k.client, err = mk("client"); err != nil {
		return nil, err
	}
	if k.server, err = mk("server"); err != nil {
		return nil, err
	}
	return k, nil
}

// seal encodes a sealed frame of type typ: message number 0 of its
// direction (each direction sends one sealed message).
func (k *sessionKeys) seal(aead cipher.AEAD, typ byte, plain []byte) []byte {
	nonce := make([]byte, aead.NonceSize())
	ad := append([]byte{typ}, k.th[:]...)
	return appendFrame(nil, typ, aead.Seal(nil, nonce, plain, ad))
}

// open authenticates and decrypts a sealed frame body.
func (k *sessionKeys) open(aead cipher.AEAD, typ byte, body []byte) ([]byte, error) {
	nonce := make([]byte, aead.NonceSize())
	ad := append([]byte{typ}, k.th[:]...)
	p, err := aead.Open(nil, nonce, body, ad)
	if err != nil {
		return nil, errAuth
	}
	return p, nil
}

// JoinRequest is what the new node asks for, sealed.
type JoinRequest struct {
	Name   string     `json:"name"`
	NodeID uint32     `json:"nodeid,omitempty"` // 0: the lowest free id
	Votes  uint32     `json:"votes,omitempty"`  // 0: 1
	Links  []JoinLink `json:"links"`
	// AcceptBundle says the new node takes the qdevice client bundle with
	// the configuration, so that a cluster with a quorum device may add
	// it (quorate add --qdevice-bundle).
	AcceptBundle bool `json:"accept_bundle,omitempty"`
}

// JoinLink is the new node's address on one link.
type JoinLink struct {
	Link int    `json:"link"`
	Addr string `json:"addr"`
}

// JoinReply is the server's answer, sealed.
type JoinReply struct {
	OK      bool   `json:"ok"`
	Error   string `json:"error,omitempty"`
	NodeID  uint32 `json:"nodeid,omitempty"`
	Config  string `json:"config,omitempty"`  // the new corosync.conf
	AuthKey []byte `json:"authkey,omitempty"` // the cluster authkey
	// QdeviceBundle is the qnetd client bundle, when the new
	// configuration has a quorum device and the request accepts it.
	QdeviceBundle []byte `json:"qdevice_bundle,omitempty"`
}

// decodeJoinRequest decodes and checks a request's shape (the cluster's
// own checks come later): a name, link numbers in range and each once,
// addresses that are host names or IP literals.
func decodeJoinRequest(b []byte) (JoinRequest, error) {
	var r JoinRequest
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%w: request: %v", errMalformed, err)
	}
	if !nameRE.MatchString(r.Name) || len(r.Name) > 63 {
		return r, fmt.Errorf("node name %q: use letters, digits, '-' or '.'", r.Name)
	}
	if len(r.Links) == 0 {
		return r, errors.New("the request names no link addresses")
	}
	seen := map[int]bool{}
	for _, l := range r.Links {
		if l.Link < 0 || l.Link >= 8 || seen[l.Link] {
			return r, fmt.Errorf("link number %d out of range or given twice", l.Link)
		}
		seen[l.Link] = true
		if _, err := netip.ParseAddr(l.Addr); err != nil && !nameRE.MatchString(l.Addr) {
			return r, fmt.Errorf("link %d address %q is neither an IP address nor a host name", l.Link, l.Addr)
		}
	}
	return r, nil
}
