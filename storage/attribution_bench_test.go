package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"

	"github.com/storeedge/caddy-katalys/attribution"
	"github.com/storeedge/caddy-katalys/capture"
)

// The benchmarks below give the figures of docs/benchmarks.md for
// attribution (go test -run '^$' -bench 'AttributeOrder|Reattribute|PlainIteration' ./storage):
//
//   - BenchmarkAttributeOrder: one order's attribution (VisitorTouches and
//     Decide) against buckets of 1k, 100k and 1M events; the bar is that it
//     does not grow with the bucket.
//   - BenchmarkReattribute against BenchmarkPlainIteration, over one shared
//     bucket of 1M events (10% clicks) and 100k orders: the bar is
//     Reattribute reading at least half the keys/s of a plain Badger
//     iteration (values read) over the same keys: the bucket's per-visitor
//     index, where Reattribute finds the clicks, and its orders. Its read_and_decide case is the reading (and deciding)
//     alone, decide_and_write the whole of Reattribute.
//
// The shared bucket takes a while to build, so it is built by the first of
// them that runs, and never when -bench selects neither; TestMain removes it.

const (
	benchBucketID   = "KA-BENCH"
	benchVisitor    = "bench-visitor"
	benchVisitors   = 50_000
	benchSpan       = 60 * 24 * time.Hour // the bucket's events spread over this
	benchBigEvents  = 1_000_000
	benchBigOrders  = 100_000
	benchWriteChunk = 10_000
)

// benchStart is when the benchmark buckets begin.
var benchStart = time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)

// benchEnd is when their orders are placed, at the latest.
var benchEnd = benchStart.Add(benchSpan)

// benchBucketEvent is the i-th of n events of the benchmark bucket: every
// tenth a click, the rest page views, spread over benchVisitors visitors
// and benchSpan in time order.
func benchBucketEvent(i, n int) Event {
	at := benchStart.Add(time.Duration(int64(benchSpan) / int64(n) * int64(i)))
	v := benchVisitorID(i)
	if i%10 != 0 {
		ev := benchEvent(i)
		ev.Bucket, ev.Time, ev.Visitor = benchBucketID, at, v
		return ev
	}
	return Event{
		Bucket: benchBucketID, Type: "click", Time: at, Visitor: v, Session: fmt.Sprintf("%016x", i),
		Fields: map[string]string{
			"transaction_id": fmt.Sprintf("%032x", i), "offer_id": fmt.Sprint(100 + i%7),
			"publisher_id": fmt.Sprint(2000 + i%23), "sub1": "spring-sale", "utm_source": "affiliate",
		},
	}
}

// benchVisitorEvents are the 10 clicks, and 10 page views, of the visitor
// whose order BenchmarkAttributeOrder attributes, over the last 20 days.
func benchVisitorEvents() []Event {
	var evs []Event
	for i := range 10 {
		at := benchEnd.Add(-time.Duration(20-2*i) * 24 * time.Hour)
		c := benchBucketEvent(10*i, 1)
		c.Time, c.Visitor = at, benchVisitor
		pv := benchBucketEvent(10*i+1, 1)
		pv.Time, pv.Visitor = at.Add(time.Minute), benchVisitor
		evs = append(evs, c, pv)
	}
	return evs
}

// benchVisitorID picks the visitor of the i-th event (or order) among
// benchVisitors, scattered (splitmix64) so that clicks, page views and
// orders all fall on every visitor.
func benchVisitorID(i int) string {
	z := uint64(i) + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return fmt.Sprintf("%032x", z%benchVisitors)
}

// buildBenchBucket writes n events (and the test visitor's) to the
// benchmark bucket of s, in chunks through Write.
func buildBenchBucket(s *Store, n int) error {
	evs := benchVisitorEvents()
	for i := 0; i < n; i++ {
		evs = append(evs, benchBucketEvent(i, n))
		if len(evs) == benchWriteChunk || i == n-1 {
			if err := s.Write(context.Background(), evs); err != nil {
				return err
			}
			evs = evs[:0]
		}
	}
	return nil
}

// benchOrder is the i-th order of the benchmark bucket: a WooCommerce-like
// order of one of the visitors, a tenth of them refunded.
func benchOrder(i int) Order {
	o := Order{
		Order: capture.Order{
			ID: fmt.Sprintf("%08d", 100000+i), Total: capture.Money(77.05), Subtotal: capture.Money(70),
			Currency: "USD", Email: "customer@example.org", Source: "katalys",
			Items: []capture.Item{
				{SKU: "TEA-01", Name: "Sencha", Quantity: 2, Price: capture.Money(20)},
				{SKU: "TEA-07", Name: "Oolong", Quantity: 1, Price: capture.Money(30)},
			},
		},
		Bucket: benchBucketID, Time: benchStart.Add(time.Duration(int64(benchSpan) / benchBigOrders * int64(i))),
		Visitor: benchVisitorID(benchBigEvents + i), Session: fmt.Sprintf("%016x", i),
		ClientIP: "203.0.113.0", UserAgent: benchEvent(0).Fields["user_agent"],
		URL: fmt.Sprintf("/checkout/order-received/%d/?key=wc_order_abc", 100000+i), Instance: "bench",
	}
	if i%10 == 0 {
		o.Status, o.StatusTime = attribution.OrderRefunded, o.Time.Add(48*time.Hour)
		o.StatusHistory = []StatusChange{{Status: o.Status, Time: o.StatusTime}}
	}
	return o
}

// putBenchOrders writes n orders straight into Badger: PutOrder syncs each.
func putBenchOrders(s *Store, n int) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for i := range n {
		o := benchOrder(i)
		val, err := json.Marshal(o)
		if err != nil {
			return err
		}
		if err := wb.Set(orderKey(o.Bucket, o.ID), val); err != nil {
			return err
		}
	}
	return wb.Flush()
}

func openBench(dir string) (*Store, error) {
	return Open(Options{Dir: dir, Logger: zap.NewNop(), Instance: "bench"})
}

// sharedBucket is the 1M-event, 100k-order bucket that BenchmarkReattribute,
// BenchmarkPlainIteration and BenchmarkAttributeOrder/bucket=1M share.
type sharedBucket struct {
	once sync.Once
	dir  string
	s    *Store
	err  error
	runs int // Reattribute runs so far: each uses the next model
}

var bigBucket sharedBucket

func TestMain(m *testing.M) {
	code := m.Run()
	if err := bigBucket.close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// get builds the shared bucket on first use, with every order attributed
// once (last_touch) as if each had been decided when it arrived.
func (sb *sharedBucket) get(b *testing.B) *Store {
	b.Helper()
	sb.once.Do(func() {
		start := time.Now()
		if sb.dir, sb.err = os.MkdirTemp("", "katalys-bench-"); sb.err != nil {
			return
		}
		if sb.s, sb.err = openBench(sb.dir); sb.err != nil {
			return
		}
		if sb.err = buildBenchBucket(sb.s, benchBigEvents); sb.err != nil {
			return
		}
		if sb.err = putBenchOrders(sb.s, benchBigOrders); sb.err != nil {
			return
		}
		_, sb.err = sb.s.Reattribute(benchBucketID, attribution.Rules{Model: attribution.LastTouch}, benchEnd)
		b.Logf("built the shared bucket (%d events, %d orders) in %v", benchBigEvents, benchBigOrders, time.Since(start).Round(time.Second))
	})
	if sb.err != nil {
		b.Fatalf("building the shared bucket: %v", sb.err)
	}
	return sb.s
}

func (sb *sharedBucket) close() error {
	var err error
	if sb.s != nil {
		err = sb.s.Close()
	}
	if sb.dir != "" {
		if rmErr := os.RemoveAll(sb.dir); err == nil {
			err = rmErr
		}
	}
	return err
}

func BenchmarkAttributeOrder(b *testing.B) {
	order := attribution.Order{ID: "bench-order", Time: benchEnd, Visitor: benchVisitor, Total: capture.Money(77.05)}
	for _, size := range []struct {
		name   string
		events int
	}{{"1k", 1_000}, {"100k", 100_000}, {"1M", benchBigEvents}} {
		var once sync.Once
		var s *Store
		var err error
		parent := b
		b.Run("bucket="+size.name+"_events", func(b *testing.B) {
			if size.events == benchBigEvents {
				s = bigBucket.get(b)
			} else {
				// Built once for every -count run of this size, and
				// closed when the last of them is done.
				once.Do(func() { s, err = buildSmallBucket(parent, size.events) })
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				touches, err := s.VisitorTouches(benchBucketID, benchVisitor, time.Time{}, time.Time{})
				if err != nil {
					b.Fatal(err)
				}
				if r := attribution.Decide(order, touches, attribution.Rules{}, benchEnd); len(touches) != 10 || r.Status != attribution.Approved {
					b.Fatalf("%d touches, %s", len(touches), r.Status)
				}
			}
		})
	}
}

// buildSmallBucket builds a store of n benchmark events in a directory the
// benchmark removes when it ends.
func buildSmallBucket(b *testing.B, n int) (*Store, error) {
	s, err := openBench(b.TempDir())
	if err != nil {
		return nil, err
	}
	b.Cleanup(func() { _ = s.Close() })
	return s, buildBenchBucket(s, n)
}

// benchKeys is how many keys both benchmarks below read, and their keys/s
// counts: the bucket's per-visitor index (an entry per event) and its
// orders. (Reattribute also reads the stored attributions, and writes new
// ones.)
const benchKeys = benchBigEvents + 10 + 10 + benchBigOrders

// BenchmarkReattribute re-attributes the shared bucket: read_and_decide
// reads and decodes every click and order and decides every order, but
// neither encodes nor writes the results (the reading the bar is about);
// decide_and_write stores them too, as Reattribute does.
func BenchmarkReattribute(b *testing.B) {
	for _, mode := range []struct {
		name string
		dry  bool
	}{{"read_and_decide", true}, {"decide_and_write", false}} {
		b.Run(mode.name, func(b *testing.B) {
			s := bigBucket.get(b)
			models := []attribution.Model{attribution.Linear, attribution.FirstTouch, attribution.LastTouch}
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				// Each run a different model, so that every decision
				// changes and goes to the History, the costliest case.
				bigBucket.runs++
				rules := attribution.Rules{Model: models[bigBucket.runs%len(models)]}
				n, err := s.reattribute(benchBucketID, rules, benchEnd, mode.dry)
				if err != nil || n != benchBigOrders {
					b.Fatalf("Reattribute = %d, %v", n, err)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(benchKeys)*float64(b.N)/elapsed.Seconds(), "keys/s")
		})
	}
}

func BenchmarkPlainIteration(b *testing.B) {
	s := bigBucket.get(b)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		var n, size int
		err := s.db.View(func(txn *badger.Txn) error {
			for _, prefix := range [][]byte{visitorsPrefix(benchBucketID), orderPrefix(benchBucketID)} {
				opts := badger.DefaultIteratorOptions
				opts.Prefix = prefix
				it := txn.NewIterator(opts)
				for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
					if err := it.Item().Value(func(v []byte) error { size += len(v); return nil }); err != nil {
						it.Close()
						return err
					}
					n++
				}
				it.Close()
			}
			return nil
		})
		if err != nil || n != benchKeys {
			b.Fatalf("read %d keys (%d bytes), want %d: %v", n, size, benchKeys, err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(benchKeys)*float64(b.N)/elapsed.Seconds(), "keys/s")
}
