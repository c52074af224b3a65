package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Events calls fn with the events of bucket whose Time is in [from, to), in
// time order; a zero to means no end. It stops at, and returns, fn's first
// error as is. Expired events are not seen. fn runs inside a read transaction, so
// it should not hold on for long.
func (s *Store) Events(bucket string, from, to time.Time, fn func(Event) error) error {
	if !validNames(bucket, "") {
		return errBadName
	}
	lo, hi := rangeBounds(from, to)
	fn, fnErr := catch(fn)
	err := s.db.View(func(txn *badger.Txn) error {
		return scan(txn, eventPrefix(bucket), lo, hi, true, func(it *badger.Item) error {
			return decodeItem(it, fn)
		})
	})
	if *fnErr != nil {
		return *fnErr
	}
	if err != nil {
		return fmt.Errorf("reading events of %s: %w", bucket, err)
	}
	return nil
}

// VisitorEvents is Events restricted to one visitor, read through the
// per-visitor index so it does not scan the bucket.
func (s *Store) VisitorEvents(bucket, visitor string, from, to time.Time, fn func(Event) error) error {
	if visitor == "" || !validNames(bucket, visitor) {
		return errBadName
	}
	lo, hi := rangeBounds(from, to)
	ep := eventPrefix(bucket)
	fn, fnErr := catch(fn)
	err := s.db.View(func(txn *badger.Txn) error {
		return scan(txn, visitorPrefix(bucket, visitor), lo, hi, false, func(it *badger.Item) error {
			k := it.Key()
			item, err := txn.Get(append(ep[:len(ep):len(ep)], k[len(k)-suffixLen:]...))
			if errors.Is(err, badger.ErrKeyNotFound) {
				return nil // the event expired a moment before its index entry
			}
			if err != nil {
				return err
			}
			return decodeItem(item, fn)
		})
	})
	if *fnErr != nil {
		return *fnErr
	}
	if err != nil {
		return fmt.Errorf("reading events of visitor %s in %s: %w", visitor, bucket, err)
	}
	return nil
}

// catch wraps fn to remember its error, so that it reaches the caller as fn
// returned it rather than wrapped as a read error.
func catch(fn func(Event) error) (func(Event) error, *error) {
	var err error
	return func(ev Event) error { err = fn(ev); return err }, &err
}

// scan calls each for the keys under prefix whose time part is in [lo, hi).
func scan(txn *badger.Txn, prefix []byte, lo, hi uint64, values bool, each func(*badger.Item) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.PrefetchValues = values
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Seek(seekKey(prefix, lo)); it.Valid(); it.Next() {
		k := it.Item().Key()
		// Keys under the prefix all end in a suffix; the length check only
		// guards against a foreign key, which would otherwise panic.
		if len(k) != len(prefix)+suffixLen || !bytes.HasPrefix(k, prefix) {
			continue
		}
		if keyTime(k) >= hi {
			return nil
		}
		if err := each(it.Item()); err != nil {
			return err
		}
	}
	return nil
}

func decodeItem(it *badger.Item, fn func(Event) error) error {
	var ev Event
	if err := it.Value(func(v []byte) error { return json.Unmarshal(v, &ev) }); err != nil {
		return fmt.Errorf("decoding event %q: %w", it.Key(), err)
	}
	return fn(ev)
}
