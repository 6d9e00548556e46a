package wire

import (
	"bytes"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	frames := []Frame{
		{Type: FramePing, Link: 0, From: 1, To: 2, Incarnation: 42, Stamp: 123456789},
		{Type: FramePong, Link: 7, From: 65535, To: 1, Incarnation: 1 << 63, Stamp: 1},
		{Type: FrameData, Link: 3, From: 3, To: 4, Incarnation: 7, Stamp: 99, Payload: []byte("totem")},
		{Type: FrameData, Link: 1, From: 3, To: 4, Incarnation: 7, Stamp: 100, Payload: []byte{}},
		{Type: FrameData, Link: 1, From: 3, To: 4, Incarnation: 7, Stamp: 101, FragIndex: 2, FragCount: 3, Payload: []byte("piece")},
	}
	for _, f := range frames {
		b := AppendFrame(nil, f)
		g, err := DecodeFrame(b)
		if err != nil {
			t.Fatalf("decode %+v: %v", f, err)
		}
		if g.Type != f.Type || g.Link != f.Link || g.From != f.From || g.To != f.To ||
			g.Incarnation != f.Incarnation || g.Stamp != f.Stamp || !bytes.Equal(g.Payload, f.Payload) ||
			g.FragIndex != f.FragIndex || g.FragCount != f.FragCount {
			t.Fatalf("round trip: got %+v, want %+v", g, f)
		}
	}
}

// TestFrameHeaderApart: a frame sent as a header written by
// PutFrameHeader followed by its payload in another buffer carries the
// same bytes as AppendFrame's, and decodes to the frame with its payload
// aliasing the payload buffer, not a copy.
func TestFrameHeaderApart(t *testing.T) {
	f := Frame{Type: FrameData, Link: 2, From: 3, To: 4, Incarnation: 7, Stamp: 101, FragIndex: 1, FragCount: 3, Payload: []byte("piece")}
	h := bytes.Repeat([]byte{0xee}, FrameHeaderLen) // stale bytes are overwritten
	PutFrameHeader(h, f)
	d := Datagram{Header: h, Payload: f.Payload}
	if whole := AppendFrame(nil, f); !bytes.Equal(d.Bytes(), whole) || d.Len() != len(whole) {
		t.Fatalf("header apart: % x, AppendFrame: % x", d.Bytes(), whole)
	}
	g, err := DecodeDatagram(d)
	if err != nil {
		t.Fatal(err)
	}
	if g.Stamp != f.Stamp || g.FragIndex != 1 || g.FragCount != 3 || &g.Payload[0] != &f.Payload[0] {
		t.Fatalf("decoded %+v (payload aliased: %v)", g, len(g.Payload) > 0 && &g.Payload[0] == &f.Payload[0])
	}
	ping := Frame{Type: FramePing, From: 1, To: 2, Stamp: 9}
	PutFrameHeader(h, ping)
	if !bytes.Equal(h, AppendFrame(nil, ping)) {
		t.Fatalf("ping header % x", h)
	}
}

func TestDecodeFrameRejects(t *testing.T) {
	good := AppendFrame(nil, Frame{Type: FramePing, From: 1, To: 2})
	data := func(idx, count byte, n int) []byte {
		b := AppendFrame(nil, Frame{Type: FrameData, From: 1, To: 2, Stamp: 1, Payload: make([]byte, n)})
		b[5], b[6] = idx, count
		return b
	}
	mod := func(i int, v byte) []byte {
		b := bytes.Clone(good)
		b[i] = v
		return b
	}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShortFrame},
		{"short", good[:FrameHeaderLen-1], ErrShortFrame},
		{"oversized", make([]byte, MaxFrame+1), ErrLongFrame},
		{"magic", mod(0, 0), ErrBadMagic},
		{"version", mod(2, 9), ErrBadVersion},
		{"type zero", mod(3, 0), ErrBadFrameType},
		{"type high", mod(3, 4), ErrBadFrameType},
		{"link 8", mod(4, 8), ErrBadLink},
		{"reserved", mod(7, 1), ErrReserved},
		{"fragment fields on a ping", mod(6, 2), ErrReserved},
		{"fragment index without a count", data(1, 0, 1), ErrBadFragment},
		{"a count of one", data(0, 1, 1), ErrBadFragment},
		{"index past the count", data(3, 3, 1), ErrBadFragment},
		{"more fragments than a packet may have", data(0, MaxFragments+1, 1), ErrBadFragment},
		{"a fragment over FragmentSize", data(0, 2, FragmentSize+1), ErrBadFragment},
		{"ping with trailing bytes", append(bytes.Clone(good), 0), ErrTrailing},
	}
	for _, tt := range tests {
		if _, err := DecodeFrame(tt.b); err != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
}

// FuzzDecodeFrame: decoding never panics, and whatever decodes re-encodes
// to the same bytes.
func FuzzDecodeFrame(f *testing.F) {
	f.Add(AppendFrame(nil, Frame{Type: FramePing, From: 1, To: 2, Stamp: 5}))
	f.Add(AppendFrame(nil, Frame{Type: FramePong, Link: 1, From: 2, To: 1, Stamp: 5}))
	f.Add(AppendFrame(nil, Frame{Type: FrameData, From: 1, To: 2, Stamp: 1, Payload: []byte("x")}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeFrame(b)
		// The same bytes cut into a header and a payload anywhere (as the
		// link layer sends them, or otherwise) decode the same.
		for _, k := range []int{0, min(FrameHeaderLen, len(b)), len(b) / 2, len(b)} {
			g, gerr := DecodeDatagram(Datagram{Header: b[:k], Payload: b[k:]})
			if (gerr == nil) != (err == nil) || (err != nil && gerr.Error() != err.Error()) {
				t.Fatalf("cut at %d: error %v, whole: %v", k, gerr, err)
			}
			if err == nil && (g.Type != fr.Type || g.Link != fr.Link || g.From != fr.From || g.To != fr.To ||
				g.Incarnation != fr.Incarnation || g.Stamp != fr.Stamp || g.FragIndex != fr.FragIndex ||
				g.FragCount != fr.FragCount || !bytes.Equal(g.Payload, fr.Payload)) {
				t.Fatalf("cut at %d: %+v, whole: %+v", k, g, fr)
			}
		}
		if err != nil {
			return
		}
		if out := AppendFrame(nil, fr); !bytes.Equal(out, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, out)
		}
	})
}
