package agent

import (
	"context"
	"testing"
	"time"
)

// TestReleaser: the heap's free pages go back to the kernel after a quiet
// period that left at least releaseFree of them, never under load, and
// not again while nothing new is free.
func TestReleaser(t *testing.T) {
	type look struct{ allocs, free uint64 }
	const mib = 1 << 20
	cases := []struct {
		name  string
		looks []look // the first is the start
		want  int
	}{
		{"idle, nothing free", []look{{10 * mib, 0}, {10 * mib, 0}, {10 * mib, mib / 2}}, 0},
		{"a flood, then quiet with its buffers free", []look{{0, 0}, {300 * mib, 5 * mib}, {600 * mib, 6 * mib}, {600*mib + 4096, 6 * mib}, {600*mib + 8192, 0}}, 1},
		{"under load: never", []look{{0, 0}, {50 * mib, 8 * mib}, {100 * mib, 8 * mib}, {150 * mib, 8 * mib}}, 0},
		{"two bursts, two releases", []look{{0, 0}, {40 * mib, 3 * mib}, {40 * mib, 3 * mib}, {40 * mib, 0}, {90 * mib, 4 * mib}, {90 * mib, 4 * mib}}, 2},
		{"quiet but less than releaseFree free", []look{{0, 0}, {0, releaseFree - 1}}, 0},
	}
	for _, c := range cases {
		ctx, cancel := context.WithCancel(context.Background())
		tick := make(chan time.Time)
		i := 0
		read := func() (uint64, uint64) {
			l := c.looks[i]
			i++
			return l.allocs, l.free
		}
		released := 0
		done := make(chan int)
		go func() { done <- releaser(ctx, tick, read, func() { released++ }) }()
		for range len(c.looks) - 1 {
			tick <- time.Time{}
		}
		cancel()
		if n := <-done; n != c.want || released != c.want {
			t.Errorf("%s: %d releases (release called %d times), want %d", c.name, n, released, c.want)
		}
	}
}
