package udp

// Replay protection: one window per (peer, link), owned by the link's
// reader goroutine and never touched by anything else.
//
// The window remembers the highest counter accepted (top) and a bitmap of
// the counters accepted in the windowWords 64-counter blocks that end with
// top's block (RFC 6479's ring of blocks, without the spare block): the
// last 961 to 1024 counters up to top, depending on where top sits in its
// block. A counter is accepted at most once; counters above top slide the
// window forward; counters in blocks that have slid out are refused as
// replays, because the window can no longer tell.
//
// Epochs. A restarted peer draws a new random epoch and starts its counters
// at its wall clock in nanoseconds, so its first packet carries a new epoch
// and a counter above everything its previous incarnation sent. The rule:
//
//   - same epoch as the window: the bitmap decides;
//   - another epoch and a counter above top: a newer incarnation; the window
//     is reset to it (after the packet has authenticated, see commit);
//   - another epoch and a counter at or below top: an older incarnation or
//     a replay of one; refused.
//
// The checks in check run on the unauthenticated header, to drop replays
// before spending a decryption on them; they change nothing. Only commit,
// called after Sealer.Open succeeded, moves the window or adopts an epoch.
// An attacker without the key therefore cannot move a window, adopt a
// forged epoch or lock a peer out; the most it can do by forging headers is
// have its garbage counted as replayed rather than as failing
// authentication.
//
// Limits. The windows live in memory only: a receiver that restarts accepts
// once, in increasing counter order, packets captured from a peer's current
// incarnation until the peer's next genuine packet on that link overtakes
// them (knet and corosync keep no replay state across restarts either; the
// engine's own incarnation and sequence checks sit above this). The epoch
// order leans on wall clocks: a peer restarted with its clock set back
// behind its previous start is refused as replayed, on every receiver that
// saw the previous incarnation, until its counters pass the old ones or the
// receivers restart. Keep clocks synchronised, as corosync clusters do.

// windowWords is the number of 64-counter blocks in a replay window.
const windowWords = 16

// WindowSize is the widest a replay window gets: the receiver remembers
// the last 961 to WindowSize counters of each (peer, link) up to the highest
// one accepted, and refuses anything older as a replay.
const WindowSize = windowWords * 64

// window is the replay state of one (peer, link).
type window struct {
	valid bool // an authenticated packet has been committed
	epoch uint32
	top   uint64
	bits  [windowWords]uint64
}

// check reports whether a packet with epoch and counter c may be new. It
// does not change the window.
func (w *window) check(epoch uint32, c uint64) bool {
	if !w.valid || c > w.top {
		return true
	}
	if epoch != w.epoch {
		return false // an older incarnation, or a replay of one
	}
	if c>>6+windowWords <= w.top>>6 {
		return false // its block has slid out of the window
	}
	return w.bits[(c>>6)%windowWords]&(1<<(c&63)) == 0
}

// commit records an authenticated packet that check accepted.
func (w *window) commit(epoch uint32, c uint64) {
	switch {
	case !w.valid || epoch != w.epoch:
		// first packet, or a newer incarnation (check saw c > top)
		*w = window{valid: true, epoch: epoch, top: c}
	case c > w.top:
		// clear the blocks the window slides over (c > top, so no underflow)
		if c>>6-w.top>>6 >= windowWords {
			w.bits = [windowWords]uint64{}
		} else {
			for b := w.top>>6 + 1; b <= c>>6; b++ {
				w.bits[b%windowWords] = 0
			}
		}
		w.top = c
	}
	w.bits[(c>>6)%windowWords] |= 1 << (c & 63)
}
