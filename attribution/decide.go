package attribution

import (
	"maps"
	"slices"
	"time"
)

// reasonInWindow is the Reason of a candidate that counts: an affiliate click
// within the window before the order.
const reasonInWindow = "within the window"

// Decide attributes order o to the visitor's touches (in any order, all of
// the order's bucket) under rules r, whose zero fields take the defaults:
// a 30-day window, last_touch, a 60-day refund window.
//
// A touch counts when it is an affiliate click (IsAffiliate) made in
// [o.Time − Window, o.Time]. last_touch credits the last that counts,
// first_touch the first, linear gives each of the n that count 1/n, and the
// Result carries the ids, subs and time of the credited click (the last one
// for linear). With none the order is Organic, whatever its status.
// Otherwise its status decides: unknown (""), paid or fulfilled is
// Approved, pending is Pending, and refunded, cancelled or rejected is
// Rejected when it changed at most RefundWindow after the order (or at an
// unknown time), Approved after that. Any other status counts as Pending.
//
// Every touch is among Why.Candidates, sorted by time (ties kept in input
// order), with the reason it counted or not; Why.Rule says in a sentence
// what chose. Decide is deterministic and does not modify touches; the
// candidates share their Subs maps with touches, the Result has its own.
func Decide(o Order, touches []Touch, r Rules, now time.Time) Result {
	r = r.withDefaults()
	res := Result{
		OrderID:      o.ID,
		Model:        r.Model,
		Subs:         map[string]string{},
		Window:       r.Window.String(),
		RefundWindow: r.RefundWindow.String(),
		DecidedAt:    now,
	}
	cands, n := candidates(o, touches, r.Window)
	res.Why.Candidates = cands
	if n == 0 {
		res.Status = Organic
		res.Why.Rule = organicRule(o, cands, r.Window)
		return res
	}
	credited := share(cands, r.Model, n)
	credit(&res, o, cands[credited])
	creditOfAffiliate(&res, cands)
	status, clause := orderStatus(o, r.RefundWindow)
	res.Status = status
	res.Why.Rule = modelRule(r.Model, n, r.Window)
	if clause != "" {
		res.Why.Rule += "; " + clause
	}
	return res
}

// candidates returns touches as candidates sorted by time, ties in input
// order, each with its reason, and how many of them count.
func candidates(o Order, touches []Touch, window time.Duration) ([]Candidate, int) {
	cands := make([]Candidate, len(touches))
	for i, t := range touches {
		cands[i] = Candidate{Touch: t}
	}
	byTime := func(a, b Candidate) int { return a.Time.Compare(b.Time) }
	if !slices.IsSortedFunc(cands, byTime) { // the store reads them in time order
		slices.SortStableFunc(cands, byTime)
	}
	n, words := 0, phrasing{d: window}
	var clicks map[string]bool // transaction ids of the counting clicks so far
	prev := -1                 // the last counting candidate
	for i := range cands {
		cands[i].Reason = reason(o.Time, cands[i].Touch, &words)
		if cands[i].Reason != reasonInWindow {
			continue
		}
		// Without a transaction_id, the same landing right after itself
		// (a partner link's page reloaded) is no new click either.
		if prev >= 0 && cands[i].TransactionID == "" && sameLanding(cands[prev].Touch, cands[i].Touch) {
			cands[i].Reason = reasonSameLanding
			continue
		}
		// A transaction_id names one click (katalys.md §3.1): the same id
		// again is the landing reloaded or revisited, not another click,
		// so it neither adds a share nor moves the last touch.
		if id := cands[i].TransactionID; id != "" {
			if clicks[id] {
				cands[i].Reason = reasonRepeat
				continue
			}
			if clicks == nil {
				clicks = make(map[string]bool)
			}
			clicks[id] = true
		}
		prev = i
		n++
	}
	return cands, n
}

// reasonRepeat is why a touch with the transaction_id of an earlier one
// does not count.
const reasonRepeat = "the same click again (its transaction_id was seen earlier): a reload, not a new click"

// reasonSameLanding is why a touch without a transaction_id that repeats
// the counting touch before it does not count.
const reasonSameLanding = "the same landing again (same ids, no transaction_id): a reload, not a new click"

// sameLanding reports whether a and b carry the same click parameters.
func sameLanding(a, b Touch) bool {
	return a.TransactionID == b.TransactionID && a.OfferID == b.OfferID && a.PublisherID == b.PublisherID &&
		a.AffID == b.AffID && maps.Equal(a.Subs, b.Subs)
}

// reason says whether t counts for an order placed at placed, and if not,
// why not.
func reason(placed time.Time, t Touch, window *phrasing) string {
	switch {
	case !IsAffiliate(t):
		return "not an affiliate click"
	case t.Time.After(placed):
		return "after the order"
	case t.Time.Before(placed.Add(-window.d)):
		return window.pastReason(placed.Sub(t.Time))
	}
	return reasonInWindow
}

// share marks the counting candidates that get credit under model (n of
// them count) and returns the index of the one whose ids the Result
// carries.
func share(cands []Candidate, model Model, n int) int {
	first, last := -1, -1
	for i := range cands {
		if cands[i].Reason != reasonInWindow {
			continue
		}
		if first < 0 {
			first = i
		}
		last = i
		if model == Linear {
			cands[i].Chosen, cands[i].Credit = true, 1/float64(n)
		}
	}
	chosen := last
	if model == FirstTouch {
		chosen = first
	}
	if model != Linear {
		cands[chosen].Chosen, cands[chosen].Credit = true, 1
	}
	return chosen
}

// credit copies the credited candidate c into res.
func credit(res *Result, o Order, c Candidate) {
	at := c.Time
	days := o.Time.Sub(at).Hours() / 24
	res.PublisherID = c.PublisherID
	res.AffID = c.AffID
	res.OfferID = c.OfferID
	res.TransactionID = c.TransactionID
	if len(c.Subs) > 0 {
		res.Subs = maps.Clone(c.Subs)
	}
	res.TouchTime = &at
	res.DaysFromClick = &days
	res.Credit = c.Credit
}

// creditOfAffiliate is the share of the credit that res's affiliate has
// in all: under linear, the shares of all its clicks, so that a result
// naming one affiliate does not show a third of the credit when two of
// three clicks were its own.
func creditOfAffiliate(res *Result, cands []Candidate) {
	if res.Credit == 1 {
		return
	}
	sum := 0.0
	for _, c := range cands {
		if c.Chosen && c.Affiliate() == affiliate(res.PublisherID, res.AffID) {
			sum += c.Credit
		}
	}
	res.Credit = sum
}

// orderStatus is the Status of an attributed order, and the clause of the
// rule that explains it ("" for a plain approval). The store's reported
// status decides; without one, what the order's page printed.
func orderStatus(o Order, refundWindow time.Duration) (Status, string) {
	printed := o.Status == "" && o.PrintedStatus != ""
	if printed {
		o.Status = PageStatus(o.PrintedStatus)
	}
	switch o.Status {
	case "", OrderPaid, OrderFulfilled:
		return Approved, ""
	case OrderPending:
		if printed {
			return Pending, printedPendingClause(o.PrintedStatus)
		}
		return Pending, "pending: the order is not marked paid yet"
	case OrderRefunded, OrderCancelled, OrderRejected:
		return reversal(o, refundWindow)
	}
	return Pending, unknownStatusClause(o.Status)
}

// reversal decides a refunded, cancelled or rejected order: Rejected within
// the refund window (or when the change has no time), Approved after it.
func reversal(o Order, refundWindow time.Duration) (Status, string) {
	if !o.ReversedAt.IsZero() && o.ReversedAt.Before(o.StatusTime) && o.ReversedAs != "" {
		o.Status, o.StatusTime = o.ReversedAs, o.ReversedAt // reversed since the run's first change
	}
	if o.StatusTime.IsZero() {
		return Rejected, reversalUnknownTimeClause(o.Status, refundWindow)
	}
	after := max(o.StatusTime.Sub(o.Time), 0)
	if after <= refundWindow {
		return Rejected, reversalClause(Rejected, o.Status, after, refundWindow)
	}
	return Approved, reversalClause(Approved, o.Status, after, refundWindow)
}
