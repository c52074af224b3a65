package storage

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// base is a fixed, recent time so that tests choose event times exactly.
var base = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func openTest(t *testing.T, opts Options) *Store {
	t.Helper()
	return openHook(t, opts, nil)
}

func openHook(t *testing.T, opts Options, commit func(*Store) func([]*job, func(error))) *Store {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Instance == "" {
		opts.Instance = "test"
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if commit != nil {
		// The writer reads s.commit only when a batch arrives, and none has:
		// nothing was submitted yet.
		s.commit = commit(s)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func write(t *testing.T, s *Store, evs ...Event) {
	t.Helper()
	if err := s.Write(context.Background(), evs); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func events(t *testing.T, s *Store, bucket string) []Event {
	t.Helper()
	var got []Event
	if err := s.Events(bucket, time.Time{}, time.Time{}, func(ev Event) error {
		got = append(got, ev)
		return nil
	}); err != nil {
		t.Fatalf("Events(%q): %v", bucket, err)
	}
	return got
}

func visitorEvents(t *testing.T, s *Store, bucket, visitor string) []Event {
	t.Helper()
	var got []Event
	if err := s.VisitorEvents(bucket, visitor, time.Time{}, time.Time{}, func(ev Event) error {
		got = append(got, ev)
		return nil
	}); err != nil {
		t.Fatalf("VisitorEvents(%q, %q): %v", bucket, visitor, err)
	}
	return got
}

// ids lists the "id" field of events, the tests' way of naming them.
func ids(evs []Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Fields["id"]
	}
	return out
}

func ev(bucket, visitor, id string, at time.Time) Event {
	return Event{Bucket: bucket, Type: "pageview", Visitor: visitor, Time: at, Fields: map[string]string{"id": id}}
}

func checkSorted(t *testing.T, evs []Event) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		if evs[i].Time.Before(evs[i-1].Time) {
			t.Fatalf("event %d (%v) before event %d (%v)", i, evs[i].Time, i-1, evs[i-1].Time)
		}
	}
}

func TestEventsTimeOrder(t *testing.T) {
	const n = 500
	tests := []struct {
		name   string
		submit func(s *Store, evs []Event)
	}{
		{"enqueue shuffled", func(s *Store, evs []Event) {
			for _, i := range rand.Perm(len(evs)) {
				if !s.Enqueue(evs[i]) {
					t.Errorf("Enqueue %d dropped", i)
				}
			}
		}},
		{"write one by one, shuffled", func(s *Store, evs []Event) {
			for _, i := range rand.Perm(len(evs)) {
				write(t, s, evs[i])
			}
		}},
		{"concurrent writers", func(s *Store, evs []Event) {
			var wg sync.WaitGroup
			for w := range 8 {
				wg.Go(func() {
					for i := w; i < len(evs); i += 8 {
						if err := s.Write(context.Background(), evs[i:i+1]); err != nil {
							t.Errorf("Write: %v", err)
						}
					}
				})
			}
			wg.Wait()
		}},
		{"concurrent enqueue and write", func(s *Store, evs []Event) {
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					for i := w; i < len(evs); i += 4 {
						if w%2 == 0 {
							s.Enqueue(evs[i])
						} else if err := s.Write(context.Background(), evs[i:i+1]); err != nil {
							t.Errorf("Write: %v", err)
						}
					}
				})
			}
			wg.Wait()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t, Options{MaxBatch: 64})
			want := make([]Event, n)
			for i := range want {
				want[i] = ev("KA-1", fmt.Sprint("v", i%7), fmt.Sprint(i), base.Add(time.Duration(i)*time.Millisecond))
			}
			tt.submit(s, want)
			// Write waits for its own batch only; a Write after everything
			// else is a barrier for the Enqueue'd events before it.
			write(t, s, ev("other", "", "barrier", base))
			got := events(t, s, "KA-1")
			if !slices.Equal(ids(got), ids(want)) {
				t.Fatalf("got %d events in order %v…, want %d in time order", len(got), head(ids(got)), len(want))
			}
			if err := s.Close(); err != nil { // settles every batch's counters
				t.Fatal(err)
			}
			if st := s.Stats(); st.Committed != n+1 || st.Dropped != 0 {
				t.Errorf("Stats = %+v, want Committed %d, Dropped 0", st, n+1)
			}
		})
	}
}

func head(s []string) []string { return s[:min(len(s), 10)] }

func TestEventsSameTimeKeepSubmissionOrder(t *testing.T) {
	s := openTest(t, Options{})
	for i := range 100 {
		write(t, s, ev("KA-1", "", fmt.Sprint(i), base))
	}
	got := ids(events(t, s, "KA-1"))
	for i, id := range got {
		if id != fmt.Sprint(i) {
			t.Fatalf("event %d is %s; events of one instant must keep their order: %v", i, id, head(got))
		}
	}
}

func TestEventsDefaultsAndRoundTrip(t *testing.T) {
	s := openTest(t, Options{Instance: "edge-7"})
	before := time.Now()
	in := Event{Bucket: "KA-1", Type: "click", Visitor: "v1", Session: "s1",
		Fields: map[string]string{"url": "https://shop.example/?offer_id=3", "offer_id": "3"}}
	write(t, s, in)
	got := events(t, s, "KA-1")
	if len(got) != 1 {
		t.Fatalf("got %d events, want 1", len(got))
	}
	out := got[0]
	if out.Time.Before(before) || out.Time.After(time.Now()) {
		t.Errorf("Time = %v, want the time of Write", out.Time)
	}
	if out.Instance != "edge-7" {
		t.Errorf("Instance = %q, want the store's instance", out.Instance)
	}
	in.Time, in.Instance = out.Time, out.Instance
	if fmt.Sprint(in) != fmt.Sprint(out) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
}

func TestEventsRange(t *testing.T) {
	s := openTest(t, Options{})
	for i := range 10 {
		write(t, s, ev("KA-1", "v", fmt.Sprint(i), base.Add(time.Duration(i)*time.Second)))
	}
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	tests := []struct {
		name     string
		from, to time.Time
		want     []string
	}{
		{"all", time.Time{}, time.Time{}, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}},
		{"from inclusive, to exclusive", at(3), at(6), []string{"3", "4", "5"}},
		{"open end", at(8), time.Time{}, []string{"8", "9"}},
		{"open start", time.Time{}, at(2), []string{"0", "1"}},
		{"empty", at(4), at(4), nil},
		{"after all", at(20), time.Time{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, read := range []struct {
				name string
				fn   func(fn func(Event) error) error
			}{
				{"Events", func(fn func(Event) error) error { return s.Events("KA-1", tt.from, tt.to, fn) }},
				{"VisitorEvents", func(fn func(Event) error) error { return s.VisitorEvents("KA-1", "v", tt.from, tt.to, fn) }},
			} {
				var got []Event
				if err := read.fn(func(ev Event) error { got = append(got, ev); return nil }); err != nil {
					t.Fatalf("%s: %v", read.name, err)
				}
				if !slices.Equal(ids(got), tt.want) {
					t.Errorf("%s = %v, want %v", read.name, ids(got), tt.want)
				}
			}
		})
	}
}

func TestEventsCallbackErrorStops(t *testing.T) {
	s := openTest(t, Options{})
	for i := range 5 {
		write(t, s, ev("KA-1", "v", fmt.Sprint(i), base.Add(time.Duration(i))))
	}
	stop := errors.New("enough")
	for name, read := range map[string]func(fn func(Event) error) error{
		"Events":        func(fn func(Event) error) error { return s.Events("KA-1", time.Time{}, time.Time{}, fn) },
		"VisitorEvents": func(fn func(Event) error) error { return s.VisitorEvents("KA-1", "v", time.Time{}, time.Time{}, fn) },
	} {
		calls := 0
		err := read(func(Event) error {
			calls++
			if calls == 2 {
				return stop
			}
			return nil
		})
		if err != stop || calls != 2 {
			t.Errorf("%s: err %v after %d calls, want fn's error as is after 2", name, err, calls)
		}
	}
}

func TestVisitorEvents(t *testing.T) {
	s := openTest(t, Options{MaxBatch: 16})
	visitors := []string{"a", "ab", "b", "a\x01"}
	want := map[string][]string{}
	var all []Event
	for i := range 200 {
		v := visitors[i%len(visitors)]
		e := ev("KA-1", v, fmt.Sprint(i), base.Add(time.Duration(i)*time.Millisecond))
		all = append(all, e)
		want[v] = append(want[v], e.Fields["id"])
	}
	all = append(all,
		ev("KA-2", "a", "other bucket", base.Add(time.Hour)),
		ev("KA-1", "", "anonymous", base.Add(time.Hour)))
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	write(t, s, all...)
	for _, v := range visitors {
		got := visitorEvents(t, s, "KA-1", v)
		checkSorted(t, got)
		if !slices.Equal(ids(got), want[v]) {
			t.Errorf("VisitorEvents(KA-1, %q) = %v…, want %v…", v, head(ids(got)), head(want[v]))
		}
	}
	if got := visitorEvents(t, s, "KA-1", "nobody"); len(got) != 0 {
		t.Errorf("unknown visitor has %d events", len(got))
	}
}

func TestBucketIsolation(t *testing.T) {
	s := openTest(t, Options{})
	buckets := []string{"KA-1", "KA-10", "KA-1\x01", "KA", "KA-100"}
	for i, b := range buckets {
		for j := range 3 {
			write(t, s, ev(b, "same-visitor", fmt.Sprintf("%s/%d", b, j), base.Add(time.Duration(i*10+j))))
		}
	}
	for _, b := range buckets {
		for name, got := range map[string][]Event{
			"Events":        events(t, s, b),
			"VisitorEvents": visitorEvents(t, s, b, "same-visitor"),
		} {
			if len(got) != 3 {
				t.Errorf("%s(%q): %d events, want 3: %v", name, b, len(got), ids(got))
			}
			for _, e := range got {
				if e.Bucket != b || !strings.HasPrefix(e.Fields["id"], b+"/") {
					t.Errorf("%s(%q) leaked %q of bucket %q", name, b, e.Fields["id"], e.Bucket)
				}
			}
		}
	}
}

func TestInvalidNames(t *testing.T) {
	s := openTest(t, Options{})
	bad := []Event{
		{Type: "pageview"},
		{Bucket: "KA\x001", Type: "pageview"},
		{Bucket: "KA-1", Visitor: "v\x00w", Type: "pageview"},
	}
	for _, e := range bad {
		if s.Enqueue(e) {
			t.Errorf("Enqueue(%q, %q) accepted", e.Bucket, e.Visitor)
		}
		if err := s.Write(context.Background(), []Event{ev("KA-1", "", "ok", base), e}); err == nil {
			t.Errorf("Write(%q, %q) accepted", e.Bucket, e.Visitor)
		}
	}
	if got := events(t, s, "KA-1"); len(got) != 0 {
		t.Errorf("a Write with an invalid event stored %d events; want none of it", len(got))
	}
	if st := s.Stats(); st.Dropped != uint64(len(bad)) {
		t.Errorf("Dropped = %d, want %d (invalid Enqueues)", st.Dropped, len(bad))
	}
}

func TestRetention(t *testing.T) {
	s := openTest(t, Options{
		GCInterval: 20 * time.Millisecond, // exercise the GC loop meanwhile
		Retention: func(bucket string) time.Duration {
			if bucket == "short" {
				return time.Second
			}
			return 0
		},
	})
	now := time.Now()
	for i := range 20 {
		write(t, s, ev("short", "v", fmt.Sprint(i), now), ev("forever", "v", fmt.Sprint(i), now))
	}
	// Not read back here: with one-second resolution, Badger may expire an
	// event written late in a second soon after; each Write's counters are
	// settled when it returns.
	if st := s.Stats(); st.Committed != 40 {
		t.Fatalf("Committed = %d, want 40", st.Committed)
	}
	time.Sleep(2100 * time.Millisecond)
	for _, c := range []struct {
		bucket string
		want   int
	}{{"short", 0}, {"forever", 20}} {
		if n := len(events(t, s, c.bucket)); n != c.want {
			t.Errorf("Events(%s): %d events after 2s, want %d", c.bucket, n, c.want)
		}
		if n := len(visitorEvents(t, s, c.bucket, "v")); n != c.want {
			t.Errorf("VisitorEvents(%s): %d events after 2s, want %d", c.bucket, n, c.want)
		}
	}
}

func TestReopenFindsAcknowledged(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var acked []string
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				id := fmt.Sprintf("%d-%d", w, i)
				if err := s.Write(context.Background(), []Event{ev("KA-1", "v", id, time.Time{})}); err != nil {
					t.Errorf("Write: %v", err)
					continue
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, Options{Dir: dir})
	got := ids(events(t, s, "KA-1"))
	slices.Sort(got)
	slices.Sort(acked)
	if !slices.Equal(got, acked) {
		t.Fatalf("after reopen: %d events, want the %d acknowledged", len(got), len(acked))
	}
}

func TestCloseDrainsQueue(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, MaxBatch: 100})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	for i := range n {
		if !s.Enqueue(ev("KA-1", "", fmt.Sprint(i), time.Time{})) {
			t.Fatalf("Enqueue %d dropped", i)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Enqueued != n || st.Committed != n {
		t.Errorf("Stats after Close = %+v, want %d enqueued and committed", st, n)
	}
	s = openTest(t, Options{Dir: dir})
	if got := len(events(t, s, "KA-1")); got != n {
		t.Fatalf("after reopen: %d events, want %d", got, n)
	}
}

// TestCloseWhileSubmitting closes the store under concurrent Enqueue and
// Write: nothing panics, and every event that was accepted is on disk.
func TestCloseWhileSubmitting(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, QueueSize: 64})
	if err != nil {
		t.Fatal(err)
	}
	var accepted sync.Map
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range 8 {
		wg.Go(func() {
			<-start
			for i := 0; !closedFlag(s); i++ {
				id := fmt.Sprintf("%d-%d", w, i)
				var ok bool
				if w%2 == 0 {
					ok = s.Enqueue(ev("KA-1", "", id, time.Time{}))
				} else {
					err := s.Write(context.Background(), []Event{ev("KA-1", "", id, time.Time{})})
					if err != nil && !errors.Is(err, ErrClosed) {
						t.Errorf("Write: %v", err)
					}
					ok = err == nil
					if errors.Is(err, ErrClosed) {
						return
					}
				}
				if ok {
					accepted.Store(id, true)
				}
			}
		})
	}
	close(start)
	for s.Stats().Committed < 200 {
		runtime.Gosched()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	wg.Wait()
	if s.Enqueue(ev("KA-1", "", "late", time.Time{})) {
		t.Error("Enqueue after Close accepted")
	}
	if err := s.Write(context.Background(), []Event{ev("KA-1", "", "late", time.Time{})}); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}

	s2 := openTest(t, Options{Dir: dir})
	stored := map[string]bool{}
	for _, id := range ids(events(t, s2, "KA-1")) {
		stored[id] = true
	}
	n := 0
	accepted.Range(func(k, _ any) bool {
		n++
		if !stored[k.(string)] {
			t.Errorf("accepted event %s not stored", k)
		}
		return true
	})
	if st := s.Stats(); uint64(len(stored)) != st.Committed || uint64(n) != st.Enqueued {
		t.Errorf("stored %d, accepted %d; Stats %+v", len(stored), n, st)
	}
}

func closedFlag(s *Store) bool { return s.closing.Load() }

// blockingCommit holds the writer inside its first commit until released,
// so that tests can fill the queue deterministically.
type blockingCommit struct {
	entered, release chan struct{}
	once             sync.Once
}

func newBlockingCommit() *blockingCommit {
	return &blockingCommit{entered: make(chan struct{}), release: make(chan struct{})}
}

func (b *blockingCommit) hook(s *Store) func([]*job, func(error)) {
	return func(batch []*job, done func(error)) {
		first := false
		b.once.Do(func() { first = true })
		if first {
			close(b.entered)
			<-b.release
		}
		s.commitBatch(batch, done)
	}
}

func TestEnqueueFullQueueDrops(t *testing.T) {
	const queue = 4
	b := newBlockingCommit()
	s := openHook(t, Options{QueueSize: queue}, b.hook)
	if !s.Enqueue(ev("KA-1", "", "in commit", time.Time{})) {
		t.Fatal("first Enqueue dropped")
	}
	<-b.entered // the writer holds that one; the queue is empty
	for i := range queue {
		if !s.Enqueue(ev("KA-1", "", fmt.Sprint(i), time.Time{})) {
			t.Fatalf("Enqueue %d dropped with room in the queue", i)
		}
	}
	for range 3 {
		if s.Enqueue(ev("KA-1", "", "overflow", time.Time{})) {
			t.Fatal("Enqueue accepted with a full queue")
		}
	}
	if st := s.Stats(); st.Dropped != 3 || st.Enqueued != queue+1 {
		t.Errorf("Stats = %+v, want Dropped 3, Enqueued %d", st, queue+1)
	}
	close(b.release)
	write(t, s, ev("KA-1", "", "barrier", time.Time{}))
	if got := len(events(t, s, "KA-1")); got != queue+2 {
		t.Errorf("%d events stored, want %d", got, queue+2)
	}
}

func TestWriteContext(t *testing.T) {
	t.Run("done before", func(t *testing.T) {
		s := openTest(t, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.Write(ctx, []Event{ev("KA-1", "", "x", base)}); !errors.Is(err, context.Canceled) {
			t.Fatalf("Write = %v, want context.Canceled", err)
		}
		if st := s.Stats(); st.Enqueued != 0 {
			t.Errorf("Enqueued = %d, want 0", st.Enqueued)
		}
	})
	t.Run("waiting for room", func(t *testing.T) {
		b := newBlockingCommit()
		s := openHook(t, Options{QueueSize: 1}, b.hook)
		s.Enqueue(ev("KA-1", "", "in commit", base))
		<-b.entered
		s.Enqueue(ev("KA-1", "", "fills the queue", base))
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error)
		go func() { errc <- s.Write(ctx, []Event{ev("KA-1", "", "x", base)}) }()
		for s.senders.Load() == 0 { // the Write is waiting for room
			runtime.Gosched()
		}
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("Write = %v, want context.Canceled", err)
		}
		close(b.release)
	})
	t.Run("waiting for commit", func(t *testing.T) {
		b := newBlockingCommit()
		s := openHook(t, Options{}, b.hook)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error)
		go func() { errc <- s.Write(ctx, []Event{ev("KA-1", "", "x", base)}) }()
		<-b.entered // the event is in the commit that blocks
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("Write = %v, want context.Canceled", err)
		}
		close(b.release)
	})
}

// TestCommitError injects commit failures: chmod does not stop root (the
// test user here) from writing, and Badger would only notice a read-only
// directory at its next file rotation, so a real disk error cannot be
// provoked reliably. The hook stands in for Badger's commit.
func TestCommitError(t *testing.T) {
	for _, fail := range []struct {
		name string
		fn   func() error
	}{
		{"error", func() error { return errors.New("no space left on device") }},
		{"panic", func() error { panic("disk on fire") }},
	} {
		t.Run(fail.name, func(t *testing.T) {
			core, logs := observer.New(zapcore.ErrorLevel)
			b := newBlockingCommit()
			calls := 0
			s := openHook(t, Options{Logger: zap.New(core)}, func(s *Store) func([]*job, func(error)) {
				first := b.hook(s)
				return func(batch []*job, done func(error)) {
					calls++ // only the writer goroutine calls this
					if calls == 2 {
						done(fail.fn())
						return
					}
					first(batch, done)
				}
			})
			s.Enqueue(ev("KA-1", "", "before", base))
			<-b.entered
			// Queue an Enqueue and a Write behind the blocked commit so that
			// they share the failing batch.
			if !s.Enqueue(ev("KA-1", "", "lost", base.Add(1))) {
				t.Fatal("Enqueue dropped")
			}
			errc := make(chan error)
			go func() { errc <- s.Write(context.Background(), []Event{ev("KA-1", "", "refused", base.Add(2))}) }()
			for len(s.queue) < 2 {
				runtime.Gosched()
			}
			close(b.release)
			err := <-errc
			if err == nil || !strings.Contains(err.Error(), s.dir) {
				t.Fatalf("Write = %v, want an error naming the store", err)
			}
			if st := s.Stats(); st.WriteErrors != 1 || st.Dropped != 1 {
				t.Errorf("Stats = %+v, want WriteErrors 1, Dropped 1 (the Enqueue'd event)", st)
			}
			if logs.FilterMessage("recording events").Len() != 1 {
				t.Errorf("the failed commit was not logged: %v", logs.All())
			}
			// The writer carries on.
			write(t, s, ev("KA-1", "", "after", base.Add(3)))
			if got := ids(events(t, s, "KA-1")); !slices.Equal(got, []string{"before", "after"}) {
				t.Errorf("stored %v, want [before after]", got)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if st := s.Stats(); st.Committed != 2 || st.Batches != 2 {
				t.Errorf("Stats after Close = %+v, want Committed 2, Batches 2", st)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{"directory is a file", func(t *testing.T) string {
			f := filepath.Join(t.TempDir(), "file")
			if err := os.WriteFile(f, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return f
		}},
		{"under a file", func(t *testing.T) string {
			f := filepath.Join(t.TempDir(), "file")
			if err := os.WriteFile(f, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			return filepath.Join(f, "db")
		}},
		{"unreadable manifest", func(t *testing.T) string {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, "MANIFEST"), 0o700); err != nil {
				t.Fatal(err)
			}
			return dir
		}},
		{"already open", func(t *testing.T) string {
			s := openTest(t, Options{})
			return s.dir
		}},
	}
	if os.Geteuid() != 0 {
		// Permissions do not stop root, so this case only means something
		// for other users.
		tests = append(tests, struct {
			name string
			dir  func(t *testing.T) string
		}{"read-only directory", func(t *testing.T) string {
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o500); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
			return dir
		}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir(t)
			s, err := Open(Options{Dir: dir})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), "opening store "+dir) {
				t.Errorf("error %q does not name the directory %s", err, dir)
			}
		})
	}
	if _, err := Open(Options{}); err == nil {
		t.Error("Open without a directory succeeded")
	}
}

func TestSchemaVersion(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := badger.Open(badgerOptions(dir, zap.NewNop()))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(schemaKey)
		if err != nil {
			return err
		}
		if v, _ := item.ValueCopy(nil); string(v) != schemaVersion {
			t.Errorf("schema version %q, want %q", v, schemaVersion)
		}
		return txn.Set(schemaKey, []byte("99"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), `"99"`) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open of a version 99 store = %v, want a schema version error", err)
	}
}

func TestBadgerLoggerLevels(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := badgerLogger{zap.New(core).Sugar()}
	l.Errorf("e %d\n", 1)
	l.Warningf("w %d\n", 2)
	l.Infof("i %d\n", 3)
	l.Debugf("d %d\n", 4)
	want := []struct {
		level zapcore.Level
		msg   string
	}{{zapcore.ErrorLevel, "e 1"}, {zapcore.WarnLevel, "w 2"}, {zapcore.DebugLevel, "i 3"}, {zapcore.DebugLevel, "d 4"}}
	got := logs.All()
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Level != w.level || got[i].Message != w.msg {
			t.Errorf("entry %d = %v %q, want %v %q", i, got[i].Level, got[i].Message, w.level, w.msg)
		}
	}
}
