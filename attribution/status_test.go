package attribution

import (
	"testing"
	"time"
)

func TestPageStatus(t *testing.T) {
	tests := []struct{ printed, want string }{
		{"", ""},
		{"pending", ""}, // the Katalys Magento plugin's word for a paid order
		{"Pending Payment", OrderPending},
		{"pending_payment", OrderPending},
		{"on-hold", OrderPending},
		{"holded", OrderPending},
		{"new", ""},
		{"awaiting payment", OrderPending},
		{"paid", OrderPaid},
		{"processing", OrderPaid},
		{" Processing ", OrderPaid},
		{"complete", OrderFulfilled},
		{"completed", OrderFulfilled},
		{"fulfilled", OrderFulfilled},
		{"refunded", OrderRefunded},
		{"closed", OrderRefunded},
		{"cancelled", OrderCancelled},
		{"canceled", OrderCancelled},
		{"rejected", OrderRejected},
		{"failed", OrderRejected},
		{"fraud", OrderRejected},
		{"open", ""},
		{"partially_refunded", ""},
		{"wfocu-pri-order", ""},
	}
	for _, tt := range tests {
		if got := PageStatus(tt.printed); got != tt.want {
			t.Errorf("PageStatus(%q) = %q, want %q", tt.printed, got, tt.want)
		}
	}
}

// TestDecidePrintedStatus: the status the order's page printed decides
// while the store has reported none, and says so.
func TestDecidePrintedStatus(t *testing.T) {
	touches := []Touch{click("a", 2*time.Hour)}
	tests := []struct {
		printed, reported string
		status            Status
		rule              string
	}{
		{"on-hold", "", Pending, `last_touch: the only affiliate click within 30 days; pending: the order's page says "on-hold", not paid yet`},
		{"processing", "", Approved, "last_touch: the only affiliate click within 30 days"},
		{"open", "", Approved, "last_touch: the only affiliate click within 30 days"},
		{"on-hold", OrderPaid, Approved, "last_touch: the only affiliate click within 30 days"},
		{"pending", "", Approved, "last_touch: the only affiliate click within 30 days"},
		{"processing", OrderPending, Pending, "last_touch: the only affiliate click within 30 days; pending: the order is not marked paid yet"},
		{"canceled", "", Rejected, `last_touch: the only affiliate click within 30 days; rejected: cancelled at an unknown time, counted as within the 60-day refund window`},
	}
	for _, tt := range tests {
		o := order(tt.reported, time.Hour)
		o.PrintedStatus = tt.printed
		res := Decide(o, touches, Rules{}, decidedAt)
		if res.Status != tt.status || res.Why.Rule != tt.rule {
			t.Errorf("printed %q, reported %q: %s, %q; want %s, %q", tt.printed, tt.reported, res.Status, res.Why.Rule, tt.status, tt.rule)
		}
	}
}
