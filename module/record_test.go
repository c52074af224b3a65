package module

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/storeedge/caddy-katalys/storage"
)

// TestEnqueueSaysWhyItDropped: a page view offered to a store that is
// closing (a reload that moved storage) is counted as closed, not as a
// full queue an operator would look for a load problem behind.
func TestEnqueueSaysWhyItDropped(t *testing.T) {
	st, err := storage.Open(storage.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	closed := metrics.dropped.WithLabelValues(typePageview, dropClosed)
	full := metrics.dropped.WithLabelValues(typePageview, dropQueueFull)
	beforeClosed, beforeFull := testutil.ToFloat64(closed), testutil.ToFloat64(full)
	enqueue(st, storage.Event{Bucket: "KA-1", Time: time.Now(), Type: typePageview})
	if got := testutil.ToFloat64(closed) - beforeClosed; got != 1 {
		t.Errorf("dropped{reason=closed} grew by %v, want 1", got)
	}
	if got := testutil.ToFloat64(full) - beforeFull; got != 0 {
		t.Errorf("dropped{reason=queue_full} grew by %v, want 0", got)
	}
}
