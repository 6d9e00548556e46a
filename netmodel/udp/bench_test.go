package udp

import (
	"fmt"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// BenchmarkSealOpen seals a payload as node 1 and opens it as node 2, per
// op; the bytes per second count the payload once.
func BenchmarkSealOpen(b *testing.B) {
	key := testKey(1)
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			a := mustSealer(b, key, 1, nil, 1, 1)
			r := mustSealer(b, key, 2, []wire.NodeID{1}, 2, 1)
			payload := make([]byte, size)
			pkt := make([]byte, 0, size+Overhead)
			out := make([]byte, 0, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if pkt, err = a.Seal(pkt[:0], 2, 0, payload); err != nil {
					b.Fatal(err)
				}
				if _, out, err = r.Open(out[:0], pkt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoopbackRoundTrip measures one datagram from node 1 to node 2
// and the echo back, over two Transports on 127.0.0.1: queueing, sealing,
// the loopback device, the checks, opening and the goroutine hand-offs,
// twice.
func BenchmarkLoopbackRoundTrip(b *testing.B) {
	skipShort(b)
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			nodes := cluster(b, 2, testKey(1), nil)
			a, echo := nodes[0], nodes[1]
			payload := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				a.Send(wire.Datagram{From: 1, To: 2, Payload: payload})
				select {
				case m := <-echo.in:
					echo.Send(wire.Datagram{From: 2, To: 1, Link: m.link, Payload: []byte(m.payload)})
				case <-time.After(waitTimeout):
					b.Fatal("no datagram at node 2")
				}
				select {
				case <-a.in:
				case <-time.After(waitTimeout):
					b.Fatal("no echo at node 1")
				}
			}
		})
	}
}
