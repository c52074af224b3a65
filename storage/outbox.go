package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"

	"github.com/storeedge/caddy-katalys/delivery"
)

// The outbox (delivery.Outbox, DESIGN §4.6) holds the deliveries to Katalys
// that have not been acknowledged. With Options.Outbox, PutOrder writes a
// delivery.KindOrder entry in the transaction that creates an order and
// SetOrderStatus a delivery.KindStatus entry in the transaction that changes
// its status, so an order or status change is never stored without its
// delivery, nor the other way round. An entry's ID is its sequence number as
// 16 hex digits, which sorts like the number: entries sort by creation.
//
// New entries take their sequence number under orderMu (every writer of new
// entries holds it); the changes of existing entries (Delivered, Retry,
// Dead, RetryDead) are serialised by outboxMu, since Badger runs here
// without conflict detection. Every change is synced before it returns.
var _ delivery.Outbox = (*Store)(nil)

// maxOutboxText bounds the failure reasons and answer excerpts kept with an
// entry, in bytes.
const maxOutboxText = 2048

// entryID is the ID of the entry with sequence number seq.
func entryID(seq uint64) string { return fmt.Sprintf("%016x", seq) }

// entrySeq is the sequence number of the entry id, which must come from
// entryID.
func entrySeq(id string) (uint64, error) {
	if len(id) != 16 {
		return 0, fmt.Errorf("outbox entry id %q: %w", id, ErrNotFound)
	}
	seq, err := strconv.ParseUint(id, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("outbox entry id %q: %w", id, ErrNotFound)
	}
	return seq, nil
}

// addOutboxEntry writes a new entry of kind for order orderID of bucket,
// due at once, and its index key in txn. The caller holds orderMu.
func (s *Store) addOutboxEntry(txn *badger.Txn, kind, bucket, orderID, status string) error {
	var seq uint64
	item, err := txn.Get(outboxSeqKey)
	switch {
	case err == nil:
		if err := item.Value(func(v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("outbox sequence is %d bytes, want 8", len(v))
			}
			seq = binary.BigEndian.Uint64(v)
			return nil
		}); err != nil {
			return fmt.Errorf("reading outbox sequence: %w", err)
		}
	case !errors.Is(err, badger.ErrKeyNotFound):
		return fmt.Errorf("reading outbox sequence: %w", err)
	}
	seq++
	now := time.Now()
	e := delivery.Entry{
		ID: entryID(seq), Bucket: bucket, OrderID: orderID, Kind: kind, Status: status,
		Created: now, NextTry: now,
	}
	val, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding outbox entry: %w", err)
	}
	if err := txn.Set(outboxSeqKey, binary.BigEndian.AppendUint64(nil, seq)); err != nil {
		return err
	}
	if err := txn.Set(outboxKey(seq), val); err != nil {
		return err
	}
	return txn.Set(outboxOrderKey(bucket, orderID, seq), nil)
}

// Due returns up to limit entries whose NextTry is not after now, oldest
// first, at most one per order: only the first undelivered entry of an
// order, so a status change waits for its order's conversion (and an entry
// waiting to be retried holds back the later ones of its order). A limit
// of 0 or less returns nothing.
//
// next is the earliest NextTry after now of the entries it stepped over,
// zero if none: after a restart the loop knows no retry times of its own,
// and this is when it must look again.
func (s *Store) Due(now time.Time, limit int) (due []delivery.Entry, next time.Time, err error) {
	if limit <= 0 {
		return nil, time.Time{}, nil
	}
	// Nothing goes out that could not be marked delivered: it would go
	// again.
	if err := s.roomToWrite(); err != nil {
		return nil, time.Time{}, err
	}
	if !s.enter() {
		return nil, time.Time{}, ErrClosed
	}
	defer s.leave()
	floor := s.outboxFloor.Load()
	err = s.db.View(func(txn *badger.Txn) error {
		// Values are read one by one (most calls want a few entries), and
		// the scan starts at the floor: delivered entries are deleted, and
		// their tombstones, which a scan from the start would step over on
		// every call until compaction drops them, all lie below it.
		opts := badger.IteratorOptions{Prefix: outboxPrefix}
		it := txn.NewIterator(opts)
		defer it.Close()
		first := true
		for it.Seek(outboxKey(floor)); it.ValidForPrefix(outboxPrefix) && len(due) < limit; it.Next() {
			if first {
				first = false
				if k := it.Item().Key(); len(k) == len(outboxPrefix)+8 {
					// Nothing lives below this key: raise the floor, unless
					// RetryDead lowered it meanwhile.
					s.outboxFloor.CompareAndSwap(floor, binary.BigEndian.Uint64(k[len(outboxPrefix):]))
				}
			}
			// During an outage nearly every entry waits for a retry:
			// their next try is read without decoding the rest.
			var waitsUntil time.Time
			if err := it.Item().Value(func(v []byte) error {
				waitsUntil, _ = entryNextTry(v)
				return nil
			}); err != nil {
				return fmt.Errorf("reading outbox entry %x: %w", it.Item().Key(), err)
			}
			if waitsUntil.After(now) {
				if next.IsZero() || waitsUntil.Before(next) {
					next = waitsUntil
				}
				continue
			}
			e, err := decodeEntry(it.Item())
			if err != nil {
				return err
			}
			if e.NextTry.After(now) {
				if next.IsZero() || e.NextTry.Before(next) {
					next = e.NextTry
				}
				continue
			}
			first, err := firstOfOrder(txn, e)
			if err != nil {
				return err
			}
			if first {
				due = append(due, e)
			}
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("reading due outbox entries: %w", err)
	}
	return due, next, nil
}

// nextTryKey opens the next_try member of an entry's JSON. No string in it
// can hold this text: its quotes are escaped there.
var nextTryKey = []byte(`"next_try":"`)

// entryNextTry reads the next_try of an entry's JSON without decoding the
// rest; ok is false when it cannot (the caller then decodes the whole
// entry).
func entryNextTry(v []byte) (t time.Time, ok bool) {
	i := bytes.Index(v, nextTryKey)
	if i < 0 {
		return time.Time{}, false
	}
	rest := v[i+len(nextTryKey):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:end]))
	return t, err == nil
}

func decodeEntry(item *badger.Item) (delivery.Entry, error) {
	var e delivery.Entry
	if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &e) }); err != nil {
		return e, fmt.Errorf("decoding outbox entry %x: %w", item.Key(), err)
	}
	return e, nil
}

// firstOfOrder tells whether e is the first entry in the index of its order.
func firstOfOrder(txn *badger.Txn, e delivery.Entry) (bool, error) {
	seq, err := entrySeq(e.ID)
	if err != nil {
		return false, err
	}
	prefix := outboxOrderPrefix(e.Bucket, e.OrderID)
	opts := badger.IteratorOptions{Prefix: prefix} // keys only
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		key := it.Item().Key()
		if len(key) == len(prefix)+8 { // not the key of an id that extends this one
			return binary.BigEndian.Uint64(key[len(prefix):]) == seq, nil
		}
	}
	return false, nil // not indexed: it was dead-lettered or delivered meanwhile
}

// Delivered removes the entry id and its index key. It does not wait for a
// sync (the next synced write, or Close, makes it durable): after a crash
// in between the entry is delivered again. An entry that is not there
// (delivered already) is no error.
func (s *Store) Delivered(id string) error {
	return s.changeEntry("marking outbox entry "+id+" delivered", id, true,
		func(txn *badger.Txn, seq uint64, e delivery.Entry) error {
			if err := txn.Delete(outboxKey(seq)); err != nil {
				return err
			}
			return txn.Delete(outboxOrderKey(e.Bucket, e.OrderID, seq))
		})
}

// Retry records a failed attempt at the entry id: its attempts so far, when
// to try again, why it failed and when Katalys asked it to be sent again
// (Retry-After; zero for none). An entry that is not there is an error
// wrapping ErrNotFound.
func (s *Store) Retry(id string, attempts int, next time.Time, reason string, notBefore, holdUntil time.Time) error {
	return s.changeEntry("recording a retry of outbox entry "+id, id, false,
		func(txn *badger.Txn, seq uint64, e delivery.Entry) error {
			e.Attempts, e.NextTry, e.LastErr = attempts, next, excerpt(reason)
			e.NotBefore, e.HoldUntil = notBefore, holdUntil
			return setJSON(txn, outboxKey(seq), e)
		})
}

// Waiting reports whether any entry waits for a retry at now and the
// latest HoldUntil after now of the waiting entries, or zero: what a
// delivery loop that starts (a reload, a restart) takes over from the one
// before it.
func (s *Store) Waiting(now time.Time) (waiting bool, hold time.Time, err error) {
	if !s.enter() {
		return false, time.Time{}, ErrClosed
	}
	defer s.leave()
	err = s.eachWaiting(now, func(e delivery.Entry) {
		waiting = true
		if e.HoldUntil.After(now) && e.HoldUntil.After(hold) {
			hold = e.HoldUntil
		}
	})
	if err != nil {
		return false, time.Time{}, fmt.Errorf("reading the waiting outbox entries: %w", err)
	}
	return waiting, hold, nil
}

// eachWaiting calls fn with every entry whose NextTry is after now, oldest
// first. A due entry is skipped on its next try alone, read without
// decoding the rest.
func (s *Store) eachWaiting(now time.Time, fn func(delivery.Entry)) error {
	return s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: outboxPrefix})
		defer it.Close()
		for it.Seek(outboxKey(s.outboxFloor.Load())); it.ValidForPrefix(outboxPrefix); it.Next() {
			var next time.Time
			var ok bool
			if err := it.Item().Value(func(v []byte) error { next, ok = entryNextTry(v); return nil }); err != nil {
				return err
			}
			if ok && !next.After(now) {
				continue // due
			}
			e, err := decodeEntry(it.Item())
			if err != nil {
				return err
			}
			if e.NextTry.After(now) {
				fn(e)
			}
		}
		return nil
	})
}

// Resume makes every waiting entry due at now, or at its NotBefore when
// Katalys asked for later, and returns how many it moved. It writes them
// in as few transactions as Badger allows, and syncs.
func (s *Store) Resume(now time.Time) (int, error) {
	if !s.enter() {
		return 0, ErrClosed
	}
	defer s.leave()
	s.outboxMu.Lock()
	defer s.outboxMu.Unlock()
	var waiting []delivery.Entry
	err := s.eachWaiting(now, func(e delivery.Entry) {
		if e.NextTry.After(e.NotBefore) {
			waiting = append(waiting, e)
		}
	})
	if err != nil {
		return 0, fmt.Errorf("reading the waiting outbox entries: %w", err)
	}
	if err := s.roomToWrite(); err != nil {
		return 0, err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, e := range waiting {
		seq, err := entrySeq(e.ID)
		if err != nil {
			return 0, err
		}
		e.NextTry = now
		if e.NotBefore.After(now) {
			e.NextTry = e.NotBefore
		}
		val, err := json.Marshal(e)
		if err != nil {
			return 0, err
		}
		if err := wb.Set(outboxKey(seq), val); err != nil {
			return 0, fmt.Errorf("making the waiting outbox entries due: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return 0, fmt.Errorf("making the waiting outbox entries due: %w", err)
	}
	return len(waiting), s.sync()
}

// Dead moves the entry id to the dead letters with the HTTP status and an
// excerpt of the answer that refused it. A dead status change gives up its
// index key, so the later entries of its order can go; a dead conversion
// keeps it, so its order's status changes wait (pending) until it is
// retried: sent before the conversion, they would reach Katalys for an
// order it does not know, and a retried conversion would come after them.
// An entry that is not there is an error wrapping ErrNotFound.
func (s *Store) Dead(id string, httpStatus int, body string, at time.Time) error {
	return s.changeEntry("moving outbox entry "+id+" to the dead letters", id, false,
		func(txn *badger.Txn, seq uint64, e delivery.Entry) error {
			d := delivery.DeadLetter{Entry: e, HTTPStatus: httpStatus, Body: excerpt(body), Died: at}
			if err := setJSON(txn, outboxDeadKey(seq), d); err != nil {
				return err
			}
			if err := txn.Delete(outboxKey(seq)); err != nil {
				return err
			}
			if e.Kind == delivery.KindOrder {
				return nil
			}
			return txn.Delete(outboxOrderKey(e.Bucket, e.OrderID, seq))
		})
}

// RetryDead moves the dead letter id back to the outbox, due now with no
// attempts, under its old ID: it goes before the entries of its order that
// are still waiting. A dead letter that is not there is an error wrapping
// ErrNotFound.
func (s *Store) RetryDead(id string) error {
	seq, err := entrySeq(id)
	if err != nil {
		return fmt.Errorf("retrying dead letter: %w", err)
	}
	if !s.enter() {
		return ErrClosed
	}
	defer s.leave()
	s.outboxMu.Lock()
	err = s.update(func(txn *badger.Txn) error {
		item, err := txn.Get(outboxDeadKey(seq))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var d delivery.DeadLetter
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &d) }); err != nil {
			return fmt.Errorf("decoding dead letter: %w", err)
		}
		e := d.Entry
		e.Attempts, e.NextTry = 0, time.Now()
		if err := setJSON(txn, outboxKey(seq), e); err != nil {
			return err
		}
		if err := txn.Set(outboxOrderKey(e.Bucket, e.OrderID, seq), nil); err != nil {
			return err
		}
		return txn.Delete(outboxDeadKey(seq))
	})
	s.outboxMu.Unlock()
	if err == nil {
		// The entry is back below the entries Due starts at.
		for f := s.outboxFloor.Load(); seq < f && !s.outboxFloor.CompareAndSwap(f, seq); f = s.outboxFloor.Load() {
		}
	}
	return s.finishChange("retrying dead letter "+id, err)
}

// changeEntry runs change on the entry id in one transaction under
// outboxMu and syncs it. With delivered (Delivered's change) a missing
// entry is no error, and the change is not synced: a crash before the next
// sync brings the entry back and it is sent once more, which at least once
// allows, while a sync per delivery was most of what draining a backlog
// cost. Otherwise a missing entry is an error wrapping ErrNotFound.
func (s *Store) changeEntry(what, id string, delivered bool, change func(*badger.Txn, uint64, delivery.Entry) error) error {
	seq, err := entrySeq(id)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !s.enter() {
		return ErrClosed
	}
	defer s.leave()
	s.outboxMu.Lock()
	changed := false
	// The outcome of a delivery that went out is recorded even on a
	// nearly full disk: a few hundred bytes into a memtable log whose
	// blocks are allocated (allocateLogs), where refusing would send the
	// order again once the disk has room.
	err = s.updateOutcome(func(txn *badger.Txn) error {
		item, err := txn.Get(outboxKey(seq))
		if errors.Is(err, badger.ErrKeyNotFound) {
			if delivered {
				return nil
			}
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		e, err := decodeEntry(item)
		if err != nil {
			return err
		}
		changed = true
		return change(txn, seq, e)
	})
	s.outboxMu.Unlock()
	if err == nil && (!changed || delivered) {
		return nil
	}
	return s.finishChange(what, err)
}

// finishChange syncs a successful change and wraps a failed one.
func (s *Store) finishChange(what string, err error) error {
	if err == nil {
		err = s.sync()
	}
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			s.writeErrors.Add(1)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func setJSON(txn *badger.Txn, key []byte, v any) error {
	val, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %x: %w", key, err)
	}
	return txn.Set(key, val)
}

// excerpt cuts s to about maxOutboxText bytes of valid UTF-8.
func excerpt(s string) string {
	if len(s) > maxOutboxText {
		s = s[:maxOutboxText] // may cut a rune, which becomes U+FFFD
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// OutboxEntries calls fn for every entry waiting in the outbox, oldest
// first, until fn returns an error, which OutboxEntries returns.
func (s *Store) OutboxEntries(fn func(delivery.Entry) error) error {
	return s.scanPrefix(outboxPrefix, true, func(item *badger.Item) error {
		e, err := decodeEntry(item)
		if err != nil {
			return err
		}
		return fn(e)
	})
}

// DeadLetters calls fn for every dead letter, oldest entry first, until fn
// returns an error, which DeadLetters returns.
func (s *Store) DeadLetters(fn func(delivery.DeadLetter) error) error {
	return s.scanPrefix(outboxDeadPrefix, true, func(item *badger.Item) error {
		var d delivery.DeadLetter
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &d) }); err != nil {
			return fmt.Errorf("decoding dead letter %x: %w", item.Key(), err)
		}
		return fn(d)
	})
}

// OutboxCounts returns how many entries wait in the outbox and how many
// dead letters there are. After Close, or when the store cannot be read
// (which it logs), both are 0.
func (s *Store) OutboxCounts() (pending, dead int) {
	count := func(prefix []byte, n *int) error {
		return s.scanPrefix(prefix, false, func(*badger.Item) error { *n++; return nil })
	}
	if err := count(outboxPrefix, &pending); err != nil {
		s.logCountError(err)
		return 0, 0
	}
	if err := count(outboxDeadPrefix, &dead); err != nil {
		s.logCountError(err)
		return 0, 0
	}
	return pending, dead
}

func (s *Store) logCountError(err error) {
	if !errors.Is(err, ErrClosed) {
		s.logger.Warn("counting the outbox", zap.String("dir", s.dir), zap.Error(err))
	}
}

// scanPrefix calls fn for every item under prefix, in key order, with or
// without prefetching values.
func (s *Store) scanPrefix(prefix []byte, values bool, fn func(*badger.Item) error) error {
	if !s.enter() {
		return ErrClosed
	}
	defer s.leave()
	return s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix, opts.PrefetchValues = prefix, values
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
			if err := fn(it.Item()); err != nil {
				return err
			}
		}
		return nil
	})
}
