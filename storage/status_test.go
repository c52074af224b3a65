package storage

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storeedge/caddy-katalys/capture"
)

func statuses(o Order) []string {
	out := make([]string, len(o.StatusHistory))
	for i, c := range o.StatusHistory {
		out[i] = c.Status + "@" + c.Time.Sub(base).String()
	}
	return out
}

func TestSetOrderStatus(t *testing.T) {
	s := openTest(t, Options{})
	for _, b := range []string{"KA-1", "KA-10"} {
		o := order(b, "7", 10)
		o.Time = base
		if _, _, err := s.PutOrder(o); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		status  string
		at      time.Duration
		history []string
	}{
		{"pending", 0, []string{"pending@0s"}},
		{"paid", time.Hour, []string{"pending@0s", "paid@1h0m0s"}},
		{"paid", 2 * time.Hour, []string{"pending@0s", "paid@1h0m0s"}}, // a repeat changes nothing
		{"refunded", 3 * time.Hour, []string{"pending@0s", "paid@1h0m0s", "refunded@3h0m0s"}},
	}
	for _, st := range steps {
		got, err := s.SetOrderStatus("KA-1", "7", st.status, base.Add(st.at))
		if err != nil {
			t.Fatalf("SetOrderStatus(%s): %v", st.status, err)
		}
		if h := statuses(got); !slices.Equal(h, st.history) || got.Status != st.status {
			t.Errorf("after %s: status %q, history %q, want %q", st.status, got.Status, h, st.history)
		}
	}
	stored, _, err := s.GetOrder("KA-1", "7")
	if err != nil || stored.Status != "refunded" || !stored.StatusTime.Equal(base.Add(3*time.Hour)) || len(stored.StatusHistory) != 3 || *stored.Total != 10 {
		t.Errorf("stored = %+v, %v", stored, err)
	}
	// A reload of the thank-you page keeps the status.
	again := order("KA-1", "7", 10)
	again.Email = "j@example.org"
	if got, _, err := s.PutOrder(again); err != nil || got.Status != "refunded" || len(got.StatusHistory) != 3 {
		t.Errorf("PutOrder after a status: %q %q, %v", got.Status, statuses(got), err)
	}
	if other, _, _ := s.GetOrder("KA-10", "7"); other.Status != "" || other.StatusHistory != nil {
		t.Errorf("KA-10 order 7 = %q %q", other.Status, statuses(other))
	}
}

func TestSetOrderStatusErrors(t *testing.T) {
	s := openTest(t, Options{})
	if _, _, err := s.PutOrder(Order{Bucket: "KA-1", Order: capture.Order{ID: "7"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, bucket, id, status string
		notFound                 bool
		mention                  string
	}{
		{"unknown status", "KA-1", "7", "shipped", false, "pending, paid, fulfilled, refunded, cancelled, rejected"},
		{"empty status", "KA-1", "7", "", false, `unknown order status ""`},
		{"wrong case", "KA-1", "7", "Paid", false, "unknown order status"},
		{"no such order", "KA-1", "8", "paid", true, `"8"`},
		{"order of another bucket", "KA-10", "7", "paid", true, "KA-10"},
		{"no bucket", "", "7", "paid", false, "bucket"},
		{"no id", "KA-1", "", "paid", false, "order id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.SetOrderStatus(tt.bucket, tt.id, tt.status, base)
			if err == nil {
				t.Fatal("accepted")
			}
			if errors.Is(err, ErrNotFound) != tt.notFound || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("error %q: not found %v, want %v, mentioning %q", err, errors.Is(err, ErrNotFound), tt.notFound, tt.mention)
			}
		})
	}
	if o, _, _ := s.GetOrder("KA-1", "7"); o.Status != "" {
		t.Errorf("status after errors = %q", o.Status)
	}
}

func TestSetOrderStatusDefaultsToNow(t *testing.T) {
	s := openTest(t, Options{})
	if _, _, err := s.PutOrder(Order{Bucket: "KA-1", Order: capture.Order{ID: "7"}}); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	o, err := s.SetOrderStatus("KA-1", "7", "cancelled", time.Time{})
	if err != nil || o.StatusTime.Before(before) || o.StatusTime.After(time.Now()) {
		t.Errorf("status time %v (not in [%v, now]), %v", o.StatusTime, before, err)
	}
}

func TestSetOrderStatusHistoryBounded(t *testing.T) {
	s := openTest(t, Options{})
	if _, _, err := s.PutOrder(Order{Bucket: "KA-1", Order: capture.Order{ID: "7"}}); err != nil {
		t.Fatal(err)
	}
	var o Order
	var err error
	for i := range maxStatusHistory + 3 {
		status := []string{"pending", "paid"}[i%2]
		if o, err = s.SetOrderStatus("KA-1", "7", status, base.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if len(o.StatusHistory) != maxStatusHistory || !o.StatusHistory[0].Time.Equal(base.Add(3*time.Minute)) {
		t.Errorf("history of %d from %v", len(o.StatusHistory), o.StatusHistory[0].Time)
	}
}
