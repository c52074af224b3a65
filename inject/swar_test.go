package inject

import (
	"bytes"
	"strings"
	"testing"
)

// TestIndexByte checks indexByte against bytes.IndexByte at every length
// and every position of the byte sought, around the 8- and 16-byte words
// it reads.
func TestIndexByte(t *testing.T) {
	for n := range 40 {
		for at := -1; at < n; at++ {
			b := []byte(strings.Repeat("a\x80\xff", n)[:n])
			if at >= 0 {
				b[at] = '"'
				if at+1 < n {
					b[at+1] = '"' // a second match after the first
				}
			}
			if got, want := indexByte(b, '"'), bytes.IndexByte(b, '"'); got != want {
				t.Errorf("indexByte(%q) = %d, want %d", b, got, want)
			}
		}
	}
}

func FuzzIndexByte(f *testing.F) {
	f.Add([]byte(`class="product" data-sku="SKU-1001">`), byte('"'))
	f.Add([]byte("\x00\x01<\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00<"), byte('<'))
	f.Fuzz(func(t *testing.T, b []byte, c byte) {
		if got, want := indexByte(b, c), bytes.IndexByte(b, c); got != want {
			t.Errorf("indexByte(%q, %q) = %d, want %d", b, c, got, want)
		}
	})
}
