package agent

import (
	"encoding/binary"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// TestHistBuckets: every value lands in a bucket whose bounds hold it, the
// buckets are ordered, and a bucket is at most about 3 % wide.
func TestHistBuckets(t *testing.T) {
	for _, v := range []uint64{0, 1, 31, 32, 33, 63, 64, 65, 1000, 1023, 1024, 999_999, 1 << 40, 1<<63 - 1, 1<<64 - 1} {
		i := histIndex(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d, outside [0, %d)", v, i, histBuckets)
		}
		hi := histUpper(i)
		lo := uint64(0)
		if i > 0 {
			lo = histUpper(i-1) + 1
		}
		if v < lo || v > hi {
			t.Errorf("value %d in bucket %d = [%d, %d]", v, i, lo, hi)
		}
		if v >= 1024 && float64(hi-lo) > 0.035*float64(lo) {
			t.Errorf("bucket %d = [%d, %d] is wider than 3.5 %%", i, lo, hi)
		}
	}
}

// TestHistogramReadings: quantiles, max and mean of a known sample, and
// Sub and Merge of readings.
func TestHistogramReadings(t *testing.T) {
	var h latencyHist
	for i := 1; i <= 100; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	before := h.info()
	for range 100 {
		h.add(time.Second)
	}
	after := h.info()
	within := func(got, want time.Duration) bool { return got >= want && float64(got) <= 1.035*float64(want) }
	tests := []struct {
		name      string
		h         LatencyHistogram
		q         float64
		want      time.Duration
		count     uint64
		mean, max time.Duration
	}{
		{"first 100, median", before, 0.5, 50 * time.Millisecond, 100, 50500 * time.Microsecond, 100 * time.Millisecond},
		{"first 100, p99", before, 0.99, 99 * time.Millisecond, 100, 50500 * time.Microsecond, 100 * time.Millisecond},
		{"all, median", after, 0.5, 100 * time.Millisecond, 200, 525250 * time.Microsecond, time.Second},
		{"all, p51", after, 0.51, time.Second, 200, 525250 * time.Microsecond, time.Second},
		{"window after the first 100", after.Sub(before), 0.01, time.Second, 100, time.Second, time.Second},
		{"merged", before.Merge(after.Sub(before)), 0.5, 100 * time.Millisecond, 200, 525250 * time.Microsecond, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.h.Quantile(tc.q); !within(got, tc.want) {
				t.Errorf("Quantile(%v) = %v, want %v (+3.5 %%)", tc.q, got, tc.want)
			}
			if tc.h.Count != tc.count || tc.h.Mean() != tc.mean {
				t.Errorf("count %d mean %v, want %d and %v", tc.h.Count, tc.h.Mean(), tc.count, tc.mean)
			}
			if got := tc.h.Max(); !within(got, tc.max) {
				t.Errorf("Max = %v, want %v", got, tc.max)
			}
		})
	}
	if got := (LatencyHistogram{}).Quantile(0.5); got != 0 {
		t.Errorf("empty histogram's median = %v", got)
	}
}

// TestValidLoad: the load request's bounds.
func TestValidLoad(t *testing.T) {
	tests := []struct {
		spec *LoadSpec
		ok   bool
	}{
		{&LoadSpec{Count: 10, Size: 64}, true},
		{&LoadSpec{Count: 10, Size: loadHeaderLen, Rate: 100, Window: 1}, true},
		{&LoadSpec{Count: 0}, true}, // stop
		{nil, false},
		{&LoadSpec{Count: -1, Size: 64}, false},
		{&LoadSpec{Count: 1, Size: loadHeaderLen - 1}, false},
		{&LoadSpec{Count: 1, Size: loadMaxSize + 1}, false},
		{&LoadSpec{Count: 1, Size: 64, Rate: -1}, false},
		{&LoadSpec{Count: 1, Size: 64, Window: -1}, false},
	}
	for _, tc := range tests {
		if err := validLoad(tc.spec); (err == nil) != tc.ok {
			t.Errorf("validLoad(%+v) = %v, want ok %v", tc.spec, err, tc.ok)
		}
	}
}

// loadMsg builds a load message as pump does.
func loadMsg(origin int64, seq uint64, sent int64) []byte {
	b := make([]byte, 64)
	copy(b, loadMagic[:])
	binary.BigEndian.PutUint64(b[4:], uint64(origin))
	binary.BigEndian.PutUint64(b[12:], seq)
	binary.BigEndian.PutUint64(b[20:], uint64(sent))
	return b
}

// TestLoadReceiveChecks: the receiving side's sequence checks and order
// digest, on deliveries made up by hand.
func TestLoadReceiveChecks(t *testing.T) {
	const self, peer wire.NodeID = 1, 2
	type msg struct {
		from   wire.NodeID
		origin int64
		seq    uint64
	}
	now := mono()
	run := func(msgs []msg) *loadState {
		g := newLoadState()
		g.origin = 7
		g.seq = 100 // as if 100 had been sent
		for _, m := range msgs {
			g.receive(self, m.from, loadMsg(m.origin, m.seq, now))
		}
		g.receive(self, peer, []byte("not a load message"))
		return g
	}
	tests := []struct {
		name                    string
		msgs                    []msg
		gaps, reorders, ownDone uint64
	}{
		{"in order", []msg{{self, 7, 1}, {peer, 9, 5}, {self, 7, 2}, {peer, 9, 6}}, 0, 0, 2},
		{"a gap", []msg{{peer, 9, 1}, {peer, 9, 4}}, 2, 0, 0},
		{"a reorder", []msg{{peer, 9, 2}, {peer, 9, 1}}, 0, 1, 0},
		{"a restarted sender starts over", []msg{{peer, 9, 5}, {peer, 10, 1}}, 0, 0, 0},
		{"an earlier run of this agent is not own", []msg{{self, 3, 1}, {self, 7, 1}}, 0, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := run(tc.msgs)
			if g.delivered != uint64(len(tc.msgs)) || g.gaps != tc.gaps || g.reorders != tc.reorders || g.ownDone != tc.ownDone {
				t.Errorf("delivered %d gaps %d reorders %d own %d, want %d %d %d %d",
					g.delivered, g.gaps, g.reorders, g.ownDone, len(tc.msgs), tc.gaps, tc.reorders, tc.ownDone)
			}
			if g.own.n != tc.ownDone {
				t.Errorf("own latencies %d, want %d", g.own.n, tc.ownDone)
			}
		})
	}
	a := run([]msg{{self, 7, 1}, {peer, 9, 1}})
	b := run([]msg{{self, 7, 1}, {peer, 9, 1}})
	c := run([]msg{{peer, 9, 1}, {self, 7, 1}})
	if a.digest != b.digest || a.digest == c.digest {
		t.Errorf("digests %x %x %x: want the first two equal (same order), the third different", a.digest, b.digest, c.digest)
	}
}

// TestLoad runs the generator on a real three-node cluster: three runs of
// different shapes at once (a flood, a ping-pong window of one, a paced
// rate), every node delivers every message in sender order and in the
// same agreed order, and a stopped run sends no more.
func TestLoad(t *testing.T) {
	skipShort(t)
	c := startCluster(t)
	for _, a := range c.agents {
		c.start(a)
	}
	waitQuorate(t, 3, c.agents...)
	alpha, bravo, charlie := c.agents[0], c.agents[1], c.agents[2]

	resp, err := ask(alpha, Request{Cmd: CmdLoad, Load: &LoadSpec{Count: 1, Size: 8}})
	if err != nil || resp.OK || !resp.BadRequest {
		t.Fatalf("load of 8-byte messages: %+v %v, want a bad request", resp, err)
	}
	runs := map[*testAgent]LoadSpec{
		alpha:   {Count: 300, Size: 64},
		bravo:   {Count: 50, Size: 1024, Window: 1},
		charlie: {Count: 40, Size: 200, Rate: 400},
	}
	for _, a := range c.agents {
		spec := runs[a]
		mustCall(t, a, Request{Cmd: CmdLoad, Load: &spec})
	}
	const total = 300 + 50 + 40
	wantBySender := map[string]uint64{"alpha": 300, "bravo": 50, "charlie": 40}
	infos := map[string]*LoadInfo{}
	for _, a := range c.agents {
		waitFor(t, a.name+" delivered every load message", func() (bool, string) {
			li := mustCall(t, a, Request{Cmd: CmdStats}).Stats.Load
			infos[a.name] = li
			return li.Delivered == total && !li.Running && li.InFlight == 0, fmt.Sprintf("%+v", *li)
		})
	}
	digest := infos["alpha"].Digest
	for _, a := range c.agents {
		li := infos[a.name]
		if !maps.Equal(li.BySender, wantBySender) || li.Gaps != 0 || li.Reorders != 0 {
			t.Errorf("%s: by sender %v gaps %d reorders %d; want %v and no gaps or reorders", a.name, li.BySender, li.Gaps, li.Reorders, wantBySender)
		}
		if li.Digest != digest {
			t.Errorf("%s: digest %s, alpha's %s: the nodes delivered in different orders", a.name, li.Digest, digest)
		}
		own := uint64(runs[a].Count)
		if li.Sent != own || li.OwnLatency.Count != own || li.PeerLatency.Count+li.Skewed != total-own {
			t.Errorf("%s: sent %d, own latencies %d, peer latencies %d + skewed %d; want %d, %d, %d",
				a.name, li.Sent, li.OwnLatency.Count, li.PeerLatency.Count, li.Skewed, own, own, total-own)
		}
		if li.OwnLatency.Quantile(0.5) <= 0 {
			t.Errorf("%s: own median latency %v", a.name, li.OwnLatency.Quantile(0.5))
		}
	}

	// A run stopped with count 0 sends nothing more.
	mustCall(t, alpha, Request{Cmd: CmdLoad, Load: &LoadSpec{Count: 1 << 30, Size: 64, Rate: 200}})
	waitFor(t, "alpha sends the new run", func() (bool, string) {
		li := mustCall(t, alpha, Request{Cmd: CmdStats}).Stats.Load
		return li.Sent > 300, fmt.Sprint(li.Sent)
	})
	mustCall(t, alpha, Request{Cmd: CmdLoad, Load: &LoadSpec{Count: 0}})
	stopped := mustCall(t, alpha, Request{Cmd: CmdStats}).Stats.Load
	if stopped.Running {
		t.Fatalf("still running after stop: %+v", *stopped)
	}
	waitFor(t, "bravo delivered what alpha sent before it stopped", func() (bool, string) {
		li := mustCall(t, bravo, Request{Cmd: CmdStats}).Stats.Load
		return li.BySender["alpha"] == stopped.Sent, fmt.Sprintf("%d of %d", li.BySender["alpha"], stopped.Sent)
	})
	if li := mustCall(t, alpha, Request{Cmd: CmdStats}).Stats.Load; li.Sent != stopped.Sent {
		t.Errorf("alpha sent %d after stopping at %d", li.Sent, stopped.Sent)
	}
}
