package attribution

import "strings"

// PageStatus maps an order status as a storefront printed it on the order's
// page (capture's order_status: WooCommerce's "processing", Magento's
// "complete", a Katalys snippet's "pending") to one of the Order* statuses,
// or to "" when it says nothing about payment or reversal. A store's own
// report (the admin API) always wins over it: Decide reads an order's
// PrintedStatus only while its Status is "".
//
// It follows the platforms' meanings rather than their words: "processing"
// is paid in WooCommerce and Magento alike, "on-hold" and "pending payment"
// are not paid yet, Magento's "closed" is a refund and "fraud" a rejection,
// as the official Katalys Magento plugin maps them. A bare "pending" says
// nothing certain: that same plugin prints it on the success page for
// Magento's "processing", a paid order, so it gives "", as do statuses it
// does not know, such as Shopify's "open" or Magento's "new": the order
// counts as placed and paid, as any order captured from a thank-you page
// does.
func PageStatus(printed string) string {
	s := statusSeparators.Replace(strings.ToLower(strings.TrimSpace(printed)))
	switch s {
	case "pending-payment", "on-hold", "holded", "payment-review", "pending-review",
		"awaiting-payment", "unpaid":
		return OrderPending
	case OrderPaid, "processing":
		return OrderPaid
	case OrderFulfilled, "complete", "completed", "shipped", "delivered":
		return OrderFulfilled
	case OrderRefunded, "closed":
		return OrderRefunded
	case OrderCancelled, "canceled", "voided":
		return OrderCancelled
	case OrderRejected, "failed", "fraud", "declined":
		return OrderRejected
	}
	return ""
}

// statusSeparators spells "Pending Payment" and "pending_payment" as
// "pending-payment".
var statusSeparators = strings.NewReplacer(" ", "-", "_", "-")
