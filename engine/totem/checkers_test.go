package totem

import (
	"fmt"
	"maps"
	"slices"

	"github.com/quorate/quorate/engine/check"
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

// check runs every safety checker and returns the violations found: the
// shared definitions of engine/check (the simulator judges its runs with
// the same ones), and the structural rules of Totem's delivery API that
// only this package's Delivery shows (checkLocal).
func (c *cluster) check() []string {
	incs := c.incarnations()
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	for _, in := range incs {
		c.checkLocal(in, fail)
	}
	h := c.history(incs)
	for _, r := range []check.CheckResult{check.CheckIntegrity(h), check.CheckAgreement(h), check.CheckTotalOrder(h),
		check.CheckGaps(h), check.CheckVirtualSynchrony(h)} {
		if !r.OK {
			errs = append(errs, r.Detail)
		}
	}
	c.checkRingMonotonic(fail)
	return errs
}

// history gives the incarnations' deliveries to the shared checkers: each
// payload the test multicast becomes a message id, known to have been sent.
func (c *cluster) history(incs []incarnation) *check.History {
	payloads := slices.Sorted(maps.Keys(c.origin))
	ids := make(map[string]uint64, len(payloads))
	h := &check.History{Name: func(id uint64) string {
		if id == 0 || id > uint64(len(payloads)) {
			return fmt.Sprintf("#%d (never multicast)", id)
		}
		return fmt.Sprintf("%q", payloads[id-1])
	}}
	for i, p := range payloads {
		ids[p] = uint64(i + 1)
		h.Sent.Add(uint64(i+1), check.SentMsg{})
	}
	for _, in := range incs {
		p := &check.Process{Node: in.id, Name: fmt.Sprintf("n%d", in.id), Inc: in.inc}
		h.Attach(p)
		for _, d := range in.ds {
			x := check.Delivery{Ring: check.RingRef{Rep: d.RingID.Rep, Seq: d.RingID.Seq}, Seq: d.Seq, Part: d.Part, Sender: d.Sender, Members: d.Members}
			switch d.Kind {
			case DeliverMessage:
				x.Kind = check.KindMsg
				x.ID = ids[string(d.Payload)]
				if x.ID == 0 {
					// Created: an id no one sent, so that integrity says so.
					x.ID = uint64(len(payloads)) + 1
				}
			case DeliverTransitional:
				x.Kind = check.KindTrans
			case DeliverRegular:
				x.Kind = check.KindRegular
			}
			p.Add(x)
		}
	}
	return h
}

// checkLocal: what the shared checkers cannot see in a process's stream
// alone: a message from the right sender, before any configuration, of
// another ring inside a regular configuration; a transitional configuration
// before each regular one and never two in a row; left and joined lists
// that match the member lists.
func (c *cluster) checkLocal(in incarnation, fail func(string, ...any)) {
	var reg, trans *Delivery
	inRegular := false
	for k := range in.ds {
		d := &in.ds[k]
		switch d.Kind {
		case DeliverMessage:
			p := string(d.Payload)
			if o, ok := c.origin[p]; ok && o != d.Sender {
				fail("%s: message %q from %d, multicast by %d", in, p, d.Sender, o)
			}
			if reg == nil {
				fail("%s: message %q before any configuration", in, p)
				continue
			}
			if inRegular && d.RingID != reg.RingID {
				fail("%s: message %q of ring %s delivered in regular configuration %s", in, p, d.RingID, reg.RingID)
			}
		case DeliverTransitional:
			if !inRegular && reg != nil {
				fail("%s: two transitional configurations in a row (%s)", in, d.RingID)
			}
			trans, inRegular = d, false
			if reg != nil && !slices.Equal(d.Left, setMinus(reg.Members, d.Members)) {
				fail("%s: transitional left %v ≠ old − trans", in, d.Left)
			}
		case DeliverRegular:
			if trans == nil || trans.RingID != d.RingID {
				fail("%s: regular %s without its transitional configuration", in, d.RingID)
			} else if !slices.Equal(d.Joined, setMinus(d.Members, trans.Members)) {
				fail("%s: regular joined %v ≠ new − trans", in, d.Joined)
			}
			reg, trans, inRegular = d, nil, true
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
