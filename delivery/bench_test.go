package delivery

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkLoop drains 10,000 entries (one order each, a payload the size
// of a real order) to a local collector that answers 204, and reports
// deliveries per second.
func BenchmarkLoop(b *testing.B) {
	const entries = 10_000
	c := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(c.Close)
	order := anOrder()
	res := approved()
	payloads := payloadFunc(func(e Entry) (map[string]any, error) {
		return OrderPayload(e.Bucket, order, res, e.Kind, e.Status), nil
	})
	for _, conc := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			sender := &Sender{Endpoint: c.URL}
			var total time.Duration
			for b.Loop() {
				b.StopTimer()
				out := &memOutbox{}
				for i := range entries {
					out.add(orderEntry(fmt.Sprintf("%08d", i), fmt.Sprintf("o%d", i)))
				}
				var delivered atomic.Int64
				finished := make(chan struct{})
				ctx, cancel := context.WithCancel(b.Context())
				l := &Loop{Outbox: out, Payloads: payloads, Sender: sender, Concurrency: conc, Poll: -1,
					OnResult: func(_ Entry, o Outcome) {
						if !o.Delivered {
							b.Errorf("not delivered: %+v", o)
						}
						if delivered.Add(1) == entries {
							close(finished)
						}
					}}
				stopped := make(chan struct{})
				b.StartTimer()
				start := time.Now()
				go func() { defer close(stopped); l.Run(ctx, nil) }()
				<-finished
				total += time.Since(start)
				b.StopTimer()
				cancel()
				<-stopped
				b.StartTimer()
			}
			b.ReportMetric(float64(entries*b.N)/total.Seconds(), "deliveries/s")
		})
	}
}
