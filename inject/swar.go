package inject

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

const (
	lows  = 0x0101010101010101
	highs = 0x8080808080808080
)

// indexByte is bytes.IndexByte for the short runs a page is made of (an
// attribute value, the text between two tags): it looks at the first 16
// bytes eight at a time in plain Go, which costs less than a call into the
// vectorised search, and hands longer runs to bytes.IndexByte.
func indexByte(b []byte, c byte) int {
	if len(b) >= 16 {
		pat := uint64(c) * lows
		if t := zeroBytes(binary.LittleEndian.Uint64(b) ^ pat); t != 0 {
			return bits.TrailingZeros64(t) >> 3
		}
		if t := zeroBytes(binary.LittleEndian.Uint64(b[8:]) ^ pat); t != 0 {
			return 8 + bits.TrailingZeros64(t)>>3
		}
		if i := bytes.IndexByte(b[16:], c); i >= 0 {
			return 16 + i
		}
		return -1
	}
	return bytes.IndexByte(b, c)
}

// zeroBytes has the high bit set in the lowest zero byte of x (and maybe
// in bytes above it, which callers ignore by taking the lowest set bit).
func zeroBytes(x uint64) uint64 {
	return (x - lows) &^ x & highs
}
