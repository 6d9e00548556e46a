package links

import (
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// TestUnreachableTakesLinkDownAtNextPass: an ICMP error for an up link
// takes it down at the next heartbeat pass (at most TimerRes later), long
// before the pong timeout could; errors for a link that is already down
// change nothing; the link comes back through pongs as usual.
func TestUnreachableTakesLinkDownAtNextPass(t *testing.T) {
	interval, timeout := 912*time.Millisecond, 1825*time.Millisecond
	nt := newNet(t, 2, twoLinks(interval, timeout), 100*time.Microsecond)
	nt.runUntil(at(20 * time.Second))
	l1 := nt.layer(1)
	if st, _ := l1.Status(2); !st.Up[0] || !st.Up[1] {
		t.Fatalf("links not up before the error: %+v", st)
	}
	errAt := nt.now
	l1.Unreachable(0, 2)
	l1.Unreachable(0, 9) // unknown peer: ignored
	l1.Unreachable(5, 2) // unknown link: ignored
	if got := l1.Stats().TransportErrors; got != 1 {
		t.Fatalf("TransportErrors %d, want 1", got)
	}
	nt.runUntil(errAt.Add(TimerRes))
	down, ok := nt.find(errAt, 1, 2, wire.EventLinkDown, 0)
	if !ok || down.Sub(errAt) > TimerRes {
		t.Fatalf("link 0 down at %v (found %v), want within %v of the error at %v", down, ok, TimerRes, errAt)
	}
	if _, ok := nt.find(errAt, 1, 2, wire.EventLinkDown, 1); ok {
		t.Fatal("link 1 went down too")
	}
	if st, _ := l1.Status(2); st.Active != 1 {
		t.Fatalf("traffic on link %d after the error, want 1", st.Active)
	}
	// Nothing is wrong with the path: pongs bring the link back.
	l1.Unreachable(0, 2) // already down: ignored
	if got := l1.Stats().TransportErrors; got != 1 {
		t.Fatalf("TransportErrors %d after an error on a down link, want 1", got)
	}
	nt.runUntil(errAt.Add(10 * time.Second))
	if _, ok := nt.find(down, 1, 2, wire.EventLinkUp, 0); !ok {
		t.Fatal("link 0 did not come back")
	}
}
