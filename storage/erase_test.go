package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/storeedge/caddy-katalys/attribution"
	"github.com/storeedge/caddy-katalys/capture"
)

// indexEntries counts the per-visitor index entries of visitor in bucket,
// reading Badger directly.
func indexEntries(t *testing.T, s *Store, bucket, visitor string) int {
	t.Helper()
	n := 0
	if err := s.db.View(func(txn *badger.Txn) error {
		n = countKeys(txn, visitorPrefix(bucket, visitor), 0)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEraseVisitor(t *testing.T) {
	s := openTest(t, Options{})
	write(t, s,
		ev("KA-1", "v1", "a", base),
		click("KA-1", "v1", "b", base.Add(time.Minute)),
		ev("KA-1", "v2", "c", base.Add(2*time.Minute)),
		ev("KA-1", "", "d", base.Add(3*time.Minute)),
		ev("KA-10", "v1", "e", base.Add(4*time.Minute)),
		ev("KA-1", "v1x", "f", base.Add(5*time.Minute)), // a visitor id that extends v1
		ev("KA-1", "v1", "g", base.Add(6*time.Minute)),
	)
	for _, o := range []Order{
		{Bucket: "KA-1", Order: capture.Order{ID: "7", Email: "a@example.org"}, Visitor: "v1", Session: "s1"},
		{Bucket: "KA-1", Order: capture.Order{ID: "8"}, Visitor: "v2"},
		{Bucket: "KA-10", Order: capture.Order{ID: "7"}, Visitor: "v1"},
	} {
		if _, _, err := s.PutOrder(o); err != nil {
			t.Fatal(err)
		}
	}
	att := attribution.Result{OrderID: "7", Status: attribution.Approved, PublisherID: "P", TransactionID: "T",
		Why: attribution.Why{Candidates: []attribution.Candidate{{Touch: attribution.Touch{TransactionID: "T", Session: "s1"}, Chosen: true}}}}
	if err := s.PutAttribution("KA-1", att); err != nil {
		t.Fatal(err)
	}
	n, err := s.EraseVisitor("KA-1", "v1")
	if err != nil || n != 3 {
		t.Fatalf("EraseVisitor = %d, %v; want 3", n, err)
	}
	if got := ids(events(t, s, "KA-1")); !slices.Equal(got, []string{"c", "d", "f"}) {
		t.Errorf("KA-1 events = %q", got)
	}
	if got := ids(events(t, s, "KA-10")); !slices.Equal(got, []string{"e"}) {
		t.Errorf("KA-10 events = %q", got)
	}
	for _, c := range []struct {
		bucket, visitor string
		want            int
	}{{"KA-1", "v1", 0}, {"KA-1", "v2", 1}, {"KA-1", "v1x", 1}, {"KA-10", "v1", 1}} {
		if got := indexEntries(t, s, c.bucket, c.visitor); got != c.want {
			t.Errorf("index entries of %s in %s = %d, want %d", c.visitor, c.bucket, got, c.want)
		}
	}
	if ts, err := s.VisitorTouches("KA-1", "v1", time.Time{}, time.Time{}); err != nil || len(ts) != 0 {
		t.Errorf("touches after erasure = %v, %v", ts, err)
	}
	checkOrder := func(bucket, id, visitor string) {
		t.Helper()
		o, ok, err := s.GetOrder(bucket, id)
		if err != nil || !ok || o.Visitor != visitor {
			t.Errorf("order %s/%s: visitor %q, want %q (%v, %v)", bucket, id, o.Visitor, visitor, ok, err)
		}
	}
	checkOrder("KA-1", "7", "")
	checkOrder("KA-1", "8", "v2")
	checkOrder("KA-10", "7", "v1")
	if o, _, _ := s.GetOrder("KA-1", "7"); o.Email != "a@example.org" || o.Session != "" {
		t.Errorf("erased order: email %q session %q; want its data without the session", o.Email, o.Session)
	}
	rec, ok, err := s.GetAttribution("KA-1", "7")
	if err != nil || !ok || rec.Current.TransactionID != "T" || rec.Current.Why.Candidates[0].Session != "" {
		t.Errorf("attribution after erasure = %+v, %v, %v; want the click kept, its session gone", rec.Current, ok, err)
	}
	// Again: nothing left to erase.
	if n, err := s.EraseVisitor("KA-1", "v1"); n != 0 || err != nil {
		t.Errorf("second EraseVisitor = %d, %v", n, err)
	}
	for _, name := range [][2]string{{"", "v1"}, {"KA-1", ""}, {"KA-1", "v\x001"}} {
		if _, err := s.EraseVisitor(name[0], name[1]); err == nil {
			t.Errorf("EraseVisitor(%q, %q) accepted", name[0], name[1])
		}
	}
}

// An order whose other fields happen to hold the visitor id is left alone.
func TestEraseVisitorMatchesTheVisitorOnly(t *testing.T) {
	s := openTest(t, Options{})
	o := Order{Bucket: "KA-1", Order: capture.Order{ID: "7"}, Visitor: "v2", Session: "v1", URL: `"visitor":"v1"`}
	if _, _, err := s.PutOrder(o); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EraseVisitor("KA-1", "v1"); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.GetOrder("KA-1", "7"); got.Visitor != "v2" || got.Session != "v1" {
		t.Errorf("order = visitor %q session %q", got.Visitor, got.Session)
	}
}

func TestBucketCounts(t *testing.T) {
	s := openTest(t, Options{})
	write(t, s,
		ev("KA-1", "v1", "a", base), ev("KA-1", "", "b", base), ev("KA-1", "v2", "c", base),
		ev("KA-10", "v1", "d", base),
	)
	for _, id := range []string{"1", "2"} {
		if _, _, err := s.PutOrder(order("KA-1", id, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutAttribution("KA-1", attribution.Result{OrderID: "1"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		bucket         string
		events, orders int
	}{{"KA-1", 3, 2}, {"KA-10", 1, 0}, {"KA-2", 0, 0}}
	for _, tt := range tests {
		events, orders, err := s.BucketCounts(tt.bucket)
		if err != nil || events != tt.events || orders != tt.orders {
			t.Errorf("BucketCounts(%s) = %d, %d, %v; want %d, %d", tt.bucket, events, orders, err, tt.events, tt.orders)
		}
	}
	if _, _, err := s.BucketCounts(""); err == nil {
		t.Error("BucketCounts(\"\") accepted")
	}
}

func TestClosedStoreRefusesWrites(t *testing.T) {
	s := openTest(t, Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"PutAttribution": s.PutAttribution("KA-1", attribution.Result{OrderID: "1"}),
		"SetOrderStatus": second(s.SetOrderStatus("KA-1", "1", "paid", base)),
		"Reattribute":    second(s.Reattribute("KA-1", attribution.Rules{}, base)),
		"EraseVisitor":   second(s.EraseVisitor("KA-1", "v1")),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// TestBuckets lists the buckets that hold events or orders, once each,
// whatever they hold, and not a bucket whose name extends another's.
func TestBuckets(t *testing.T) {
	s := openTest(t, Options{})
	if got, err := s.Buckets(); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %q, %v", got, err)
	}
	var evs []Event
	for i := range 5 {
		evs = append(evs, Event{Bucket: "KA-1", Type: "pageview", Visitor: fmt.Sprintf("v%d", i)},
			Event{Bucket: "shop.example.com", Type: "pageview"})
	}
	if err := s.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	putOrders(t, s, order("KA-10", "1", 5), order("KA-1", "2", 5))
	want := []string{"KA-1", "KA-10", "shop.example.com"}
	if got, err := s.Buckets(); err != nil || !slices.Equal(got, want) {
		t.Errorf("Buckets = %q, %v; want %q", got, err, want)
	}
}
