package links

import (
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// FuzzReceive feeds arbitrary bytes to the link layer as if they came from
// the network: it must never panic, and anything that is not a well-formed
// frame from a configured peer on a configured link is rejected and counted.
func FuzzReceive(f *testing.F) {
	f.Add(uint8(0), uint32(2), wire.AppendFrame(nil, wire.Frame{Type: wire.FramePing, From: 2, To: 1, Stamp: 1}))
	f.Add(uint8(1), uint32(2), wire.AppendFrame(nil, wire.Frame{Type: wire.FramePong, Link: 1, From: 2, To: 1, Stamp: 1}))
	f.Add(uint8(0), uint32(3), wire.AppendFrame(nil, wire.Frame{Type: wire.FrameData, From: 3, To: 1, Stamp: 1, Payload: []byte("p")}))
	f.Add(uint8(5), uint32(9), []byte("garbage"))
	f.Fuzz(func(t *testing.T, link uint8, from uint32, b []byte) {
		l, err := New(Config{Self: 1, Peers: []wire.NodeID{2, 3}, Links: []LinkConfig{{Number: 0}, {Number: 1}},
			PingInterval: time.Second, PingTimeout: 2 * time.Second}, 0, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		l.Advance(wire.Instant(time.Second))
		before := l.Stats()
		_, ok := l.Receive(wire.Instant(time.Second), wire.LinkNo(link%wire.MaxLinks), wire.NodeID(from), b)
		after := l.Stats()
		if _, err := wire.DecodeFrame(b); err != nil {
			if ok || after.Rejected != before.Rejected+1 {
				t.Fatalf("malformed frame not rejected (ok=%v, rejected %d->%d)", ok, before.Rejected, after.Rejected)
			}
		}
	})
}
