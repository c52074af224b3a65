package storage

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/storeedge/caddy-katalys/attribution"
)

// smallPages makes readPaged read 3 entries per transaction for the test.
func smallPages(t *testing.T) {
	old := pageSize
	pageSize = 3
	t.Cleanup(func() { pageSize = old })
}

// TestEventsInPages: Events reads in pages of its own transactions and
// gives the same events, in order, whatever the page boundaries; fn runs
// between transactions, so an event it writes into a later page is seen.
func TestEventsInPages(t *testing.T) {
	smallPages(t)
	s := openTest(t, Options{})
	for i := range 10 {
		write(t, s, ev("KA-1", "v1", fmt.Sprint(i), base.Add(time.Duration(i)*time.Minute)))
	}
	write(t, s, ev("KA-10", "v1", "other-bucket", base))
	ids := func(from, to time.Time, fn func(Event) error) []string {
		t.Helper()
		var got []string
		err := s.Events("KA-1", from, to, func(e Event) error {
			got = append(got, e.Fields["id"])
			if fn != nil {
				return fn(e)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := ids(time.Time{}, time.Time{}, nil); !slices.Equal(got, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}) {
		t.Errorf("all events = %q", got)
	}
	if got := ids(base.Add(2*time.Minute), base.Add(8*time.Minute), nil); !slices.Equal(got, []string{"2", "3", "4", "5", "6", "7"}) {
		t.Errorf("events in [2, 8) = %q", got)
	}
	late := false
	got := ids(time.Time{}, time.Time{}, func(e Event) error {
		if e.Fields["id"] == "0" && !late {
			late = true
			write(t, s, ev("KA-1", "v1", "late", base.Add(time.Hour)))
		}
		return nil
	})
	if got[len(got)-1] != "late" {
		t.Errorf("an event written by fn during the first page was not seen on a later one: %q", got)
	}
	stop := errors.New("enough")
	n := 0
	err := s.Events("KA-1", time.Time{}, time.Time{}, func(Event) error {
		if n++; n == 5 {
			return stop
		}
		return nil
	})
	if err != stop || n != 5 {
		t.Errorf("Events = %v after %d events, want fn's error as is after 5", err, n)
	}
}

func TestOrdersInPages(t *testing.T) {
	smallPages(t)
	s := openTest(t, Options{})
	var want []string
	for i := range 8 {
		id := fmt.Sprintf("%04d", i)
		putOrders(t, s, order("KA-1", id, 10))
		want = append(want, id)
	}
	putOrders(t, s, order("KA-10", "other-bucket", 10))
	if got := orderIDs(t, s, "KA-1"); !slices.Equal(got, want) {
		t.Errorf("orders = %q, want %q", got, want)
	}
	stop := errors.New("enough")
	if err := s.Orders("KA-1", func(Order) error { return stop }); err != stop {
		t.Errorf("Orders = %v, want fn's error as is", err)
	}
}

// TestAttributionsInPages: each order keeps its history when the listing
// is read in pages.
func TestAttributionsInPages(t *testing.T) {
	smallPages(t)
	s := openTest(t, Options{})
	var want []string
	for i := range 7 {
		id := fmt.Sprintf("%04d", i)
		want = append(want, id)
		for _, st := range []attribution.Status{attribution.Organic, attribution.Approved, attribution.Rejected}[:1+i%3] {
			if err := s.PutAttribution("KA-1", attribution.Result{OrderID: id, Status: st}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var got []string
	err := s.Attributions("KA-1", func(rec AttributionRecord) error {
		got = append(got, rec.OrderID)
		i, _ := strconv.Atoi(rec.OrderID)
		if len(rec.History) != i%3 {
			t.Errorf("order %s: %d decisions in history, want %d", rec.OrderID, len(rec.History), i%3)
		}
		return nil
	})
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Attributions = %q, %v; want %q", got, err, want)
	}
}
