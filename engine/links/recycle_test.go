package links

import (
	"bytes"
	"slices"
	"testing"

	"github.com/quorate/quorate/engine/wire"
)

// TestRecycle: a frame built in a buffer the driver handed back is byte for
// byte the frame built in a new one; a data frame takes a spare buffer
// large enough for it, a small frame or a too small spare does not, and
// Recycle keeps only buffers within its bounds, at most spareMax of them.
func TestRecycle(t *testing.T) {
	sizes := []int{1, 100, 300, 700, 1024, 1400, 9000, wire.FragmentSize}
	fresh := upLayer(t, ModePassive, []LinkConfig{{Number: 0}}, 0)
	recycled := upLayer(t, ModePassive, []LinkConfig{{Number: 0}}, 0)
	for _, n := range sizes {
		p := packet(n, uint64(n))
		fresh.Send(2, p)
		want := slices.Clone(fresh.Outbox()[0].Payload)
		fresh.Clear()

		spare := make([]byte, 4096+wire.FragmentSize)
		for i := range spare {
			spare[i] = 0xa5 // garbage a frame must overwrite or not show
		}
		k := min(wire.FrameHeaderLen+n+7, spareMaxCap)
		spare = spare[:k:k]
		recycled.Recycle(spare)
		kept := len(recycled.spare) == 1
		recycled.Send(2, p)
		got := recycled.Outbox()[0].Payload
		if !bytes.Equal(got, want) {
			t.Fatalf("%d-byte packet: the frame in a recycled buffer differs from a new one", n)
		}
		size := wire.FrameHeaderLen + n
		took := &got[:1][0] == &spare[:1][0]
		if wantTook := kept && size >= spareMinCap/2 && cap(spare) >= size; took != wantTook {
			t.Fatalf("%d-byte packet: took the spare buffer %v, want %v", n, took, wantTook)
		}
		recycled.Clear()
		recycled.spare = nil
	}

	l := upLayer(t, ModePassive, []LinkConfig{{Number: 0}}, 0)
	l.Recycle(make([]byte, 0, spareMinCap-1))
	l.Recycle(make([]byte, 0, spareMaxCap+1))
	if len(l.spare) != 0 {
		t.Fatalf("kept %d buffers outside [%d, %d] bytes", len(l.spare), spareMinCap, spareMaxCap)
	}
	for range spareMax + 10 {
		l.Recycle(make([]byte, 10, spareMinCap))
	}
	if len(l.spare) != spareMax {
		t.Fatalf("kept %d buffers, want at most %d", len(l.spare), spareMax)
	}
	if len(l.spare[0]) != 0 {
		t.Fatal("a kept buffer is not empty")
	}
}
