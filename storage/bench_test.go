package storage

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"
)

// The two benchmarks below are meant to run together (go test -bench . ./storage):
// BenchmarkRawWriteBatch is the ceiling, plain Badger with the store's options
// writing entries of the same sizes, and the bar is BenchmarkIngest reaching at
// least half of its events/s.

// benchEvent is a typical page view: the fields tracking records for a page.
func benchEvent(i int) Event {
	return Event{
		Bucket:  "KA-12345",
		Type:    "pageview",
		Visitor: fmt.Sprintf("%032x", i%5000),
		Session: fmt.Sprintf("%016x", i%9000),
		Fields: map[string]string{
			"url":        "https://shop.example.com/products/blue-widget?utm_source=newsletter&utm_medium=email",
			"referrer":   "https://mail.example.net/",
			"user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
			"client_ip":  "203.0.113.0",
		},
	}
}

// benchCallers is how many goroutines call Write at once, standing in for
// concurrent collect requests.
const benchCallers = 256

func BenchmarkIngest(b *testing.B) {
	for _, per := range []int{1, 10} {
		b.Run(fmt.Sprintf("callers=%d/events_per_write=%d", benchCallers, per), func(b *testing.B) {
			s, err := Open(Options{Dir: b.TempDir(), Logger: zap.NewNop(), Instance: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			// The events are made before the clock starts: making them is
			// the callers' work, not the store's, and it would run on the
			// same CPUs as the store.
			ring := make([]Event, 10_000)
			for i := range ring {
				ring[i] = benchEvent(i)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range benchCallers {
				wg.Go(func() {
					evs := make([]Event, per)
					for {
						n := next.Add(int64(per))
						if n > int64(b.N)+int64(per)-1 {
							return
						}
						for i := range evs {
							evs[i] = ring[(int(n)+i)%len(ring)]
						}
						if err := s.Write(context.Background(), evs); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			st := s.Stats()
			b.ReportMetric(float64(st.Committed)/elapsed.Seconds(), "events/s")
			b.ReportMetric(float64(st.Committed)/float64(max(st.Batches, 1)), "events/batch")
		})
	}
}

func BenchmarkRawWriteBatch(b *testing.B) {
	// Synced commits, as the bar says: every WriteBatch flush is
	// durable, like every batch a Write waits on.
	db, err := badger.Open(badgerOptions(b.TempDir(), zap.NewNop()).WithSyncWrites(true))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	// Same entries as the store writes per event: the log entry with the
	// event's JSON as value, and the index entry with its value.
	sizer := &Store{instance: "bench", instHash: hashString("bench")}
	sample, err := sizer.encode(benchEvent(0))
	if err != nil {
		b.Fatal(err)
	}
	val := make([]byte, len(sample.val))
	visitor := fmt.Sprintf("%032x", 0)
	b.ResetTimer()
	start := time.Now()
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	now := uint64(time.Now().UnixNano())
	for i := range b.N {
		key := appendSuffix(eventPrefix("KA-12345"), now+uint64(i), sizer.instHash, uint64(i))
		if err := wb.Set(key, val); err != nil {
			b.Fatal(err)
		}
		vkey := appendSuffix(visitorPrefix("KA-12345", visitor), now+uint64(i), sizer.instHash, uint64(i))
		if err := wb.Set(vkey, sample.vval); err != nil {
			b.Fatal(err)
		}
	}
	if err := wb.Flush(); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(len(sample.key)+len(sample.val)+len(sample.vkey)+len(sample.vval)), "bytes/event")
}

// BenchmarkEnqueueCPU is what recording page views costs the process: the
// CPU time (user and system, every goroutine, Badger's included) per page
// view queued with Enqueue, from the first event to the end of Close, which
// drains the queue. rate=3000 queues 3,000 page views a second, as a busy
// store's pages come; its figure includes the pacing loop's own sleeps and
// wake-ups, which pacing-only measures alone (with the store open and idle); linger=off commits each
// batch without waiting for more (Options.Linger). rate=max queues them as
// fast as the queue takes them (batches are then full).
func BenchmarkEnqueueCPU(b *testing.B) {
	for _, bc := range []struct {
		name   string
		rate   int // page views per second; 0: as fast as possible
		store  bool
		linger time.Duration
	}{
		{"rate=3000", 3000, true, 0},
		{"rate=3000/linger=off", 3000, true, -1},
		{"rate=3000/pacing-only", 3000, false, 0},
		{"rate=max", 0, true, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := Open(Options{Dir: b.TempDir(), Logger: zap.NewNop(), Instance: "bench", Linger: bc.linger})
			if err != nil {
				b.Fatal(err)
			}
			ring := make([]Event, 10_000)
			for i := range ring {
				ring[i] = benchEvent(i)
			}
			b.ResetTimer()
			cpu0 := cpuTime(b)
			start := time.Now()
			for i := range b.N {
				if bc.rate > 0 {
					if d := time.Duration(i)*time.Second/time.Duration(bc.rate) - time.Since(start); d > 0 {
						time.Sleep(d)
					}
				}
				for bc.store && !s.Enqueue(ring[i%len(ring)]) {
					time.Sleep(time.Millisecond) // queue full: wait, do not drop
				}
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			cpu := cpuTime(b) - cpu0
			b.StopTimer()
			st := s.Stats()
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/event")
			b.ReportMetric(float64(st.Committed)/float64(max(st.Batches, 1)), "events/batch")
		})
	}
}

// cpuTime is the CPU time (user and system) the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("reading the process's CPU time: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
