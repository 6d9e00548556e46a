// Package slab hands out small slices carved from shared chunks instead of
// one allocation each. The engine makes many short-lived copies on its
// hot paths (an encoded token at every visit, a message buffer at every
// submit, a snapshot's records at every change), and one allocation each
// was most of a loaded run's allocations. The slices it returns are capped
// (three-index slices), so appending to one never reaches the next; the
// callers never modify them after filling them, and a chunk is freed by
// the collector once nothing carved from it is referenced.
package slab

import "slices"

// Slab carves slices of at most max elements from chunks of size
// elements; a longer slice gets an allocation of its own, so that a chunk
// holds many. The zero Slab carves nothing: every slice it returns is an
// allocation of its own.
type Slab[T any] struct {
	chunk     []T
	size, max int
}

// New returns a Slab of chunks of size elements carving slices of at most
// max (0 < max <= size).
func New[T any](size, max int) Slab[T] {
	if max <= 0 || max > size {
		panic("slab: max must be in (0, size]")
	}
	return Slab[T]{size: size, max: max}
}

// Make returns a zeroed slice of n elements.
func (s *Slab[T]) Make(n int) []T {
	if n > s.max {
		return make([]T, n)
	}
	return s.take(n)
}

// Copy returns a copy of src. A src longer than max is cloned; a shorter
// one is carved (an empty one is nil until the first chunk exists).
func (s *Slab[T]) Copy(src []T) []T {
	if len(src) > s.max {
		return slices.Clone(src)
	}
	out := s.take(len(src))
	copy(out, src)
	return out
}

// take carves n elements, zeroed: the part of a chunk beyond its length
// has never been handed out.
func (s *Slab[T]) take(n int) []T {
	if cap(s.chunk)-len(s.chunk) < n {
		s.chunk = make([]T, 0, s.size)
	}
	at := len(s.chunk)
	s.chunk = s.chunk[:at+n]
	return s.chunk[at : at+n : at+n]
}
