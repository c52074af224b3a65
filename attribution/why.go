package attribution

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

const day = 24 * time.Hour

// modelRule is the rule of an attributed order: which of the n counting
// clicks model credited.
func modelRule(model Model, n int, window time.Duration) string {
	span, count := windowSpan(window), strconv.Itoa(n)
	if n == 1 {
		if model == Linear {
			return string(model) + ": the only affiliate click within " + span + ", with all the credit"
		}
		return string(model) + ": the only affiliate click within " + span
	}
	switch model {
	case FirstTouch:
		return string(model) + ": the first of " + count + " affiliate clicks within " + span
	case Linear:
		return string(model) + ": 1/" + count + " of the credit to each of " + count + " affiliate clicks within " + span
	}
	return string(model) + ": the last of " + count + " affiliate clicks within " + span
}

// organicRule is the rule of an order no click counts for, with what the
// visitor did have: older clicks, clicks after the order, landings without
// click ids.
func organicRule(o Order, cands []Candidate, window time.Duration) string {
	if o.Visitor == "" && len(cands) == 0 {
		return "organic: the order has no visitor, so no click can be linked to it"
	}
	rule := "organic: no affiliate click within " + windowSpan(window) + " before the order"
	var older, after, plain int
	var latestOlder time.Time
	for _, c := range cands {
		switch {
		case !IsAffiliate(c.Touch):
			plain++
		case c.Time.After(o.Time):
			after++
		default:
			older++
			latestOlder = c.Time
		}
	}
	var parts []string
	if older > 0 {
		age := formatAge(o.Time.Sub(latestOlder), window)
		if older == 1 {
			parts = append(parts, "1 older click, "+age+" before")
		} else {
			parts = append(parts, fmt.Sprintf("%d older clicks, the latest %s before", older, age))
		}
	}
	if after > 0 {
		parts = append(parts, plural(after, "click", "clicks")+" after the order")
	}
	if plain > 0 {
		parts = append(parts, plural(plain, "landing", "landings")+" without click ids")
	}
	if len(parts) == 0 {
		return rule
	}
	return rule + " (" + strings.Join(parts, "; ") + ")"
}

// phrasing is a window and the words for it, worked out at the first
// click past the window, then kept for the others of the decision.
type phrasing struct {
	d         time.Duration
	adjective string // "30-day"
	days      string // "30 days", as formatDays writes it
}

// pastReason is the reason of an affiliate click made age before the
// order, earlier than the window: "31.2 days before the order, past the
// 30-day window", built in one allocation.
func (p *phrasing) pastReason(age time.Duration) string {
	if p.days == "" {
		p.adjective, p.days = windowAdjective(p.d), formatDays(p.d)
	}
	var buf [96]byte
	b := appendDays(buf[:0], age)
	if age != p.d && string(b) == p.days {
		b = append(append(append(b, " ("...), age.String()...), ')')
	}
	b = append(b, " before the order, past the "...)
	b = append(b, p.adjective...)
	return string(append(b, " window"...))
}

// reversalClause explains the status of an order refunded, cancelled or
// rejected `after` its placement.
func reversalClause(status Status, orderStatus string, after, refundWindow time.Duration) string {
	what := fmt.Sprintf("%s: %s %s after the order, ", status, reversalVerb(orderStatus), formatAge(after, refundWindow))
	if status == Rejected {
		return what + "within the " + windowAdjective(refundWindow) + " refund window"
	}
	return what + "past the " + windowAdjective(refundWindow) + " refund window, so it does not reverse the attribution"
}

// reversalUnknownTimeClause explains the rejection of an order whose
// refund, cancellation or rejection has no time.
func reversalUnknownTimeClause(orderStatus string, refundWindow time.Duration) string {
	return fmt.Sprintf("%s: %s at an unknown time, counted as within the %s refund window",
		Rejected, reversalVerb(orderStatus), windowAdjective(refundWindow))
}

func printedPendingClause(printed string) string {
	return fmt.Sprintf("%s: the order's page says %q, not paid yet", Pending, printed)
}

func unknownStatusClause(orderStatus string) string {
	return fmt.Sprintf("%s: unknown order status %q, counted as not settled yet", Pending, orderStatus)
}

func reversalVerb(orderStatus string) string {
	if orderStatus == OrderRejected {
		return "rejected by the store"
	}
	return orderStatus
}

// windowSpan is a window as a length of time: "30 days", "1 day", or Go's
// form when it is not a whole number of days ("36h0m0s").
func windowSpan(w time.Duration) string {
	if w%day != 0 {
		return w.String()
	}
	return plural(int(w/day), "day", "days")
}

// windowAdjective is a window as an adjective: "30-day", or Go's form when
// it is not a whole number of days.
func windowAdjective(w time.Duration) string {
	if w%day != 0 {
		return w.String()
	}
	return strconv.Itoa(int(w/day)) + "-day"
}

// formatAge writes d in days to one decimal ("31.2 days", "3 days",
// "1 day"), adding the exact duration when the rounding would make it look
// equal to limit ("30 days (720h0m1s)"), so that a click just past a window
// never reads as inside it.
func formatAge(d, limit time.Duration) string {
	s := formatDays(d)
	if d != limit && s == formatDays(limit) {
		return s + " (" + d.String() + ")"
	}
	return s
}

func formatDays(d time.Duration) string {
	var buf [32]byte
	return string(appendDays(buf[:0], d))
}

// appendDays appends d in days to one decimal: "31.2 days", "1 day".
func appendDays(b []byte, d time.Duration) []byte {
	start := len(b)
	b = strconv.AppendFloat(b, math.Round(d.Hours()/24*10)/10, 'f', -1, 64)
	if string(b[start:]) == "1" {
		return append(b, " day"...)
	}
	return append(b, " days"...)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
