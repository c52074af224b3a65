package storage

import "sync"

// syncGroup lets concurrent callers share fsyncs. A caller is answered by a
// sync that began after it asked, so everything it committed before asking
// is covered; callers that ask while a sync runs wait for the next one,
// which then serves them all. Under load that turns one fsync per batch
// into one per sync's duration, however many batches finish meanwhile.
type syncGroup struct {
	fn func() error // the sync itself

	mu      sync.Mutex
	cond    sync.Cond
	running bool
	started uint64 // syncs begun
	ended   uint64 // syncs finished
	err     error  // the outcome of the latest finished sync
	waiting int    // callers waiting for a sync to begin or end (tests read it)
}

func newSyncGroup(fn func() error) *syncGroup {
	g := &syncGroup{fn: fn}
	g.cond.L = &g.mu
	return g
}

// sync returns once a sync that began after the call has finished, with
// that sync's error, or a later one's: a later sync covers the same writes.
func (g *syncGroup) sync() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	want := g.started + 1
	for g.ended < want {
		if g.running {
			g.waiting++
			g.cond.Wait()
			g.waiting--
			continue
		}
		g.running = true
		g.started++
		g.mu.Unlock()
		err := g.fn()
		g.mu.Lock()
		g.running, g.ended, g.err = false, g.started, err
		g.cond.Broadcast()
	}
	return g.err
}
