package totem

import (
	"testing"
	"time"
)

// TestBacklog: on an operational ring a node's multicasts wait in the
// pending queue until the token visits it, packed into one frame, and the
// queue drains once it has. At most one node (the one holding the token)
// sends at once.
func TestBacklog(t *testing.T) {
	c := formedCluster(t, 3, 11)
	waiting := 0
	for i, nd := range c.nodes {
		if got := nd.ring.Backlog(); got != 0 {
			t.Fatalf("node %d: backlog on an idle ring = %d, want 0", i, got)
		}
		for range 5 {
			c.multicast(i, "")
		}
		switch got := nd.ring.Backlog(); got {
		case 1:
			waiting++
		case 0:
		default:
			t.Fatalf("node %d: backlog after 5 multicasts = %d frames, want 1 (all five packed) or 0", i, got)
		}
	}
	if waiting < 2 {
		t.Fatalf("%d nodes hold their 5 messages before the token came, want at least 2", waiting)
	}
	c.runFor(time.Second)
	for i, nd := range c.nodes {
		if got := nd.ring.Backlog(); got != 0 {
			t.Fatalf("node %d: backlog after the token went round = %d, want 0", i, got)
		}
	}
}
