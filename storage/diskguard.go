package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dustin/go-humanize"
	"go.uber.org/zap"
)

// Badger writes its memtables' logs and its new tables through memory-mapped
// files that it sizes up front, sparse. On a full filesystem a store into
// such a page finds no block to take, the kernel raises SIGBUS, and Go cannot
// turn a fault in Badger's goroutines into an error: Caddy dies, and again at
// every start until space is freed (QA, 2026-11-25, on a filled tmpfs). So
// the store keeps a reserve: it refuses to open on a filesystem with less
// than Options.MinFree free, and stops writing while it has less, until it
// has MinFree plus a tenth again. Pages are served all the while; page views
// are dropped and counted, and a failed order write is logged in full by the
// caller.

// DefaultMinFree is the reserve of Options.MinFree: room for the memtables'
// logs (16 MiB memtables, twice that in their files), the table a flush
// writes, and the compactions of a store of a few GiB (one of level 3
// writes some 170 MiB before it deletes what it replaced). Badger keeps
// compacting while writes are refused.
const DefaultMinFree = 256 << 20

// diskCheckInterval is how often the store looks at its filesystem. At the
// few MB/s that even a busy store writes, that uses little of the reserve;
// it also bounds how long a new memtable's log stays sparse.
const diskCheckInterval = 250 * time.Millisecond

// ErrLowDisk is returned by the writes the store refuses while its
// filesystem has less than Options.MinFree free.
var ErrLowDisk = errors.New("too little free disk space")

// ErrDirGone is returned by every write once the store's directory was
// removed or replaced while the store was open: what it wrote since would
// be lost at the next start.
var ErrDirGone = errors.New("the store's directory was removed while it was open; restart Caddy to open a new one")

// checkFreeAtOpen returns an error when dir's filesystem has less than
// minFree free. A filesystem whose free space cannot be read passes.
func checkFreeAtOpen(dir string, minFree uint64, free func(string) (uint64, bool, error)) error {
	n, ok, err := free(dir)
	if err != nil || !ok || n >= minFree {
		return nil
	}
	return fmt.Errorf("%w: %s free on its filesystem, and the store needs %s to open (min_free)",
		ErrLowDisk, humanize.IBytes(n), humanize.IBytes(minFree))
}

// roomToWrite says whether the store may write now: nil, ErrLowDisk or
// ErrDirGone, wrapped with the store's directory.
func (s *Store) roomToWrite() error {
	switch {
	case s.dirGone.Load():
		return fmt.Errorf("store %s: %w", s.dir, ErrDirGone)
	case s.lowDisk.Load():
		return fmt.Errorf("store %s: %w: %s free on its filesystem, writing stops below %s (min_free)",
			s.dir, ErrLowDisk, humanize.IBytes(s.free.Load()), humanize.IBytes(s.minFree))
	}
	return nil
}

// LowDisk reports whether the store refuses writes for want of disk space
// or because its directory is gone.
func (s *Store) LowDisk() bool { return s.lowDisk.Load() || s.dirGone.Load() }

// checkDisk updates lowDisk and dirGone, logging each change once.
func (s *Store) checkDisk() {
	s.diskMu.Lock()
	defer s.diskMu.Unlock()
	if !s.dirGone.Load() {
		// Only a directory that is gone or another one: a passing error
		// (EACCES, ESTALE) must not stop the store for good.
		fi, err := os.Stat(s.dir)
		if errors.Is(err, fs.ErrNotExist) || err == nil && !os.SameFile(fi, s.dirInfo) {
			s.dirGone.Store(true)
			s.logger.Error("the katalys store's directory was removed or replaced while Caddy runs: "+
				"nothing more is written to it (page views dropped, orders logged as not stored) until Caddy is restarted",
				zap.String("dir", s.dir), zap.Error(err))
		}
	}
	if !s.dirGone.Load() && s.dirChanged() && !s.allocateLogs() {
		s.free.Store(0)
		s.setLow(0)
		return
	}
	n, ok, err := s.diskFree(s.dir)
	if err != nil || !ok {
		return
	}
	s.free.Store(n)
	switch low := s.lowDisk.Load(); {
	case !low && n < s.minFree:
		s.setLow(n)
	case low && n >= s.minFree+s.minFree/10:
		s.lowDisk.Store(false)
		s.logger.Info("the katalys store's filesystem has room again: writing resumes",
			zap.String("dir", s.dir), zap.String("free", humanize.IBytes(n)))
	}
}

// setLow stops the store's writes, saying so once.
func (s *Store) setLow(free uint64) {
	if s.lowDisk.Swap(true) {
		return
	}
	s.logger.Error("the katalys store's filesystem is nearly full: writing stops until it has room again "+
		"(page views dropped, orders logged as not stored, deliveries wait); free some space",
		zap.String("dir", s.dir), zap.String("free", humanize.IBytes(free)), zap.String("min_free", humanize.IBytes(s.minFree)))
}

// dirChanged reports whether the directory may hold a memtable log that
// allocateLogs has not seen done: files were added or removed since the
// last look (its modification time moved), or one was still empty then.
// It saves reading a directory of thousands of tables four times a second.
func (s *Store) dirChanged() bool {
	fi, err := os.Stat(s.dir)
	if err != nil {
		return true
	}
	changed := !fi.ModTime().Equal(s.dirMod) || s.logsPending || s.logsSparse.Load()
	s.dirMod = fi.ModTime()
	return changed
}

// allocateLogs gives the memtables' logs (*.mem) their blocks as soon as
// Badger creates them, sparse: a full disk then fails the allocation here,
// which stops the writes, rather than a write through the mapping, which
// would kill the process. It reports false when an allocation failed for
// want of space. checkDisk calls it, under diskMu.
func (s *Store) allocateLogs() bool {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return true // the directory check deals with that
	}
	seen := make(map[string]bool, len(s.allocated))
	ok, pending := true, false
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".mem") {
			continue
		}
		seen[name] = true
		if s.allocated[name] {
			continue
		}
		done, full := preallocate(filepath.Join(s.dir, name))
		if done {
			s.allocated[name] = true
		} else {
			pending = true
			ok = ok && !full
		}
	}
	for name := range s.allocated {
		if !seen[name] {
			delete(s.allocated, name)
		}
	}
	s.logsPending = pending
	s.logsSparse.Store(!ok)
	return ok
}

// updateOutcome is db.Update for the outcome of a delivery: on a nearly
// full disk too (see changeEntry), unless the memtable's log could not get
// its blocks, or the disk is so full that the write could start a new
// memtable (and its log) without room for it.
func (s *Store) updateOutcome(fn func(*badger.Txn) error) error {
	if s.dirGone.Load() || s.logsSparse.Load() || s.lowDisk.Load() && s.free.Load() < outcomeRoom {
		if err := s.roomToWrite(); err != nil {
			return err
		}
		return fmt.Errorf("store %s: %w", s.dir, ErrLowDisk)
	}
	return s.db.Update(fn)
}

// outcomeRoom is the free space below which even a delivery's outcome is
// not written: two memtable logs.
const outcomeRoom = 64 << 20

// errStillOpen is Open's error for a directory whose store this process
// could not close yet for want of disk space (closeLater).
var errStillOpen = errors.New("the store of an earlier config is still open, waiting for disk space to close")

// closeWaits holds the directories of stores whose Close waits for room.
var closeWaits = struct {
	sync.Mutex
	dirs map[string]bool
}{dirs: map[string]bool{}}

// closing reports whether dir's store waits for room to close.
func closing(dir string) bool {
	closeWaits.Lock()
	defer closeWaits.Unlock()
	return closeWaits.dirs[dir]
}

// closeLater closes Badger once the disk has room for its last flush,
// looking every second: until then it holds the directory (a reload that
// moved storage away while the disk was full), and Open of it fails with
// errStillOpen, which the app retries.
func (s *Store) closeLater() {
	closeWaits.Lock()
	closeWaits.dirs[s.dir] = true
	closeWaits.Unlock()
	go func() {
		defer func() {
			closeWaits.Lock()
			delete(closeWaits.dirs, s.dir)
			closeWaits.Unlock()
		}()
		for {
			if n, ok, err := s.diskFree(s.dir); err != nil || !ok || n >= s.minFree+s.minFree/10 {
				break
			}
			time.Sleep(time.Second)
		}
		if err := s.db.Close(); err != nil {
			s.logger.Error("closing the katalys store once the disk had room", zap.String("dir", s.dir), zap.Error(err))
			return
		}
		s.logger.Info("katalys store closed, the disk having room again", zap.String("dir", s.dir))
	}()
}

// update is db.Update, refused (roomToWrite) while the store may not write.
func (s *Store) update(fn func(*badger.Txn) error) error {
	if err := s.roomToWrite(); err != nil {
		return err
	}
	return s.db.Update(fn)
}
