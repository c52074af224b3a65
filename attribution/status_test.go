package attribution

import "testing"

func TestPageStatus(t *testing.T) {
	tests := []struct{ printed, want string }{
		{"", ""},
		{"pending", OrderPending},
		{"Pending Payment", OrderPending},
		{"pending_payment", OrderPending},
		{"on-hold", OrderPending},
		{"holded", OrderPending},
		{"new", OrderPending},
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
