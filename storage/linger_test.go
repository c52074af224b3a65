package storage

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// lingering returns once the writer has taken everything queued, so that
// what is sent next reaches it while it lingers.
func lingering(s *Store) {
	for len(s.queue) > 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond) // let it reach its wait
}

// enqueueLingering enqueues n page views of visitor v1 so that the writer
// lingers over the first while the others queue up behind it: those it
// leaves in the queue until the wait ends (see gather), which checks that
// each way of ending the wait takes them too.
func enqueueLingering(t *testing.T, s *Store, n int) {
	t.Helper()
	for i := range n {
		if !s.Enqueue(ev("KA-1", "v1", fmt.Sprint(i), time.Time{})) {
			t.Fatalf("page view %d dropped", i)
		}
		if i == 0 {
			lingering(s)
		}
	}
}

// waitCommitted waits until the store has committed n events, or fails the
// test after a generous deadline (a hang, not a slow machine).
func waitCommitted(t *testing.T, s *Store, n uint64) Stats {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := s.Stats()
		if st.Committed >= n {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %+v, want %d events committed", st, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLingerGathersPageViews: page views nobody waits on are held for the
// linger time and committed together; what ends the wait early commits
// them all at once, in one batch.
func TestLingerGathersPageViews(t *testing.T) {
	const views = 5
	tests := []struct {
		name   string
		opts   Options
		finish func(t *testing.T, s *Store) // ends the linger, or not
		events uint64                       // committed in the end, in one batch
	}{
		{
			name:   "the linger time ends",
			opts:   Options{Linger: 50 * time.Millisecond},
			finish: func(*testing.T, *Store) {},
			events: views,
		},
		{
			name: "a Write ends it and waits for nothing more",
			opts: Options{Linger: time.Hour},
			finish: func(t *testing.T, s *Store) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := s.Write(ctx, []Event{ev("KA-1", "v1", "collect", time.Time{})}); err != nil {
					t.Fatalf("Write while page views linger: %v", err)
				}
			},
			events: views + 1,
		},
		{
			name: "a click ends it",
			opts: Options{Linger: time.Hour},
			finish: func(t *testing.T, s *Store) {
				if !s.Enqueue(click("KA-1", "v1", "click", time.Time{})) {
					t.Fatal("click dropped")
				}
			},
			events: views + 1,
		},
		{
			name: "a full batch ends it",
			opts: Options{Linger: time.Hour, MaxBatch: views + 1},
			finish: func(t *testing.T, s *Store) {
				if !s.Enqueue(ev("KA-1", "v1", "sixth", time.Time{})) {
					t.Fatal("page view dropped")
				}
			},
			events: views + 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTest(t, tt.opts)
			enqueueLingering(t, s, views)
			tt.finish(t, s)
			st := waitCommitted(t, s, tt.events)
			if st.Committed != tt.events || st.Batches != 1 {
				t.Errorf("Stats = %+v, want %d events in 1 batch", st, tt.events)
			}
			if got := len(events(t, s, "KA-1")); got != int(tt.events) {
				t.Errorf("%d events stored, want %d", got, tt.events)
			}
		})
	}
}

// TestLingerLeavesPageViewsQueued: page views that come while the writer
// lingers stay in the queue, waking nobody, until the wait ends; then they
// join the batch.
func TestLingerLeavesPageViewsQueued(t *testing.T) {
	s := openTest(t, Options{Linger: time.Hour})
	enqueueLingering(t, s, 4)
	time.Sleep(20 * time.Millisecond)
	if n := len(s.queue); n != 3 {
		t.Errorf("%d jobs queued while the writer lingers, want the 3 page views that came meanwhile", n)
	}
	if st := s.Stats(); st.Committed != 0 {
		t.Errorf("Stats = %+v while lingering, want nothing committed", st)
	}
	if !s.Enqueue(click("KA-1", "v1", "abc", time.Time{})) {
		t.Fatal("click dropped")
	}
	if st := waitCommitted(t, s, 5); st.Batches != 1 {
		t.Errorf("Stats = %+v, want the 4 page views and the click in 1 batch", st)
	}
}

// TestLingerClickIsReadable: a click is committed without lingering, so the
// attribution of an order placed right after it finds it.
func TestLingerClickIsReadable(t *testing.T) {
	s := openTest(t, Options{Linger: time.Hour})
	if !s.Enqueue(click("KA-1", "v1", "abc", time.Time{})) {
		t.Fatal("click dropped")
	}
	waitCommitted(t, s, 1)
	touches, err := s.VisitorTouches("KA-1", "v1", time.Time{}, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(touches) != 1 {
		t.Fatalf("touches = %+v, want the click", touches)
	}
}

// TestLingerOff: a negative Linger commits every batch at once; with an
// hour's linger the page view would wait.
func TestLingerOff(t *testing.T) {
	for _, tt := range []struct{ set, want time.Duration }{
		{0, DefaultLinger},
		{-1, 0},
		{time.Hour, time.Hour},
	} {
		opts, err := withDefaults(Options{Dir: "x", Linger: tt.set})
		if err != nil || opts.Linger != tt.want {
			t.Errorf("Linger %v: %v (%v), want %v", tt.set, opts.Linger, err, tt.want)
		}
	}
	s := openTest(t, Options{Linger: -1})
	if !s.Enqueue(ev("KA-1", "v1", "alone", time.Time{})) {
		t.Fatal("page view dropped")
	}
	waitCommitted(t, s, 1)
}

// TestCloseEndsLinger: Close does not wait out the linger time, and the
// lingering page views are on disk after it.
func TestCloseEndsLinger(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, Linger: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	enqueueLingering(t, s, 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Committed != 3 {
		t.Errorf("Stats after Close = %+v, want 3 committed", st)
	}
	s = openTest(t, Options{Dir: dir})
	if got := len(events(t, s, "KA-1")); got != 3 {
		t.Fatalf("after reopen: %d events, want 3", got)
	}
}

// TestEraseWaitsForLingeringPageViews: a visitor's page views still waiting
// for their batch when the visitor is erased are erased too, not committed
// after the erasure.
func TestEraseWaitsForLingeringPageViews(t *testing.T) {
	s := openTest(t, Options{Linger: time.Hour})
	enqueueLingering(t, s, 3)
	n, err := s.EraseVisitor("KA-1", "v1")
	if err != nil || n != 3 {
		t.Fatalf("EraseVisitor = %d, %v; want the 3 page views", n, err)
	}
	if got := visitorEvents(t, s, "KA-1", "v1"); len(got) != 0 {
		t.Errorf("after the erasure: %d events of the visitor, want none", len(got))
	}
}

// TestLingerSmallQueue: a queue smaller than a batch that fills while the
// writer lingers ends the wait, so a Write sent behind the page views is
// queued and committed at once rather than after the linger time.
func TestLingerSmallQueue(t *testing.T) {
	s := openTest(t, Options{Linger: time.Hour, QueueSize: 4})
	enqueueLingering(t, s, 1)
	for i := range 20 {
		s.Enqueue(ev("KA-1", "v1", fmt.Sprint("more", i), time.Time{})) // a full queue drops some
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Write(ctx, []Event{ev("KA-1", "v1", "collect", time.Time{})}); err != nil {
		t.Fatalf("Write behind a full queue of page views: %v", err)
	}
	st := s.Stats()
	if st.Committed+st.Dropped != 22 || st.Committed < 5 {
		t.Errorf("Stats = %+v, want the Write and at least a queue's worth of the 21 page views committed, the rest dropped", st)
	}
}
