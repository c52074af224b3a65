// Command outboxfill fills a katalys store with captured orders waiting in
// the delivery outbox, for bench/deliver.sh: the backlog Caddy drains while
// the benchmark measures page throughput. Caddy must not run on the store.
//
//	outboxfill -dir DIR -bucket KA-7Q2M9X4B1Z -n 100000
package main

import (
	"flag"
	"fmt"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"github.com/storeedge/caddy-katalys/capture"
	"github.com/storeedge/caddy-katalys/storage"
)

func main() {
	dir := flag.String("dir", "", "the store directory")
	bucket := flag.String("bucket", "", "the bucket of the orders")
	n := flag.Int("n", 100000, "how many orders")
	workers := flag.Int("workers", 64, "orders stored at once")
	flag.Parse()
	if *dir == "" || *bucket == "" {
		log.Fatal("outboxfill: -dir and -bucket are required")
	}
	st, err := storage.Open(storage.Options{Dir: *dir, Outbox: true})
	if err != nil {
		log.Fatalf("outboxfill: %v", err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range *workers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(*n) {
					return
				}
				o := storage.Order{Bucket: *bucket, ClientIP: "203.0.113.7", UserAgent: "Mozilla/5.0 (bench)",
					Order: capture.Order{ID: fmt.Sprintf("BK-%07d", i), Total: capture.Money(49.90), Currency: "USD",
						Email: "buyer@example.com", Source: "bench",
						Items: []capture.Item{{SKU: "SKU-1", Name: "Linen shirt", Quantity: 1, Price: capture.Money(49.90)}}}}
				if _, _, err := st.PutOrder(o); err != nil {
					log.Fatalf("outboxfill: %v", err)
				}
			}
		})
	}
	wg.Wait()
	pending, dead := st.OutboxCounts()
	if err := st.Close(); err != nil {
		log.Fatalf("outboxfill: %v", err)
	}
	fmt.Printf("stored %d orders in %.1fs; outbox: %d pending, %d dead\n", *n, time.Since(start).Seconds(), pending, dead)
}
