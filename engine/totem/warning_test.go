package totem

import (
	"strconv"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// TestTokenWarning: with the token gone, the warning comes at 75% of the
// token timeout and names how long ago the last token came; the token
// timeout follows. A ring whose token keeps coming never warns.
func TestTokenWarning(t *testing.T) {
	tm, err := Derive(Config{Self: 1, Nodes: []wire.NodeID{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	r := &Ring{tm: tm, now: 0}
	r.arm(timerTokenLoss, tm.Token)
	if got, want := r.deadline[timerTokenWarning], wire.Instant(0).Add(tm.Token*3/4); got != want {
		t.Fatalf("warning armed at %v, want %v", got, want)
	}
	r.now = r.deadline[timerTokenWarning]
	r.fire(timerTokenWarning)
	if len(r.rd.Events) != 1 || r.rd.Events[0].Kind != EventTokenWarning {
		t.Fatalf("events %+v", r.rd.Events)
	}
	want := "Token has not been received in " + strconv.FormatInt((tm.Token*3/4).Milliseconds(), 10) + " ms"
	if d := r.rd.Events[0].Detail; d != want {
		t.Fatalf("detail %q, want %q", d, want)
	}
	if next := r.deadline[timerTokenWarning]; next != r.now.Add(tm.Token*3/4) {
		t.Fatalf("warning re-armed at %v", next)
	}
	// The token arrives: re-arming the token timer moves the warning on;
	// cancelling it (GATHER) cancels the warning.
	r.now = r.now.Add(time.Millisecond)
	r.arm(timerTokenLoss, tm.Token)
	if r.deadline[timerTokenWarning] != r.now.Add(tm.Token*3/4) {
		t.Fatal("warning not re-armed with the token timer")
	}
	r.disarm(timerTokenLoss)
	if r.deadline[timerTokenWarning] != 0 {
		t.Fatal("warning still armed after the token timer was cancelled")
	}
}
