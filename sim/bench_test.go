package sim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/scenarios"
)

// The kernel benchmark runs the "hold" model: a queue of constant size where
// each event, when it runs, schedules one more at a random later instant.
// BenchmarkTypedHeap does the same with the plainest typed binary heap, the
// floor the kernel is measured against.
const holdSize = 64

func holdDelays(n int) []wire.Instant {
	r := NewStreams(1).Rand("bench")
	d := make([]wire.Instant, n)
	for i := range d {
		d[i] = wire.Instant(r.IntN(1_000_000))
	}
	return d
}

func BenchmarkKernel(b *testing.B) {
	delays := holdDelays(4096)
	k := NewKernel(holdSize)
	for i := range holdSize {
		k.Schedule(delays[i], Event{Kind: 1})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev, _ := k.Next()
		k.Schedule(k.Now()+delays[i&4095], ev)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

type plainItem struct {
	at  wire.Instant
	seq uint64
}

type plainHeap []plainItem

func (h *plainHeap) push(it plainItem) {
	*h = append(*h, it)
	s := *h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].at < s[i].at || (s[p].at == s[i].at && s[p].seq < s[i].seq) {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *plainHeap) pop() plainItem {
	s := *h
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s = s[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && (s[r].at < s[l].at || (s[r].at == s[l].at && s[r].seq < s[l].seq)) {
			m = r
		}
		if s[i].at < s[m].at || (s[i].at == s[m].at && s[i].seq < s[m].seq) {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
	*h = s
	return top
}

func BenchmarkTypedHeap(b *testing.B) {
	delays := holdDelays(4096)
	h := make(plainHeap, 0, holdSize+1)
	var seq uint64
	for i := range holdSize {
		seq++
		h.push(plainItem{at: delays[i], seq: seq})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		it := h.pop()
		seq++
		h.push(plainItem{at: it.at + delays[i&4095], seq: seq})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// fullScenario is 5 nodes on two links for one simulated hour, with switch
// sw0 failing every 10 s (down for 5 s, up for 5 s).
func fullScenario() string {
	var sb strings.Builder
	sb.WriteString(`name: bench-full
duration: 1h
cluster:
  nodes: [{name: n1}, {name: n2}, {name: n3}, {name: n4}, {name: n5}]
network:
  links:
    - {number: 0, switch: sw0, priority: 20, latency: {dist: normal, mean: 0.2ms, stddev: 0.05ms}}
    - {number: 1, switch: sw1, priority: 10, latency: {dist: normal, mean: 0.3ms, stddev: 0.05ms}}
faults:
`)
	for t := 10 * time.Second; t < time.Hour; t += 10 * time.Second {
		fmt.Fprintf(&sb, "  - {at: %v, action: switch_down, switch: sw0}\n", t)
		fmt.Fprintf(&sb, "  - {at: %v, action: switch_up, switch: sw0}\n", t+5*time.Second)
	}
	return sb.String()
}

func BenchmarkFullHourSwitchFailures(b *testing.B) {
	sc, err := scenarios.Parse("bench-full.yaml", []byte(fullScenario()))
	if err != nil {
		b.Fatal(err)
	}
	var events uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := Run(sc, Options{})
		if err != nil {
			b.Fatal(err)
		}
		events += res.Events
	}
	wall := b.Elapsed().Seconds()
	b.ReportMetric(float64(events)/wall, "events/s")
	b.ReportMetric(float64(b.N)*3600/wall, "sim-s/wall-s")
}
