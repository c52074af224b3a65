package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/storeedge/caddy-katalys/attribution"
	"github.com/storeedge/caddy-katalys/delivery"
)

// ErrNotFound is wrapped by the errors of operations on an order (or other
// record) that the store does not hold.
var ErrNotFound = errors.New("storage: not found")

// StatusChange is one status an order was set to, and when.
type StatusChange struct {
	Status string    `json:"status"`
	Time   time.Time `json:"time"`
}

// OrderStatuses are the statuses SetOrderStatus accepts (DESIGN §4.5).
func OrderStatuses() []string {
	return []string{
		attribution.OrderPending, attribution.OrderPaid, attribution.OrderFulfilled,
		attribution.OrderRefunded, attribution.OrderCancelled, attribution.OrderRejected,
	}
}

// maxStatusHistory bounds an order's StatusHistory; the oldest changes go
// first. Real orders change status a handful of times.
const maxStatusHistory = 100

// SetOrderStatus sets the status of order orderID of bucket, as of at (a
// zero at is now): it records StatusTime and appends the change to
// StatusHistory, and returns the order as stored once it is synced. Setting
// the status the order already has changes nothing, so a repeated report
// keeps the time of the first. With Options.Outbox, a change writes its
// delivery entry in the same transaction. An unknown status is an error
// naming the valid ones; an order the bucket does not hold is an error
// wrapping ErrNotFound.
func (s *Store) SetOrderStatus(bucket, orderID, status string, at time.Time) (Order, error) {
	if !slices.Contains(OrderStatuses(), status) {
		return Order{}, fmt.Errorf("unknown order status %q (want one of %s)", status, strings.Join(OrderStatuses(), ", "))
	}
	if !validNames(bucket, "") || orderID == "" {
		return Order{}, errors.New("an order status needs a bucket (without NUL) and an order id")
	}
	if at.IsZero() {
		at = time.Now()
	}
	if !s.enter() {
		return Order{}, ErrClosed
	}
	defer s.leave()
	s.orderMu.Lock()
	o, changed, err := s.updateStatus(bucket, orderID, status, at)
	s.orderMu.Unlock()
	if err == nil && changed {
		err = s.sync()
	}
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			s.writeErrors.Add(1)
		}
		return Order{}, fmt.Errorf("setting status of order %q of bucket %s: %w", orderID, bucket, err)
	}
	return o, nil
}

// updateStatus is SetOrderStatus's read-modify-write; the caller holds
// orderMu.
func (s *Store) updateStatus(bucket, orderID, status string, at time.Time) (o Order, changed bool, err error) {
	key := orderKey(bucket, orderID)
	err = s.update(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &o) }); err != nil {
			return fmt.Errorf("decoding stored order: %w", err)
		}
		if o.Status == status {
			return nil
		}
		o.Status, o.StatusTime = status, at
		o.StatusHistory = append(o.StatusHistory, StatusChange{Status: status, Time: at})
		if n := len(o.StatusHistory); n > maxStatusHistory {
			o.StatusHistory = slices.Clone(o.StatusHistory[n-maxStatusHistory:])
		}
		val, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("encoding order: %w", err)
		}
		changed = true
		if s.outbox.Load() && !o.Unqueued {
			if err := s.addOutboxEntry(txn, delivery.KindStatus, bucket, orderID, status); err != nil {
				return err
			}
		}
		return txn.Set(key, val)
	})
	return o, changed, err
}
