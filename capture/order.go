package capture

import "math"

// Order is the order a thank-you page confirms, as far as the page tells.
// Absent money is nil and absent text is "", so that merging can tell "not
// printed" from zero.
type Order struct {
	ID        string     `json:"order_id"`
	Total     *float64   `json:"total"`
	Subtotal  *float64   `json:"subtotal"`
	Currency  string     `json:"currency"`
	Discounts []Discount `json:"discounts"`
	Items     []Item     `json:"items"`
	Email     string     `json:"email"`
	// Time and Status are the order time and status when the page prints
	// them (the Katalys payload does), verbatim.
	Time   string `json:"order_time,omitempty"`
	Status string `json:"order_status,omitempty"`
	// Source names the most trusted source the order came from
	// ("katalys", "ga4", "markup/woocommerce", …), Sources every one
	// that contributed, in order of trust.
	Source  string   `json:"source"`
	Sources []string `json:"sources,omitempty"`
	// Convert is true when the page carries a Katalys conversion payload
	// of its own (a convert push or pre-seeded thank_you properties), so
	// the proxy must not add another.
	Convert bool `json:"-"`

	// shipping and tax are what an analytics tag printed beside its
	// value, which by Google's definition leaves them out. They travel
	// with Total (merge), so that Page.Order can tell a value without
	// them from the page's grand total.
	shipping, tax *float64
	// currencyAssumed tells that Currency is the Reporting Schema's
	// default, not printed by the page (see CurrencyAssumed).
	currencyAssumed bool
}

// CurrencyAssumed reports whether the page named no currency and Currency
// is the Reporting Schema's default (USD) for a Katalys payload without
// one: a store that knows its currency may say otherwise.
func (o *Order) CurrencyAssumed() bool { return o.currencyAssumed }

// Discount is one discount applied to the order. Code is "" when the page
// shows an amount but no code.
type Discount struct {
	Code   string   `json:"code"`
	Amount *float64 `json:"amount"`
}

// Item is one line of the order. Price is the unit price in major units.
// SKU is "" when the page prints no item identifier.
type Item struct {
	SKU      string   `json:"sku"`
	Name     string   `json:"name"`
	Quantity int      `json:"quantity"`
	Price    *float64 `json:"price"`
}

// Money returns a pointer to v with floating noise removed
// (16.560000000000002 becomes 16.56), for the optional money fields.
func Money(v float64) *float64 {
	r := math.Round(v*1e6) / 1e6
	return &r
}

// Codes returns the discount codes of o in order, skipping discounts that
// have none.
func (o *Order) Codes() []string {
	var codes []string
	for _, d := range o.Discounts {
		if d.Code != "" {
			codes = append(codes, d.Code)
		}
	}
	return codes
}

// merge fills the fields of o that are empty from p, a less trusted
// partial order of the same page. Lists (items, discounts) are taken whole
// from the most trusted source that has them: mixing the lines of two
// sources would count items twice.
func (o *Order) merge(p *Order) {
	contributed := false
	fill := func(dst *string, v string) {
		if *dst == "" && v != "" {
			*dst, contributed = v, true
		}
	}
	fillMoney := func(dst **float64, v *float64) {
		if *dst == nil && v != nil {
			*dst, contributed = v, true
		}
	}
	fill(&o.ID, p.ID)
	if o.Total == nil && p.Total != nil {
		o.shipping, o.tax = p.shipping, p.tax
	}
	fillMoney(&o.Total, p.Total)
	fillMoney(&o.Subtotal, p.Subtotal)
	fill(&o.Currency, p.Currency)
	fill(&o.Email, p.Email)
	fill(&o.Time, p.Time)
	fill(&o.Status, p.Status)
	if len(o.Items) == 0 && len(p.Items) > 0 {
		o.Items, contributed = p.Items, true
	}
	if len(o.Codes()) == 0 && len(p.Codes()) > 0 {
		o.Discounts, contributed = p.Discounts, true
	} else if len(o.Discounts) == 0 && len(p.Discounts) > 0 {
		o.Discounts, contributed = p.Discounts, true
	} else if fillDiscountAmounts(o.Discounts, p.Discounts) {
		contributed = true
	}
	o.Convert = o.Convert || p.Convert
	if contributed {
		if o.Source == "" {
			o.Source = p.Source
		}
		o.Sources = append(o.Sources, p.Source)
	}
}

// Fill fills the fields of o that are empty from p, as Extract does
// across the sources of one page: a later capture of the same order (a
// reload of its thank-you page) completes what the first one lacked but
// never changes what it recorded.
func (o *Order) Fill(p *Order) { o.merge(p) }

// fillDiscountAmounts gives the discounts of dst that have no amount the
// amounts of src, line by line, when both list the same number of
// discounts and src's lines name no other code: a GA4 coupon code and the
// page's "Discount: -$7.90" row are the same discount. It reports whether
// it filled any.
func fillDiscountAmounts(dst, src []Discount) bool {
	if len(dst) == 0 || len(dst) != len(src) {
		return false
	}
	for i := range dst {
		if src[i].Code != "" && src[i].Code != dst[i].Code {
			return false
		}
	}
	filled := false
	for i := range dst {
		if dst[i].Amount == nil && src[i].Amount != nil {
			dst[i].Amount, filled = src[i].Amount, true
		}
	}
	return filled
}
