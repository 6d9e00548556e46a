package totem

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

func nodelist(n int) []wire.NodeID {
	ids := make([]wire.NodeID, n)
	for i := range ids {
		ids[i] = wire.NodeID(i + 1)
	}
	return ids
}

// TestDeriveWorkedTable checks Derive against the worked defaults of spec §9.
func TestDeriveWorkedTable(t *testing.T) {
	for _, tc := range []struct {
		n                                  int
		token, retransmit, hold, consensus int64
	}{
		{2, 3000, 714, 561, 3600},
		{3, 3650, 869, 685, 4380},
		{4, 4300, 1023, 808, 5160},
		{5, 4950, 1178, 932, 5940},
		{16, 12100, 2880, 2294, 14520},
	} {
		got, err := Derive(Config{Self: 1, Nodes: nodelist(tc.n)})
		if err != nil {
			t.Fatalf("n=%d: %v", tc.n, err)
		}
		want := Timers{
			Token: fromMs(tc.token), TokenRetransmit: fromMs(tc.retransmit), Hold: fromMs(tc.hold),
			Consensus: fromMs(tc.consensus), Join: 50 * time.Millisecond, Merge: 200 * time.Millisecond,
			Loopback:                        DefaultLoopback,
			TokenRetransmitsBeforeLossConst: 4, MaxMessages: 17, WindowSize: 50, MissCountConst: 5,
			SeqnoUnchangedConst: 30, FailRecvConst: 2500,
		}
		if got != want {
			t.Errorf("n=%d:\n got %+v\nwant %+v", tc.n, got, want)
		}
	}
}

// TestDeriveOverrides covers explicit values, the pre-3.1 token default of
// the man page and the coefficient switch.
func TestDeriveOverrides(t *testing.T) {
	for _, tc := range []struct {
		name                               string
		c                                  Config
		token, retransmit, hold, consensus int64
	}{
		{"man page 1000ms two nodes", Config{Token: time.Second}, 1000, 238, 180, 1200},
		{"coefficient disabled", Config{Token: time.Second, TokenCoefficient: -1, Nodes: nodelist(5)}, 1000, 238, 180, 1200},
		{"timing test five nodes", Config{Token: time.Second, TokenCoefficient: 650 * time.Millisecond, Nodes: nodelist(5)}, 2950, 702, 551, 3540},
		{"explicit everything", Config{Token: 500 * time.Millisecond, TokenRetransmit: 100 * time.Millisecond,
			Hold: 50 * time.Millisecond, Consensus: 700 * time.Millisecond}, 500, 100, 50, 700},
	} {
		c := tc.c
		if c.Nodes == nil {
			c.Nodes = nodelist(2)
		}
		c.Self = 1
		got, err := Derive(c)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if ms(got.Token) != tc.token || ms(got.TokenRetransmit) != tc.retransmit || ms(got.Hold) != tc.hold || ms(got.Consensus) != tc.consensus {
			t.Errorf("%s: got %v/%v/%v/%v", tc.name, got.Token, got.TokenRetransmit, got.Hold, got.Consensus)
		}
	}
}

// TestDeriveErrors checks corosync's validation messages.
func TestDeriveErrors(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Token: 20 * time.Millisecond}, "The token timeout parameter (20 ms) may not be less than (30 ms)."},
		{Config{Token: 100 * time.Millisecond}, "Not appropriate token or token_retransmits_before_loss_const value set"},
		{Config{TokenRetransmit: 10 * time.Millisecond}, "The token retransmit timeout parameter (10 ms) may not be less than (30 ms)."},
		{Config{Hold: 5 * time.Millisecond}, "The token hold timeout parameter (5 ms) may not be less than (14 ms)."},
		{Config{Join: 10 * time.Millisecond}, "The join timeout parameter (10 ms) may not be less than (30 ms)."},
		{Config{Consensus: 40 * time.Millisecond, Join: 50 * time.Millisecond}, "The consensus timeout parameter (40 ms) may not be less than join timeout (50 ms)."},
		{Config{Merge: 29 * time.Millisecond}, "The merge timeout parameter (29 ms) may not be less than (30 ms)."},
		{Config{Self: 9}, "not in the nodelist"},
		{Config{Nodes: []wire.NodeID{1, 2, 2}}, "appears twice"},
		{Config{Nodes: []wire.NodeID{0, 1}}, "nodeid 0 is reserved"},
		{Config{MaxMessages: 60}, "may not be greater than the window_size"},
		{Config{WindowSize: -1}, "may not be negative"},
	} {
		c := tc.c
		if c.Nodes == nil {
			c.Nodes = nodelist(2)
		}
		if c.Self == 0 {
			c.Self = 1
		}
		_, err := Derive(c)
		if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want …%s", tc.c, err, tc.want)
		}
	}
}

// TestLoopbackSetting: 0 selects the default, a negative value none.
func TestLoopbackSetting(t *testing.T) {
	for _, tc := range []struct {
		in, want time.Duration
	}{
		{0, DefaultLoopback},
		{-1, 0},
		{50 * time.Microsecond, 50 * time.Microsecond},
	} {
		got, err := Derive(Config{Self: 1, Nodes: nodelist(3), Loopback: tc.in})
		if err != nil {
			t.Fatal(err)
		}
		if got.Loopback != tc.want {
			t.Errorf("Loopback %v: derived %v, want %v", tc.in, got.Loopback, tc.want)
		}
	}
}

// TestTinyLoopback: a loopback delay too short to spread by ±10% (under
// 5ns) is used as it is, and a cluster with it still forms its ring.
func TestTinyLoopback(t *testing.T) {
	cfg := testConfig()
	cfg.Loopback = 3 * time.Nanosecond
	c := newCluster(3, cfg, 1)
	for i := range c.nodes {
		c.start(i)
	}
	if took := c.stabilize(10 * time.Second); took < 0 {
		t.Fatalf("no common ring with a 3ns loopback:\n%s", c.status())
	}
}
