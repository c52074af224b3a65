package storage

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/storeedge/caddy-katalys/capture"
)

func order(bucket, id string, total float64) Order {
	return Order{Bucket: bucket, Order: capture.Order{ID: id, Total: capture.Money(total), Source: "ga4"}}
}

func orderIDs(t *testing.T, s *Store, bucket string) []string {
	t.Helper()
	var ids []string
	if err := s.Orders(bucket, func(o Order) error { ids = append(ids, o.ID); return nil }); err != nil {
		t.Fatalf("Orders: %v", err)
	}
	return ids
}

func TestPutOrderIdempotentAndFillsGaps(t *testing.T) {
	s := openTest(t, Options{})
	first := order("KA-1", "000004926", 1937.80)
	first.Visitor = "v1"
	first.Time = base
	if _, created, err := s.PutOrder(first); err != nil || !created {
		t.Fatalf("first PutOrder: created %v, err %v", created, err)
	}
	// A reload: the page now lacks the total (one-shot tracking) but shows
	// the email; the visitor cookie is the same.
	again := Order{Bucket: "KA-1", Time: base.Add(time.Minute), Order: capture.Order{ID: "000004926", Email: "j@example.org", Source: "markup/magento", Total: capture.Money(1)}}
	got, created, err := s.PutOrder(again)
	if err != nil || created {
		t.Fatalf("second PutOrder: created %v, err %v", created, err)
	}
	if *got.Total != 1937.80 || got.Email != "j@example.org" || got.Visitor != "v1" || !got.Time.Equal(base) || got.Source != "ga4" {
		t.Errorf("merged order = total %v email %q visitor %q time %v source %q", *got.Total, got.Email, got.Visitor, got.Time, got.Source)
	}
	stored, ok, err := s.GetOrder("KA-1", "000004926")
	if err != nil || !ok || stored.Email != "j@example.org" || *stored.Total != 1937.80 {
		t.Fatalf("GetOrder = %+v, %v, %v", stored, ok, err)
	}
	if ids := orderIDs(t, s, "KA-1"); !slices.Equal(ids, []string{"000004926"}) {
		t.Errorf("orders = %q, want one", ids)
	}
}

func TestOrdersPerBucket(t *testing.T) {
	s := openTest(t, Options{})
	for _, o := range []Order{order("KA-1", "7", 10), order("KA-10", "7", 20), order("KA-1", "8", 30)} {
		if _, _, err := s.PutOrder(o); err != nil {
			t.Fatal(err)
		}
	}
	if ids := orderIDs(t, s, "KA-1"); !slices.Equal(ids, []string{"7", "8"}) {
		t.Errorf("KA-1 orders = %q", ids)
	}
	if ids := orderIDs(t, s, "KA-10"); !slices.Equal(ids, []string{"7"}) {
		t.Errorf("KA-10 orders = %q", ids)
	}
	o, _, _ := s.GetOrder("KA-10", "7")
	if *o.Total != 20 {
		t.Errorf("KA-10 order 7 total = %v, want its own 20", *o.Total)
	}
	if _, _, err := s.PutOrder(order("", "9", 1)); err == nil {
		t.Error("PutOrder without a bucket: no error")
	}
	if _, _, err := s.PutOrder(order("KA-1", "", 1)); err == nil {
		t.Error("PutOrder without an id: no error")
	}
}

func TestPutOrderConcurrentSameID(t *testing.T) {
	s := openTest(t, Options{})
	var wg sync.WaitGroup
	created := make(chan bool, 16)
	for range 16 {
		wg.Go(func() {
			_, c, err := s.PutOrder(order("KA-1", "dup", 5))
			if err != nil {
				t.Errorf("PutOrder: %v", err)
			}
			created <- c
		})
	}
	wg.Wait()
	close(created)
	n := 0
	for c := range created {
		if c {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d PutOrder calls reported a new order, want exactly 1", n)
	}
}

func TestOrdersSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutOrder(order("KA-1", "kept", 12.5)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutOrder(order("KA-1", "late", 1)); err == nil {
		t.Error("PutOrder after Close: no error")
	}
	s = openTest(t, Options{Dir: dir})
	if ids := orderIDs(t, s, "KA-1"); !slices.Equal(ids, []string{"kept"}) {
		t.Errorf("after reopen: orders %q", ids)
	}
}
