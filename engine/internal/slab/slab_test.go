package slab

import (
	"slices"
	"testing"
)

// TestSlab: carved slices hold what was copied, are zeroed when made,
// are capped so that appending to one never changes its neighbour, and
// longer ones than max are allocations of their own.
func TestSlab(t *testing.T) {
	s := New[byte](16, 4)
	a := s.Copy([]byte{1, 2, 3})
	b := s.Make(4)
	if !slices.Equal(a, []byte{1, 2, 3}) || !slices.Equal(b, []byte{0, 0, 0, 0}) {
		t.Fatalf("a %v, b %v", a, b)
	}
	if cap(a) != 3 || cap(b) != 4 {
		t.Fatalf("caps %d and %d: want capped slices", cap(a), cap(b))
	}
	a = append(a, 9) // must reallocate, not overwrite b
	if b[0] != 0 {
		t.Fatalf("appending to a reached b: %v", b)
	}
	if &a[0] == &b[0] {
		t.Fatal("a and b share their first element")
	}
	long := []byte{1, 2, 3, 4, 5}
	c := s.Copy(long)
	long[0] = 7
	if c[0] != 1 || len(s.chunk) != 7 {
		t.Fatalf("a long copy shares its source or was carved: %v, chunk length %d", c, len(s.chunk))
	}
	if e := s.Copy(nil); e == nil || cap(e) != 0 {
		t.Fatalf("an empty copy once a chunk exists: %v (cap %d), want empty and not nil", e, cap(e))
	}
	// A chunk too full for the next slice is replaced, the slices carved
	// from the old one keep their contents.
	for range 10 {
		x := s.Copy([]byte{5, 5, 5})
		if !slices.Equal(x, []byte{5, 5, 5}) {
			t.Fatalf("carved %v", x)
		}
	}
	if !slices.Equal(b, []byte{0, 0, 0, 0}) {
		t.Fatalf("b changed to %v", b)
	}
}

func TestNewBadMax(t *testing.T) {
	for _, max := range []int{0, 17} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(16, %d) did not panic", max)
				}
			}()
			New[int](16, max)
		}()
	}
}

// TestZeroSlab: the zero Slab allocates every slice on its own.
func TestZeroSlab(t *testing.T) {
	var s Slab[int]
	a, b := s.Copy([]int{1, 2}), s.Make(3)
	if !slices.Equal(a, []int{1, 2}) || !slices.Equal(b, []int{0, 0, 0}) || s.chunk != nil {
		t.Fatalf("a %v, b %v, chunk %v", a, b, s.chunk)
	}
	if e := s.Copy(nil); len(e) != 0 {
		t.Fatalf("empty copy %v", e)
	}
}
