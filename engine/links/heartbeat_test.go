package links

import (
	"fmt"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

func twoLinks(interval, timeout time.Duration) Config {
	return Config{
		Links:        []LinkConfig{{Number: 0, Priority: 20}, {Number: 1, Priority: 10}},
		PingInterval: interval,
		PingTimeout:  timeout,
	}
}

func TestLinksComeUpAfterPongCount(t *testing.T) {
	interval, timeout := 412*time.Millisecond, 825*time.Millisecond
	nt := newNet(t, 3, twoLinks(interval, timeout), 100*time.Microsecond)
	nt.runUntil(at(5 * time.Second))
	for a := wire.NodeID(1); a <= 3; a++ {
		for b := wire.NodeID(1); b <= 3; b++ {
			if a == b {
				continue
			}
			for _, ln := range []wire.LinkNo{0, 1} {
				up, ok := nt.find(0, a, b, wire.EventLinkUp, ln)
				if !ok {
					t.Fatalf("node %d never saw link %d to %d up", a, ln, b)
				}
				// knet brings a link up on the third good pong with
				// pong_count 2: pings go out one interval apart, so no
				// earlier than two intervals after the first one.
				if lo, hi := at(2*interval), at(3*interval+2*TimerRes); up < lo || up > hi {
					t.Errorf("node %d link %d to %d up at %v, want within [%v, %v]", a, ln, b, up, lo, hi)
				}
			}
			st, _ := nt.layer(a).Status(b)
			if st.Active != 0 {
				t.Errorf("node %d sends to %d on link %d, want 0 (priority 20)", a, b, st.Active)
			}
		}
	}
}

// TestFailoverTiming checks knet's down detection in steady state (the
// start-up backoff decayed) for several timer settings: a link is declared
// down no earlier than the ping timeout after its last pong, and no later
// than the timeout plus one ping interval plus the link latency after the
// failure; traffic moves to the other link at that instant.
func TestFailoverTiming(t *testing.T) {
	tests := []struct {
		name              string
		interval, timeout time.Duration
		latency           time.Duration
	}{
		{"3 nodes token 1000", 412 * time.Millisecond, 825 * time.Millisecond, 100 * time.Microsecond},
		{"3 nodes default token", 912 * time.Millisecond, 1825 * time.Millisecond, 100 * time.Microsecond},
		{"5 nodes default token", 1237 * time.Millisecond, 2475 * time.Millisecond, 200 * time.Microsecond},
		{"tight timers, 20ms links", 250 * time.Millisecond, 500 * time.Millisecond, 20 * time.Millisecond},
	}
	for _, tt := range tests {
		for _, offset := range []time.Duration{0, 77 * time.Millisecond, 333 * time.Millisecond} {
			t.Run(fmt.Sprintf("%s/+%v", tt.name, offset), func(t *testing.T) {
				nt := newNet(t, 3, twoLinks(tt.interval, tt.timeout), tt.latency)
				fail := at(15*time.Second + offset)
				nt.runUntil(fail)
				lastPong := map[wire.NodeID]wire.Instant{}
				for _, p := range nt.layer(1).peers {
					lastPong[p.id] = p.links[0].pongLast
				}
				nt.cut[0] = true
				nt.runUntil(fail + at(3*tt.timeout))
				for _, peer := range []wire.NodeID{2, 3} {
					down, ok := nt.find(fail, 1, peer, wire.EventLinkDown, 0)
					if !ok {
						t.Fatalf("link 0 to %d never declared down", peer)
					}
					if since := down.Sub(lastPong[peer]); since < tt.timeout {
						t.Errorf("peer %d: down %v after its last pong, before the timeout %v", peer, since, tt.timeout)
					}
					if d, max := down.Sub(fail), tt.timeout+tt.interval+tt.latency; d > max {
						t.Errorf("peer %d: down %v after the failure, later than %v", peer, d, max)
					}
					sw, ok := nt.find(fail, 1, peer, wire.EventActiveLink, 0)
					if !ok || sw != down {
						t.Errorf("peer %d: traffic moved at %v, link went down at %v", peer, sw, down)
					}
					if st, _ := nt.layer(1).Status(peer); st.Active != 1 || st.Up[0] || !st.Up[1] {
						t.Errorf("peer %d: status %+v, want link 1 active, link 0 down", peer, st)
					}
				}
			})
		}
	}
}

// TestStartupBackoff models knet's raised pong timeout after a link starts:
// a failure a few seconds after start is detected much later than the same
// failure in steady state (spec links.md §4.2; docs/reference/corosync-results.md
// (c): the first outage after start-up took 2.3-3.2 s).
func TestStartupBackoff(t *testing.T) {
	interval, timeout := 412*time.Millisecond, 825*time.Millisecond
	detect := func(fail wire.Instant) time.Duration {
		nt := newNet(t, 3, twoLinks(interval, timeout), 100*time.Microsecond)
		nt.runUntil(fail)
		nt.cut[0] = true
		nt.runUntil(fail + at(20*time.Second))
		down, ok := nt.find(fail, 1, 2, wire.EventLinkDown, 0)
		if !ok {
			t.Fatalf("failure at %v never detected", fail)
		}
		return down.Sub(fail)
	}
	early, steady := detect(at(3*time.Second)), detect(at(15*time.Second))
	if early < 2*steady {
		t.Fatalf("failure 3s after start detected in %v, steady state in %v: want the start-up backoff to make it at least 2x slower", early, steady)
	}
	// At 3 s the backoff is 7 and keeps decaying by one a second during
	// the outage: the link goes down once the silence exceeds
	// timeout x backoff, which happens with the backoff at 4 or 3.
	if lo := 3 * timeout; early < lo {
		t.Fatalf("failure 3s after start detected in %v, want at least %v", early, lo)
	}
}

func TestRecoveryPrefersHigherPriority(t *testing.T) {
	interval, timeout := 412*time.Millisecond, 825*time.Millisecond
	nt := newNet(t, 2, twoLinks(interval, timeout), 100*time.Microsecond)
	nt.runUntil(at(15 * time.Second))
	nt.cut[0] = true
	nt.runUntil(at(25 * time.Second))
	nt.cut[0] = false
	restore := at(25 * time.Second)
	nt.runUntil(at(35 * time.Second))
	up, ok := nt.find(restore, 1, 2, wire.EventLinkUp, 0)
	if !ok {
		t.Fatal("link 0 never came back")
	}
	// Three good pongs, one ping interval apart.
	if d := up.Sub(restore); d < 2*interval || d > 3*interval+2*TimerRes {
		t.Errorf("link 0 back %v after the restore", d)
	}
	if sw, ok := nt.find(restore, 1, 2, wire.EventActiveLink, 0); !ok || sw != up {
		t.Errorf("traffic back on link 0 at %v, link up at %v", sw, up)
	}
	if st, _ := nt.layer(1).Status(2); st.Active != 0 {
		t.Errorf("active link %d after recovery, want 0", st.Active)
	}
}

func TestDataFollowsFailover(t *testing.T) {
	nt := newNet(t, 2, twoLinks(412*time.Millisecond, 825*time.Millisecond), 100*time.Microsecond)
	nt.runUntil(at(15 * time.Second))
	nt.layer(1).Send(2, []byte("before"))
	nt.collect()
	nt.runUntil(at(15*time.Second + 10*time.Millisecond))
	nt.cut[0] = true
	nt.runUntil(at(18 * time.Second))
	nt.layer(1).Send(2, []byte("after"))
	nt.collect()
	nt.runUntil(at(19 * time.Second))
	var got []string
	for _, d := range nt.data {
		got = append(got, d.data)
	}
	if len(got) != 2 || got[0] != "before" || got[1] != "after" {
		t.Fatalf("peer received %q, want [before after]", got)
	}
}
