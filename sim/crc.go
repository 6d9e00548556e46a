package sim

import (
	"hash/crc32"
	"unsafe"

	"github.com/quorate/quorate/engine/wire"
)

// The trace fingerprints every packet with the CRC-32C of its bytes,
// header then payload. A multicast is n−1 datagrams sharing one payload
// (immutable, engine.Ready's contract) behind n−1 short headers, so the
// payload's CRC is computed once and combined with each header's:
// crc(H‖P) = crc(H)·x^(8·len P) ⊕ crc(P) over GF(2), with the CRC's
// pre- and post-conditioning cancelling out (zlib's crc32_combine; the
// multiplication is multmodp below). The value is the one crc32.Update
// gives over the two; TestFrameCRC compares them.

// castagnoliReflected is the CRC-32C polynomial, bit-reflected.
const castagnoliReflected = 0x82f63b78

// multmodp returns a·b modulo the polynomial, both reflected.
func multmodp(a, b uint32) uint32 {
	m := uint32(1) << 31
	var p uint32
	for {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				return p
			}
		}
		m >>= 1
		if b&1 != 0 {
			b = b>>1 ^ castagnoliReflected
		} else {
			b >>= 1
		}
	}
}

// x2nTable[k] is x^(2^k) modulo the polynomial.
var x2nTable = func() (t [32]uint32) {
	p := uint32(1) << 30 // x^1
	t[0] = p
	for k := 1; k < len(t); k++ {
		p = multmodp(p, p)
		t[k] = p
	}
	return t
}()

// shiftOp returns x^(8n) modulo the polynomial: the factor that moves a
// CRC past n zero bytes.
func shiftOp(n int) uint32 {
	p := uint32(1) << 31 // x^0
	for k := 3; n != 0; n, k = n>>1, k+1 {
		if n&1 != 0 {
			p = multmodp(x2nTable[k&31], p)
		}
	}
	return p
}

// shiftTable multiplies a CRC by one shift operator with four table
// lookups: the product is linear in the CRC's bits over GF(2), so it is
// the XOR of the products of its four bytes, each tabulated.
type shiftTable [4][256]uint32

// build tabulates the products by op.
func (t *shiftTable) build(op uint32) {
	for i := range t {
		t[i][0] = 0
		for v := 1; v < 256; v++ {
			low := v & -v
			bit := 0
			for low>>bit != 1 {
				bit++
			}
			t[i][v] = t[i][v&(v-1)] ^ multmodp(op, 1<<(8*i+bit))
		}
	}
}

// mul returns c·op for the op the table was built for.
func (t *shiftTable) mul(c uint32) uint32 {
	return t[0][c&0xff] ^ t[1][c>>8&0xff] ^ t[2][c>>16&0xff] ^ t[3][c>>24]
}

// payloadCRC remembers the last payload fingerprinted: its bytes (held,
// so that their address cannot be another buffer's while remembered),
// their CRC and the shift operator for their length.
//
// The operator is applied once per header: with a table of its products
// (four lookups) when the length recurs, else by multmodp (a loop over
// its bits). A table costs about a thousand multmodp to build, so it is
// built only for a length seen before: a fixed-size workload's frames
// recur, while Totem's packed frames take a new length nearly every time,
// and building a table for each was a third of a loaded run.
type payloadCRC struct {
	p      []byte
	crc    uint32
	opLen  int
	op     uint32      // shiftOp(opLen)
	tab    *shiftTable // op's table, nil when op is applied by multmodp
	tabs   [crcTables]lenTable
	next   int          // the table to replace next
	seen   [crcSeen]int // lengths met recently without a table
	misses uint64       // payloads computed, for the test
	built  uint64       // tables built, for the test
	buf    [2 * minCombine]byte
}

// lenTable is a shift table and the payload length it is for (0: none).
type lenTable struct {
	n int
	t shiftTable
}

// crcTables is how many lengths keep a table; crcSeen how many lengths
// without one are remembered, to build a table when one comes back.
const (
	crcTables = 4
	crcSeen   = 8
)

// setLen makes op (and tab, when there is one) the operator for payloads
// of n bytes.
func (c *payloadCRC) setLen(n int) {
	c.opLen, c.op, c.tab = n, shiftOp(n), nil
	for i := range c.tabs {
		if c.tabs[i].n == n {
			c.tab = &c.tabs[i].t
			return
		}
	}
	for i, m := range c.seen {
		if m == n {
			c.seen[i] = 0
			lt := &c.tabs[c.next]
			c.next = (c.next + 1) % crcTables
			lt.n = n
			lt.t.build(c.op)
			c.tab = &lt.t
			c.built++
			return
		}
	}
	copy(c.seen[1:], c.seen[:crcSeen-1])
	c.seen[0] = n
}

// minCombine is the payload length from which combining is cheaper than
// running the CRC over header and payload again.
const minCombine = 256

// frameCRC returns the CRC-32C of d's header and payload as one.
func (c *payloadCRC) frameCRC(d wire.Datagram) uint32 {
	tab := castagnoli()
	if len(d.Payload) < minCombine {
		// A short frame (a heartbeat, a token) is copied whole and
		// summed in one call: the fixed cost of a call is most of the
		// work at these lengths. (A buffer on the stack would escape
		// through crc32: one allocation per frame.)
		if len(d.Header)+len(d.Payload) <= len(c.buf) {
			n := copy(c.buf[:], d.Header)
			n += copy(c.buf[n:], d.Payload)
			return crc32.Checksum(c.buf[:n], tab)
		}
		return crc32.Update(crc32.Checksum(d.Header, tab), tab, d.Payload)
	}
	if len(c.p) != len(d.Payload) || unsafe.SliceData(c.p) != unsafe.SliceData(d.Payload) {
		c.p, c.crc = d.Payload, crc32.Checksum(d.Payload, tab)
		c.misses++
		if c.opLen != len(d.Payload) {
			c.setLen(len(d.Payload))
		}
	}
	h := crc32.Checksum(d.Header, tab)
	if c.tab != nil {
		return c.tab.mul(h) ^ c.crc
	}
	return multmodp(c.op, h) ^ c.crc
}
