package storage

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
	}
}

// TestSyncGroupShares: callers that ask while a sync runs are all answered
// by one more sync, which begins after they asked, and get its error.
func TestSyncGroupShares(t *testing.T) {
	var calls atomic.Int32
	release := make(chan error)
	entered := make(chan int32)
	g := newSyncGroup(func() error {
		n := calls.Add(1)
		entered <- n
		return <-release
	})
	first := make(chan error)
	go func() { first <- g.sync() }()
	if n := <-entered; n != 1 {
		t.Fatalf("sync %d began, want 1", n)
	}
	// Ten callers ask while the first sync runs.
	var wg sync.WaitGroup
	var answered atomic.Int32
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() {
			errs[i] = g.sync()
			answered.Add(1)
		})
	}
	waitFor(t, func() bool { // all ten are waiting on the group
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.waiting == 10
	})
	release <- nil
	if err := <-first; err != nil {
		t.Fatalf("first sync = %v", err)
	}
	if n := <-entered; n != 2 {
		t.Fatalf("sync %d began, want 2", n)
	}
	if a := answered.Load(); a != 0 {
		t.Fatalf("%d callers answered by the sync that began before they asked", a)
	}
	boom := errors.New("disk gone")
	release <- boom
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, boom) {
			t.Errorf("caller %d got %v, want the second sync's error", i, err)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d syncs for 11 callers, want 2", n)
	}
}
