package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/dgraph-io/badger/v4"
)

// EraseVisitor deletes every event of visitor in bucket, log and index
// entries alike, found through the per-visitor index, and removes the
// visitor id from the bucket's orders, which keep the rest of their data.
// Other buckets are left alone, even where the same visitor id appears.
// Events queued before the call are committed first, so they are erased
// too. It returns how many events it deleted, once the deletion is synced.
func (s *Store) EraseVisitor(bucket, visitor string) (n int, err error) {
	if visitor == "" || !validNames(bucket, visitor) {
		return 0, errBadName
	}
	if !s.enter() {
		return 0, ErrClosed
	}
	defer s.leave()
	// The visitor's page views still queued, or lingering in the writer's
	// batch, would otherwise be committed after the erasure.
	err = s.barrier(context.Background())
	if err == nil {
		n, err = s.eraseEvents(bucket, visitor)
	}
	if err == nil {
		s.orderMu.Lock()
		err = s.forgetVisitor(bucket, visitor)
		s.orderMu.Unlock()
	}
	if err == nil {
		err = s.sync()
	}
	if err != nil {
		s.writeErrors.Add(1)
		return 0, fmt.Errorf("erasing visitor %s of %s: %w", visitor, bucket, err)
	}
	return n, nil
}

// eraseEvents deletes the index entries of visitor in bucket and the log
// entries they point to; it returns how many of those were there.
func (s *Store) eraseEvents(bucket, visitor string) (n int, err error) {
	if err := s.roomToWrite(); err != nil {
		return 0, err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	ep := eventPrefix(bucket)
	err = s.db.View(func(txn *badger.Txn) error {
		return scan(txn, visitorPrefix(bucket, visitor), 0, ^uint64(0), false, func(it *badger.Item) error {
			vkey := it.KeyCopy(nil)
			key := append(ep[:len(ep):len(ep)], vkey[len(vkey)-suffixLen:]...)
			switch _, err := txn.Get(key); {
			case err == nil:
				n++
				if err := wb.Delete(key); err != nil {
					return err
				}
			case !errors.Is(err, badger.ErrKeyNotFound):
				return err
			}
			return wb.Delete(vkey)
		})
	})
	if err == nil {
		err = wb.Flush()
	}
	if err != nil {
		return 0, fmt.Errorf("deleting events: %w", err)
	}
	return n, nil
}

// forgetVisitor sets the visitor of bucket's orders placed by visitor to "".
// Orders whose encoding does not even hold the visitor member are skipped
// without being decoded. The caller holds orderMu.
func (s *Store) forgetVisitor(bucket, visitor string) error {
	quoted, err := json.Marshal(visitor)
	if err != nil {
		return err
	}
	member := append([]byte(`"visitor":`), quoted...)
	if err := s.roomToWrite(); err != nil {
		return err
	}
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	err = s.db.View(func(txn *badger.Txn) error {
		orders := newPrefixIter(txn, orderPrefix(bucket))
		defer orders.close()
		for ; orders.valid(); orders.next() {
			if err := orders.it.Item().Value(func(v []byte) error {
				if !bytes.Contains(v, member) {
					return nil
				}
				return forgetIn(txn, wb, bucket, visitor, v)
			}); err != nil {
				return fmt.Errorf("order %q: %w", orders.id(), err)
			}
		}
		return nil
	})
	if err == nil {
		err = wb.Flush()
	}
	if err != nil {
		return fmt.Errorf("removing the visitor from orders: %w", err)
	}
	return nil
}

// forgetIn writes the encoded order v without its visitor and session, if
// visitor placed it, and its attribution without the sessions of the
// clicks it considered. The clicks' ids stay: they are what the order was
// credited to.
func forgetIn(txn *badger.Txn, wb *badger.WriteBatch, bucket, visitor string, v []byte) error {
	var o Order
	if err := json.Unmarshal(v, &o); err != nil {
		return fmt.Errorf("decoding: %w", err)
	}
	if o.Visitor != visitor {
		return nil
	}
	o.Visitor, o.Session = "", ""
	val, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("encoding: %w", err)
	}
	if err := wb.Set(orderKey(bucket, o.ID), val); err != nil {
		return err
	}
	rec, err := getCurrent(txn, bucket, o.ID)
	if err != nil || rec == nil {
		return err
	}
	for i := range rec.Current.Why.Candidates {
		rec.Current.Why.Candidates[i].Session = ""
	}
	if val, err = json.Marshal(rec); err != nil {
		return err
	}
	return wb.Set(attributionKey(bucket, o.ID), val)
}

// BucketCounts returns how many events (log entries, expired ones not
// counted) and orders bucket holds. It iterates keys only.
func (s *Store) BucketCounts(bucket string) (events, orders int, err error) {
	if !validNames(bucket, "") {
		return 0, 0, errBadName
	}
	err = s.db.View(func(txn *badger.Txn) error {
		events = countKeys(txn, eventPrefix(bucket), len(eventPrefix(bucket))+suffixLen)
		orders = countKeys(txn, orderPrefix(bucket), 0)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("counting the keys of %s: %w", bucket, err)
	}
	return events, orders, nil
}

// countKeys counts the keys under prefix, only those of length keyLen when
// it is not 0.
func countKeys(txn *badger.Txn, prefix []byte, keyLen int) int {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.PrefetchValues = false
	it := txn.NewIterator(opts)
	defer it.Close()
	n := 0
	for it.Seek(prefix); it.ValidForPrefix(prefix); it.Next() {
		if keyLen == 0 || len(it.Item().Key()) == keyLen {
			n++
		}
	}
	return n
}

// Buckets returns the buckets that hold events or orders, sorted. It
// looks at one key of each (a seek per bucket), so it costs little
// however much they hold. Without declared buckets, every site id is its
// own bucket, and this is how to know which ones exist.
func (s *Store) Buckets() ([]string, error) {
	seen := map[string]bool{}
	err := s.db.View(func(txn *badger.Txn) error {
		for _, prefix := range [][]byte{[]byte("e/"), []byte("o/")} {
			opts := badger.IteratorOptions{Prefix: prefix} // keys only
			it := txn.NewIterator(opts)
			for it.Seek(prefix); it.ValidForPrefix(prefix); {
				key := it.Item().Key()
				end := bytes.IndexByte(key[len(prefix):], 0)
				if end < 0 {
					it.Next()
					continue
				}
				bucket := string(key[len(prefix) : len(prefix)+end])
				seen[bucket] = true
				// On to the next bucket: past every key of this one.
				it.Seek(append(append(append([]byte{}, prefix...), bucket...), 1))
			}
			it.Close()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the buckets in %s: %w", s.dir, err)
	}
	return slices.Sorted(maps.Keys(seen)), nil
}
