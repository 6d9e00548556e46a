package sim

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"

	"github.com/quorate/quorate/engine/wire"
)

// TestFrameCRC: the combined CRC of a header and a shared payload is the
// CRC over both, for every length around the threshold and beyond, with
// payloads repeated (the cached case) and replaced.
func TestFrameCRC(t *testing.T) {
	rng := rand.New(rand.NewPCG(32, 0xc))
	bytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	var c payloadCRC
	payloads := 0
	for i := range 3000 {
		n := rng.IntN(3 * minCombine)
		if i%10 == 0 {
			n = rng.IntN(70000)
		}
		p := bytes(n)
		payloads++
		for range 1 + rng.IntN(5) {
			hl := rng.IntN(64)
			if rng.IntN(20) == 0 {
				hl = rng.IntN(4 * minCombine) // past the one-call buffer
			}
			d := wire.Datagram{Header: bytes(hl), Payload: p}
			want := crc32.Update(crc32.Checksum(d.Header, castagnoli()), castagnoli(), d.Payload)
			if got := c.frameCRC(d); got != want {
				t.Fatalf("header %d bytes, payload %d: combined %08x, over both %08x", len(d.Header), len(p), got, want)
			}
		}
	}
	if c.misses == 0 || c.misses >= uint64(payloads) {
		t.Fatalf("%d payloads computed of %d: the cache is not exercised", c.misses, payloads)
	}
}
