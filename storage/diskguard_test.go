package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fakeDisk is a filesystem whose free space the test sets.
type fakeDisk struct{ free atomic.Uint64 }

func (d *fakeDisk) read(string) (uint64, bool, error) { return d.free.Load(), true, nil }

// TestOpenRefusesAFullDisk: below MinFree the store does not open, so
// Badger never maps a file it could not write.
func TestOpenRefusesAFullDisk(t *testing.T) {
	disk := &fakeDisk{}
	disk.free.Store(8 << 20)
	dir := filepath.Join(t.TempDir(), "store")
	_, err := Open(Options{Dir: dir, diskFree: disk.read})
	if !errors.Is(err, ErrLowDisk) {
		t.Fatalf("Open on 8 MiB free: %v, want ErrLowDisk", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Badger wrote %d files on a full disk", len(entries))
	}
	disk.free.Store(DefaultMinFree)
	st, err := Open(Options{Dir: dir, diskFree: disk.read})
	if err != nil {
		t.Fatalf("Open with the reserve free: %v", err)
	}
	st.Close()
}

// TestWritesStopOnALowDisk: while the filesystem has less than MinFree,
// every write is refused with ErrLowDisk (page views dropped and counted,
// collect writes and orders failing, nothing due for delivery); they
// resume once it has MinFree and a tenth again.
func TestWritesStopOnALowDisk(t *testing.T) {
	disk := &fakeDisk{}
	disk.free.Store(1 << 40)
	st := openTest(t, Options{diskFree: disk.read, Outbox: true, MinFree: 100 << 20})
	at := time.Now()
	if _, _, err := st.PutOrder(order("KA-1", "1", 10)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.PutOrder(order("KA-1", "0", 5)); err != nil {
		t.Fatal(err)
	}
	due, _, err := st.Due(time.Now(), 10)
	if err != nil || len(due) != 2 {
		t.Fatalf("Due: %d entries, %v", len(due), err)
	}
	inFlight := due[1]

	disk.free.Store(99 << 20)
	st.checkDisk()
	if _, _, err := st.PutOrder(order("KA-1", "2", 20)); !errors.Is(err, ErrLowDisk) {
		t.Errorf("PutOrder on a low disk: %v, want ErrLowDisk", err)
	}
	if err := st.Write(context.Background(), []Event{ev("KA-1", "v1", "a", at)}); !errors.Is(err, ErrLowDisk) {
		t.Errorf("Write on a low disk: %v, want ErrLowDisk", err)
	}
	dropped := st.Stats().Dropped
	st.Enqueue(ev("KA-1", "v1", "b", at))
	if err := st.Write(context.Background(), nil); err != nil && !errors.Is(err, ErrLowDisk) {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return st.Stats().Dropped > dropped })
	if due, _, err := st.Due(time.Now(), 10); !errors.Is(err, ErrLowDisk) || len(due) != 0 {
		t.Errorf("Due on a low disk: %d entries, %v; want none and ErrLowDisk", len(due), err)
	}
	// A delivery that was on its way when the disk ran low is recorded as
	// delivered all the same, or it would go again; not when the
	// memtable's log could not get its blocks, where the write would
	// fault.
	st.logsSparse.Store(true)
	if err := st.Delivered(inFlight.ID); !errors.Is(err, ErrLowDisk) {
		t.Errorf("Delivered with a sparse log: %v, want ErrLowDisk", err)
	}
	st.logsSparse.Store(false)
	if err := st.Delivered(inFlight.ID); err != nil {
		t.Errorf("Delivered on a low disk: %v", err)
	}
	if _, err := st.SetOrderStatus("KA-1", "1", "refunded", time.Now()); !errors.Is(err, ErrLowDisk) {
		t.Errorf("SetOrderStatus on a low disk: %v, want ErrLowDisk", err)
	}
	if !st.LowDisk() {
		t.Error("LowDisk() = false")
	}

	disk.free.Store(105 << 20) // over MinFree, under MinFree + a tenth
	st.checkDisk()
	if _, _, err := st.PutOrder(order("KA-1", "2", 20)); !errors.Is(err, ErrLowDisk) {
		t.Errorf("PutOrder just over the reserve: %v, want ErrLowDisk still", err)
	}
	disk.free.Store(111 << 20)
	st.checkDisk()
	if _, _, err := st.PutOrder(order("KA-1", "2", 20)); err != nil {
		t.Errorf("PutOrder with room again: %v", err)
	}
	write(t, st, ev("KA-1", "v1", "c", at))
	if due, _, err := st.Due(time.Now(), 10); err != nil || len(due) != 2 {
		t.Errorf("Due with room again: %d entries, %v; want orders 1 and 2", len(due), err)
	}
}

// TestWritesStopWhenTheDirectoryGoes: a store whose directory was removed
// under it writes nothing more, rather than into files that are gone.
func TestWritesStopWhenTheDirectoryGoes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	st, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.PutOrder(order("KA-1", "1", 10)); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	st.checkDisk()
	if _, _, err := st.PutOrder(order("KA-1", "2", 20)); !errors.Is(err, ErrDirGone) {
		t.Errorf("PutOrder after the directory went: %v, want ErrDirGone", err)
	}
	// Close returns, where Badger's would retry its flush forever.
	if err := st.Close(); !errors.Is(err, ErrDirGone) {
		t.Errorf("Close: %v, want ErrDirGone", err)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMemtableLogsGetTheirBlocks: the memtables' logs, which Badger creates
// sparse and writes through a mapping, get their blocks at the next disk
// check, so that a full disk cannot fault a write into them; one seen
// while still empty (Badger sizes it a moment after creating it) is looked
// at again.
func TestMemtableLogsGetTheirBlocks(t *testing.T) {
	dir := t.TempDir()
	st := openTest(t, Options{Dir: dir})
	allocated := func(m string) (int64, int64) {
		var s syscall.Stat_t
		if err := syscall.Stat(m, &s); err != nil {
			t.Fatal(err)
		}
		return s.Blocks * 512, s.Size
	}
	mems, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
	if len(mems) == 0 {
		t.Fatal("no memtable log")
	}
	for _, m := range mems {
		if got, size := allocated(m); got < size {
			t.Errorf("%s after Open: %d of %d bytes allocated", filepath.Base(m), got, size)
		}
	}
	// A new log, as Badger makes one when a memtable fills: empty first.
	next := filepath.Join(dir, "99999.mem")
	f, err := os.Create(next)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st.checkDisk()
	if err := f.Truncate(32 << 20); err != nil {
		t.Fatal(err)
	}
	if got, size := allocated(next); got >= size {
		t.Fatalf("the new log is whole already (%d of %d bytes): the premise of the guard is gone", got, size)
	}
	st.checkDisk()
	if got, size := allocated(next); got < size {
		t.Errorf("the new log: %d of %d bytes allocated", got, size)
	}
	if err := os.Remove(next); err != nil { // not Badger's: it must not find it at Close
		t.Fatal(err)
	}
}

// TestCloseOnALowDisk: Close leaves Badger's flush undone on a nearly full
// disk and closes it once there is room; until then the directory cannot
// be opened again (errStillOpen, which the app retries), then it opens
// with what was written.
func TestCloseOnALowDisk(t *testing.T) {
	disk := &fakeDisk{}
	disk.free.Store(1 << 40)
	dir := t.TempDir()
	st, err := Open(Options{Dir: dir, diskFree: disk.read})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.PutOrder(order("KA-1", "1", 10)); err != nil {
		t.Fatal(err)
	}
	disk.free.Store(1 << 20)
	if err := st.Close(); !errors.Is(err, ErrLowDisk) {
		t.Errorf("Close on a low disk: %v, want ErrLowDisk", err)
	}
	if _, err := Open(Options{Dir: dir, diskFree: disk.read}); !errors.Is(err, errStillOpen) {
		t.Errorf("Open while the old store waits to close: %v, want errStillOpen", err)
	}
	disk.free.Store(1 << 40)
	waitUntil(t, func() bool { return !closing(dir) })
	again := openTest(t, Options{Dir: dir, diskFree: disk.read})
	if _, ok, err := again.GetOrder("KA-1", "1"); err != nil || !ok {
		t.Errorf("the order after the next open: found %v, %v", ok, err)
	}
}
