package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/storeedge/caddy-katalys/capture"
	"github.com/storeedge/caddy-katalys/delivery"
)

// Order is a captured order as stored in its bucket: what the thank-you
// page printed (capture.Order) and where and when the proxy saw it.
type Order struct {
	capture.Order
	Bucket    string    `json:"bucket"`
	Time      time.Time `json:"time"` // when the proxy first saw the order
	Visitor   string    `json:"visitor,omitempty"`
	Session   string    `json:"session,omitempty"`
	ClientIP  string    `json:"client_ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	URL       string    `json:"url,omitempty"`
	Instance  string    `json:"instance,omitempty"`
	// Status is the order's status as the store reported it (SetOrderStatus):
	// "" until one is set, then pending, paid, fulfilled, refunded,
	// cancelled or rejected; StatusTime is when it was set, StatusHistory
	// every change, oldest first.
	Status        string         `json:"status"`
	StatusTime    time.Time      `json:"status_time,omitzero"`
	StatusHistory []StatusChange `json:"status_history,omitempty"`
	// Unqueued tells that the order was stored while delivery was off, so
	// its conversion never went to the outbox: nor do its updates or
	// status changes later (an order stored under `deliver off` is never
	// sent). Orders stored before this field existed count as queued.
	Unqueued bool `json:"unqueued,omitempty"`
}

// Orders are kept forever (no TTL) under
//
//	o/<bucket>\x00<order id>
//
// one key per (bucket, order id), which is what makes capture idempotent:
// the same order id in two buckets is two orders.
func orderKey(bucket, id string) []byte {
	return []byte("o/" + bucket + "\x00" + id)
}

func orderPrefix(bucket string) []byte {
	return []byte("o/" + bucket + "\x00")
}

// PutOrder stores o in its bucket, or, when the bucket already holds an
// order with o's id, fills the stored order's missing fields from o
// (capture.Order.Fill) and keeps the rest. It returns the order as stored
// and whether it was new, once it is synced to disk. With Options.Outbox,
// a new order's delivery entry is written in the same transaction (a
// reload writes none). Orders bypass the
// behaviour queue: they are rare, and a full queue must never drop one.
func (s *Store) PutOrder(o Order) (stored Order, created bool, err error) {
	if o.Bucket == "" || strings.ContainsRune(o.Bucket, 0) || o.ID == "" {
		return Order{}, false, errors.New("an order needs a bucket (without NUL) and an id")
	}
	if !s.enter() {
		return Order{}, false, ErrClosed
	}
	defer s.leave()
	if o.Time.IsZero() {
		o.Time = time.Now()
	}
	if o.Instance == "" {
		o.Instance = s.instance
	}
	key := orderKey(o.Bucket, o.ID)
	// The store runs Badger without conflict detection (behaviour events
	// are blind writes), so the read-merge-write of an order is
	// serialised here; the fsync is not.
	s.orderMu.Lock()
	changed := false
	err = s.update(func(txn *badger.Txn) error {
		var (
			prev   []byte
			learnt bool
		)
		stored, created, prev, learnt, err = mergeOrder(txn, key, o)
		if err != nil {
			return err
		}
		var kind string // of the outbox entry to add, if any
		switch outbox := s.outbox.Load(); {
		case created && !outbox:
			stored.Unqueued = true
		case created:
			kind = delivery.KindOrder
		case outbox && learnt && !stored.Unqueued:
			kind = delivery.KindUpdate
		}
		val, err := json.Marshal(stored)
		if err != nil || bytes.Equal(val, prev) {
			return err // a reload that adds nothing writes nothing
		}
		changed = true
		if kind != "" {
			if err := s.addOutboxEntry(txn, kind, o.Bucket, o.ID, ""); err != nil {
				return err
			}
		}
		return txn.Set(key, val)
	})
	s.orderMu.Unlock()
	if err == nil && changed {
		err = s.db.Sync()
	}
	if err != nil {
		s.writeErrors.Add(1)
		return Order{}, false, fmt.Errorf("storing order %q of bucket %s in %s: %w", o.ID, o.Bucket, s.dir, err)
	}
	return stored, created, nil
}

// mergeOrder returns o merged into the order stored at key, if any, and
// the stored value. learnt reports whether the merge told the stored order
// something Katalys should hear of: a field its delivery carries, or the
// visitor, whose clicks may credit it.
func mergeOrder(txn *badger.Txn, key []byte, o Order) (merged Order, created bool, prev []byte, learnt bool, err error) {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return o, true, nil, false, nil
	}
	if err != nil {
		return Order{}, false, nil, false, err
	}
	var old Order
	if prev, err = item.ValueCopy(nil); err != nil {
		return Order{}, false, nil, false, err
	}
	if err := json.Unmarshal(prev, &old); err != nil {
		return Order{}, false, nil, false, fmt.Errorf("decoding stored order: %w", err)
	}
	before, err := json.Marshal(deliveryView(old))
	if err != nil {
		return Order{}, false, nil, false, err
	}
	old.Fill(&o.Order)
	for _, f := range []struct {
		dst *string
		v   string
	}{
		{&old.Visitor, o.Visitor}, {&old.Session, o.Session}, {&old.ClientIP, o.ClientIP},
		{&old.UserAgent, o.UserAgent}, {&old.URL, o.URL},
	} {
		if *f.dst == "" {
			*f.dst = f.v
		}
	}
	after, err := json.Marshal(deliveryView(old))
	if err != nil {
		return Order{}, false, nil, false, err
	}
	return old, false, prev, !bytes.Equal(before, after), nil
}

// deliveryView is what of an order a delivery carries or decides its
// credit with: a merge that changes it is worth an update to Katalys; one
// that fills in only the session, the page's URL or the order time the
// page printed is not.
func deliveryView(o Order) any {
	return struct {
		Total, Subtotal              *float64
		Currency, Email, Status      string
		Discounts                    []capture.Discount
		Items                        []capture.Item
		Visitor, ClientIP, UserAgent string
	}{o.Total, o.Subtotal, o.Currency, o.Email, o.Order.Status, o.Discounts, o.Items, o.Visitor, o.ClientIP, o.UserAgent}
}

// GetOrder returns the order id of bucket; ok is false when there is none.
func (s *Store) GetOrder(bucket, id string) (o Order, ok bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(orderKey(bucket, id))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		ok = true
		return item.Value(func(v []byte) error { return json.Unmarshal(v, &o) })
	})
	if err != nil {
		return Order{}, false, fmt.Errorf("reading order %q of bucket %s: %w", id, bucket, err)
	}
	return o, ok, nil
}

// Orders calls fn for every order of bucket, in order id order, until fn
// returns an error, which Orders returns as is. fn is called outside any
// read transaction, as Events does.
func (s *Store) Orders(bucket string, fn func(Order) error) error {
	prefix := orderPrefix(bucket)
	return readPaged(s, "reading orders of "+bucket, prefix, prefix, func(it *badger.Item) (o Order, ok, done bool, err error) {
		if err := it.Value(func(v []byte) error { return json.Unmarshal(v, &o) }); err != nil {
			return o, false, false, fmt.Errorf("decoding order %q: %w", it.Key()[len(prefix):], err)
		}
		return o, true, false, nil
	}, fn)
}
