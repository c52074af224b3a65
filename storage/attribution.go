package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/storeedge/caddy-katalys/attribution"
)

// AttributionRecord is the attribution of one order of a bucket as stored:
// the current decision and the earlier ones it replaced, most recent first.
type AttributionRecord struct {
	Bucket  string               `json:"bucket"`
	OrderID string               `json:"order_id"`
	Current attribution.Result   `json:"current"`
	History []attribution.Result `json:"history,omitempty"`
}

// MaxAttributionHistory bounds an AttributionRecord's History: past it the
// oldest decisions are dropped.
const MaxAttributionHistory = 20

// currentRecord is what is stored under an order's attribution key: its
// current decision, and how many decisions it replaced, which went to
// history keys of their own (keys.go) so that a new decision writes one
// entry, not the whole history again.
type currentRecord struct {
	Bucket   string             `json:"bucket"`
	OrderID  string             `json:"order_id"`
	Replaced uint64             `json:"replaced"` // the rev of the latest history entry
	Current  attribution.Result `json:"current"`
}

// ForAttribution is what attribution.Decide needs to know of o: with the
// status the store reported (SetOrderStatus), the one its page printed.
func (o Order) ForAttribution() attribution.Order {
	ao := attribution.Order{
		ID:            o.ID,
		Time:          o.Time,
		Visitor:       o.Visitor,
		Total:         o.Total,
		Status:        o.Status,
		StatusTime:    o.StatusTime,
		PrintedStatus: o.Order.Status,
	}
	ao.ReversedAt, ao.ReversedAs = reversedSince(o.StatusHistory)
	return ao
}

// reversedSince returns the first change of the run of reversals
// (refunded, cancelled, rejected) that ends history, or zero values when
// its last change is none.
func reversedSince(history []StatusChange) (time.Time, string) {
	var at time.Time
	var as string
	for i := len(history) - 1; i >= 0; i-- {
		switch history[i].Status {
		case attribution.OrderRefunded, attribution.OrderCancelled, attribution.OrderRejected:
			at, as = history[i].Time, history[i].Status
			continue
		}
		break
	}
	return at, as
}

// VisitorTouches returns the clicks (events of Type "click") of visitor in
// bucket whose time is in [from, to], in time order, as attribution.Touch; a
// zero to means no end. It reads them from the per-visitor index alone
// (index.go), so its cost grows with the visitor's events, not with the
// bucket's. A zero from and to give every click of the visitor, which is
// what attribution.Decide takes (and what Reattribute hands it).
func (s *Store) VisitorTouches(bucket, visitor string, from, to time.Time) ([]attribution.Touch, error) {
	if visitor == "" || !validNames(bucket, visitor) {
		return nil, errBadName
	}
	lo, hi := rangeBounds(from, to)
	if !to.IsZero() && hi < ^uint64(0) {
		hi++ // [from, to], not Events' [from, to)
	}
	ep := eventPrefix(bucket)
	var touches []attribution.Touch
	err := s.db.View(func(txn *badger.Txn) error {
		return scan(txn, visitorPrefix(bucket, visitor), lo, hi, false, func(it *badger.Item) error {
			return appendTouch(txn, ep, it, &touches)
		})
	})
	if err != nil {
		return nil, fmt.Errorf("reading clicks of visitor %s in %s: %w", visitor, bucket, err)
	}
	return touches, nil
}

// appendTouch appends to touches the touch of the per-visitor index entry
// it, when its event is a click. ep is the bucket's eventPrefix, where an
// entry written before index values has its event looked up.
func appendTouch(txn *badger.Txn, ep []byte, it *badger.Item, touches *[]attribution.Touch) error {
	k := it.Key()
	var known bool
	err := it.Value(func(v []byte) error {
		t, click, ok, err := indexTouch(keyTime(k), v)
		if click {
			*touches = append(*touches, t)
		}
		known = ok
		return err
	})
	if err != nil || known {
		return err
	}
	return eventTouch(txn, append(ep[:len(ep):len(ep)], k[len(k)-suffixLen:]...), touches)
}

// eventTouch appends the touch of the event under key, when it is a click,
// to touches: the way to a touch for index entries written without one.
func eventTouch(txn *badger.Txn, key []byte, touches *[]attribution.Touch) error {
	item, err := txn.Get(key)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil // the event expired a moment before its index entry
	}
	if err != nil {
		return err
	}
	return item.Value(func(v []byte) error {
		t, ok, err := decodeClick(v)
		if ok {
			*touches = append(*touches, t.touch())
		}
		return err
	})
}

// clickEvent is the part of a stored Event that a click's Touch is made of.
type clickEvent struct {
	Time    time.Time         `json:"time"`
	Type    string            `json:"type"`
	Visitor string            `json:"visitor"`
	Session string            `json:"session"`
	Fields  map[string]string `json:"fields"`
}

func (c *clickEvent) touch() attribution.Touch {
	return attribution.TouchFromClick(c.Time, c.Session, c.Fields)
}

// typeMember opens the "type" member of an encoded Event.
var typeMember = []byte(`"type":"`)

const typeClick = "click"

// peekClick tells from an encoded Event, without decoding it, whether it is
// a click. json.Marshal writes Event's members in field order, bucket, time,
// type, …; the bucket is a JSON string, in which every quote is escaped, and
// the time holds none, so the first `"type":"` is the type member. sure is
// false when the value does not look like that; the caller decodes it.
func peekClick(v []byte) (click, sure bool) {
	i := bytes.Index(v, typeMember)
	if i < 0 {
		return false, false
	}
	rest := v[i+len(typeMember):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return false, false
	}
	return string(rest[:j]) == typeClick, true
}

// decodeClick decodes an encoded Event when it is a click; ok is false for
// other events, which it skips without decoding.
func decodeClick(v []byte) (c clickEvent, ok bool, err error) {
	if click, sure := peekClick(v); sure && !click {
		return c, false, nil
	}
	if err := json.Unmarshal(v, &c); err != nil {
		return c, false, fmt.Errorf("decoding event: %w", err)
	}
	return c, c.Type == typeClick, nil
}

// PutAttribution stores r as the current attribution of order r.OrderID of
// bucket, synced to disk. When the order already has one that differs from r
// in model, window, refund window or outcome (status, publisher, offer,
// click, credit, touch time), that one goes to the head of the History; one
// that differs only in when it was decided (or in its explanation) is just
// replaced.
func (s *Store) PutAttribution(bucket string, r attribution.Result) error {
	if !validNames(bucket, "") || r.OrderID == "" {
		return errors.New("an attribution needs a bucket (without NUL) and an order id")
	}
	if !s.enter() {
		return ErrClosed
	}
	defer s.leave()
	s.orderMu.Lock()
	err := s.putAttribution(bucket, r)
	s.orderMu.Unlock()
	if err == nil {
		err = s.sync()
	}
	if err != nil {
		s.writeErrors.Add(1)
		return fmt.Errorf("storing attribution of order %q of bucket %s: %w", r.OrderID, bucket, err)
	}
	return nil
}

// putAttribution is PutAttribution under orderMu, without the sync.
func (s *Store) putAttribution(bucket string, r attribution.Result) error {
	return s.update(func(txn *badger.Txn) error {
		prev, err := getCurrent(txn, bucket, r.OrderID)
		if err != nil {
			return err
		}
		changes, err := nextChanges(bucket, prev, r)
		if err != nil {
			return err
		}
		for _, c := range changes {
			if err := c.apply(txn); err != nil {
				return err
			}
		}
		return nil
	})
}

// AttributeOrder decides the attribution of the stored order orderID of
// bucket under rules, as of now, from its visitor's clicks in that bucket,
// and stores it as PutAttribution does. Every click up to the order is
// read, so that the explanation lists the ones outside the window too.
//
// It reads the order itself, and reads, decides and stores under the lock
// that order writes and status changes take, so a decision is never made
// from a copy of the order older than the stored one: when a status change
// and a new view of the thank-you page race, the decision stored last is
// that of the latest order. ErrNotFound when there is no such order.
func (s *Store) AttributeOrder(bucket, orderID string, rules attribution.Rules, now time.Time) (attribution.Result, error) {
	if !validNames(bucket, "") || orderID == "" {
		return attribution.Result{}, errors.New("an attribution needs a bucket (without NUL) and an order id")
	}
	if !s.enter() {
		return attribution.Result{}, ErrClosed
	}
	defer s.leave()
	s.orderMu.Lock()
	res, err := s.attributeLocked(bucket, orderID, rules, now)
	s.orderMu.Unlock()
	if err == nil {
		err = s.sync()
	}
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			s.writeErrors.Add(1)
		}
		return attribution.Result{}, fmt.Errorf("attributing order %q of bucket %s: %w", orderID, bucket, err)
	}
	return res, nil
}

func (s *Store) attributeLocked(bucket, orderID string, rules attribution.Rules, now time.Time) (attribution.Result, error) {
	o, ok, err := s.GetOrder(bucket, orderID)
	if err != nil {
		return attribution.Result{}, err
	}
	if !ok {
		return attribution.Result{}, ErrNotFound
	}
	var touches []attribution.Touch
	if o.Visitor != "" {
		if touches, err = s.VisitorTouches(bucket, o.Visitor, time.Time{}, o.Time.Add(time.Second)); err != nil {
			return attribution.Result{}, err
		}
	}
	var rec *currentRecord
	err = s.db.View(func(txn *badger.Txn) (err error) {
		rec, err = getCurrent(txn, bucket, orderID)
		return err
	})
	if err != nil {
		return attribution.Result{}, err
	}
	res := attribution.Decide(o.ForAttribution(), withConsidered(touches, rec), rules, now)
	return res, s.putAttribution(bucket, res)
}

// withConsidered adds to touches, the clicks read from the visitor index,
// those the current decision rec considered that are no longer there: the
// clicks of an erased visitor (EraseVisitor keeps their ids in the
// attribution), or clicks past their bucket's retention. A status change
// inside the refund window is then decided with the clicks the order was
// credited to, so a refund still rejects it rather than making it organic.
func withConsidered(touches []attribution.Touch, rec *currentRecord) []attribution.Touch {
	if rec == nil {
		return touches
	}
	have := make(map[touchKey]bool, len(touches))
	for _, t := range touches {
		have[keyOfTouch(t)] = true
	}
	for _, c := range rec.Current.Why.Candidates {
		if !have[keyOfTouch(c.Touch)] {
			touches = append(touches, c.Touch)
		}
	}
	return touches
}

// touchKey tells apart the clicks of one visitor: what a click read from
// the index and the same click kept in a decision have in common.
type touchKey struct {
	at                                                  int64
	session, transactionID, offerID, publisherID, affID string
}

func keyOfTouch(t attribution.Touch) touchKey {
	return touchKey{t.Time.UnixNano(), t.Session, t.TransactionID, t.OfferID, t.PublisherID, t.AffID}
}

// mayHaveLostClicks reports whether clicks that count for order f (those
// of its attribution window) may have expired by now under the bucket's
// current retention.
func (s *Store) mayHaveLostClicks(bucket string, f *orderFacts, rules attribution.Rules, now time.Time) bool {
	if s.retention == nil {
		return false
	}
	ret := s.retention(bucket)
	if ret <= 0 {
		return false
	}
	window := rules.Window
	if window <= 0 {
		window = attribution.DefaultWindow
	}
	return !now.Before(f.Time.Add(ret - window))
}

// getCurrent reads the current record of an order; nil when there is none.
func getCurrent(txn *badger.Txn, bucket, orderID string) (*currentRecord, error) {
	item, err := txn.Get(attributionKey(bucket, orderID))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rec currentRecord
	if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &rec) }); err != nil {
		return nil, fmt.Errorf("decoding stored attribution: %w", err)
	}
	return &rec, nil
}

// A change is one key to set, or to delete when del.
type change struct {
	key, val []byte
	del      bool
}

func (c change) apply(txn *badger.Txn) error {
	if c.del {
		return txn.Delete(c.key)
	}
	return txn.Set(c.key, c.val)
}

func (c change) batch(wb *badger.WriteBatch) error {
	if c.del {
		return wb.Delete(c.key)
	}
	return wb.Set(c.key, c.val)
}

// nextChanges are the changes that make r the current decision of its order
// after prev (nil for none): the new current record and, when the decision
// changed, prev's decision as the next history entry, and the deletion of
// the entry that falls past MaxAttributionHistory.
func nextChanges(bucket string, prev *currentRecord, r attribution.Result) ([]change, error) {
	next := currentRecord{Bucket: bucket, OrderID: r.OrderID, Current: r}
	changes := make([]change, 0, 3)
	if prev != nil {
		next.Replaced = prev.Replaced
		if !sameDecision(prev.Current, r) {
			next.Replaced++
			old, err := json.Marshal(historyEntry(prev.Current))
			if err != nil {
				return nil, fmt.Errorf("encoding attribution: %w", err)
			}
			changes = append(changes, change{key: historyKey(bucket, r.OrderID, next.Replaced), val: old})
			if next.Replaced > MaxAttributionHistory {
				changes = append(changes, change{key: historyKey(bucket, r.OrderID, next.Replaced-MaxAttributionHistory), del: true})
			}
		}
	}
	val, err := json.Marshal(next)
	if err != nil {
		return nil, fmt.Errorf("encoding attribution: %w", err)
	}
	return append(changes, change{key: attributionKey(bucket, r.OrderID), val: val}), nil
}

// historyEntry is a replaced decision as History keeps it: whole but for
// the candidates of its explanation, which are the visitor's clicks again.
func historyEntry(r attribution.Result) attribution.Result {
	r.Why.Candidates = nil
	return r
}

// sameDecision reports whether a and b were decided under the same rules
// and came out the same.
func sameDecision(a, b attribution.Result) bool {
	return a.Model == b.Model && a.Window == b.Window && a.RefundWindow == b.RefundWindow &&
		a.Status == b.Status && a.PublisherID == b.PublisherID && a.AffID == b.AffID && a.OfferID == b.OfferID &&
		a.TransactionID == b.TransactionID && a.Credit == b.Credit && sameTime(a.TouchTime, b.TouchTime)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// GetAttribution returns the attribution of order orderID of bucket; ok is
// false when there is none.
func (s *Store) GetAttribution(bucket, orderID string) (rec AttributionRecord, ok bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		cur, err := getCurrent(txn, bucket, orderID)
		if err != nil || cur == nil {
			return err
		}
		ok = true
		h := newHistoryReader(txn, bucket)
		defer h.close()
		rec, err = h.record(cur)
		return err
	})
	if err != nil {
		return AttributionRecord{}, false, fmt.Errorf("reading attribution of order %q of bucket %s: %w", orderID, bucket, err)
	}
	return rec, ok, nil
}

// Attributions calls fn for the attribution of every order of bucket, in
// order id order, until fn returns an error, which Attributions returns as
// is. fn is called outside any read transaction, as Events does.
func (s *Store) Attributions(bucket string, fn func(AttributionRecord) error) error {
	prefix := attributionPrefix(bucket)
	return readPagedTxn(s, "reading attributions of "+bucket, prefix, prefix, func(txn *badger.Txn) (func(*badger.Item) (AttributionRecord, bool, bool, error), func()) {
		h := newHistoryReader(txn, bucket)
		return func(it *badger.Item) (AttributionRecord, bool, bool, error) {
			var cur currentRecord
			if err := it.Value(func(v []byte) error { return json.Unmarshal(v, &cur) }); err != nil {
				return AttributionRecord{}, false, false, fmt.Errorf("decoding attribution of order %q: %w", it.Key()[len(prefix):], err)
			}
			rec, err := h.record(&cur)
			return rec, err == nil, false, err
		}, h.close
	}, fn)
}

// historyReader reads the history entries of a bucket's orders, newest
// first, with one reverse iterator that seeks to each order.
type historyReader struct {
	it     *badger.Iterator
	bucket string
}

func newHistoryReader(txn *badger.Txn, bucket string) *historyReader {
	opts := badger.DefaultIteratorOptions
	opts.Reverse = true
	opts.Prefix = []byte("h/" + bucket + "\x00")
	return &historyReader{it: txn.NewIterator(opts), bucket: bucket}
}

func (h *historyReader) close() { h.it.Close() }

// record is cur with its History.
func (h *historyReader) record(cur *currentRecord) (AttributionRecord, error) {
	rec := AttributionRecord{Bucket: cur.Bucket, OrderID: cur.OrderID, Current: cur.Current}
	prefix := historyPrefix(h.bucket, cur.OrderID)
	for h.it.Seek(historyKey(h.bucket, cur.OrderID, ^uint64(0))); h.it.ValidForPrefix(prefix); h.it.Next() {
		if len(h.it.Item().Key()) != len(prefix)+8 {
			continue // an entry of an order whose id extends this one with a NUL
		}
		var r attribution.Result
		if err := h.it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &r) }); err != nil {
			return rec, fmt.Errorf("decoding attribution history of order %q: %w", cur.OrderID, err)
		}
		rec.History = append(rec.History, r)
		if len(rec.History) == MaxAttributionHistory {
			break
		}
	}
	return rec, nil
}

// prefixIter iterates the keys under one prefix, in key order.
type prefixIter struct {
	it     *badger.Iterator
	prefix []byte
}

func newPrefixIter(txn *badger.Txn, prefix []byte) *prefixIter {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	p := &prefixIter{it: txn.NewIterator(opts), prefix: prefix}
	p.it.Seek(prefix)
	return p
}

func (p *prefixIter) valid() bool { return p.it.ValidForPrefix(p.prefix) }
func (p *prefixIter) next()       { p.it.Next() }
func (p *prefixIter) close()      { p.it.Close() }

// id is the part of the current key after the prefix: an order id.
func (p *prefixIter) id() []byte { return p.it.Item().Key()[len(p.prefix):] }

// valueAt moves p forward to the key prefix+id and returns a copy of its
// value; nil when there is no such key. Successive calls must ask for ids in
// increasing order.
func (p *prefixIter) valueAt(id []byte) ([]byte, error) {
	for p.valid() && bytes.Compare(p.id(), id) < 0 {
		p.next()
	}
	if !p.valid() || !bytes.Equal(p.id(), id) {
		return nil, nil
	}
	return p.it.Item().ValueCopy(nil)
}

// Reattribute decides every order of bucket again under rules, as of now,
// and stores the results; a decision that changes goes to the order's
// History (see PutAttribution). It returns how many orders it decided.
//
// It reads the store in sequential scans rather than one lookup per order:
// one pass over the bucket's per-visitor index gathers every visitor's
// clicks in memory (bucketClicks), then one pass over the bucket's orders,
// side by side with their current attributions, decides each and writes
// the results in batches, synced once at the end. Decoding and deciding
// run on other goroutines than the order scan. Order
// writes and status changes wait for the second pass, so none of them is
// overwritten by a result decided from an older copy; and the orders
// placed during the first pass are decided with their visitor's clicks
// read again (clickSnapshot), not with the first pass's older copy.
func (s *Store) Reattribute(bucket string, rules attribution.Rules, now time.Time) (n int, err error) {
	return s.reattribute(bucket, rules, now, false)
}

// reattribute is Reattribute; with dry it reads and decides but neither
// encodes nor writes the results, which lets the benchmark time the
// reading (and deciding) alone.
func (s *Store) reattribute(bucket string, rules attribution.Rules, now time.Time, dry bool) (n int, err error) {
	if !validNames(bucket, "") {
		return 0, errBadName
	}
	if err := s.roomToWrite(); err != nil && !dry {
		return 0, fmt.Errorf("re-attributing %s: %w", bucket, err)
	}
	if !s.enter() {
		return 0, ErrClosed
	}
	defer s.leave()
	clicks := &clickSnapshot{s: s, bucket: bucket, recent: time.Now().Add(-clickSettle)}
	clicks.touches, err = s.bucketClicks(bucket)
	if err != nil {
		return 0, fmt.Errorf("re-attributing %s: %w", bucket, err)
	}
	if afterClickPass != nil {
		afterClickPass()
	}
	s.orderMu.Lock()
	n, err = s.redecide(bucket, clicks, rules, now, dry)
	s.orderMu.Unlock()
	if err == nil && !dry {
		err = s.sync()
	}
	if err != nil {
		s.writeErrors.Add(1)
		return 0, fmt.Errorf("re-attributing %s: %w", bucket, err)
	}
	return n, nil
}

// afterClickPass, when set (by tests), runs between Reattribute's two
// passes: where a live capture can slip in.
var afterClickPass func()

// clickSettle bounds how long after its time a click may reach the store:
// the writer's queue and linger take milliseconds, a stalled disk seconds.
const clickSettle = 10 * time.Minute

// clickSnapshot is the clicks Reattribute decides with: every visitor's,
// read in one pass before the order lock is taken (bucketClicks). A click
// that reaches the store during that pass may be missing from it, and an
// order placed meanwhile may already have been decided with that click by
// AttributeOrder; so the orders placed since recent (when the pass began,
// less clickSettle) are decided with their visitor's clicks read again,
// under the lock, rather than with an older copy.
type clickSnapshot struct {
	s       *Store
	bucket  string
	recent  time.Time
	touches map[string][]attribution.Touch
}

// of returns the clicks to decide order f with.
func (c *clickSnapshot) of(f *orderFacts) ([]attribution.Touch, error) {
	if f.Visitor == "" || f.Time.Before(c.recent) {
		return c.touches[f.Visitor], nil
	}
	return c.s.VisitorTouches(c.bucket, f.Visitor, time.Time{}, time.Time{})
}

// chunkSize is how many values the scans of Reattribute hand over at once.
const chunkSize = 256

// pipe lets the goroutines of a pass stop each other: the first failure is
// kept and closes quit.
type pipe struct {
	quit chan struct{}
	once sync.Once
	err  error
}

func newPipe() *pipe { return &pipe{quit: make(chan struct{})} }

// failed reports whether the pass has failed.
func (p *pipe) failed() bool {
	select {
	case <-p.quit:
		return true
	default:
		return false
	}
}

func (p *pipe) fail(err error) {
	p.once.Do(func() {
		p.err = err
		close(p.quit)
	})
}

// send sends v on ch unless the pass has failed; it reports whether it did.
func send[T any](p *pipe, ch chan<- T, v T) bool {
	select {
	case ch <- v:
		return true
	case <-p.quit:
		return false
	}
}

// bucketClicks reads the clicks of bucket, as Touches per visitor in time
// order, in one pass over the bucket's per-visitor index: it holds each
// visitor's events together, in time order, and the clicks' touches in its
// values (index.go), so no event is read or decoded. Entries written
// before index values are looked up in the event log.
func (s *Store) bucketClicks(bucket string) (map[string][]attribution.Touch, error) {
	prefix := visitorsPrefix(bucket)
	ep := eventPrefix(bucket)
	touches := make(map[string][]attribution.Touch)
	var visitor string             // the visitor whose entries are being read
	var clicks []attribution.Touch // and their touches so far
	err := s.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix, opts.PrefetchValues = prefix, false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(prefix); it.Valid(); it.Next() {
			item := it.Item()
			k := item.Key()
			if len(k) < len(prefix)+1+suffixLen {
				continue // not an index entry; see scan
			}
			if name := k[len(prefix) : len(k)-suffixLen-1]; string(name) != visitor {
				if len(clicks) > 0 {
					touches[visitor] = clicks
				}
				visitor, clicks = string(name), nil
			}
			if err := appendTouch(txn, ep, item, &clicks); err != nil {
				return fmt.Errorf("visitor %s: %w", visitor, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading clicks: %w", err)
	}
	if len(clicks) > 0 {
		touches[visitor] = clicks
	}
	return touches, nil
}

// errStopped ends a scan whose pass failed elsewhere; that failure is the
// one reported.
var errStopped = errors.New("stopped")

// orderFacts is the part of a stored Order that attribution needs.
type orderFacts struct {
	ID         string         `json:"order_id"`
	Total      *float64       `json:"total"`
	Time       time.Time      `json:"time"`
	Visitor    string         `json:"visitor"`
	Status     string         `json:"status"`
	StatusTime time.Time      `json:"status_time"`
	History    []StatusChange `json:"status_history"`
	Printed    string         `json:"order_status"` // the status its page printed
}

func (f *orderFacts) order() attribution.Order {
	o := attribution.Order{
		ID: f.ID, Time: f.Time, Visitor: f.Visitor, Total: f.Total,
		Status: f.Status, StatusTime: f.StatusTime, PrintedStatus: f.Printed,
	}
	o.ReversedAt, o.ReversedAs = reversedSince(f.History)
	return o
}

// orderJob is an order to decide: its stored value and that of its current
// attribution (nil for none).
type orderJob struct {
	order, current []byte
}

// redecide decides the orders of bucket with the visitors' touches and
// writes the results in a WriteBatch (unless dry). One goroutine scans the
// orders and their current attributions side by side (both are keyed by
// order id under their prefix, so both iterate in the same order), workers
// decode, decide and encode, and this goroutine writes.
func (s *Store) redecide(bucket string, clicks *clickSnapshot, rules attribution.Rules, now time.Time, dry bool) (n int, err error) {
	p := newPipe()
	jobs := make(chan []orderJob, 4)
	results := make(chan decided, 4)
	go func() {
		defer close(jobs)
		if err := s.scanOrders(p, bucket, jobs); err != nil {
			p.fail(err)
		}
	}()
	var workers sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		workers.Go(func() {
			for chunk := range jobs {
				if p.failed() {
					continue // drain jobs so that the scan ends
				}
				changes, err := decideChunk(bucket, chunk, clicks, rules, now, dry)
				if err != nil {
					p.fail(err)
					continue
				}
				send(p, results, decided{orders: len(chunk), changes: changes})
			}
		})
	}
	go func() {
		workers.Wait()
		close(results)
	}()
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for d := range results {
		n += d.orders
		for _, c := range d.changes {
			if dry || p.failed() {
				break
			}
			if err := s.roomToWrite(); err != nil { // a large bucket writes for a while
				p.fail(err)
				break
			}
			if err := c.batch(wb); err != nil {
				p.fail(err)
			}
		}
	}
	if p.fail(nil); p.err != nil {
		return 0, p.err
	}
	if !dry {
		err = wb.Flush()
	}
	return n, err
}

// scanOrders sends the orders of bucket and their current attributions, in
// chunks.
func (s *Store) scanOrders(p *pipe, bucket string, jobs chan<- []orderJob) error {
	return s.db.View(func(txn *badger.Txn) error {
		orders := newPrefixIter(txn, orderPrefix(bucket))
		defer orders.close()
		attrs := newPrefixIter(txn, attributionPrefix(bucket))
		defer attrs.close()
		var chunk []orderJob
		for ; orders.valid(); orders.next() {
			order, err := orders.it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			current, err := attrs.valueAt(orders.id())
			if err != nil {
				return err
			}
			chunk = append(chunk, orderJob{order: order, current: current})
			if len(chunk) == chunkSize {
				if !send(p, jobs, chunk) {
					return errStopped
				}
				chunk = nil
			}
		}
		if len(chunk) > 0 && !send(p, jobs, chunk) {
			return errStopped
		}
		return nil
	})
}

// currentHead decodes a currentRecord but for the candidates of its
// explanation, which a replaced decision does not keep (historyEntry):
// the outer Why hides Result's, and the candidates are kept raw, to be
// decoded (considered) only for the orders that need them.
type currentHead struct {
	Bucket   string `json:"bucket"`
	OrderID  string `json:"order_id"`
	Replaced uint64 `json:"replaced"`
	Current  struct {
		attribution.Result
		Why struct {
			Rule       string          `json:"rule"`
			Candidates json.RawMessage `json:"candidates"`
		} `json:"why"`
	} `json:"current"`
}

// considered decodes the clicks the decision considered, as a record
// withConsidered takes.
func (h *currentHead) considered() (*currentRecord, error) {
	var rec currentRecord
	if len(h.Current.Why.Candidates) > 0 {
		if err := json.Unmarshal(h.Current.Why.Candidates, &rec.Current.Why.Candidates); err != nil {
			return nil, err
		}
	}
	return &rec, nil
}

func (h *currentHead) record() *currentRecord {
	r := h.Current.Result
	r.Why.Rule = h.Current.Why.Rule
	return &currentRecord{Bucket: h.Bucket, OrderID: h.OrderID, Replaced: h.Replaced, Current: r}
}

// decided is a chunk of decided orders: how many, and the changes that
// store their results.
type decided struct {
	orders  int
	changes []change
}

// decideChunk decides the orders of chunk and returns the changes that
// store the results.
func decideChunk(bucket string, chunk []orderJob, clicks *clickSnapshot, rules attribution.Rules, now time.Time, dry bool) ([]change, error) {
	out := make([]change, 0, len(chunk)*2)
	for _, j := range chunk {
		var f orderFacts
		if err := json.Unmarshal(j.order, &f); err != nil {
			return nil, fmt.Errorf("decoding an order: %w", err)
		}
		var prev *currentRecord
		var head currentHead
		if j.current != nil {
			if err := json.Unmarshal(j.current, &head); err != nil {
				return nil, fmt.Errorf("decoding the attribution of order %q: %w", f.ID, err)
			}
			prev = head.record()
		}
		touches, err := clicks.of(&f)
		if err != nil {
			return nil, fmt.Errorf("reading the clicks of order %q: %w", f.ID, err)
		}
		// The clicks the decision considered are decoded (it costs: Reattribute
		// ran half as fast when every order's were) for the orders that
		// may have lost some: whose visitor was erased; that credit a
		// click, which may have expired since (its retention was set when
		// it was written, so today's retention cannot tell); or whose
		// window's clicks may have expired under today's retention (an
		// organic order whose click a wider window would now credit).
		if prev != nil && (f.Visitor == "" || prev.Current.TransactionID != "" || prev.Current.Affiliate() != "" ||
			clicks.s.mayHaveLostClicks(bucket, &f, rules, now)) {
			rec, err := head.considered()
			if err != nil {
				return nil, fmt.Errorf("decoding the attribution of order %q: %w", f.ID, err)
			}
			touches = withConsidered(touches, rec)
		}
		res := attribution.Decide(f.order(), touches, rules, now)
		if dry {
			continue
		}
		changes, err := nextChanges(bucket, prev, res)
		if err != nil {
			return nil, err
		}
		out = append(out, changes...)
	}
	return out, nil
}
