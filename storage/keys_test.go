package storage

import (
	"bytes"
	"testing"
)

// TestKeysInOneAllocation: eventKey and visitorKey are the prefix and the
// suffix, built in a slice of exactly their size.
func TestKeysInOneAllocation(t *testing.T) {
	for _, tt := range []struct{ bucket, visitor string }{
		{"KA-1", "v1"},
		{"shop.example.com", "0123456789abcdef0123456789abcdef"},
		{"x", ""},
	} {
		got := eventKey(tt.bucket, 1, 2, 3)
		if want := appendSuffix(eventPrefix(tt.bucket), 1, 2, 3); !bytes.Equal(got, want) || cap(got) != len(got) {
			t.Errorf("eventKey(%q) = %q (cap %d), want %q", tt.bucket, got, cap(got), want)
		}
		got = visitorKey(tt.bucket, tt.visitor, 1, 2, 3)
		if want := appendSuffix(visitorPrefix(tt.bucket, tt.visitor), 1, 2, 3); !bytes.Equal(got, want) || cap(got) != len(got) {
			t.Errorf("visitorKey(%q, %q) = %q (cap %d), want %q", tt.bucket, tt.visitor, got, cap(got), want)
		}
	}
}
