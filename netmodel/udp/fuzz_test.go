package udp

import (
	"bytes"
	"testing"

	"github.com/quorate/quorate/engine/wire"
)

// fuzzKey is the authkey of FuzzOpen and of the seed corpus in
// testdata/fuzz/FuzzOpen, whose valid packets were sealed by fuzzSender
// for node 2. Changing either invalidates those seeds.
var fuzzKey = testKey(9)

// fuzzSender returns the Sealer that sealed the corpus's valid packets.
func fuzzSender(tb testing.TB) *Sealer {
	return mustSealer(tb, fuzzKey, 1, nil, 0x01020304, 1<<60)
}

// FuzzOpen feeds arbitrary bytes to Sealer.Open. It must never panic, must
// leave dst alone on error, and must accept a packet only if it is exactly
// what Seal produces with the key for the header and payload Open reports:
// resealing them with a Sealer set to the packet's epoch and counter gives
// the same bytes. A Sealer with another key must accept nothing.
func FuzzOpen(f *testing.F) {
	a := fuzzSender(f)
	for _, p := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("ring"), 75)} {
		for _, link := range []wire.LinkNo{0, 7} {
			good := mustSeal(f, a, 2, link, p)
			f.Add(good)
			f.Add(good[:len(good)-1])
		}
	}
	f.Add([]byte{})
	f.Add(make([]byte, Overhead))
	f.Add([]byte{magic0, magic1, version, 0, 0, 0, 0, 1, 0, 0, 0, 2})

	b := mustSealer(f, fuzzKey, 2, []wire.NodeID{1, 3}, 5, 1)
	wrong := mustSealer(f, testKey(10), 2, []wire.NodeID{1, 3}, 5, 1)
	f.Fuzz(func(t *testing.T, pkt []byte) {
		orig := bytes.Clone(pkt)
		if _, _, err := wrong.Open(nil, pkt); err == nil {
			t.Fatalf("a Sealer with another key opened %x", pkt)
		}
		h, out, err := b.Open([]byte("pre"), pkt)
		if !bytes.Equal(pkt, orig) {
			t.Fatal("Open modified its input")
		}
		if err != nil {
			if string(out) != "pre" {
				t.Fatalf("dst changed on error %v: %q", err, out)
			}
			return
		}
		if string(out[:3]) != "pre" || h.To != 2 || (h.From != 1 && h.From != 3) || h.Link >= wire.MaxLinks {
			t.Fatalf("accepted header %+v, output %q", h, out)
		}
		re := mustSealer(t, fuzzKey, h.From, nil, h.Epoch, h.Counter)
		if want := mustSeal(t, re, h.To, h.Link, out[3:]); !bytes.Equal(want, pkt) {
			t.Fatalf("accepted %x, but Seal gives %x", pkt, want)
		}
	})
}
