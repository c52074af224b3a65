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
// error as is. Expired events are not seen. fn is called outside any read
// transaction (see readPaged), so it may take its time, streaming to a slow
// client; an event written meanwhile may or may not be seen.
func (s *Store) Events(bucket string, from, to time.Time, fn func(Event) error) error {
	if !validNames(bucket, "") {
		return errBadName
	}
	lo, hi := rangeBounds(from, to)
	prefix := eventPrefix(bucket)
	return readPaged(s, "reading events of "+bucket, prefix, seekKey(prefix, lo), func(it *badger.Item) (ev Event, ok bool, done bool, err error) {
		k := it.Key()
		if len(k) != len(prefix)+suffixLen {
			return ev, false, false, nil // a foreign key; see scan
		}
		if keyTime(k) >= hi {
			return ev, false, true, nil
		}
		if err := it.Value(func(v []byte) error { return json.Unmarshal(v, &ev) }); err != nil {
			return ev, false, false, fmt.Errorf("decoding event %q: %w", k, err)
		}
		return ev, true, false, nil
	}, fn)
}

// pageSize is how many entries readPaged decodes in one read transaction.
// A variable so that tests can make pages small.
var pageSize = 1024

// readPaged reads the entries under prefix from the key seek on, decoding
// each with decode, and calls fn with the decoded ones in key order. It
// reads pageSize entries per read transaction and calls fn after the
// transaction is over: a Badger read transaction held open while fn streams
// to a slow client would keep the tables compaction replaced from being
// dropped, for as long as the client takes. decode reports ok false to
// skip an entry and done true to end the read before it. It returns fn's
// first error as is, and a read error wrapped in what was read.
func readPaged[T any](s *Store, what string, prefix, seek []byte, decode func(*badger.Item) (v T, ok, done bool, err error), fn func(T) error) error {
	return readPagedTxn(s, what, prefix, seek, func(*badger.Txn) (func(*badger.Item) (T, bool, bool, error), func()) {
		return decode, func() {}
	}, fn)
}

// readPagedTxn is readPaged for a decoder that reads more of the page's
// transaction: open makes it for each page's transaction, with what to
// close before the transaction ends.
func readPagedTxn[T any](s *Store, what string, prefix, seek []byte, open func(*badger.Txn) (decode func(*badger.Item) (T, bool, bool, error), close func()), fn func(T) error) error {
	page := make([]T, 0, pageSize)
	for {
		page = page[:0]
		var next []byte
		end := true
		err := s.db.View(func(txn *badger.Txn) error {
			decode, closePage := open(txn)
			defer closePage()
			opts := badger.DefaultIteratorOptions
			opts.Prefix = prefix
			it := txn.NewIterator(opts)
			defer it.Close()
			for it.Seek(seek); it.ValidForPrefix(prefix); it.Next() {
				if len(page) == pageSize {
					next, end = it.Item().KeyCopy(nil), false
					return nil
				}
				v, ok, done, err := decode(it.Item())
				if err != nil || done {
					return err
				}
				if ok {
					page = append(page, v)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		for _, v := range page {
			if err := fn(v); err != nil {
				return err
			}
		}
		if end {
			return nil
		}
		seek = next
	}
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
