package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
)

// Streams derives independent random streams from one run seed by name:
// the stream for "node/3" depends only on the seed and that label, so adding
// a node, a link or a draw somewhere never shifts any other stream
// (TigerBeetle's simulator derives its subsystem seeds the same way).
//
// The generator is math/rand/v2's PCG, a fixed algorithm: the same seed and
// label give the same numbers with any Go release that keeps PCG's output,
// and on any GOMAXPROCS.
type Streams struct{ seed uint64 }

// NewStreams returns the stream tree of seed.
func NewStreams(seed uint64) Streams { return Streams{seed: seed} }

// Seed returns the run seed.
func (s Streams) Seed() uint64 { return s.seed }

// Source returns a fresh PCG source for label.
func (s Streams) Source(label string) *rand.PCG {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], s.seed)
	h := sha256.New()
	h.Write(b[:])
	h.Write([]byte(label))
	sum := h.Sum(nil)
	return rand.NewPCG(binary.BigEndian.Uint64(sum[0:8]), binary.BigEndian.Uint64(sum[8:16]))
}

// Rand returns a *rand.Rand over Source(label).
func (s Streams) Rand(label string) *rand.Rand { return rand.New(s.Source(label)) }
