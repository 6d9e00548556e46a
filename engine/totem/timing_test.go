package totem

import (
	"testing"
	"time"
)

// TestTimingCrashDetection: 5 nodes, token 1000ms with coefficient 650ms, so
// the effective token T = 1000 + 3 × 650 = 2950ms and consensus = 1.2 × T =
// 3540ms. After node 5 crashes on a busy ring, the survivors lose the token
// T after they last saw it, gather with node 5 still in their proc list,
// time it out when consensus expires, and install the new ring. So the
// survivors install it no earlier than T after the crash and no later than
// T + consensus + 10 join periods (500ms).
func TestTimingCrashDetection(t *testing.T) {
	cfg := Config{Token: time.Second, TokenCoefficient: 650 * time.Millisecond}
	c := newCluster(5, cfg, 7)
	for i := range c.nodes {
		c.start(i)
	}
	tm := c.nodes[0].ring.Timers()
	if tm.Token != 2950*time.Millisecond || tm.Consensus != 3540*time.Millisecond {
		t.Fatalf("timers %v / %v", tm.Token, tm.Consensus)
	}
	if c.stabilize(30*time.Second) < 0 {
		t.Fatalf("no ring:\n%s", c.status())
	}
	// Keep the ring busy so the token is not held when the crash happens.
	for range 20 {
		c.multicast(0, "")
		c.runFor(10 * time.Millisecond)
	}
	old := c.nodes[0].ring.RingID()
	c.crash(4)
	crashed := c.now
	for c.nodes[0].ring.State() != StateOperational || c.nodes[0].ring.RingID() == old ||
		!c.converged() {
		if !c.stepOnce(crashed.Add(time.Minute)) {
			t.Fatalf("no new ring:\n%s", c.status())
		}
	}
	took := c.now.Sub(crashed)
	lo, hi := tm.Token, tm.Token+tm.Consensus+10*tm.Join
	t.Logf("new ring %s after %v (bounds [%v, %v])", c.nodes[0].ring.RingID(), took, lo, hi)
	if took < lo || took > hi {
		t.Fatalf("survivors installed the new ring after %v, want within [%v, %v]", took, lo, hi)
	}
	for _, e := range c.check() {
		t.Error(e)
	}
}
