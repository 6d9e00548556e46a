package wire

import "encoding/binary"

// Reader consumes a byte slice field by field, big-endian, and remembers
// the first failure: once a field is missing every later read returns zero
// and Err stays the first error. The codecs of every protocol layer decode
// untrusted bytes with it, so none of them can read past the end of a
// datagram.
type Reader struct {
	B     []byte // what is left to read
	Err   error  // the first failure, nil while every read succeeded
	Short error  // the error a read past the end records
}

// NewReader reads b; a read past its end records short.
func NewReader(b []byte, short error) Reader { return Reader{B: b, Short: short} }

// Take returns the next n bytes (aliasing the input), or nil after a failure.
func (r *Reader) Take(n int) []byte {
	if r.Err != nil {
		return nil
	}
	if n < 0 || len(r.B) < n {
		r.Err = r.Short
		return nil
	}
	v := r.B[:n]
	r.B = r.B[n:]
	return v
}

// U8 reads one byte.
func (r *Reader) U8() uint8 {
	if v := r.Take(1); v != nil {
		return v[0]
	}
	return 0
}

// U16 reads a big-endian uint16.
func (r *Reader) U16() uint16 {
	if v := r.Take(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

// U32 reads a big-endian uint32.
func (r *Reader) U32() uint32 {
	if v := r.Take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

// U64 reads a big-endian uint64.
func (r *Reader) U64() uint64 {
	if v := r.Take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}
