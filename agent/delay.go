package agent

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/netmodel"
)

// linkDelays is the transport's extra delay per link, set at run time
// through the admin socket (CmdDelay): the way to give real agents a WAN's
// latency on machines whose kernel has no netem (the lab, tests). Each
// packet's delay is drawn from the link's distribution by the transport's
// writer of that link, so the link stays FIFO as it would on a wire. The
// writers call delay concurrently; set runs in the loop.
type linkDelays struct {
	any atomic.Bool // some link has a delay: the fast path skips the lock
	mu  sync.Mutex
	s   map[wire.LinkNo]*netmodel.Sampler // lookups only
	rnd *mrand.PCG
}

func newLinkDelays() *linkDelays {
	var seed [16]byte
	_, _ = rand.Read(seed[:])
	return &linkDelays{s: map[wire.LinkNo]*netmodel.Sampler{},
		rnd: mrand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:]))}
}

// delay draws the extra delay of one packet on link.
func (d *linkDelays) delay(link wire.LinkNo) time.Duration {
	if !d.any.Load() {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if s := d.s[link]; s != nil {
		return max(s.Sample(), 0)
	}
	return 0
}

// set replaces link's delay distribution; the zero Dist removes it.
func (d *linkDelays) set(link wire.LinkNo, dist netmodel.Dist) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if dist == (netmodel.Dist{}) || (dist.Kind == netmodel.DistConstant && dist.Value == 0) {
		delete(d.s, link)
	} else {
		s, err := netmodel.NewSampler(dist, d.rnd)
		if err != nil {
			return fmt.Errorf("delay of link %d: %w", link, err)
		}
		d.s[link] = s
	}
	d.any.Store(len(d.s) > 0)
	return nil
}

// DelaySpec is the argument of CmdDelay: the distribution of the extra
// delay of every packet this agent sends on Link.
type DelaySpec struct {
	Link int           `json:"link"`
	Dist netmodel.Dist `json:"dist"`
}
