package links

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// fragPair is a sender with links 0 and 1 up and a receiver whose link 0
// to it is up.
func fragPair(t *testing.T, mode Mode) (tx, rx *Layer) {
	t.Helper()
	links := []LinkConfig{{Number: 0}, {Number: 1}}
	tx = upLayer(t, mode, links, 0, 1)
	rx, err := New(Config{Self: 2, Peers: []wire.NodeID{1}, Links: links, PingInterval: time.Second, PingTimeout: 2 * time.Second}, 0, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	rx.linkUp(&rx.peers[0], &rx.peers[0].links[0])
	rx.linkUp(&rx.peers[0], &rx.peers[0].links[1])
	return tx, rx
}

func packet(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestFragmentation: a packet larger than one frame crosses as fragments
// that each fit a UDP datagram, in any order, duplicated or on both links,
// and is delivered once and intact; a lost fragment loses the packet (the
// layer above retransmits) without holding later packets back.
func TestFragmentation(t *testing.T) {
	big := packet(wire.FragmentSize*3+123, 1)
	tests := []struct {
		name  string
		mode  Mode
		order func([]wire.Datagram) []wire.Datagram
		want  int // packets delivered
	}{
		{"in order", ModePassive, func(d []wire.Datagram) []wire.Datagram { return d }, 1},
		{"reversed", ModePassive, func(d []wire.Datagram) []wire.Datagram {
			r := append([]wire.Datagram(nil), d...)
			for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
				r[i], r[j] = r[j], r[i]
			}
			return r
		}, 1},
		{"every fragment twice", ModePassive, func(d []wire.Datagram) []wire.Datagram { return append(append([]wire.Datagram(nil), d...), d...) }, 1},
		{"one fragment lost", ModePassive, func(d []wire.Datagram) []wire.Datagram {
			return append(append([]wire.Datagram(nil), d[:1]...), d[2:]...)
		}, 0},
		{"active: a copy on each link", ModeActive, func(d []wire.Datagram) []wire.Datagram { return d }, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx, rx := fragPair(t, tc.mode)
			n := tx.Send(2, big)
			out := tx.Outbox()
			if n != len(out) {
				t.Fatalf("Send reported %d datagrams, queued %d", n, len(out))
			}
			copies := 1
			if tc.mode == ModeActive {
				copies = 2
			}
			if len(out) != 4*copies {
				t.Fatalf("%d datagrams for a packet of %d bytes, want %d", len(out), len(big), 4*copies)
			}
			for _, d := range out {
				if d.Len() > wire.FrameHeaderLen+wire.FragmentSize {
					t.Fatalf("a frame of %d bytes: fragments must fit one datagram", d.Len())
				}
			}
			var got [][]byte
			for _, d := range tc.order(out) {
				if p, ok := rx.Receive(0, d.Link, d.From, d.Bytes()); ok {
					got = append(got, p)
				}
			}
			if len(got) != tc.want {
				t.Fatalf("delivered %d packets, want %d", len(got), tc.want)
			}
			if tc.want == 1 && !bytes.Equal(got[0], big) {
				t.Fatal("the reassembled packet differs from the one sent")
			}
			// The next packet, small or large, still gets through.
			tx.Clear()
			tx.Send(2, []byte("after"))
			for _, d := range tx.Outbox() {
				if p, ok := rx.Receive(0, d.Link, d.From, d.Bytes()); ok && string(p) != "after" {
					t.Fatalf("delivered %q after the fragmented packet", p)
				}
			}
		})
	}
}

// TestFragmentsBounded: half-received packets are dropped oldest first
// beyond maxAssemblies, so a peer that never completes its packets cannot
// make the receiver hold more.
func TestFragmentsBounded(t *testing.T) {
	tx, rx := fragPair(t, ModePassive)
	for i := range maxAssemblies + 3 {
		tx.Clear()
		tx.Send(2, packet(wire.FragmentSize+1, uint64(i)))
		d := tx.Outbox()[0] // only the first fragment of each
		if _, ok := rx.Receive(0, d.Link, d.From, d.Bytes()); ok {
			t.Fatal("a packet was delivered from one of its two fragments")
		}
	}
	if len(rx.peers[0].frags) != maxAssemblies || rx.Stats().FragmentsEvicted != 3 {
		t.Fatalf("%d packets held, %d fragments evicted; want %d and 3", len(rx.peers[0].frags), rx.Stats().FragmentsEvicted, maxAssemblies)
	}
	if n := tx.Send(2, make([]byte, wire.MaxPacket+1)); n != 0 || tx.Stats().DataTooLarge != 1 {
		t.Fatalf("a packet over wire.MaxPacket queued %d datagrams", n)
	}
}

// FuzzReassemble feeds a peer's data frames, fragments among them, to a
// receiver whose link is up, as an authenticated but hostile peer could
// send them: whatever the indexes, counts, sizes and sequence numbers, the
// receiver never panics, never holds more than maxAssemblies packets, and
// never delivers more than wire.MaxPacket bytes at once. Each frame is
// four bytes of the input (sequence, index, count, length in KiB) and
// that many bytes of payload.
func FuzzReassemble(f *testing.F) {
	f.Add([]byte{1, 0, 2, 60, 1, 1, 2, 1})
	f.Add([]byte{1, 1, 3, 60, 1, 0, 3, 60, 1, 2, 3, 5, 2, 0, 0, 1})
	f.Add([]byte{7, 0, 35, 60, 7, 34, 35, 60, 8, 0, 2, 61})
	f.Fuzz(func(t *testing.T, in []byte) {
		_, rx := fragPair(t, ModePassive)
		for len(in) >= 4 {
			seq, idx, count, kib := in[0], in[1], in[2], int(in[3])
			in = in[4:]
			b := wire.AppendFrame(nil, wire.Frame{Type: wire.FrameData, From: 1, To: 2, Incarnation: 1,
				Stamp: uint64(seq) + 1, Payload: make([]byte, min(kib<<10, wire.FragmentSize+1))})
			b[5], b[6] = idx, count
			p, ok := rx.Receive(0, 0, 1, b)
			if ok && len(p) > wire.MaxPacket {
				t.Fatalf("delivered %d bytes", len(p))
			}
			if n := len(rx.peers[0].frags); n > maxAssemblies {
				t.Fatalf("%d packets held", n)
			}
		}
	})
}
