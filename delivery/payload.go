package delivery

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/storeedge/caddy-katalys/attribution"
)

// Values of the action keys the payloads carry.
const (
	// ActionConvert is the action of an order's conversion (KindOrder):
	// the KB's custom-integration guide reports an order with "convert"
	// (katalys.md §2.1).
	ActionConvert = "convert"
	// ActionStatus is the action of a later status change (KindStatus).
	// The Magento plugin re-posts the full order with
	// action=offline_conv on every status change and carries the new
	// status in order_status; the WooCommerce plugin puts the raw
	// platform status in action, which would register one custom event
	// per status name (katalys.md §2.3, §4.4). offline_conv is the one
	// the KB also names for offline postbacks (§4.1), so it is the one
	// sent here.
	ActionStatus = "offline_conv"
	// ActionTypeSale is the action_type of every payload: these are
	// online sales (katalys.md §2.1, §2.3).
	ActionTypeSale = "online-sale"
	// TypeOffline is the type of every payload: the KB's offline and
	// call-center postbacks to /v2/_tr_offline say type=offline_conv
	// "must be included … always" (katalys.md §4.1).
	TypeOffline = "offline_conv"
)

// OrderFacts is what a payload says of an order: the caller fills it from
// the stored order (storage.Order). Absent money is nil and absent text "",
// and both are left out of the payload.
type OrderFacts struct {
	ID        string
	Total     *float64 // sale_amount
	Subtotal  *float64 // subtotal_amount
	Currency  string   // ISO 4217; "" is USD
	Email     string
	Discounts []OrderDiscount
	Items     []OrderItem
	Time      time.Time // when the order was placed; zero when unknown
	ClientIP  string
	UserAgent string
	// Status is the order's latest status: the one the store reported
	// (storage.Order.Status), or else the one its page printed.
	Status string
}

// OrderDiscount is one discount of an order.
type OrderDiscount struct {
	Code   string
	Amount *float64
}

// OrderItem is one line of an order; Price is the unit price.
type OrderItem struct {
	SKU      string
	Name     string
	Quantity int
	Price    *float64
}

// OrderPayload builds the Reporting Schema payload of order o of bucket
// (DESIGN §4.6, katalys.md §2.4): the flattened keys Katalys' S2S endpoint
// takes, every value a non-empty string or a finite number, absent values
// left out.
//
// kind is KindOrder (action "convert"), or KindStatus or KindUpdate
// (action "offline_conv"); either way the whole order is sent, as the official
// plugins re-post the full order on every status change and Katalys
// merges the reports of one order_id. order_status is status when it is
// not "" (a KindStatus entry's new status), else o.Status.
//
// Discounts and line items are numbered from 1
// (discount_1_code/discount_1_amount, line_item_1_sku/_title/_price/_qty),
// as the KB's Reporting Schema says; the official plugins number from 0
// and send discount_N_amt, but the KB is what Katalys documents as its
// schema. Entries with nothing to say are skipped, so the numbering has no
// gaps.
//
// transaction_id, publisher_id, aff_id (the landing's own, else the
// publisher id) and offer_id are sent only when res credits the order to a
// click (status approved or pending, with a transaction id, a publisher id,
// or an aff_id and an offer id): an organic or rejected order carries none.
func OrderPayload(bucket string, o OrderFacts, res *attribution.Result, kind, status string) map[string]any {
	p := make(map[string]any, 16+2*len(o.Discounts)+4*len(o.Items))
	str := func(key, v string) {
		if v = strings.TrimSpace(v); v != "" {
			p[key] = v
		}
	}
	num := func(key string, v *float64) {
		if finite(v) {
			p[key] = *v
		}
	}

	str("site_id", bucket)
	if kind == KindOrder {
		p["action"] = ActionConvert
	} else {
		p["action"] = ActionStatus // a status change or an update
	}
	p["action_type"] = ActionTypeSale
	p["type"] = TypeOffline
	str("order_id", o.ID)
	num("sale_amount", o.Total)
	num("subtotal_amount", o.Subtotal)
	if c := strings.ToUpper(strings.TrimSpace(o.Currency)); c != "" {
		p["currency"] = c
	} else {
		p["currency"] = "USD"
	}
	str("email_address", o.Email)

	n := 0
	for _, d := range o.Discounts {
		if strings.TrimSpace(d.Code) == "" && !finite(d.Amount) {
			continue
		}
		n++
		prefix := "discount_" + strconv.Itoa(n) + "_"
		str(prefix+"code", d.Code)
		num(prefix+"amount", d.Amount)
	}
	n = 0
	for _, it := range o.Items {
		if strings.TrimSpace(it.SKU) == "" && strings.TrimSpace(it.Name) == "" && !finite(it.Price) && it.Quantity <= 0 {
			continue
		}
		n++
		prefix := "line_item_" + strconv.Itoa(n) + "_"
		str(prefix+"sku", it.SKU)
		str(prefix+"title", it.Name)
		num(prefix+"price", it.Price)
		if it.Quantity > 0 {
			p[prefix+"qty"] = it.Quantity
		}
	}

	if status != "" {
		str("order_status", status)
	} else {
		str("order_status", o.Status)
	}
	if !o.Time.IsZero() {
		p["order_time"] = o.Time.Unix()
	}
	str("client_ip", o.ClientIP)
	str("user_agent", o.UserAgent)

	if credited(res) {
		str("transaction_id", res.TransactionID)
		str("publisher_id", res.PublisherID)
		// The landing's publisher_id "is stored and sent back as aff_id",
		// and a report without a transaction_id needs offer_id and aff_id
		// (katalys.md §3.1, §4.1); a landing that had an aff_id of its own
		// (a partner link's) sends that.
		aff := res.AffID
		if strings.TrimSpace(aff) == "" {
			aff = res.PublisherID
		}
		str("aff_id", aff)
		str("offer_id", res.OfferID)
	}
	return p
}

// credited tells whether res credits its order to an affiliate click.
func credited(res *attribution.Result) bool {
	if res == nil {
		return false
	}
	if res.Status != attribution.Approved && res.Status != attribution.Pending {
		return false
	}
	return attribution.CreditsClick(res.TransactionID, res.PublisherID, res.AffID, res.OfferID)
}

func finite(v *float64) bool {
	return v != nil && !math.IsNaN(*v) && !math.IsInf(*v, 0)
}
