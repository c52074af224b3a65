package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"
)

// A record is one event encoded for Badger: its log entry and, when it has a
// visitor, its index entry. Encoding happens in the caller's goroutine so
// that the single writer does nothing but commit.
type record struct {
	key, val   []byte
	vkey, vval []byte // the per-visitor index entry (index.go); nil without a visitor
	ttl        time.Duration
}

// A job is one submission to the writer: a single Enqueue'd event, or all
// the events of one Write call, which are committed in the same batch. done
// is nil for Enqueue; for Write it receives the commit's outcome.
type job struct {
	recs []record
	one  [1]record // the record of an Enqueue, so that recs needs no allocation of its own
	done chan error
	// prompt asks the writer not to linger over the batch holding this job
	// (see Options.Linger): a Write or a barrier waits for it, or it is a
	// click, which the attribution of an order placed right after must find.
	prompt bool
}

// Enqueue submits a behaviour event without waiting for disk. It never
// blocks: when the queue is full, the event invalid or the store closed it
// returns false and counts the event as dropped. A zero Time is now.
func (s *Store) Enqueue(ev Event) bool {
	r, err := s.encode(ev)
	if err != nil {
		s.dropped.Add(1)
		return false
	}
	j := &job{one: [1]record{r}, prompt: ev.Type == typeClick}
	j.recs = j.one[:]
	if !s.enter() {
		s.dropped.Add(1)
		return false
	}
	defer s.leave()
	select {
	case s.queue <- j:
		s.enqueued.Add(1)
		if j.prompt || s.batchQueued(s.held.Load()) {
			s.nudge()
		}
		return true
	default:
		s.dropped.Add(1)
		s.nudge() // the queue is full: a lingering writer must empty it
		return false
	}
}

// Write submits events and waits until the batch holding them is committed
// and synced to disk. Unlike Enqueue it never drops: it waits for room in the
// queue. It returns ctx's error if ctx ends first; the events may then still
// be committed. All of evs go into the same batch, though not atomically:
// a batch too big for one Badger transaction is split across several.
func (s *Store) Write(ctx context.Context, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &job{recs: make([]record, len(evs)), done: make(chan error, 1), prompt: true}
	for i, ev := range evs {
		r, err := s.encode(ev)
		if err != nil {
			return fmt.Errorf("event %d: %w", i, err)
		}
		j.recs[i] = r
	}
	if err := s.submit(ctx, j); err != nil {
		return err
	}
	return j.wait(ctx)
}

// barrier returns once every event queued before it was called is
// committed: it sends an empty job that ends any linger and waits for the
// batch holding it (synced, as a Write's is).
func (s *Store) barrier(ctx context.Context) error {
	j := &job{done: make(chan error, 1), prompt: true}
	if err := s.submit(ctx, j); err != nil {
		return err
	}
	return j.wait(ctx)
}

// wait returns the outcome of the commit of j, a Write's or a barrier's,
// or ctx's error if ctx ends first.
func (j *job) wait(ctx context.Context) error {
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// submit puts j in the queue, waiting for room. Close waits for it before
// it stops the writer, and the writer keeps making room until then: a
// full queue ends its linger (see batchQueued).
func (s *Store) submit(ctx context.Context, j *job) error {
	if !s.enter() {
		return ErrClosed
	}
	defer s.leave()
	select {
	case s.queue <- j:
		s.enqueued.Add(uint64(len(j.recs)))
		s.nudge()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// enter counts a sender in, unless Close has begun; see Store.closing.
func (s *Store) enter() bool {
	s.senders.Add(1)
	if s.closing.Load() {
		s.senders.Add(-1)
		return false
	}
	return true
}

func (s *Store) leave() { s.senders.Add(-1) }

// encode fills in the defaults of ev and builds its keys and value.
func (s *Store) encode(ev Event) (record, error) {
	if !validNames(ev.Bucket, ev.Visitor) {
		return record{}, errBadName
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if ev.Instance == "" {
		ev.Instance = s.instance
	}
	val, err := appendEvent(make([]byte, 0, encodedSize(&ev)), &ev)
	if err != nil {
		return record{}, fmt.Errorf("encoding event: %w", err)
	}
	nanos, seq := timeKey(ev.Time), s.seq.Add(1)
	r := record{
		key: eventKey(ev.Bucket, nanos, s.instHash, seq),
		val: val,
	}
	if ev.Visitor != "" {
		r.vkey = visitorKey(ev.Bucket, ev.Visitor, nanos, s.instHash, seq)
		r.vval = indexValue(&ev)
	}
	if s.retention != nil {
		r.ttl = s.retention(ev.Bucket)
	}
	return r, nil
}

// maxInFlight is how many batches may be committing at once: one. A
// second one in flight gains nothing, because Badger's Sync holds the lock
// that every write takes, so a batch cannot reach the log while the one
// before it syncs; and it halves batches, since the writer takes the
// second before the callers answered by the first have sent again.
// Measured with 256 callers of single-event Writes (BenchmarkIngest): 41k
// events/s with two in flight, 50k with one.
const maxInFlight = 1

// runWriter is the one goroutine that writes to Badger. It takes whatever
// has queued up while earlier commits were syncing, up to MaxBatch events,
// and commits it: under load one fsync serves thousands of events, and when
// idle a lone Write is committed right away. Page views nobody waits on
// linger a little for company (Options.Linger), because Badger's cost per
// commit is large beside its cost per event.
func (s *Store) runWriter() {
	defer s.wg.Done()
	for !s.write() {
	}
}

// write runs the writer until Close. It returns false after a panic, which
// it logs, so that runWriter starts it again: with the writer gone, Writes
// and Close would wait forever.
func (s *Store) write() (closed bool) {
	defer s.recoverPanic("writer")
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		select {
		case j := <-s.queue:
			s.flush(j, linger)
		case <-s.quit:
			s.drain()
			return true
		}
	}
}

// gather adds the queued jobs to the batch, up to MaxBatch events. Unless a
// job in it is prompt, it then waits on t, up to the linger time, for more
// to arrive: until the batch is full, a prompt job comes, or Close begins.
// A nil t never waits. It appends to *batch as it goes, so that whoever
// settles the batch after a panic settles every job taken.
//
// While it lingers it does not receive from the queue: page views pile up
// there without waking the writer, and are taken when the wait ends. Only
// a nudge on s.wake (a prompt job, a full batch queued, a full queue)
// ends it early.
// At a few thousand page views a second, a wake-up per event cost more
// CPU than committing the event (BenchmarkEnqueueCPU).
func (s *Store) gather(batch *[]*job, t *time.Timer) {
	// A nudge left from before this batch is spent: its job, queued
	// before it, is taken by the fill below unless the batch fills first.
	select {
	case <-s.wake:
	default:
	}
	n, _ := s.fill(batch)
	if t == nil || s.linger <= 0 || n >= s.maxBatch || anyPrompt(*batch) {
		return
	}
	t.Reset(s.linger)
	defer t.Stop()
	defer s.held.Store(0)
	for {
		s.held.Store(int64(n))
		// What was queued before held was set was weighed against its old
		// value by Enqueue: look again before waiting.
		if !s.batchQueued(int64(n)) {
			select {
			case <-s.wake:
			case <-t.C:
				s.fill(batch)
				return
			case <-s.quit:
				s.fill(batch)
				return
			}
		}
		var prompt bool
		if n, prompt = s.fill(batch); n >= s.maxBatch || prompt {
			return
		}
	}
}

// batchQueued reports whether the queue holds enough to end a linger over
// held events: the rest of a full batch, or as much as the queue holds (a
// queue smaller than a batch must not fill up while the writer waits,
// dropping page views and keeping a Write from being queued at all).
func (s *Store) batchQueued(held int64) bool {
	return int64(len(s.queue)) >= min(int64(s.maxBatch)-held, int64(cap(s.queue)))
}

// fill adds queued jobs to the batch, without waiting, until it holds
// MaxBatch events or the queue is empty. It returns how many events the
// batch holds and whether a job it added is prompt.
func (s *Store) fill(batch *[]*job) (n int, prompt bool) {
	for _, j := range *batch {
		n += len(j.recs)
	}
	for n < s.maxBatch {
		select {
		case j := <-s.queue:
			*batch = append(*batch, j)
			n += len(j.recs)
			prompt = prompt || j.prompt
		default:
			return n, prompt
		}
	}
	return n, prompt
}

// nudge ends the linger of the writer, if it lingers (see gather).
func (s *Store) nudge() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func anyPrompt(batch []*job) bool {
	for _, j := range batch {
		if j.prompt {
			return true
		}
	}
	return false
}

// drain commits everything left in the queue and waits for the commits in
// flight. Close has already stopped new submissions, so the queue only
// shrinks.
func (s *Store) drain() {
	for {
		select {
		case j := <-s.queue:
			s.flush(j, nil)
		default:
			for range maxInFlight {
				s.inflight <- struct{}{}
			}
			return
		}
	}
}

// flush waits until fewer than maxInFlight batches are committing, then
// hands Badger a batch of j and what queued up meanwhile (gather, lingering
// on linger unless it is nil), and settles the batch when its commit is done.
// Gathering after the wait, not before, is what makes batches grow with the
// load.
func (s *Store) flush(j *job, linger *time.Timer) {
	s.inflight <- struct{}{}
	batch := []*job{j}
	var once sync.Once
	done := func(err error) {
		once.Do(func() {
			defer func() { <-s.inflight }()
			if err == nil && awaited(batch) {
				err = s.sync()
			}
			s.settle(batch, err)
		})
	}
	defer func() {
		if r := recover(); r != nil {
			s.logger.Error("panic while committing", zap.Any("panic", r), zap.Stack("stack"))
			done(fmt.Errorf("panic: %v", r))
		}
	}()
	s.gather(&batch, linger)
	s.commit(batch, done)
}

// awaited reports whether a Write waits on the batch: only then must it
// reach the disk before the batch is settled.
func awaited(batch []*job) bool {
	for _, j := range batch {
		if j.done != nil {
			return true
		}
	}
	return false
}

// sync makes everything committed so far durable (value log and memtable
// write-ahead log), so that an acknowledged Write survives kill -9 and power
// loss alike. Callers at the same time share one fsync (syncGroup).
func (s *Store) sync() error {
	if err := s.syncs.sync(); err != nil {
		return fmt.Errorf("syncing: %w", err)
	}
	return nil
}

// settle updates the counters for a committed or failed batch and tells
// every waiting Write the outcome. A failed commit does not stop the writer:
// the next batch tries again, and a disk that comes back resumes recording.
func (s *Store) settle(batch []*job, err error) {
	var events, waited uint64
	for _, j := range batch {
		events += uint64(len(j.recs))
		if j.done != nil {
			waited += uint64(len(j.recs))
		}
	}
	if err != nil {
		err = fmt.Errorf("committing %d events to store %s: %w", events, s.dir, err)
		s.writeErrors.Add(1)
		s.dropped.Add(events - waited)
		if !errors.Is(err, ErrLowDisk) && !errors.Is(err, ErrDirGone) { // the disk watch said so, once
			s.logger.Error("recording events", zap.Uint64("events", events), zap.Error(err))
		}
	} else {
		s.batches.Add(1)
		s.committed.Add(events)
	}
	for _, j := range batch {
		if j.done != nil {
			j.done <- err
		}
	}
}

// commitBatch writes a batch in as few transactions as Badger allows and
// calls done once all of them are committed or failed.
// It does not wait: Badger runs the callbacks.
func (s *Store) commitBatch(batch []*job, done func(error)) {
	if err := s.roomToWrite(); err != nil {
		done(err)
		return
	}
	c := &txnGroup{done: done}
	c.pending.Store(1) // held until every transaction is started
	txn := s.db.NewTransaction(true)
	for _, j := range batch {
		for _, r := range j.recs {
			var err error
			if txn, err = s.set(c, txn, r.key, r.val, r.ttl); err != nil {
				txn.Discard()
				c.finish(err)
				return
			}
			if r.vkey == nil {
				continue
			}
			if txn, err = s.set(c, txn, r.vkey, r.vval, r.ttl); err != nil {
				txn.Discard()
				c.finish(err)
				return
			}
		}
	}
	c.commit(txn)
	c.finish(nil)
}

// set adds an entry to txn; when txn is full it commits it and continues in
// a new one, which it returns.
func (s *Store) set(c *txnGroup, txn *badger.Txn, key, val []byte, ttl time.Duration) (*badger.Txn, error) {
	e := badger.NewEntry(key, val)
	if ttl > 0 {
		e = e.WithTTL(ttl)
	}
	err := txn.SetEntry(e)
	if !errors.Is(err, badger.ErrTxnTooBig) {
		return txn, err
	}
	c.commit(txn)
	txn = s.db.NewTransaction(true)
	return txn, txn.SetEntry(e)
}

// txnGroup tracks the transactions of one batch and reports the first error
// once the last of them is done.
type txnGroup struct {
	pending atomic.Int64
	mu      sync.Mutex
	err     error
	done    func(error)
}

func (c *txnGroup) commit(txn *badger.Txn) {
	c.pending.Add(1)
	txn.CommitWith(c.finish)
}

func (c *txnGroup) finish(err error) {
	if err != nil {
		c.mu.Lock()
		if c.err == nil {
			c.err = err
		}
		c.mu.Unlock()
	}
	if c.pending.Add(-1) == 0 {
		c.mu.Lock()
		err := c.err
		c.mu.Unlock()
		c.done(err)
	}
}
