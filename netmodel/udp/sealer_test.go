package udp

import (
	"bytes"
	"errors"
	"testing"

	"github.com/quorate/quorate/engine/wire"
)

// testKey returns a deterministic 256-byte authkey; different seeds give
// different keys.
func testKey(seed byte) []byte {
	k := make([]byte, DefaultKeySize)
	for i := range k {
		k[i] = byte(i)*7 + seed
	}
	return k
}

// mustSealer returns a deterministic Sealer or fails the test.
func mustSealer(tb testing.TB, key []byte, self wire.NodeID, peers []wire.NodeID, epoch uint32, counter uint64) *Sealer {
	tb.Helper()
	s, err := newSealer(key, self, peers, epoch, counter)
	if err != nil {
		tb.Fatalf("newSealer: %v", err)
	}
	return s
}

func mustSeal(tb testing.TB, s *Sealer, to wire.NodeID, link wire.LinkNo, payload []byte) []byte {
	tb.Helper()
	p, err := s.Seal(nil, to, link, payload)
	if err != nil {
		tb.Fatalf("Seal: %v", err)
	}
	return p
}

func TestSealOpenRoundTrip(t *testing.T) {
	key := testKey(1)
	a := mustSealer(t, key, 1, []wire.NodeID{1, 2, 3}, 0xdeadbeef, 1000)
	b := mustSealer(t, key, 2, []wire.NodeID{1, 2, 3}, 7, 5)
	if got := b.Peers(); len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Fatalf("Peers() = %v, want [1 3]", got)
	}
	for link := range wire.LinkNo(wire.MaxLinks) {
		for _, n := range []int{0, 1, 64, 1500, MaxPayload} {
			payload := bytes.Repeat([]byte{byte(n), byte(link)}, n/2+1)[:n]
			pkt := mustSeal(t, a, 2, link, payload)
			if len(pkt) != n+Overhead {
				t.Fatalf("len = %d, want %d", len(pkt), n+Overhead)
			}
			h, got, err := b.Open(nil, pkt)
			if err != nil {
				t.Fatalf("link %d size %d: Open: %v", link, n, err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("link %d size %d: payload differs", link, n)
			}
			if h.From != 1 || h.To != 2 || h.Link != link || h.Epoch != 0xdeadbeef {
				t.Fatalf("header %+v", h)
			}
		}
	}
}

// TestSealDatagramHeaderApart: a datagram whose bytes are a header and a
// payload apart (as the link layer emits it) seals into the same packet
// as its joined bytes with the same counter, into a dst with other bytes
// before it, and leaves its header and payload untouched.
func TestSealDatagramHeaderApart(t *testing.T) {
	key := testKey(3)
	for _, n := range []int{0, 1, 1000, MaxPayload - wire.FrameHeaderLen} {
		hdr := bytes.Repeat([]byte{0x51}, wire.FrameHeaderLen)
		payload := bytes.Repeat([]byte{byte(n), 9}, n/2+1)[:n]
		d := wire.Datagram{From: 1, To: 2, Link: 3, Header: hdr, Payload: payload}
		prefix := []byte("kept")
		apart, err := mustSealer(t, key, 1, nil, 5, 77).SealDatagram(append([]byte(nil), prefix...), d)
		if err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		joined := mustSeal(t, mustSealer(t, key, 1, nil, 5, 77), 2, 3, d.Bytes())
		if !bytes.Equal(apart[:len(prefix)], prefix) || !bytes.Equal(apart[len(prefix):], joined) {
			t.Fatalf("size %d: sealed apart differs from sealed joined", n)
		}
		if !bytes.Equal(hdr, bytes.Repeat([]byte{0x51}, wire.FrameHeaderLen)) || !bytes.Equal(payload, bytes.Repeat([]byte{byte(n), 9}, n/2+1)[:n]) {
			t.Fatalf("size %d: the datagram's bytes were modified", n)
		}
	}
	big := wire.Datagram{From: 1, To: 2, Header: make([]byte, wire.FrameHeaderLen), Payload: make([]byte, MaxPayload)}
	if _, err := mustSealer(t, key, 1, nil, 5, 77).SealDatagram(nil, big); !errors.Is(err, ErrOversized) {
		t.Errorf("oversized: %v, want ErrOversized", err)
	}
}

func TestSealCountersPerLink(t *testing.T) {
	a := mustSealer(t, testKey(1), 1, nil, 1, 100)
	for i := range 3 {
		for _, link := range []wire.LinkNo{0, 5} {
			h, err := ParseHeader(mustSeal(t, a, 2, link, nil))
			if err != nil {
				t.Fatal(err)
			}
			if want := uint64(100 + i); h.Counter != want {
				t.Fatalf("link %d packet %d: counter %d, want %d", link, i, h.Counter, want)
			}
		}
	}
}

func TestSealErrors(t *testing.T) {
	a := mustSealer(t, testKey(1), 1, nil, 1, 1)
	if _, err := a.Seal(nil, 2, wire.MaxLinks, nil); !errors.Is(err, ErrBadLink) {
		t.Errorf("link 8: %v, want ErrBadLink", err)
	}
	if _, err := a.Seal(nil, 2, 0, make([]byte, MaxPayload+1)); !errors.Is(err, ErrOversized) {
		t.Errorf("oversized: %v, want ErrOversized", err)
	}
}

func TestNewSealerErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		key   []byte
		self  wire.NodeID
		peers []wire.NodeID
		want  error
	}{
		{"short key", make([]byte, MinKeySize-1), 1, nil, ErrKeyTooShort},
		{"long key", make([]byte, MaxKeySize+1), 1, nil, ErrKeyTooLong},
		{"self 0", testKey(1), 0, nil, ErrConfig},
		{"peer 0", testKey(1), 1, []wire.NodeID{2, 0}, ErrConfig},
	} {
		if _, err := NewSealer(tc.key, tc.self, tc.peers); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	for _, n := range []int{MinKeySize, MaxKeySize} {
		if _, err := NewSealer(make([]byte, n), 1, nil); err != nil {
			t.Errorf("key of %d bytes: %v", n, err)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	key := testKey(1)
	a := mustSealer(t, key, 1, nil, 42, 1)
	b := mustSealer(t, key, 2, []wire.NodeID{1, 3}, 43, 1)
	good := mustSeal(t, a, 2, 1, []byte("hello, ring"))
	flip := func(i int) []byte {
		p := bytes.Clone(good)
		p[i] ^= 0x01
		return p
	}
	setLink := func(n byte) []byte {
		p := bytes.Clone(good)
		p[3] = n
		return p
	}
	other := mustSealer(t, testKey(2), 1, nil, 42, 1)
	for _, tc := range []struct {
		name string
		pkt  []byte
		want error
	}{
		{"empty", nil, ErrShortPacket},
		{"truncated below overhead", good[:Overhead-1], ErrShortPacket},
		{"truncated", good[:len(good)-1], ErrAuthentication},
		{"oversized", make([]byte, MaxPacket+1), ErrOversized},
		{"bad magic", flip(0), ErrBadHeader},
		{"bad version", flip(2), ErrBadHeader},
		{"link out of range", setLink(wire.MaxLinks), ErrBadLink},
		{"other link", setLink(2), ErrAuthentication},
		{"sender changed to 0", flip(7), ErrUnknownSender}, // node 0 has no key
		{"destination changed", flip(11), ErrWrongDest},
		{"epoch changed", flip(15), ErrAuthentication},
		{"counter changed", flip(23), ErrAuthentication},
		{"ciphertext changed", flip(HeaderLen + 2), ErrAuthentication},
		{"tag changed", flip(len(good) - 1), ErrAuthentication},
		{"wrong key", mustSeal(t, other, 2, 1, []byte("hello, ring")), ErrAuthentication},
		{"to another node", mustSeal(t, a, 3, 1, nil), ErrWrongDest},
		{"from an unknown node", mustSeal(t, mustSealer(t, key, 9, nil, 1, 1), 2, 1, nil), ErrUnknownSender},
		{"own packet reflected", mustSeal(t, b, 1, 1, nil), ErrWrongDest},
	} {
		dst := []byte("keep")
		_, out, err := b.Open(dst, tc.pkt)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if string(out) != "keep" {
			t.Errorf("%s: dst changed to %q", tc.name, out)
		}
	}
	// sender 1 -> 3 (a known peer) must fail the tag, not open as node 3
	p := bytes.Clone(good)
	p[7] = 3
	if _, _, err := b.Open(nil, p); !errors.Is(err, ErrAuthentication) {
		t.Errorf("sender rewritten to 3: %v, want ErrAuthentication", err)
	}
}

// TestFragmentsFitADatagram: the link layer cuts larger packets into
// fragments of wire.FragmentSize so that each frame, once sealed, is one
// UDP datagram; a larger fragment would be dropped here as oversized and
// its packet never delivered.
func TestFragmentsFitADatagram(t *testing.T) {
	if frame := wire.FrameHeaderLen + wire.FragmentSize; frame > MaxPayload {
		t.Fatalf("a full fragment frame is %d bytes, over the %d a sealed datagram carries", frame, MaxPayload)
	}
}
