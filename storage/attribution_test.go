package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/storeedge/caddy-katalys/attribution"
	"github.com/storeedge/caddy-katalys/capture"
)

// click is a click event of visitor in bucket at `at`, whose transaction id
// names it.
func click(bucket, visitor, txid string, at time.Time) Event {
	return Event{
		Bucket: bucket, Type: "click", Visitor: visitor, Session: "s-" + txid, Time: at,
		Fields: map[string]string{"transaction_id": txid, "offer_id": "7", "publisher_id": "pub-" + txid, "sub1": "a"},
	}
}

func txids(ts []attribution.Touch) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.TransactionID
	}
	return out
}

func TestVisitorTouches(t *testing.T) {
	s := openTest(t, Options{})
	write(t, s,
		click("KA-1", "v1", "c1", base),
		ev("KA-1", "v1", "pv1", base.Add(time.Minute)),
		click("KA-1", "v1", "c2", base.Add(2*time.Minute)),
		click("KA-1", "v2", "other-visitor", base.Add(3*time.Minute)),
		click("KA-10", "v1", "other-bucket", base.Add(4*time.Minute)),
		click("KA-1", "v1", "c3", base.Add(5*time.Minute)),
		// A custom event whose own fields say "type":"click" is no click.
		Event{Bucket: "KA-1", Type: "addtocart", Visitor: "v1", Time: base.Add(6 * time.Minute), Fields: map[string]string{"type": "click", "transaction_id": "fake"}},
	)
	tests := []struct {
		name     string
		from, to time.Time
		want     []string
	}{
		{"all", time.Time{}, time.Time{}, []string{"c1", "c2", "c3"}},
		{"both ends included", base, base.Add(5 * time.Minute), []string{"c1", "c2", "c3"}},
		{"inner", base.Add(time.Nanosecond), base.Add(5*time.Minute - time.Nanosecond), []string{"c2"}},
		{"open end", base.Add(2 * time.Minute), time.Time{}, []string{"c2", "c3"}},
		{"nothing", base.Add(time.Hour), time.Time{}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.VisitorTouches("KA-1", "v1", tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if ids := txids(got); !slices.Equal(ids, tt.want) {
				t.Errorf("touches = %q, want %q", ids, tt.want)
			}
		})
	}
	got, err := s.VisitorTouches("KA-1", "v1", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := attribution.Touch{Time: base, TransactionID: "c1", OfferID: "7", PublisherID: "pub-c1", Session: "s-c1",
		Subs: map[string]string{"sub1": "a"}}
	if g, w := jsonOf(t, got[0]), jsonOf(t, want); g != w {
		t.Errorf("touch = %s\nwant %s", g, w)
	}
	if got, err := s.VisitorTouches("KA-10", "v1", time.Time{}, time.Time{}); err != nil || !slices.Equal(txids(got), []string{"other-bucket"}) {
		t.Errorf("KA-10 touches = %q, %v", txids(got), err)
	}
	for _, name := range [][2]string{{"", "v1"}, {"KA-1", ""}, {"KA\x001", "v1"}} {
		if _, err := s.VisitorTouches(name[0], name[1], time.Time{}, time.Time{}); err == nil {
			t.Errorf("VisitorTouches(%q, %q) accepted", name[0], name[1])
		}
	}
}

func TestPeekClick(t *testing.T) {
	sizer := &Store{instance: "test"}
	tests := []struct {
		name string
		ev   Event
		want bool
	}{
		{"click", click("KA-1", "v", "c", base), true},
		{"pageview", ev("KA-1", "v", "p", base), false},
		{"custom event with a type field", Event{Bucket: "KA-1", Type: "x", Fields: map[string]string{"type": "click"}}, false},
		{"bucket spelling a click", Event{Bucket: `K","type":"click`, Type: "pageview"}, false},
		{"type with quotes", Event{Bucket: "KA-1", Type: `click"`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := sizer.encode(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if click, sure := peekClick(r.val); !sure || click != tt.want {
				t.Errorf("peekClick(%s) = %v, %v; want %v, true", r.val, click, sure, tt.want)
			}
			_, ok, err := decodeClick(r.val)
			if err != nil || ok != tt.want {
				t.Errorf("decodeClick = %v, %v; want %v", ok, err, tt.want)
			}
		})
	}
	// Something that does not look like an Event is decoded to be sure.
	if c, ok, err := decodeClick([]byte(`{"fields":{},"type" : "click"}`)); err != nil || !ok || c.Type != "click" {
		t.Errorf("decodeClick(unusual spacing) = %v, %v", ok, err)
	}
	if _, _, err := decodeClick([]byte(`{"type":`)); err == nil {
		t.Error("decodeClick(truncated) accepted")
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// result is a decision of order id under model, credited to click txid ("" for organic).
func result(id string, model attribution.Model, txid string, at time.Time) attribution.Result {
	r := attribution.Result{OrderID: id, Model: model, Status: attribution.Organic, Window: "720h0m0s", RefundWindow: "1440h0m0s", DecidedAt: at,
		Why: attribution.Why{Rule: "test", Candidates: []attribution.Candidate{{Touch: attribution.Touch{TransactionID: txid}}}}}
	if txid != "" {
		r.Status, r.TransactionID, r.Credit = attribution.Approved, txid, 1
	}
	return r
}

func attributionOf(t *testing.T, s *Store, bucket, id string) AttributionRecord {
	t.Helper()
	rec, ok, err := s.GetAttribution(bucket, id)
	if err != nil || !ok {
		t.Fatalf("GetAttribution(%q, %q) = %v, %v", bucket, id, ok, err)
	}
	return rec
}

func models(rs []attribution.Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r.Model) + "/" + r.TransactionID
	}
	return out
}

func TestPutAttributionHistory(t *testing.T) {
	s := openTest(t, Options{})
	put := func(bucket string, r attribution.Result) {
		t.Helper()
		if err := s.PutAttribution(bucket, r); err != nil {
			t.Fatal(err)
		}
	}
	put("KA-1", result("7", attribution.LastTouch, "c2", base))
	put("KA-10", result("7", attribution.FirstTouch, "x", base))
	// The same decision again, later: replaced, no history.
	put("KA-1", result("7", attribution.LastTouch, "c2", base.Add(time.Hour)))
	rec := attributionOf(t, s, "KA-1", "7")
	if len(rec.History) != 0 || !rec.Current.DecidedAt.Equal(base.Add(time.Hour)) || rec.Bucket != "KA-1" || rec.OrderID != "7" {
		t.Fatalf("after a repeat: %+v", rec)
	}
	// A model change and an outcome change each keep the one before.
	put("KA-1", result("7", attribution.FirstTouch, "c1", base.Add(2*time.Hour)))
	put("KA-1", result("7", attribution.FirstTouch, "", base.Add(3*time.Hour)))
	rec = attributionOf(t, s, "KA-1", "7")
	if got, want := models(append([]attribution.Result{rec.Current}, rec.History...)), []string{"first_touch/", "first_touch/c1", "last_touch/c2"}; !slices.Equal(got, want) {
		t.Errorf("current and history = %q, want %q", got, want)
	}
	if len(rec.Current.Why.Candidates) != 1 || rec.History[0].Why.Candidates != nil || rec.History[0].Why.Rule != "test" {
		t.Errorf("candidates: current %v, history %v", rec.Current.Why, rec.History[0].Why)
	}
	// A change of window alone counts too.
	r := result("7", attribution.FirstTouch, "", base.Add(4*time.Hour))
	r.Window = "24h0m0s"
	put("KA-1", r)
	if rec = attributionOf(t, s, "KA-1", "7"); len(rec.History) != 3 {
		t.Errorf("history after a window change = %q", models(rec.History))
	}
	// The other bucket's order 7 is its own.
	if rec := attributionOf(t, s, "KA-10", "7"); rec.Current.TransactionID != "x" || len(rec.History) != 0 {
		t.Errorf("KA-10 order 7 = %+v", rec)
	}
	if _, ok, err := s.GetAttribution("KA-1", "8"); ok || err != nil {
		t.Errorf("GetAttribution(missing) = %v, %v", ok, err)
	}
}

func TestAttributionHistoryBounded(t *testing.T) {
	s := openTest(t, Options{})
	for i := range MaxAttributionHistory + 5 {
		if err := s.PutAttribution("KA-1", result("7", attribution.LastTouch, fmt.Sprint("c", i), base.Add(time.Duration(i)*time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	rec := attributionOf(t, s, "KA-1", "7")
	last := MaxAttributionHistory + 4
	if len(rec.History) != MaxAttributionHistory || rec.Current.TransactionID != fmt.Sprint("c", last) ||
		rec.History[0].TransactionID != fmt.Sprint("c", last-1) || rec.History[MaxAttributionHistory-1].TransactionID != fmt.Sprint("c", last-MaxAttributionHistory) {
		t.Errorf("current %s, history %q", rec.Current.TransactionID, models(rec.History))
	}
	// The entries past the bound are deleted, not just skipped.
	if err := s.db.View(func(txn *badger.Txn) error {
		n := countKeys(txn, historyPrefix("KA-1", "7"), 0)
		if n != MaxAttributionHistory {
			t.Errorf("%d history keys, want %d", n, MaxAttributionHistory)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// Order ids may hold a NUL; one order's history never shows in another's.
func TestAttributionHistoryNULInOrderID(t *testing.T) {
	s := openTest(t, Options{})
	for i, id := range []string{"7", "7\x00x", "7", "7\x00x", "7\x00x"} {
		if err := s.PutAttribution("KA-1", result(id, attribution.LastTouch, fmt.Sprint("c", i), base)); err != nil {
			t.Fatal(err)
		}
	}
	if got := models(attributionOf(t, s, "KA-1", "7").History); !slices.Equal(got, []string{"last_touch/c0"}) {
		t.Errorf("history of 7 = %q", got)
	}
	if got := models(attributionOf(t, s, "KA-1", "7\x00x").History); !slices.Equal(got, []string{"last_touch/c3", "last_touch/c1"}) {
		t.Errorf("history of 7\\x00x = %q", got)
	}
	var got []string
	if err := s.Attributions("KA-1", func(r AttributionRecord) error {
		got = append(got, fmt.Sprintf("%q:%d", r.OrderID, len(r.History)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{`"7":1`, `"7\x00x":2`}; !slices.Equal(got, want) {
		t.Errorf("Attributions = %q, want %q", got, want)
	}
}

func TestPutAttributionInvalid(t *testing.T) {
	s := openTest(t, Options{})
	for _, c := range []struct{ bucket, id string }{{"", "7"}, {"KA-1", ""}, {"KA\x001", "7"}} {
		if err := s.PutAttribution(c.bucket, attribution.Result{OrderID: c.id}); err == nil {
			t.Errorf("PutAttribution(%q, %q) accepted", c.bucket, c.id)
		}
	}
}

func TestAttributionsPerBucket(t *testing.T) {
	s := openTest(t, Options{})
	for _, c := range []struct{ bucket, id string }{{"KA-1", "9"}, {"KA-10", "1"}, {"KA-1", "10"}, {"KA-1", "8"}} {
		if err := s.PutAttribution(c.bucket, result(c.id, attribution.LastTouch, "", base)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	if err := s.Attributions("KA-1", func(r AttributionRecord) error {
		got = append(got, r.Bucket+"/"+r.OrderID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"KA-1/10", "KA-1/8", "KA-1/9"}; !slices.Equal(got, want) {
		t.Errorf("KA-1 attributions = %q, want %q", got, want)
	}
	stop := fmt.Errorf("stop")
	calls := 0
	if err := s.Attributions("KA-1", func(AttributionRecord) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("Attributions with a failing fn = %v after %d calls", err, calls)
	}
}

// reattributeFixture fills KA-1 (and KA-10, with the same visitor and order
// ids) with clicks, page views and orders, and returns KA-1's order ids.
func reattributeFixture(t *testing.T, s *Store) []string {
	t.Helper()
	day := 24 * time.Hour
	write(t, s,
		click("KA-1", "v1", "c1", base.Add(-40*day)), // past a 30-day window
		click("KA-1", "v1", "c2", base.Add(-10*day)),
		ev("KA-1", "v1", "p1", base.Add(-10*day+time.Minute)),
		click("KA-1", "v1", "c3", base.Add(-2*day)),
		click("KA-1", "v2", "d1", base.Add(-day)),
		click("KA-1", "v2", "d2", base.Add(day)), // after v2's order
		Event{Bucket: "KA-1", Type: "click", Visitor: "v3", Time: base.Add(-day), Fields: map[string]string{"utm_source": "news"}},
		click("KA-1", "", "nobody", base.Add(-day)),
		click("KA-10", "v1", "x1", base.Add(-day)),
		click("KA-10", "v4", "x2", base.Add(-day)),
	)
	orders := []Order{
		{Order: capture.Order{ID: "1", Total: capture.Money(10)}, Visitor: "v1"},
		{Order: capture.Order{ID: "2", Total: capture.Money(20)}, Visitor: "v2"},
		{Order: capture.Order{ID: "3"}, Visitor: "v3"},
		{Order: capture.Order{ID: "4"}},                // no visitor
		{Order: capture.Order{ID: "5"}, Visitor: "v4"}, // v4 clicked in KA-10 only
	}
	var ids []string
	for _, bucket := range []string{"KA-1", "KA-10"} {
		for _, o := range orders {
			o.Bucket, o.Time = bucket, base
			if _, _, err := s.PutOrder(o); err != nil {
				t.Fatal(err)
			}
			if bucket == "KA-1" {
				ids = append(ids, o.ID)
			}
		}
	}
	if _, err := s.SetOrderStatus("KA-1", "2", attribution.OrderRefunded, base.Add(day)); err != nil {
		t.Fatal(err)
	}
	return ids
}

// decideOne is the decision for one order the way a caller makes it when
// an order arrives: the order, its visitor's touches, Decide.
func decideOne(t *testing.T, s *Store, bucket, id string, rules attribution.Rules, now time.Time) attribution.Result {
	t.Helper()
	o, ok, err := s.GetOrder(bucket, id)
	if err != nil || !ok {
		t.Fatalf("GetOrder(%q, %q) = %v, %v", bucket, id, ok, err)
	}
	var touches []attribution.Touch
	if o.Visitor != "" {
		if touches, err = s.VisitorTouches(bucket, o.Visitor, time.Time{}, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	return attribution.Decide(o.ForAttribution(), touches, rules, now)
}

func TestReattribute(t *testing.T) {
	s := openTest(t, Options{})
	ids := reattributeFixture(t, s)
	last := attribution.Rules{Model: attribution.LastTouch}
	for _, id := range ids {
		if err := s.PutAttribution("KA-1", decideOne(t, s, "KA-1", id, last, base)); err != nil {
			t.Fatal(err)
		}
	}
	linear := attribution.Rules{Model: attribution.Linear, Window: 45 * 24 * time.Hour}
	now := base.Add(time.Hour)
	n, err := s.Reattribute("KA-1", linear, now)
	if err != nil || n != len(ids) {
		t.Fatalf("Reattribute = %d, %v; want %d", n, err, len(ids))
	}
	for _, id := range ids {
		rec := attributionOf(t, s, "KA-1", id)
		if got, want := jsonOf(t, rec.Current), jsonOf(t, decideOne(t, s, "KA-1", id, linear, now)); got != want {
			t.Errorf("order %s: reattributed\n%s\nwant\n%s", id, got, want)
		}
		if len(rec.History) != 1 || rec.History[0].Model != attribution.LastTouch {
			t.Errorf("order %s: history %q, want the last_touch decision", id, models(rec.History))
		}
	}
	// What the fixture is about, spelled out.
	want := map[string]string{"1": "approved c1,c2,c3 1/3", "2": "rejected d1 1", "3": "organic", "4": "organic", "5": "organic"}
	for id, w := range want {
		rec := attributionOf(t, s, "KA-1", id)
		got := string(rec.Current.Status)
		if rec.Current.Status != attribution.Organic {
			var chosen []string
			for _, c := range rec.Current.Why.Candidates {
				if c.Chosen {
					chosen = append(chosen, c.TransactionID)
				}
			}
			got += fmt.Sprintf(" %s %s", strings.Join(chosen, ","), creditString(rec.Current.Credit))
		}
		if got != w {
			t.Errorf("order %s: %s, want %s", id, got, w)
		}
	}
	// KA-10 was neither read nor written.
	if _, ok, _ := s.GetAttribution("KA-10", "1"); ok {
		t.Error("KA-10 got attributions")
	}
	// The same rules again: decisions unchanged, no new history.
	if _, err := s.Reattribute("KA-1", linear, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if rec := attributionOf(t, s, "KA-1", "1"); len(rec.History) != 1 || !rec.Current.DecidedAt.Equal(now.Add(time.Hour)) {
		t.Errorf("after a second run: decided %v, history %q", rec.Current.DecidedAt, models(rec.History))
	}
}

func creditString(c float64) string {
	if c > 0.33 && c < 0.34 {
		return "1/3"
	}
	return fmt.Sprint(c)
}

func TestReattributeIsolation(t *testing.T) {
	s := openTest(t, Options{})
	reattributeFixture(t, s)
	if _, err := s.Reattribute("KA-10", attribution.Rules{}, base); err != nil {
		t.Fatal(err)
	}
	// v1 clicked c1-c3 in KA-1 and x1 in KA-10; in KA-10 only x1 counts.
	if rec := attributionOf(t, s, "KA-10", "1"); rec.Current.TransactionID != "x1" || len(rec.Current.Why.Candidates) != 1 {
		t.Errorf("KA-10 order 1 = %+v", rec.Current)
	}
	// v4 clicked in KA-10 only.
	if rec := attributionOf(t, s, "KA-10", "5"); rec.Current.TransactionID != "x2" {
		t.Errorf("KA-10 order 5 = %+v", rec.Current)
	}
	if rec := attributionOf(t, s, "KA-10", "2"); rec.Current.Status != attribution.Organic {
		t.Errorf("KA-10 order 2 (v2 clicked in KA-1 only) = %+v", rec.Current)
	}
	var n int
	if err := s.Attributions("KA-1", func(AttributionRecord) error { n++; return nil }); err != nil || n != 0 {
		t.Errorf("KA-1 attributions = %d, %v", n, err)
	}
	if n, err := s.Reattribute("KA-2", attribution.Rules{}, base); err != nil || n != 0 {
		t.Errorf("Reattribute(empty bucket) = %d, %v", n, err)
	}
	if _, err := s.Reattribute("", attribution.Rules{}, base); err == nil {
		t.Error("Reattribute(\"\") accepted")
	}
}

// TestAttributeOrderReadsTheStoredOrder: AttributeOrder decides from the
// order as stored, with its latest status, and a status change racing
// other decisions of the same order leaves the decision of the latest
// order, whichever finishes last.
// clickedOrder stores click c1 of visitor v1 in KA-1 at base, and an
// order of 80 by v1 an hour later under each id; it returns the first.
func clickedOrder(t *testing.T, s *Store, ids ...string) Order {
	t.Helper()
	write(t, s, click("KA-1", "v1", "c1", base))
	var first Order
	for i, id := range ids {
		o := order("KA-1", id, 80)
		o.Visitor, o.Time = "v1", base.Add(time.Hour)
		putOrders(t, s, o)
		if i == 0 {
			first = o
		}
	}
	return first
}

func TestAttributeOrderReadsTheStoredOrder(t *testing.T) {
	s := openTest(t, Options{})
	clickedOrder(t, s, "1001")
	rules := attribution.Rules{}
	now := base.Add(2 * time.Hour)
	res, err := s.AttributeOrder("KA-1", "1001", rules, now)
	if err != nil || res.Status != attribution.Approved || res.TransactionID != "c1" {
		t.Fatalf("AttributeOrder = %s via %q, %v; want approved via c1", res.Status, res.TransactionID, err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if _, err := s.AttributeOrder("KA-1", "1001", rules, now); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		if _, err := s.SetOrderStatus("KA-1", "1001", attribution.OrderRefunded, base.Add(90*time.Minute)); err != nil {
			t.Error(err)
			return
		}
		if _, err := s.AttributeOrder("KA-1", "1001", rules, now); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	rec, ok, err := s.GetAttribution("KA-1", "1001")
	if err != nil || !ok || rec.Current.Status != attribution.Rejected {
		t.Errorf("stored attribution = %s (found %v, %v), want rejected: the refund is the latest", rec.Current.Status, ok, err)
	}
	if _, err := s.AttributeOrder("KA-1", "no-such-order", rules, now); !errors.Is(err, ErrNotFound) {
		t.Errorf("AttributeOrder of a missing order = %v, want ErrNotFound", err)
	}
}

// TestPageStatusDecides: an order whose page printed a status is decided
// with it until the store reports one, by AttributeOrder and Reattribute
// alike.
func TestPageStatusDecides(t *testing.T) {
	s := openTest(t, Options{})
	write(t, s, click("KA-1", "v1", "c1", base))
	for id, printed := range map[string]string{"hold": "on-hold", "paid": "processing", "none": ""} {
		o := order("KA-1", id, 80)
		o.Visitor, o.Time, o.Order.Status = "v1", base.Add(time.Hour), printed
		putOrders(t, s, o)
	}
	rules := attribution.Rules{}
	now := base.Add(2 * time.Hour)
	check := func(when string, want map[string]attribution.Status) {
		t.Helper()
		for id, w := range want {
			res, err := s.AttributeOrder("KA-1", id, rules, now)
			if err != nil || res.Status != w {
				t.Errorf("%s: AttributeOrder(%s) = %s, %v; want %s", when, id, res.Status, err, w)
			}
		}
		if _, err := s.Reattribute("KA-1", rules, now); err != nil {
			t.Fatal(err)
		}
		for id, w := range want {
			if rec := attributionOf(t, s, "KA-1", id); rec.Current.Status != w {
				t.Errorf("%s: reattributed %s = %s, want %s", when, id, rec.Current.Status, w)
			}
		}
	}
	check("printed", map[string]attribution.Status{"hold": attribution.Pending, "paid": attribution.Approved, "none": attribution.Approved})
	if _, err := s.SetOrderStatus("KA-1", "hold", attribution.OrderPaid, base.Add(90*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetOrderStatus("KA-1", "paid", attribution.OrderPending, base.Add(90*time.Minute)); err != nil {
		t.Fatal(err)
	}
	check("reported", map[string]attribution.Status{"hold": attribution.Approved, "paid": attribution.Pending, "none": attribution.Approved})
}

// TestAttributeOrderReversedInTime: a refund within the refund window
// rejects the order for good when the store then also reports it
// cancelled, past the window (Magento: canceled, then closed); and both
// decisions go through the store's own reading of the order (AttributeOrder
// and Reattribute).
func TestAttributeOrderReversedInTime(t *testing.T) {
	s := openTest(t, Options{})
	o := clickedOrder(t, s, "1001")
	rules := attribution.Rules{RefundWindow: 60 * 24 * time.Hour}
	day := func(d int) time.Time { return o.Time.Add(time.Duration(d) * 24 * time.Hour) }
	for _, st := range []struct {
		status string
		at     time.Time
		want   attribution.Status
	}{
		{attribution.OrderRefunded, day(3), attribution.Rejected},
		{attribution.OrderCancelled, day(70), attribution.Rejected},
		{attribution.OrderPaid, day(80), attribution.Approved}, // reinstated: no longer reversed
		{attribution.OrderCancelled, day(90), attribution.Approved},
	} {
		if _, err := s.SetOrderStatus("KA-1", "1001", st.status, st.at); err != nil {
			t.Fatal(err)
		}
		res, err := s.AttributeOrder("KA-1", "1001", rules, st.at)
		if err != nil || res.Status != st.want {
			t.Fatalf("%s on %s: %s (%s), %v; want %s", st.status, st.at.Format(time.DateOnly), res.Status, res.Why.Rule, err, st.want)
		}
		if _, err := s.Reattribute("KA-1", rules, st.at); err != nil {
			t.Fatal(err)
		}
		if rec, _, _ := s.GetAttribution("KA-1", "1001"); rec.Current.Status != st.want {
			t.Fatalf("%s on %s, re-attributed: %s (%s); want %s", st.status, st.at.Format(time.DateOnly), rec.Current.Status, rec.Current.Why.Rule, st.want)
		}
	}
}

// TestReattributeOrderPlacedDuringClickPass: an order placed, and rightly
// credited to a click, while Reattribute was reading the clicks is not
// decided again with the clicks as read before that click came.
func TestReattributeOrderPlacedDuringClickPass(t *testing.T) {
	s := openTest(t, Options{})
	write(t, s, click("KA-1", "v0", "c0", base))
	rules := attribution.Rules{}
	now := time.Now()
	afterClickPass = func() {
		write(t, s, click("KA-1", "buyer", "c-buyer", now.Add(-time.Minute)))
		o := order("KA-1", "live", 50)
		o.Visitor, o.Time = "buyer", now
		putOrders(t, s, o)
		if res, err := s.AttributeOrder("KA-1", "live", rules, now); err != nil || res.TransactionID != "c-buyer" {
			t.Errorf("live decision: %s via %q, %v", res.Status, res.TransactionID, err)
		}
	}
	t.Cleanup(func() { afterClickPass = nil })
	if _, err := s.Reattribute("KA-1", rules, now); err != nil {
		t.Fatal(err)
	}
	rec, _, err := s.GetAttribution("KA-1", "live")
	if err != nil || rec.Current.Status != attribution.Approved || rec.Current.TransactionID != "c-buyer" {
		t.Errorf("after Reattribute: %s via %q (%s), %v; want approved via c-buyer", rec.Current.Status, rec.Current.TransactionID, rec.Current.Why.Rule, err)
	}
}

// TestStatusAfterErasure: once a visitor is erased, a status change of
// their credited order is decided with the clicks its attribution kept, so
// a refund still rejects it and a payment keeps its credit; by
// AttributeOrder and by Reattribute alike.
func TestStatusAfterErasure(t *testing.T) {
	s := openTest(t, Options{})
	clickedOrder(t, s, "A", "B")
	rules := attribution.Rules{}
	now := base.Add(2 * time.Hour)
	for _, id := range []string{"A", "B"} {
		if res, err := s.AttributeOrder("KA-1", id, rules, now); err != nil || res.Status != attribution.Approved {
			t.Fatalf("order %s: %s, %v", id, res.Status, err)
		}
	}
	if _, err := s.EraseVisitor("KA-1", "v1"); err != nil {
		t.Fatal(err)
	}
	later := base.Add(48 * time.Hour)
	for id, st := range map[string]string{"A": attribution.OrderRefunded, "B": attribution.OrderPaid} {
		if _, err := s.SetOrderStatus("KA-1", id, st, later); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]attribution.Status{"A": attribution.Rejected, "B": attribution.Approved}
	check := func(how string) {
		t.Helper()
		for id, w := range want {
			rec, _, err := s.GetAttribution("KA-1", id)
			if err != nil || rec.Current.Status != w || rec.Current.TransactionID != "c1" {
				t.Errorf("%s, order %s: %s via %q (%s), %v; want %s via c1", how, id, rec.Current.Status, rec.Current.TransactionID, rec.Current.Why.Rule, err, w)
			}
		}
	}
	for id := range want {
		if _, err := s.AttributeOrder("KA-1", id, rules, later); err != nil {
			t.Fatal(err)
		}
	}
	check("AttributeOrder")
	if _, err := s.Reattribute("KA-1", rules, later); err != nil {
		t.Fatal(err)
	}
	check("Reattribute")
}

// TestRefundAfterClicksExpire: a bucket's retention may end before the
// refund window does. A refund after the credited click expired is decided
// with the click the attribution kept, so the order is rejected rather than
// made organic; by AttributeOrder and by Reattribute alike, and also once
// the operator has raised the retention (the click's expiry was set when
// it was written, so today's retention cannot tell it is gone).
func TestRefundAfterClicksExpire(t *testing.T) {
	var retention atomic.Int64
	retention.Store(int64(time.Second))
	s := openTest(t, Options{Retention: func(string) time.Duration { return time.Duration(retention.Load()) }})
	clickedOrder(t, s, "A")
	rules := attribution.Rules{}
	if res, err := s.AttributeOrder("KA-1", "A", rules, base.Add(2*time.Hour)); err != nil || res.Status != attribution.Approved {
		t.Fatalf("before the refund: %s, %v", res.Status, err)
	}
	time.Sleep(2100 * time.Millisecond) // Badger's TTLs are in whole seconds
	if n := len(visitorEvents(t, s, "KA-1", "v1")); n != 0 {
		t.Fatalf("%d events of the visitor left after their retention", n)
	}
	retention.Store(int64(400 * 24 * time.Hour))
	later := base.Add(48 * time.Hour)
	if _, err := s.SetOrderStatus("KA-1", "A", attribution.OrderRefunded, later); err != nil {
		t.Fatal(err)
	}
	for _, how := range []string{"AttributeOrder", "Reattribute", "AttributeOrder"} {
		var err error
		if how == "AttributeOrder" {
			_, err = s.AttributeOrder("KA-1", "A", rules, later)
		} else {
			_, err = s.Reattribute("KA-1", rules, later)
		}
		if err != nil {
			t.Fatal(err)
		}
		rec, _, err := s.GetAttribution("KA-1", "A")
		if err != nil || rec.Current.Status != attribution.Rejected || rec.Current.TransactionID != "c1" {
			t.Errorf("%s: %s via %q (%s), %v; want rejected via c1", how, rec.Current.Status, rec.Current.TransactionID, rec.Current.Why.Rule, err)
		}
	}
}

// TestReattributeWiderWindowAfterClicksExpire: an order decided organic
// because its click fell outside a narrow window, the click then expired;
// a re-attribution with a wider window credits the click the decision
// kept, as AttributeOrder does.
func TestReattributeWiderWindowAfterClicksExpire(t *testing.T) {
	s := openTest(t, Options{Retention: func(string) time.Duration { return time.Second }})
	clickedOrder(t, s, "A")
	narrow := attribution.Rules{Window: 30 * time.Minute}
	if res, err := s.AttributeOrder("KA-1", "A", narrow, base.Add(2*time.Hour)); err != nil || res.Status != attribution.Organic {
		t.Fatalf("narrow window: %s, %v; want organic", res.Status, err)
	}
	time.Sleep(2100 * time.Millisecond) // Badger's TTLs are in whole seconds
	wide := attribution.Rules{Window: 2 * time.Hour}
	if _, err := s.Reattribute("KA-1", wide, base.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if rec, _, err := s.GetAttribution("KA-1", "A"); err != nil || rec.Current.Status != attribution.Approved || rec.Current.TransactionID != "c1" {
		t.Errorf("after Reattribute: %s via %q, %v; want approved via c1", rec.Current.Status, rec.Current.TransactionID, err)
	}
}
