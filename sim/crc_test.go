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
	if c.built == 0 {
		t.Fatal("no length recurred: the tables are not exercised")
	}
}

// TestFrameCRCTables: a table is built for a payload length that comes
// back, not for one met once, and is kept while few lengths alternate.
func TestFrameCRCTables(t *testing.T) {
	var c payloadCRC
	hdr := []byte("header")
	run := func(n int) {
		p := make([]byte, n)
		p[0] = byte(n)
		d := wire.Datagram{Header: hdr, Payload: p}
		want := crc32.Update(crc32.Checksum(hdr, castagnoli()), castagnoli(), p)
		if got := c.frameCRC(d); got != want {
			t.Fatalf("payload %d: combined %08x, over both %08x", n, got, want)
		}
	}
	for n := 1000; n < 1100; n++ {
		run(n) // every length once
	}
	if c.built != 0 {
		t.Fatalf("%d tables built for lengths met once", c.built)
	}
	for range 50 {
		run(1024)
		run(2048)
	}
	if c.built != 2 {
		t.Fatalf("%d tables built for two alternating lengths, want 2", c.built)
	}
}
