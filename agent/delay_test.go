package agent

import (
	"testing"
	"time"

	"github.com/quorate/quorate/netmodel"
)

func TestLinkDelays(t *testing.T) {
	d := newLinkDelays()
	if got := d.delay(0); got != 0 {
		t.Fatalf("no delay set, got %v", got)
	}
	if err := d.set(1, netmodel.Constant(5*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if got0, got1 := d.delay(0), d.delay(1); got0 != 0 || got1 != 5*time.Millisecond {
		t.Fatalf("link 0 %v, link 1 %v; want 0 and 5ms", got0, got1)
	}
	if err := d.set(1, netmodel.Dist{Kind: netmodel.DistUniform, Min: 2 * time.Millisecond, Max: time.Millisecond}); err == nil {
		t.Fatal("a uniform distribution with min > max is accepted")
	}
	if got := d.delay(1); got != 5*time.Millisecond {
		t.Fatalf("a refused change replaced the delay: %v", got)
	}
	if err := d.set(1, netmodel.Dist{}); err != nil {
		t.Fatal(err)
	}
	if got := d.delay(1); got != 0 {
		t.Fatalf("removed delay still %v", got)
	}
}
