package netmodel

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// seeded returns a StreamFunc that hashes seed and label (FNV-1a), as the
// simulator does, and records the labels it was asked for.
func seeded(seed uint64, labels *[]string) StreamFunc {
	return func(label string) rand.Source {
		if labels != nil {
			*labels = append(*labels, label)
		}
		h := uint64(14695981039346656037)
		for i := 0; i < len(label); i++ {
			h = (h ^ uint64(label[i])) * 1099511628211
		}
		return rand.NewPCG(seed, h)
	}
}

// newModel builds a model over nodes 1..nodes with the given links.
func newModel(t testing.TB, seed uint64, nodes int, links ...LinkSpec) *Model {
	t.Helper()
	topo := Topology{Links: links}
	for i := 1; i <= nodes; i++ {
		topo.Nodes = append(topo.Nodes, wire.NodeID(i))
	}
	m, err := New(topo, seeded(seed, nil))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

func dgram(from, to wire.NodeID, link wire.LinkNo) wire.Datagram {
	return wire.Datagram{From: from, To: to, Link: link}
}

var lat100 = Constant(100 * us)

func TestRouteConstant(t *testing.T) {
	m := newModel(t, 1, 2, LinkSpec{Number: 0, Latency: lat100})
	arr, n, v := m.Route(5000, dgram(1, 2, 0))
	if v != Delivered || n != 1 || !jittered(arr[0].At, 5000+wire.Instant(100*us)) {
		t.Fatalf("Route = %v, %d, %v", arr, n, v)
	}
}

// jittered reports whether an arrival is at want plus at most the host
// wait's cap.
func jittered(at, want wire.Instant) bool {
	return at >= want && at <= want.Add(HostWaitMax)
}

// TestHostWaitDistribution: over many datagrams of a constant link, spaced
// far enough apart that FIFO never clamps one, the waits on top of the
// latency have the exponential distribution's mean and tail, stay within
// the cap of 20 means, and no two consecutive ones are equal, so no two
// rounds of a protocol repeat to the nanosecond. The mean is the default
// HostWait, or Topology.HostWait when set.
func TestHostWaitDistribution(t *testing.T) {
	for _, mean := range []time.Duration{0, 10 * us, 200 * us} {
		want := mean
		if mean == 0 {
			want = HostWait
		}
		topo := Topology{Nodes: []wire.NodeID{1, 2}, Links: []LinkSpec{{Number: 0, Latency: lat100}}, HostWait: mean}
		m, err := New(topo, seeded(3, nil))
		if err != nil {
			t.Fatal(err)
		}
		const n = 10_000
		var sum time.Duration
		tail, prev := 0, time.Duration(-1)
		for i := range n {
			now := wire.Instant(i) * wire.Instant(10*time.Millisecond)
			arr, _, _ := m.Route(now, dgram(1, 2, 0))
			w := time.Duration(arr[0].At-now) - 100*us
			if w < 0 || w > 20*want {
				t.Fatalf("mean %v: datagram %d waited %v, want [0, %v]", want, i, w, 20*want)
			}
			if w == prev {
				t.Fatalf("mean %v: datagrams %d and %d waited the same %v", want, i-1, i, w)
			}
			prev = w
			sum += w
			if w > 3*want {
				tail++
			}
		}
		// The mean of 10,000 exponential draws has a standard deviation
		// of 1% of the mean; P(wait > 3 means) = e^-3 = 4.98%, with a
		// standard deviation of 0.22 points over 10,000 draws.
		if got := sum / n; got < want*95/100 || got > want*105/100 {
			t.Errorf("mean wait %v, want %v ± 5%%", got, want)
		}
		if f := float64(tail) / n; f < 0.04 || f > 0.06 {
			t.Errorf("mean %v: %.2f%% of waits above 3 means, want 4.98%% ± 1 point", want, 100*f)
		}
	}
}

func TestRouteLossRate(t *testing.T) {
	for _, loss := range []float64{0, 0.01, 0.1, 0.5, 1} {
		m := newModel(t, 9, 2, LinkSpec{Number: 0, Latency: lat100, Loss: loss})
		const n = 100_000
		lost := 0
		for i := range n {
			_, k, v := m.Route(wire.Instant(i)*1000, dgram(1, 2, 0))
			if v == DroppedLoss {
				lost++
			} else if v != Delivered || k != 1 {
				t.Fatalf("loss %v: got %d, %v", loss, k, v)
			}
		}
		if got := float64(lost) / n; got < loss-0.005 || got > loss+0.005 {
			t.Errorf("loss %v: measured %.4f", loss, got)
		}
	}
}

func TestRouteDuplicate(t *testing.T) {
	m := newModel(t, 4, 2, LinkSpec{Number: 0, Duplicate: 0.2,
		Latency: Dist{Kind: DistUniform, Min: 0, Max: time.Millisecond}})
	const n = 100_000
	dups := 0
	for i := range n {
		arr, k, v := m.Route(wire.Instant(i)*1000, dgram(1, 2, 0))
		if v != Delivered {
			t.Fatalf("verdict %v", v)
		}
		if k == 2 {
			dups++
			if arr[1].At < arr[0].At {
				t.Fatalf("arrivals out of order: %v", arr)
			}
		}
	}
	if got := float64(dups) / n; got < 0.195 || got > 0.205 {
		t.Errorf("duplicate rate %.4f, want 0.2", got)
	}
}

// arrivals routes count packets 1->2 on link 0, one every step ns, and
// returns every arrival time in send order.
func arrivals(m *Model, count int, step wire.Instant) []wire.Instant {
	var out []wire.Instant
	for i := range count {
		arr, n, _ := m.Route(wire.Instant(i)*step, dgram(1, 2, 0))
		for _, a := range arr[:n] {
			out = append(out, a.At)
		}
	}
	return out
}

func TestRouteOrdering(t *testing.T) {
	wide := Dist{Kind: DistUniform, Min: 0, Max: time.Millisecond}
	fifo := newModel(t, 2, 2, LinkSpec{Number: 0, Latency: wide, Duplicate: 0.1})
	if got := arrivals(fifo, 10_000, 1000); !slices.IsSorted(got) {
		t.Error("packets reordered on a link without Reorder")
	}
	re := newModel(t, 2, 2, LinkSpec{Number: 0, Latency: wide, Reorder: true})
	if got := arrivals(re, 10_000, 1000); slices.IsSorted(got) {
		t.Error("no packet overtaken on a link with Reorder")
	}
}

func TestRouteDeterministic(t *testing.T) {
	link := LinkSpec{Number: 0, Loss: 0.1, Duplicate: 0.1,
		Latency: Dist{Kind: DistNormal, Mean: 200 * us, Stddev: 50 * us}}
	run := func(seed uint64, nodes int) []wire.Instant {
		m := newModel(t, seed, nodes, link)
		var out []wire.Instant
		for i := range 1000 {
			now := wire.Instant(i) * 10_000
			for to := 3; to <= nodes; to++ { // traffic to the extra nodes
				m.Route(now, dgram(1, wire.NodeID(to), 0))
			}
			arr, n, v := m.Route(now, dgram(1, 2, 0))
			out = append(out, wire.Instant(v))
			for _, a := range arr[:n] {
				out = append(out, a.At)
			}
		}
		return out
	}
	a := run(1, 2)
	if b := run(1, 2); !slices.Equal(a, b) {
		t.Error("same seed, different routes")
	}
	if b := run(2, 2); slices.Equal(a, b) {
		t.Error("different seeds, same routes")
	}
	if b := run(1, 5); !slices.Equal(a, b) {
		t.Error("adding nodes and traffic to them shifted the 1->2 draws")
	}
}

func TestStreamLabels(t *testing.T) {
	var labels []string
	topo := Topology{Nodes: []wire.NodeID{1, 2, 30},
		Links: []LinkSpec{{Number: 0, Latency: lat100}, {Number: 3, Latency: lat100}}}
	m, err := New(topo, seeded(1, &labels))
	if err != nil {
		t.Fatal(err)
	}
	if len(labels) != 0 {
		t.Fatalf("streams created eagerly: %v", labels)
	}
	m.Route(0, dgram(1, 2, 0))
	m.Route(0, dgram(1, 2, 0))
	m.Route(0, dgram(30, 1, 3))
	m.Route(0, dgram(2, 1, 0))
	want := []string{"link/1-2/0", "link/30-1/3", "link/2-1/0"}
	if !slices.Equal(labels, want) {
		t.Errorf("labels %v, want %v", labels, want)
	}
}

func TestRouteUnknown(t *testing.T) {
	m := newModel(t, 1, 2, LinkSpec{Number: 0, Latency: lat100})
	for _, tc := range []struct {
		d    wire.Datagram
		want Verdict
	}{
		{dgram(1, 9, 0), DroppedUnknownNode},
		{dgram(9, 1, 0), DroppedUnknownNode},
		{dgram(1, 2, 1), DroppedNoLink},
		{dgram(1, 2, 200), DroppedNoLink},
	} {
		if _, n, v := m.Route(0, tc.d); v != tc.want || n != 0 {
			t.Errorf("Route(%+v) = %d, %v; want %v", tc.d, n, v, tc.want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	good := LinkSpec{Number: 0, Latency: lat100}
	tests := []struct {
		name string
		topo Topology
	}{
		{"no nodes", Topology{Links: []LinkSpec{good}}},
		{"no links", Topology{Nodes: []wire.NodeID{1}}},
		{"node 0", Topology{Nodes: []wire.NodeID{0}, Links: []LinkSpec{good}}},
		{"dup node", Topology{Nodes: []wire.NodeID{1, 1}, Links: []LinkSpec{good}}},
		{"dup link", Topology{Nodes: []wire.NodeID{1}, Links: []LinkSpec{good, good}}},
		{"link 8", Topology{Nodes: []wire.NodeID{1}, Links: []LinkSpec{{Number: 8, Latency: lat100}}}},
		{"bad switch", Topology{Nodes: []wire.NodeID{1}, Links: []LinkSpec{{Switch: "-sw", Latency: lat100}}}},
		{"no latency", Topology{Nodes: []wire.NodeID{1}, Links: []LinkSpec{{}}}},
		{"loss > 1", Topology{Nodes: []wire.NodeID{1}, Links: []LinkSpec{{Latency: lat100, Loss: 1.5}}}},
		{"dup < 0", Topology{Nodes: []wire.NodeID{1}, Links: []LinkSpec{{Latency: lat100, Duplicate: -0.1}}}},
	}
	for _, tc := range tests {
		if _, err := New(tc.topo, seeded(1, nil)); !errors.Is(err, ErrBadTopology) {
			t.Errorf("%s: err %v, want ErrBadTopology", tc.name, err)
		}
	}
	if _, err := New(Topology{Nodes: []wire.NodeID{1}, Links: []LinkSpec{good}}, nil); err == nil {
		t.Error("nil StreamFunc: no error")
	}
	// Large corosync node ids use the map lookup.
	m, err := New(Topology{Nodes: []wire.NodeID{100001, 7}, Links: []LinkSpec{good}}, seeded(1, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, v := m.Route(0, dgram(100001, 7, 0)); v != Delivered {
		t.Errorf("sparse ids: %v", v)
	}
}

func TestVerdictString(t *testing.T) {
	want := map[Verdict]string{Delivered: "delivered", DroppedLoss: "loss",
		DroppedPartition: "partition", DroppedSwitchDown: "switch_down",
		DroppedNICDown: "nic_down", DroppedNoLink: "no_link",
		DroppedUnknownNode: "unknown_node", 77: "verdict(77)"}
	for v, s := range want {
		if v.String() != s {
			t.Errorf("%d: %q, want %q", v, v.String(), s)
		}
	}
}

func TestRouteNoAllocs(t *testing.T) {
	for _, d := range []Dist{lat100,
		{Kind: DistUniform, Max: us},
		{Kind: DistNormal, Mean: 200 * us, Stddev: 50 * us},
		{Kind: DistLogNormal, Median: 200 * us, Sigma: 0.5},
		{Kind: DistExponential, Mean: 200 * us},
		{Kind: DistPareto, Min: 200 * us, Alpha: 2},
	} {
		m := newModel(t, 1, 2, LinkSpec{Number: 0, Latency: d, Loss: 0.1, Duplicate: 0.5})
		m.Route(0, dgram(1, 2, 0))
		now := wire.Instant(0)
		if a := testing.AllocsPerRun(1000, func() {
			now += 1000
			m.Route(now, dgram(1, 2, 0))
		}); a != 0 {
			t.Errorf("%v: %v allocs per Route", d, a)
		}
	}
}

func BenchmarkRoute(b *testing.B) {
	for _, d := range []Dist{lat100, {Kind: DistNormal, Mean: 200 * us, Stddev: 50 * us}} {
		b.Run(d.Kind.String(), func(b *testing.B) {
			m := newModel(b, 1, 5, LinkSpec{Number: 0, Latency: d, Loss: 0.001, Duplicate: 0.001},
				LinkSpec{Number: 1, Latency: d})
			var ds []wire.Datagram
			for f := wire.NodeID(1); f <= 5; f++ {
				for to := wire.NodeID(1); to <= 5; to++ {
					ds = append(ds, dgram(f, to, 0), dgram(f, to, 1))
				}
			}
			for _, d := range ds { // create the streams outside the timer
				m.Route(0, d)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				m.Route(wire.Instant(i)*1000, ds[i%len(ds)])
				i++
			}
		})
	}
}
