package totem

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// packOf is the packed payload of parts, built by hand (not by pack).
func packOf(parts ...[]byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(parts)))
	for _, p := range parts {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

// TestValidPack: the decoder takes a packed payload only when its count
// is two or more and its parts fill it exactly.
func TestValidPack(t *testing.T) {
	two := packOf([]byte("ab"), []byte("c"))
	for _, tc := range []struct {
		name string
		p    []byte
		ok   bool
	}{
		{"two parts", two, true},
		{"empty parts", packOf(nil, nil, nil), true},
		{"one part", packOf([]byte("ab")), false},
		{"no parts", packOf(), false},
		{"empty", nil, false},
		{"count only", []byte{0}, false},
		{"truncated part", two[:len(two)-1], false},
		{"truncated length", two[:2+4+2+2], false},
		{"trailing byte", append(slices.Clone(two), 0), false},
		{"length past the end", append(packOf([]byte("ab")), 0xff, 0xff, 0xff, 0xff), false},
		{"count beyond the parts", append([]byte{0, 3}, two[2:]...), false},
	} {
		if got := validPack(tc.p); got != tc.ok {
			t.Errorf("%s: validPack = %v, want %v", tc.name, got, tc.ok)
		}
		m := &Mcast{Sender: 2, Packed: true, RingID: RingID{Rep: 1, Seq: 4}, Origin: 2, Seq: 1, Payload: tc.p}
		_, err := Decode(Append(nil, m))
		if (err == nil) != tc.ok {
			t.Errorf("%s: Decode error %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrBadField) && !errors.Is(err, ErrShort) {
			t.Errorf("%s: Decode error %v, want a bad field", tc.name, err)
		}
	}
}

// TestPackHeader: a packed message's header says so; a header that says
// packed and encapsulated at once, or packed for another type, is refused.
func TestPackHeader(t *testing.T) {
	m := &Mcast{Sender: 2, Packed: true, RingID: RingID{Rep: 1, Seq: 4}, Origin: 2, Seq: 1, Payload: packOf([]byte("a"), []byte("b"))}
	b := Append(nil, m)
	if b[4] != encapPacked {
		t.Fatalf("packed header byte %d, want %d", b[4], encapPacked)
	}
	tok := Append(nil, &Token{Sender: 1, RingID: RingID{Rep: 1, Seq: 4}})
	tok[4] = encapPacked
	if _, err := Decode(tok); !errors.Is(err, ErrBadField) {
		t.Fatalf("a token marked packed: %v, want ErrBadField", err)
	}
	b[4] = 4
	if _, err := Decode(b); !errors.Is(err, ErrBadField) {
		t.Fatalf("an unknown encapsulation byte: %v, want ErrBadField", err)
	}
}

// TestPacking: what a node queues between two visits of the token goes
// out in one frame and is delivered part by part, at one sequence number,
// everywhere in the order it was queued; what it queues after the visit
// is a new frame; a message alone in its frame is sent unpacked; and a
// message that would take a frame past PackLimit starts a frame of its
// own.
func TestPacking(t *testing.T) {
	c := formedCluster(t, 3, 5)
	nd := c.nodes[1]
	before := len(nd.hist)
	big := string(bytes.Repeat([]byte{'x'}, PackLimit-10))
	sent := []string{"a1", "a2", "a3", big, "b1"}
	for _, p := range sent {
		c.multicast(1, p)
	}
	if got := nd.ring.Backlog(); got != 3 {
		t.Fatalf("backlog %d frames after queueing three small messages, a large one and a small one, want 3", got)
	}
	c.runFor(time.Second)
	if nd.ring.packOpen {
		t.Fatalf("the token visited node 2 and its last frame is still open for more messages")
	}
	c.multicast(1, "c1")
	c.runFor(time.Second)
	sent = append(sent, "c1")

	type got struct {
		seq     uint32
		part    uint16
		payload string
	}
	for i, n := range c.nodes {
		var ds []got
		for _, r := range n.hist[min(before, len(n.hist)):] {
			if r.d.Kind == DeliverMessage && r.d.Sender == nd.id {
				ds = append(ds, got{r.d.Seq, r.d.Part, string(r.d.Payload)})
			}
		}
		if len(ds) != len(sent) {
			t.Fatalf("node %d delivered %d of node 2's messages, want %d", i, len(ds), len(sent))
		}
		for j, d := range ds {
			if !strings.HasPrefix(d.payload, sent[j]+"#") { // the cluster numbers each payload
				t.Fatalf("node %d: delivery %d is %.8q, want %.8q", i, j, d.payload, sent[j])
			}
		}
		// a1 a2 a3 share a frame; big does not fit in it, and b1 does
		// not fit in big's; c1 is queued after the visit, alone.
		want := []struct {
			dseq uint32
			part uint16
		}{{0, 0}, {0, 1}, {0, 2}, {1, 0}, {2, 0}, {3, 0}}
		for j, d := range ds {
			if d.seq-ds[0].seq != want[j].dseq || d.part != want[j].part {
				t.Fatalf("node %d: %.8q at seq +%d part %d, want seq +%d part %d (all: %s)",
					i, d.payload, d.seq-ds[0].seq, d.part, want[j].dseq, want[j].part, fmt.Sprint(ds[:3]))
			}
		}
	}
	if errs := c.check(); len(errs) > 0 {
		t.Fatalf("checkers: %v", errs)
	}
}

// TestPackFrameUnpackedAlone: a message alone in its frame is encoded
// exactly as before packing existed (no packed header), so an idle ring's
// traffic does not change.
func TestPackFrameUnpackedAlone(t *testing.T) {
	r := &Ring{self: 2}
	r.enqueue(Mcast{Sender: 2, Origin: 2, Payload: []byte("solo")})
	if len(r.pending) != 1 || r.pending[0].Packed {
		t.Fatalf("one message: pending %+v, want one unpacked frame", r.pending)
	}
	r.enqueue(Mcast{Sender: 2, Origin: 2, Payload: []byte("duo")})
	if len(r.pending) != 1 || !r.pending[0].Packed || !validPack(r.pending[0].Payload) {
		t.Fatalf("two messages: pending %+v, want one packed frame", r.pending)
	}
	if want := packOf([]byte("solo"), []byte("duo")); !bytes.Equal(r.pending[0].Payload, want) {
		t.Fatalf("packed payload % x, want % x", r.pending[0].Payload, want)
	}
	r.packOpen = false // the token came
	r.enqueue(Mcast{Sender: 2, Origin: 2, Payload: []byte("next")})
	if len(r.pending) != 2 || r.pending[1].Packed {
		t.Fatalf("after the token: pending %d frames, want a second, unpacked", len(r.pending))
	}
}
