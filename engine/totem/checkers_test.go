package totem

import (
	"fmt"
	"slices"

	"github.com/quorate/quorate/engine/wire"
)

// incarnation is one life of one node: what it delivered, in order.
type incarnation struct {
	id  wire.NodeID
	inc int
	ds  []Delivery
}

func (c *cluster) incarnations() []incarnation {
	var out []incarnation
	for _, nd := range c.nodes {
		for _, r := range nd.hist {
			if len(out) == 0 || out[len(out)-1].id != nd.id || out[len(out)-1].inc != r.inc {
				out = append(out, incarnation{id: nd.id, inc: r.inc})
			}
			out[len(out)-1].ds = append(out[len(out)-1].ds, r.d)
		}
	}
	return out
}

func (in incarnation) String() string { return fmt.Sprintf("n%d#%d", in.id, in.inc) }

// check runs every safety checker and returns the violations found.
func (c *cluster) check() []string {
	incs := c.incarnations()
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	for _, in := range incs {
		c.checkLocal(in, fail)
	}
	checkTotalOrder(incs, fail)
	checkVirtualSynchrony(incs, fail)
	checkAgreement(incs, fail)
	c.checkRingMonotonic(fail)
	return errs
}

// checkLocal: no creation, no duplication, self-inclusion, transitional ⊆
// old ∩ new with matching left/joined, transitional before regular, and no
// gaps in agreed delivery inside a regular configuration.
func (c *cluster) checkLocal(in incarnation, fail func(string, ...any)) {
	seen := map[string]bool{}
	var reg, trans *Delivery
	var lastSeq uint32
	inRegular := false
	for k := range in.ds {
		d := &in.ds[k]
		switch d.Kind {
		case DeliverMessage:
			p := string(d.Payload)
			if o, ok := c.origin[p]; !ok || o != d.Sender {
				fail("%s: created message %q from %d", in, p, d.Sender)
			}
			if seen[p] {
				fail("%s: duplicate delivery of %q", in, p)
			}
			seen[p] = true
			if reg == nil {
				fail("%s: message %q before any configuration", in, p)
				continue
			}
			if inRegular {
				if d.RingID != reg.RingID {
					fail("%s: message %q of ring %s delivered in regular configuration %s", in, p, d.RingID, reg.RingID)
				} else if lastSeq != 0 && d.Seq != lastSeq+1 {
					fail("%s: gap in agreed delivery on ring %s: seq %d after %d", in, reg.RingID, d.Seq, lastSeq)
				}
				lastSeq = d.Seq
			}
		case DeliverTransitional:
			if !inRegular && reg != nil {
				fail("%s: two transitional configurations in a row (%s)", in, d.RingID)
			}
			trans, inRegular = d, false
			if !slices.Contains(d.Members, in.id) {
				fail("%s: transitional %s excludes self", in, d.RingID)
			}
			if reg != nil {
				if !setSubset(d.Members, reg.Members) {
					fail("%s: transitional %v ⊄ old %v", in, d.Members, reg.Members)
				}
				if !slices.Equal(d.Left, setMinus(reg.Members, d.Members)) {
					fail("%s: transitional left %v ≠ old − trans", in, d.Left)
				}
			}
		case DeliverRegular:
			if trans == nil || trans.RingID != d.RingID {
				fail("%s: regular %s without its transitional configuration", in, d.RingID)
			} else {
				if !setSubset(trans.Members, d.Members) {
					fail("%s: transitional %v ⊄ new %v", in, trans.Members, d.Members)
				}
				if !slices.Equal(d.Joined, setMinus(d.Members, trans.Members)) {
					fail("%s: regular joined %v ≠ new − trans", in, d.Joined)
				}
			}
			if !slices.Contains(d.Members, in.id) {
				fail("%s: regular %s excludes self", in, d.RingID)
			}
			if reg != nil && d.RingID.Seq <= reg.RingID.Seq {
				fail("%s: ring id %s not above %s", in, d.RingID, reg.RingID)
			}
			reg, trans, inRegular, lastSeq = d, nil, true, 0
		}
	}
}

// checkTotalOrder: any two incarnations deliver their common messages in
// the same relative order.
func checkTotalOrder(incs []incarnation, fail func(string, ...any)) {
	pos := make([]map[string]int, len(incs))
	for i, in := range incs {
		pos[i] = map[string]int{}
		for k, d := range in.ds {
			if d.Kind == DeliverMessage {
				pos[i][string(d.Payload)] = k
			}
		}
	}
	for a := range incs {
		for b := a + 1; b < len(incs); b++ {
			last, lastP := -1, ""
			for _, d := range incs[a].ds {
				if d.Kind != DeliverMessage {
					continue
				}
				p := string(d.Payload)
				k, ok := pos[b][p]
				if !ok {
					continue
				}
				if k < last {
					fail("total order: %s delivers %q before %q, %s after", incs[a], lastP, p, incs[b])
					break
				}
				last, lastP = k, p
			}
		}
	}
}

// epoch is what an incarnation delivered from one regular configuration up
// to the next one.
type epoch struct {
	from, to RingID
	trans    string
	msgs     []string
}

func epochs(in incarnation) []epoch {
	var out []epoch
	var cur *epoch
	for _, d := range in.ds {
		switch d.Kind {
		case DeliverMessage:
			if cur != nil {
				cur.msgs = append(cur.msgs, string(d.Payload))
			}
		case DeliverTransitional:
			if cur != nil {
				cur.trans = fmt.Sprint(d.RingID, d.Members)
			}
		case DeliverRegular:
			if cur != nil {
				cur.to = d.RingID
				out = append(out, *cur)
			}
			cur = &epoch{from: d.RingID}
		}
	}
	return out
}

// checkVirtualSynchrony: incarnations that move together from one regular
// configuration through the same transitional to the same next regular
// configuration delivered the same messages in the same order.
func checkVirtualSynchrony(incs []incarnation, fail func(string, ...any)) {
	type key struct {
		from, to RingID
		trans    string
	}
	first := map[key]struct {
		who  incarnation
		msgs []string
	}{}
	for _, in := range incs {
		for _, e := range epochs(in) {
			k := key{e.from, e.to, e.trans}
			f, ok := first[k]
			if !ok {
				first[k] = struct {
					who  incarnation
					msgs []string
				}{in, e.msgs}
				continue
			}
			if !slices.Equal(f.msgs, e.msgs) {
				fail("virtual synchrony: %s→%s: %s delivered %v, %s delivered %v", e.from, e.to, f.who, f.msgs, in, e.msgs)
			}
		}
	}
}

// checkAgreement: every delivery of a regular configuration with a given
// ring id names the same members, and transitional deliveries of a ring
// from the same old ring agree too.
func checkAgreement(incs []incarnation, fail func(string, ...any)) {
	members := map[RingID][]wire.NodeID{}
	for _, in := range incs {
		for _, d := range in.ds {
			if d.Kind != DeliverRegular {
				continue
			}
			if m, ok := members[d.RingID]; ok && !slices.Equal(m, d.Members) {
				fail("agreement: ring %s installed as %v and as %v (%s)", d.RingID, m, d.Members, in)
			}
			members[d.RingID] = d.Members
		}
	}
}

// checkRingMonotonic: across restarts a node's regular ring ids strictly
// increase (ring seq persistence, spec §8).
func (c *cluster) checkRingMonotonic(fail func(string, ...any)) {
	for _, nd := range c.nodes {
		var last uint64
		for _, r := range nd.hist {
			if r.d.Kind != DeliverRegular {
				continue
			}
			if r.d.RingID.Seq <= last {
				fail("n%d: ring seq %x not above %x", nd.id, r.d.RingID.Seq, last)
			}
			last = r.d.RingID.Seq
		}
	}
}

// checkSelfDelivery: every live node delivered every message its current
// incarnation multicast (call after a quiet, healed period).
func (c *cluster) checkSelfDelivery() []string {
	var errs []string
	for _, nd := range c.nodes {
		if nd.ring == nil {
			continue
		}
		got := map[string]bool{}
		for _, r := range nd.hist {
			if r.inc == nd.inc && r.d.Kind == DeliverMessage {
				got[string(r.d.Payload)] = true
			}
		}
		for _, p := range nd.sent {
			if !got[p] {
				errs = append(errs, fmt.Sprintf("n%d: own message %q never delivered", nd.id, p))
			}
		}
	}
	return errs
}
