package attribution

import (
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"
)

// placed is when the orders of these tests are placed; decidedAt when they
// are decided.
var (
	placed    = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	decidedAt = time.Date(2025, 3, 11, 9, 30, 0, 0, time.UTC)
)

// click is an affiliate click made ago before placed, with click id id.
func click(id string, ago time.Duration) Touch {
	return Touch{
		Time:          placed.Add(-ago),
		TransactionID: id,
		OfferID:       "offer-" + id,
		PublisherID:   "pub-" + id,
		Subs:          map[string]string{"sub1": "s-" + id},
		Session:       "sess-" + id,
	}
}

// utmLanding is a landing with utm parameters only, ago before placed.
func utmLanding(ago time.Duration) Touch {
	return Touch{Time: placed.Add(-ago), Subs: map[string]string{"utm_source": "newsletter"}}
}

// order is an order of visitor v placed at placed with status s, changed
// after placement.
func order(s string, after time.Duration) Order {
	o := Order{ID: "1042", Time: placed, Visitor: "v1", Status: s}
	if s != "" {
		o.StatusTime = placed.Add(after)
	}
	return o
}

func TestDecide(t *testing.T) {
	three := []Touch{click("a", 20*day), click("b", 5*day), click("c", 2*time.Hour)}
	tests := []struct {
		name     string
		order    Order
		touches  []Touch
		rules    Rules
		status   Status
		credited string  // TransactionID of the Result
		credit   float64 // Result.Credit
		chosen   []string
		rule     string
	}{
		{
			name: "last_touch is the default", order: order("", 0), touches: three,
			status: Approved, credited: "c", credit: 1, chosen: []string{"c"},
			rule: "last_touch: the last of 3 affiliate clicks within 30 days",
		},
		{
			name: "first_touch", order: order("", 0), touches: three, rules: Rules{Model: FirstTouch},
			status: Approved, credited: "a", credit: 1, chosen: []string{"a"},
			rule: "first_touch: the first of 3 affiliate clicks within 30 days",
		},
		{
			name: "linear", order: order("", 0), touches: three, rules: Rules{Model: Linear},
			status: Approved, credited: "c", credit: 1.0 / 3, chosen: []string{"a", "b", "c"},
			rule: "linear: 1/3 of the credit to each of 3 affiliate clicks within 30 days",
		},
		{
			name: "linear with one click", order: order("", 0), touches: three[2:], rules: Rules{Model: Linear},
			status: Approved, credited: "c", credit: 1, chosen: []string{"c"},
			rule: "linear: the only affiliate click within 30 days, with all the credit",
		},
		{
			name: "input order does not matter", order: order("", 0),
			touches: []Touch{three[2], three[0], three[1]},
			status:  Approved, credited: "c", credit: 1, chosen: []string{"c"},
			rule: "last_touch: the last of 3 affiliate clicks within 30 days",
		},
		{
			name: "exactly 30 days before is in", order: order("", 0), touches: []Touch{click("edge", 30*day)},
			status: Approved, credited: "edge", credit: 1, chosen: []string{"edge"},
			rule: "last_touch: the only affiliate click within 30 days",
		},
		{
			name: "30 days and 1 s before is out", order: order("", 0), touches: []Touch{click("old", 30*day+time.Second)},
			status: Organic,
			rule:   "organic: no affiliate click within 30 days before the order (1 older click, 30 days (720h0m1s) before)",
		},
		{
			name: "at the order's time is in", order: order("", 0), touches: []Touch{click("now", 0)},
			status: Approved, credited: "now", credit: 1, chosen: []string{"now"},
			rule: "last_touch: the only affiliate click within 30 days",
		},
		{
			name: "click after the order ignored", order: order("", 0),
			touches: []Touch{click("before", 3*day), click("after", -time.Second)},
			status:  Approved, credited: "before", credit: 1, chosen: []string{"before"},
			rule: "last_touch: the only affiliate click within 30 days",
		},
		{
			name: "organic without touches", order: order("", 0),
			status: Organic, rule: "organic: no affiliate click within 30 days before the order",
		},
		{
			name: "organic without visitor", order: Order{ID: "7", Time: placed},
			status: Organic, rule: "organic: the order has no visitor, so no click can be linked to it",
		},
		{
			name: "organic with an older click", order: order("", 0),
			touches: []Touch{click("old", 31*day+5*time.Hour)},
			status:  Organic,
			rule:    "organic: no affiliate click within 30 days before the order (1 older click, 31.2 days before)",
		},
		{
			name: "organic with everything else", order: order("", 0),
			touches: []Touch{
				click("old1", 45*day), click("old2", 31*day+5*time.Hour), click("late", -day),
				utmLanding(day), utmLanding(2 * day),
			},
			status: Organic,
			rule: "organic: no affiliate click within 30 days before the order " +
				"(2 older clicks, the latest 31.2 days before; 1 click after the order; 2 landings without click ids)",
		},
		{
			name: "organic stays organic when refunded", order: order(OrderRefunded, day),
			touches: []Touch{click("old", 40*day)}, status: Organic,
			rule: "organic: no affiliate click within 30 days before the order (1 older click, 40 days before)",
		},
		{
			name: "utm-only landings ignored", order: order("", 0),
			touches: []Touch{click("aff", 4*day), utmLanding(time.Hour)},
			status:  Approved, credited: "aff", credit: 1, chosen: []string{"aff"},
			rule: "last_touch: the only affiliate click within 30 days",
		},
		{
			name: "paid", order: order(OrderPaid, day), touches: three,
			status: Approved, credited: "c", credit: 1, chosen: []string{"c"},
			rule: "last_touch: the last of 3 affiliate clicks within 30 days",
		},
		{
			name: "fulfilled", order: order(OrderFulfilled, 5*day), touches: three,
			status: Approved, credited: "c", credit: 1, chosen: []string{"c"},
			rule: "last_touch: the last of 3 affiliate clicks within 30 days",
		},
		{
			name: "pending", order: order(OrderPending, 0), touches: three,
			status: Pending, credited: "c", credit: 1, chosen: []string{"c"},
			rule: "last_touch: the last of 3 affiliate clicks within 30 days; pending: the order is not marked paid yet",
		},
		{
			name: "unknown status counts as pending", order: order("on-hold", time.Hour), touches: three,
			status: Pending, credited: "c", credit: 1, chosen: []string{"c"},
			rule: `last_touch: the last of 3 affiliate clicks within 30 days; pending: unknown order status "on-hold", counted as not settled yet`,
		},
		{
			name: "refund within the refund window", order: order(OrderRefunded, 3*day), touches: three,
			status: Rejected, credited: "c", credit: 1, chosen: []string{"c"},
			rule: "last_touch: the last of 3 affiliate clicks within 30 days; " +
				"rejected: refunded 3 days after the order, within the 60-day refund window",
		},
		{
			name: "refund exactly at the end of the refund window", order: order(OrderRefunded, 60*day), touches: three,
			status: Rejected, credited: "c", credit: 1, chosen: []string{"c"},
			rule: "last_touch: the last of 3 affiliate clicks within 30 days; " +
				"rejected: refunded 60 days after the order, within the 60-day refund window",
		},
		{
			name: "refund after the refund window", order: order(OrderRefunded, 60*day+time.Second), touches: three,
			status: Approved, credited: "c", credit: 1, chosen: []string{"c"},
			rule: "last_touch: the last of 3 affiliate clicks within 30 days; " +
				"approved: refunded 60 days (1440h0m1s) after the order, past the 60-day refund window, " +
				"so it does not reverse the attribution",
		},
		{
			name: "refund at an unknown time", order: Order{ID: "1042", Time: placed, Visitor: "v1", Status: OrderRefunded},
			touches: three, status: Rejected, credited: "c", credit: 1, chosen: []string{"c"},
			rule: "last_touch: the last of 3 affiliate clicks within 30 days; " +
				"rejected: refunded at an unknown time, counted as within the 60-day refund window",
		},
		{
			name: "cancelled", order: order(OrderCancelled, 12*time.Hour), touches: three,
			status: Rejected, credited: "c", credit: 1, chosen: []string{"c"},
			rule: "last_touch: the last of 3 affiliate clicks within 30 days; " +
				"rejected: cancelled 0.5 days after the order, within the 60-day refund window",
		},
		{
			name: "rejected by the store", order: order(OrderRejected, day), touches: three,
			status: Rejected, credited: "c", credit: 1, chosen: []string{"c"},
			rule: "last_touch: the last of 3 affiliate clicks within 30 days; " +
				"rejected: rejected by the store 1 day after the order, within the 60-day refund window",
		},
		{
			name: "custom windows", order: order(OrderCancelled, 8*day), touches: three,
			rules:  Rules{Window: 7 * day, RefundWindow: 36 * time.Hour, Model: FirstTouch},
			status: Approved, credited: "b", credit: 1, chosen: []string{"b"},
			rule: "first_touch: the first of 2 affiliate clicks within 7 days; " +
				"approved: cancelled 8 days after the order, past the 36h0m0s refund window, " +
				"so it does not reverse the attribution",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.order, tt.touches, tt.rules, decidedAt)
			checkInvariants(t, tt.order, tt.touches, tt.rules, got)
			if got.Status != tt.status {
				t.Errorf("status %q, want %q", got.Status, tt.status)
			}
			if got.TransactionID != tt.credited {
				t.Errorf("credited %q, want %q", got.TransactionID, tt.credited)
			}
			if got.Credit != tt.credit {
				t.Errorf("credit %v, want %v", got.Credit, tt.credit)
			}
			if c := chosenIDs(got); !reflect.DeepEqual(c, tt.chosen) {
				t.Errorf("chosen %q, want %q", c, tt.chosen)
			}
			if got.Why.Rule != tt.rule {
				t.Errorf("rule\n got %q\nwant %q", got.Why.Rule, tt.rule)
			}
		})
	}
}

// checkInvariants checks what holds for every decision: the rules it
// reports, the credited click's fields, one candidate per touch in time
// order, credits that sum to 1 (0 when organic).
func checkInvariants(t *testing.T, o Order, touches []Touch, r Rules, got Result) {
	t.Helper()
	r = r.withDefaults()
	if got.OrderID != o.ID || got.Model != r.Model || !got.DecidedAt.Equal(decidedAt) ||
		got.Window != r.Window.String() || got.RefundWindow != r.RefundWindow.String() {
		t.Errorf("header %q %q %v %q %q does not match the order and rules", got.OrderID, got.Model, got.DecidedAt, got.Window, got.RefundWindow)
	}
	if len(got.Why.Candidates) != len(touches) {
		t.Fatalf("%d candidates for %d touches", len(got.Why.Candidates), len(touches))
	}
	sum := 0.0
	for i, c := range got.Why.Candidates {
		if c.Reason == "" {
			t.Errorf("candidate %d has no reason", i)
		}
		if i > 0 && c.Time.Before(got.Why.Candidates[i-1].Time) {
			t.Errorf("candidate %d out of time order", i)
		}
		if c.Chosen != (c.Credit > 0) {
			t.Errorf("candidate %d: chosen %v with credit %v", i, c.Chosen, c.Credit)
		}
		sum += c.Credit
	}
	if got.Status == Organic {
		checkOrganic(t, got, sum)
		return
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Errorf("credits sum to %v", sum)
	}
	if got.TouchTime == nil || got.DaysFromClick == nil {
		t.Fatalf("attributed without touch time or days from click")
	}
	if want := placed.Sub(*got.TouchTime).Hours() / 24; *got.DaysFromClick != want {
		t.Errorf("days from click %v, want %v", *got.DaysFromClick, want)
	}
	if got.PublisherID != "pub-"+got.TransactionID || got.OfferID != "offer-"+got.TransactionID ||
		got.Subs["sub1"] != "s-"+got.TransactionID {
		t.Errorf("result fields %q %q %v are not those of click %q", got.PublisherID, got.OfferID, got.Subs, got.TransactionID)
	}
}

func checkOrganic(t *testing.T, got Result, sum float64) {
	t.Helper()
	if got.PublisherID != "" || got.OfferID != "" || got.TransactionID != "" || len(got.Subs) != 0 ||
		got.TouchTime != nil || got.DaysFromClick != nil || got.Credit != 0 || sum != 0 {
		t.Errorf("organic result carries a click: %+v", got)
	}
	if got.Subs == nil || got.Why.Candidates == nil {
		t.Errorf("organic result has nil subs or candidates (JSON null)")
	}
}

func chosenIDs(r Result) []string {
	var ids []string
	for _, c := range r.Why.Candidates {
		if c.Chosen {
			ids = append(ids, c.TransactionID)
		}
	}
	return ids
}

func TestDecideReasons(t *testing.T) {
	touches := []Touch{
		click("late", -time.Minute),
		click("in", 29*day),
		utmLanding(time.Hour),
		click("old", 31*day+5*time.Hour),
		click("edge", 30*day+time.Second),
		{Time: placed.Add(-2 * day), AffID: "77", OfferID: "55"},
	}
	got := Decide(order("", 0), touches, Rules{}, decidedAt)
	want := []string{
		"31.2 days before the order, past the 30-day window",
		"30 days (720h0m1s) before the order, past the 30-day window",
		"within the window",
		"within the window",
		"not an affiliate click",
		"after the order",
	}
	var reasons []string
	for _, c := range got.Why.Candidates {
		reasons = append(reasons, c.Reason)
	}
	if !reflect.DeepEqual(reasons, want) {
		t.Errorf("reasons\n got %q\nwant %q", reasons, want)
	}
	if got.TransactionID != "" || got.Why.Candidates[3].AffID != "77" || !got.Why.Candidates[3].Chosen {
		t.Errorf("the partner link's click should be credited: %+v", got.Why.Candidates[3])
	}
}

func TestDecideLinearSumsToOne(t *testing.T) {
	for _, n := range []int{1, 2, 3, 6, 7, 10, 49, 100} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			touches := make([]Touch, n)
			for i := range touches {
				touches[i] = click(strconv.Itoa(i), time.Duration(i+1)*time.Hour)
			}
			got := Decide(order("", 0), touches, Rules{Model: Linear}, decidedAt)
			sum := 0.0
			for _, c := range got.Why.Candidates {
				if !c.Chosen || c.Credit != 1/float64(n) {
					t.Errorf("candidate %s: chosen %v credit %v, want 1/%d", c.TransactionID, c.Chosen, c.Credit, n)
				}
				sum += c.Credit
			}
			if math.Abs(sum-1) > 1e-12 {
				t.Errorf("credits sum to %v", sum)
			}
			if got.TransactionID != "0" || got.Credit != 1/float64(n) {
				t.Errorf("result credits %q with %v, want the last click with 1/%d", got.TransactionID, got.Credit, n)
			}
		})
	}
}

// TestDecideReloadedLanding: the same transaction_id again (the landing
// reloaded) is one click: linear splits between clicks, not page loads,
// and a reload does not make a click the last touch again.
func TestDecideReloadedLanding(t *testing.T) {
	a, b := click("A", 48*time.Hour), click("B", 24*time.Hour)
	aAgain, aLater := click("A", 47*time.Hour), click("A", time.Hour)
	linear := Decide(order("", 0), []Touch{a, aAgain, b, aLater}, Rules{Model: Linear}, decidedAt)
	shares := map[string]float64{}
	for _, c := range linear.Why.Candidates {
		shares[c.TransactionID] += c.Credit
	}
	if shares["A"] != 0.5 || shares["B"] != 0.5 {
		t.Errorf("linear shares %v, want A 0.5 and B 0.5", shares)
	}
	last := Decide(order("", 0), []Touch{a, b, aLater}, Rules{}, decidedAt)
	if last.TransactionID != "B" {
		t.Errorf("last touch credits %q, want B: A's landing reloaded is no new click", last.TransactionID)
	}
	for _, c := range last.Why.Candidates {
		if c.Time.Equal(aLater.Time) && c.Reason != reasonRepeat {
			t.Errorf("the reload's reason is %q", c.Reason)
		}
	}
}

// TestDecidePartnerLandingReloaded: a partner link's landing has no
// transaction_id; loaded three times in a row it is one click, not three
// shares. The same link again after another publisher's click is a click.
func TestDecidePartnerLandingReloaded(t *testing.T) {
	partner := func(ago time.Duration) Touch {
		return Touch{Time: placed.Add(-ago), OfferID: "55", AffID: "66", Subs: map[string]string{"sub1": "x"}}
	}
	b := click("B", time.Hour)
	got := Decide(order("", 0), []Touch{partner(5 * time.Hour), partner(4 * time.Hour), partner(3 * time.Hour), b},
		Rules{Model: Linear}, decidedAt)
	if s := shares(got); s["66"] != 0.5 || s["pub-B"] != 0.5 {
		t.Errorf("linear shares %v, want 66 and pub-B 0.5 each", s)
	}
	if r := got.Why.Candidates[1].Reason; r != reasonSameLanding {
		t.Errorf("the reload's reason is %q", r)
	}
	got = Decide(order("", 0), []Touch{partner(5 * time.Hour), b, partner(30 * time.Minute)}, Rules{Model: Linear}, decidedAt)
	if s := shares(got); s["66"] != 2.0/3 || s["pub-B"] != 1.0/3 {
		t.Errorf("linear shares %v, want 66 2/3 and pub-B 1/3", s)
	}
}

// TestDecideSameLandingAcrossARepeat: a revisit of a click's landing (its
// transaction_id again) counts for nothing, so the partner landing
// reloaded after it still repeats the partner landing before it.
func TestDecideSameLandingAcrossARepeat(t *testing.T) {
	partner := func(ago time.Duration) Touch {
		return Touch{Time: placed.Add(-ago), OfferID: "55", AffID: "66"}
	}
	b1, b2 := click("B", 6*time.Hour), click("B", 4*time.Hour) // b2 repeats b1
	got := Decide(order("", 0), []Touch{b1, partner(5 * time.Hour), b2, partner(3 * time.Hour)}, Rules{Model: Linear}, decidedAt)
	if s := shares(got); s["66"] != 0.5 || s["pub-B"] != 0.5 {
		t.Errorf("linear shares %v, want 66 and pub-B 0.5 each", s)
	}
}

// TestDecideLinearCreditOfTheAffiliate: the Result names the last click's
// affiliate with the whole share that affiliate has, not one click's.
func TestDecideLinearCreditOfTheAffiliate(t *testing.T) {
	a1, b, a2 := click("A1", 3*time.Hour), click("B", 2*time.Hour), click("A2", time.Hour)
	a1.PublisherID, a2.PublisherID = "PUBA", "PUBA"
	got := Decide(order("", 0), []Touch{a1, b, a2}, Rules{Model: Linear}, decidedAt)
	if got.PublisherID != "PUBA" || got.TransactionID != "A2" || math.Abs(got.Credit-2.0/3) > 1e-12 {
		t.Errorf("result %s/%s credit %v, want PUBA's click A2 with 2/3", got.PublisherID, got.TransactionID, got.Credit)
	}
}

// shares sums the credit of the chosen candidates per affiliate.
func shares(r Result) map[string]float64 {
	out := map[string]float64{}
	for _, c := range r.Why.Candidates {
		if c.Chosen {
			out[c.Affiliate()] += c.Credit
		}
	}
	return out
}

func TestDecideDeterministic(t *testing.T) {
	touches := []Touch{
		click("a", 10*day), click("b", 3*day), utmLanding(day), click("c", 40*day), click("d", -day),
	}
	for _, m := range []Model{LastTouch, FirstTouch, Linear} {
		first := Decide(order(OrderPaid, day), touches, Rules{Model: m}, decidedAt)
		for i := range len(touches) {
			// Rotate the input: distinct times, so the order of input must
			// not matter.
			rotated := append(append([]Touch{}, touches[i:]...), touches[:i]...)
			if got := Decide(order(OrderPaid, day), rotated, Rules{Model: m}, decidedAt); !reflect.DeepEqual(got, first) {
				t.Errorf("%s, rotation %d: decision differs\n got %+v\nwant %+v", m, i, got, first)
			}
		}
	}
}

func TestDecideTiesKeepInputOrder(t *testing.T) {
	x, y := click("x", day), click("y", day)
	tests := []struct {
		model   Model
		touches []Touch
		want    string
	}{
		{LastTouch, []Touch{x, y}, "y"},
		{LastTouch, []Touch{y, x}, "x"},
		{FirstTouch, []Touch{x, y}, "x"},
		{FirstTouch, []Touch{y, x}, "y"},
	}
	for _, tt := range tests {
		got := Decide(order("", 0), tt.touches, Rules{Model: tt.model}, decidedAt)
		if got.TransactionID != tt.want {
			t.Errorf("%s over %s,%s credits %q, want %q", tt.model,
				tt.touches[0].TransactionID, tt.touches[1].TransactionID, got.TransactionID, tt.want)
		}
	}
}

func TestDecideLeavesInputAlone(t *testing.T) {
	touches := []Touch{click("b", day), click("a", 2*day)}
	got := Decide(order("", 0), touches, Rules{}, decidedAt)
	if touches[0].TransactionID != "b" || touches[1].TransactionID != "a" {
		t.Errorf("Decide reordered its input")
	}
	got.Subs["sub1"] = "changed"
	if touches[0].Subs["sub1"] != "s-b" {
		t.Errorf("the result's subs alias the touch's")
	}
}

func TestDecideDefaults(t *testing.T) {
	for _, r := range []Rules{{}, {Window: -time.Hour, RefundWindow: -time.Hour, Model: "most_recent"}} {
		got := Decide(order("", 0), nil, r, decidedAt)
		if got.Window != "720h0m0s" || got.RefundWindow != "1440h0m0s" || got.Model != LastTouch {
			t.Errorf("rules %+v decided with window %s, refund window %s, model %s", r, got.Window, got.RefundWindow, got.Model)
		}
	}
}

// TestDecideCarriesTheLandingsAffID: a partner link's landing (offer_id
// and aff_id, no click id) credits the order with both.
func TestDecideCarriesTheLandingsAffID(t *testing.T) {
	landing := Touch{Time: placed.Add(-time.Hour), OfferID: "55", AffID: "66"}
	res := Decide(order("", 0), []Touch{landing}, Rules{}, decidedAt)
	if res.Status != Approved || res.OfferID != "55" || res.AffID != "66" {
		t.Errorf("result %s offer %q aff %q, want approved with offer 55 and aff 66", res.Status, res.OfferID, res.AffID)
	}
}
