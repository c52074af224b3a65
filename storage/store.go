// Package storage is caddy-katalys's embedded store of behaviour events.
//
// It owns one Badger database: the keys of every Tracking ID bucket, an event
// log per bucket in time order, a per-visitor index that attribution reads, and
// a schema version key. Writes go through a bounded queue to a single writer
// goroutine that group-commits them in batches; Enqueue never blocks and drops
// when the queue is full, while Write waits until the batch holding its events
// is durable: a batch with a Write in it is fsynced before any of them
// returns, a batch of queued behaviour alone is not (nobody waits on it, and
// the fsync was most of the cost of recording a page view). Such a batch also
// lingers up to 20ms for more events (Options.Linger), since Badger's cost per
// commit is large beside its cost per event; clicks and Writes never wait.
// Events expire by a TTL chosen per bucket, a background goroutine runs
// value-log GC, and Close drains the queue before closing the database.
//
// It knows nothing of Caddy or HTTP, and it does not pool itself: Badger
// refuses a second open of the same directory, so the Caddy app keeps one
// Store per path in a caddy.UsagePool and shares it across config reloads.
package storage

import (
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"
)

// Event is one recorded behaviour event (or, later, an order) of a bucket.
type Event struct {
	Bucket   string            `json:"bucket"`
	Time     time.Time         `json:"time"`
	Type     string            `json:"type"`               // "pageview", "click", or a custom action ("addtocart")
	Visitor  string            `json:"visitor,omitempty"`  // visitor id; "" when none
	Session  string            `json:"session,omitempty"`  // session id; "" when none
	Instance string            `json:"instance,omitempty"` // the Caddy instance that recorded it (DESIGN §5)
	Fields   map[string]string `json:"fields,omitempty"`   // url, referrer, user_agent, client_ip, click params, schema keys
}

// Options configures Open. Only Dir is required.
type Options struct {
	// Dir is the Badger directory; it is created if missing.
	Dir string
	// QueueSize bounds the queue in front of the writer, counted in
	// submissions (one per Enqueue, one per Write call). Default 65536.
	// A queue that fills ends the writer's linger, so one smaller than
	// MaxBatch works but caps the batches of page views at its size.
	QueueSize int
	// MaxBatch is the most events the writer gathers into one group
	// commit. Default 4096.
	MaxBatch int
	// Linger is how long the writer holds a batch that nobody waits on
	// (events passed to Enqueue, no Write and no click) for
	// more events to join it, so that a steady trickle of page views is
	// committed in a few large batches rather than one small one each.
	// A Write or a click that arrives ends the wait. Default 20ms; a
	// negative value commits every batch at once.
	Linger time.Duration
	// Retention gives the time to live of a bucket's events; 0, or a nil
	// func, keeps them forever. It is called for every event as it is
	// submitted, so it must be cheap and safe for concurrent use; since a
	// pooled Store outlives the config that opened it, a func that reads
	// the current config keeps retention right across reloads.
	Retention func(bucket string) time.Duration
	// GCInterval is how often value-log GC runs. Default 10 minutes.
	GCInterval time.Duration
	// Logger receives the store's and Badger's logs. Default: no logs.
	Logger *zap.Logger
	// Instance names this instance in the events it records (DESIGN §5).
	// Default: the hostname.
	Instance string
	// Outbox makes PutOrder and SetOrderStatus write a delivery entry
	// (outbox.go) in the same transaction as a new order or a status
	// change. Off by default: without delivery nothing drains them.
	Outbox bool
	// MinFree is the free space, in bytes, the store's filesystem must
	// keep: Open refuses a filesystem with less, and the store stops
	// writing while it has less (diskguard.go). Default DefaultMinFree; a
	// negative value turns the guard off.
	MinFree int64

	// diskFree reads the free space of a directory's filesystem; tests
	// replace it. Default: the system's (Linux only).
	diskFree func(dir string) (free uint64, known bool, err error)
}

// Defaults for the zero values of Options.
const (
	DefaultQueueSize  = 65536
	DefaultMaxBatch   = 4096
	DefaultLinger     = 20 * time.Millisecond
	DefaultGCInterval = 10 * time.Minute
)

// schemaVersion is the layout of keys and values this package writes and
// reads. Open refuses a database with another version rather than misread it.
const schemaVersion = "1"

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("storage: store closed")

// Stats are the store's counters since Open. Enqueued counts the events
// accepted into the queue (by Enqueue or Write); Dropped counts behaviour
// events lost, because the queue was full or closed, or because their commit
// failed; Committed counts events made durable in Batches group commits;
// WriteErrors counts failed commits.
type Stats struct {
	Enqueued    uint64
	Dropped     uint64
	Committed   uint64
	Batches     uint64
	WriteErrors uint64
}

// Store is an open event store. It is safe for concurrent use.
type Store struct {
	db        *badger.DB
	dir       string
	logger    *zap.Logger
	retention func(string) time.Duration
	instance  string
	instHash  uint64
	seq       atomic.Uint64
	maxBatch  int
	linger    time.Duration

	// commit makes a batch durable and then calls done, from any goroutine;
	// tests replace it to provoke disk errors.
	commit func(batch []*job, done func(error))
	// inflight holds a token per batch handed to Badger and not yet done.
	inflight chan struct{}
	// syncs makes the writes committed so far durable, one fsync for all
	// who ask meanwhile (see sync).
	syncs *syncGroup

	// closing and senders keep sends off the queue once Close has begun,
	// without a lock that Enqueue could wait on: a sender counts itself in
	// senders, then checks closing; Close sets closing, then waits for
	// senders to reach zero. Either the sender sees closing, or Close sees
	// the sender and waits for its send, so the writer's drain misses nothing.
	closing atomic.Bool
	senders atomic.Int64

	queue chan *job
	// wake tells a lingering writer to look at the queue again: a prompt
	// job or a full batch's worth of events is in it. Page views are not
	// announced, so that a steady trickle of them costs no goroutine
	// wake-up each (see gather).
	wake chan struct{}
	// held is how many events the writer holds while it lingers, and 0
	// otherwise (it may lag the batch by a fill): Enqueue nudges once what
	// is queued completes a batch (batchQueued).
	held atomic.Int64
	quit chan struct{}
	wg   sync.WaitGroup

	// orderMu serialises the read-merge-write of orders (PutOrder).
	orderMu sync.Mutex
	// outbox is Options.Outbox, or what SetOutbox set since; outboxMu
	// serialises the changes of existing outbox entries and dead letters
	// (outbox.go).
	outbox   atomic.Bool
	outboxMu sync.Mutex
	// outboxFloor is a seq no outbox entry lies below (see Due).
	outboxFloor atomic.Uint64

	// The disk guard (diskguard.go): minFree is Options.MinFree (0 for
	// none), free the last free space read, dirInfo the directory as
	// opened.
	minFree  uint64
	diskFree func(string) (uint64, bool, error)
	dirInfo  os.FileInfo
	free     atomic.Uint64
	lowDisk  atomic.Bool
	dirGone  atomic.Bool
	// allocated are the memtable logs given their blocks, logsPending
	// tells that one was not sized yet, dirMod is the directory's time at
	// the last look (allocateLogs, dirChanged; under diskMu, which keeps
	// checkDisk to one at a time). logsSparse tells that a log could not
	// get its blocks.
	diskMu      sync.Mutex
	allocated   map[string]bool
	logsPending bool
	dirMod      time.Time
	logsSparse  atomic.Bool

	closeOnce sync.Once
	closeErr  error

	enqueued, dropped, committed, batches, writeErrors atomic.Uint64
}

// Open opens (or creates) the store in opts.Dir, checks its schema version
// and starts the writer and value-log GC goroutines. The caller must Close it.
func Open(opts Options) (*Store, error) {
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("opening store %s: %w", opts.Dir, err)
	}
	dirInfo, err := os.Stat(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", opts.Dir, err)
	}
	minFree := uint64(max(opts.MinFree, 0))
	if closing(opts.Dir) {
		return nil, fmt.Errorf("opening store %s: %w", opts.Dir, errStillOpen)
	}
	if err := checkFreeAtOpen(opts.Dir, minFree, opts.diskFree); err != nil {
		return nil, fmt.Errorf("opening store %s: %w", opts.Dir, err)
	}
	db, err := badger.Open(badgerOptions(opts.Dir, opts.Logger))
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", opts.Dir, err)
	}
	if err := checkSchema(db); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("opening store %s: %w", opts.Dir, err)
	}
	s := &Store{
		db:        db,
		dir:       opts.Dir,
		logger:    opts.Logger,
		retention: opts.Retention,
		instance:  opts.Instance,
		instHash:  hashString(opts.Instance),
		maxBatch:  opts.MaxBatch,
		linger:    opts.Linger,
		queue:     make(chan *job, opts.QueueSize),
		wake:      make(chan struct{}, 1),
		inflight:  make(chan struct{}, maxInFlight),
		quit:      make(chan struct{}),
		minFree:   minFree,
		diskFree:  opts.diskFree,
		dirInfo:   dirInfo,
		allocated: make(map[string]bool),
	}
	// Seeding the sequence with the clock keeps keys unique across restarts
	// of the same instance even for events stamped with the same time.
	s.seq.Store(uint64(time.Now().UnixNano()))
	s.outbox.Store(opts.Outbox)
	s.commit = s.commitBatch
	s.syncs = newSyncGroup(db.Sync)
	s.checkDisk() // the first memtable's log gets its blocks before any write
	s.wg.Add(3)
	go s.runWriter()
	go s.every("value-log GC", opts.GCInterval, s.gcOnce)
	go s.every("disk watch", diskCheckInterval, s.checkDisk)
	return s, nil
}

func withDefaults(opts Options) (Options, error) {
	if opts.Dir == "" {
		return opts, errors.New("opening store: no directory")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return opts, fmt.Errorf("opening store %s: %w", opts.Dir, err)
	}
	opts.Dir = dir
	if opts.QueueSize <= 0 {
		opts.QueueSize = DefaultQueueSize
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	switch {
	case opts.Linger == 0:
		opts.Linger = DefaultLinger
	case opts.Linger < 0:
		opts.Linger = 0
	}
	if opts.GCInterval <= 0 {
		opts.GCInterval = DefaultGCInterval
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Instance == "" {
		opts.Instance, _ = os.Hostname()
	}
	if opts.MinFree == 0 {
		opts.MinFree = DefaultMinFree
	}
	if opts.diskFree == nil {
		opts.diskFree = diskFree
	}
	return opts, nil
}

// badgerOptions sizes Badger for a process that also serves web traffic:
// Badger's defaults (5×64 MiB memtables, 256 MiB block cache, 1 GiB value-log
// files) suit a dedicated database server, not a plugin.
func badgerOptions(dir string, logger *zap.Logger) badger.Options {
	return badger.DefaultOptions(dir).
		WithSyncWrites(false). // batches with a Write in them are synced by the writer (see flush)
		WithMemTableSize(16 << 20).
		WithNumMemtables(3).
		WithValueLogFileSize(64 << 20).
		WithBlockCacheSize(32 << 20).
		WithNumCompactors(2).
		WithCompactL0OnClose(false). // Close runs inside a Caddy reload; keep it quick
		WithMetricsEnabled(false).   // or Badger publishes expvars on Caddy's admin endpoint
		WithDetectConflicts(false).  // only blind writes; nothing to conflict
		WithLogger(badgerLogger{logger.Named("badger").Sugar()})
}

// checkSchema writes the schema version into a new database and refuses a
// database written with another one.
func checkSchema(db *badger.DB) error {
	return db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(schemaKey)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set(schemaKey, []byte(schemaVersion))
		}
		if err != nil {
			return fmt.Errorf("reading schema version: %w", err)
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("reading schema version: %w", err)
		}
		if string(v) != schemaVersion {
			return fmt.Errorf("schema version %q, this build reads %q", v, schemaVersion)
		}
		return nil
	})
}

// SetOutbox turns the writing of delivery entries (Options.Outbox) on or
// off from the next order or status change on. A store is opened once per
// process and outlives configs (caddy.UsagePool), so a reload that turns
// delivery on or off must change it on the open store: with the setting
// of the config that opened it, a reload from "deliver off" to a target
// would store every later order with no entry for the target to get.
func (s *Store) SetOutbox(on bool) { s.outbox.Store(on) }

// Closing reports whether Close has begun: the store takes no more events.
func (s *Store) Closing() bool { return s.closing.Load() }

// Stats returns a snapshot of the counters.
func (s *Store) Stats() Stats {
	return Stats{
		Enqueued:    s.enqueued.Load(),
		Dropped:     s.dropped.Load(),
		Committed:   s.committed.Load(),
		Batches:     s.batches.Load(),
		WriteErrors: s.writeErrors.Load(),
	}
}

// Close stops accepting events, commits everything already queued, stops the
// goroutines and closes Badger. It is idempotent and safe to call while other
// goroutines Enqueue or Write: they get false or ErrClosed.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		// A Write may be waiting for room in the queue; the writer is
		// still draining it (a full queue ends its linger), so the wait
		// is short.
		for s.senders.Load() != 0 {
			time.Sleep(time.Millisecond)
		}
		close(s.quit)
		s.wg.Wait()
		s.checkDisk() // the last look may be 250 ms old; the watch has stopped
		if s.dirGone.Load() {
			// Badger's Close flushes the memtable and retries a failed
			// flush forever: into a directory that is gone, a stop or a
			// reload would never end. What it holds is lost either way.
			s.logger.Error("not closing the katalys store: its directory is gone", zap.String("dir", s.dir))
			s.closeErr = fmt.Errorf("closing store %s: %w", s.dir, ErrDirGone)
			return
		}
		if s.lowDisk.Load() {
			// The flush would write a table through a sparse mapping: on
			// a full disk, a SIGBUS (durability QA). It waits for room
			// (closeLater); the memtables' logs hold what it would write,
			// should the process end first.
			s.logger.Error("not closing the katalys store yet: its disk is nearly full; it closes once there is room, "+
				"or is replayed from its logs at the next start", zap.String("dir", s.dir))
			s.closeErr = fmt.Errorf("closing store %s: %w", s.dir, ErrLowDisk)
			s.closeLater()
			return
		}
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("closing store %s: %w", s.dir, err)
		}
	})
	return s.closeErr
}

// every runs fn every interval until the store closes, in the goroutine
// of a background task named what.
func (s *Store) every(what string, interval time.Duration, fn func()) {
	defer s.wg.Done()
	defer s.recoverPanic(what)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
			fn()
		}
	}
}

// gcOnce reclaims value-log space. RunValueLogGC rewrites at most one file
// per call, so it is called until it has nothing to do.
func (s *Store) gcOnce() {
	for {
		select {
		case <-s.quit:
			return
		default:
		}
		if s.roomToWrite() != nil {
			return // GC writes the values it keeps into a new file
		}
		err := s.db.RunValueLogGC(0.5)
		if err == nil {
			continue
		}
		if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
			s.logger.Warn("value-log GC", zap.String("dir", s.dir), zap.Error(err))
		}
		return
	}
}

// recoverPanic logs a panic of a background goroutine instead of letting it
// take the whole Caddy process down.
func (s *Store) recoverPanic(what string) {
	if r := recover(); r != nil {
		s.logger.Error("panic in store goroutine",
			zap.String("goroutine", what), zap.Any("panic", r), zap.Stack("stack"))
	}
}

func hashString(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}
