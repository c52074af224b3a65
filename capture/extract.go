package capture

import (
	"bytes"
	"math"
)

// source is one place a page can print its order. find returns the
// partial order it reads, or nil when the page has none there.
type source struct {
	name  string
	find  func(*Page) *Order
	gives Field // the fields it can give
}

// Field is a set of Order fields.
type Field uint16

// The fields of an Order, as bits of a Field.
const (
	fID Field = 1 << iota
	fTotal
	fSubtotal
	fCurrency
	fDiscounts
	fItems
	fEmail
	fTime
	fStatus

	fAll = fID | fTotal | fSubtotal | fCurrency | fDiscounts | fItems | fEmail | fTime | fStatus
)

// Missing is the set of fields o lacks: the ones a less trusted source,
// or a later capture of the same order (Fill), can still fill.
func (o *Order) Missing() Field {
	var m Field
	set := func(empty bool, f Field) {
		if empty {
			m |= f
		}
	}
	set(o.ID == "", fID)
	set(o.Total == nil, fTotal)
	set(o.Subtotal == nil, fSubtotal)
	set(o.Currency == "", fCurrency)
	set(len(o.Codes()) == 0, fDiscounts)
	set(len(o.Items) == 0, fItems)
	set(o.Email == "", fEmail)
	set(o.Time == "", fTime)
	set(o.Status == "", fStatus)
	return m
}

// sources are the order sources in order of trust (DESIGN §4.3): the
// Katalys payload first, because it is what Katalys itself consumes; then
// the platforms' own order objects (Shopify.checkout, Magento's tracking
// data, app state of Next.js and Inertia storefronts), which the
// platform prints from its order record; then the analytics payloads
// (dataLayer: GTM4WP, GA4, UA, classic GTM; gtag); schema.org Order data;
// the ad pixels, which carry a few fields at most; the visible markup,
// and last an email address printed in the page's text. DESIGN lists
// Shopify.checkout after the analytics payloads and schema.org; it comes
// earlier here because it is the platform's own record, as the reference
// on storefront order markup advises (orders.md §16). When a page carries
// both with different ids (Shopify's internal order_id beside a GA4
// transaction_id holding the order name), the platform's id wins; it is
// also the one printed on every view of the page, where a purchase event
// often is printed on the first view only, so a reload of the page keeps
// the order's id (docs/design-decisions.md).
var sources = []source{
	{"katalys", fromKatalys, fAll},
	{"shopify", fromShopify, fAll},
	{"magento", fromMagentoInit, fAll},
	{"nextjs", fromNextData, fAll},
	{"inertia", fromInertia, fAll},
	{"datalayer", fromDataLayer, fAll},
	{"gtag", fromGtag, fAll},
	{"jsonld", fromJSONLD, fAll},
	{"microdata", fromMicrodata, fAll},
	{"gads", fromAdsConversion, fID | fTotal | fCurrency},
	{"meta", fromMeta, fID | fTotal | fCurrency},
	{"gcr", fromGCR, fID | fEmail},
	{"markup", fromMarkup, fAll},
	{"text", fromVisibleEmail, fEmail},
}

// Extract returns the order page confirms; ok is false when it confirms
// none. A page confirms an order when some source gives an order id and
// either a total or items, or when its own Katalys conversion names the
// order (an id is "the bare minimum" Katalys asks of a thank-you page):
// prices alone (product grids, cross-sells) and analytics events other
// than a purchase never make an order. A WooCommerce page that says the
// payment failed confirms none, whatever its tags report: the plugins that
// hook its thank-you action print their purchase events there too.
func Extract(page []byte) (o Order, ok bool) {
	return NewPage(page).Order()
}

// Order merges what every source finds on p, most trusted first. A
// source that can only give fields the order has already is not read.
func (p *Page) Order() (o Order, ok bool) {
	if paymentFailed(p) {
		return Order{}, false
	}
	idFrom := ""      // the source whose id the order has
	var markup *Order // what the markup source read, once it has run
	markupRead := false
	for _, s := range sources {
		if o.Missing()&s.gives == 0 {
			continue
		}
		part := s.find(p)
		if s.name == "markup" {
			markup, markupRead = part, true
		}
		if part == nil {
			continue
		}
		if part.Source == "" {
			part.Source = s.name
		}
		if o.ID == "" && part.ID != "" {
			idFrom = s.name
		}
		o.merge(part)
	}
	readMarkup := func() *Order {
		if !markupRead {
			markup, markupRead = fromMarkup(p), true
		}
		return markup
	}
	if oneShot[idFrom] {
		if m := readMarkup(); m != nil && m.ID != "" {
			o.ID = m.ID
		}
	}
	if o.shipping != nil || o.tax != nil {
		if m := readMarkup(); m != nil {
			o.Total = grandTotal(o, m)
		}
	}
	if !o.confirmed() {
		return Order{}, false
	}
	if o.Currency == "" && o.Source == "katalys" {
		o.Currency, o.currencyAssumed = "USD", true // the Reporting Schema's default
	}
	return o, true
}

// grandTotal is the total of o, whose value came from an analytics tag
// that printed shipping or tax beside it: the markup's grand total when
// it is that value plus the shipping, the tax or both (the store followed
// Google's definition of value, which leaves them out), else o's total,
// as most stores print the grand total there.
func grandTotal(o Order, markup *Order) *float64 {
	if o.Total == nil || markup.Total == nil || (markup.Currency != "" && o.Currency != "" && markup.Currency != o.Currency) {
		return o.Total
	}
	value, page := *o.Total, *markup.Total
	ship, tax := 0.0, 0.0
	if o.shipping != nil {
		ship = *o.shipping
	}
	if o.tax != nil {
		tax = *o.tax
	}
	for _, sum := range []float64{value + ship, value + tax, value + ship + tax} {
		if sum != value && math.Abs(sum-page) < 0.005 {
			return markup.Total
		}
	}
	return o.Total
}

// oneShot are the sources that storefronts often print on the first view
// of a thank-you page only (analytics and pixel tags, guarded against
// double tracking), with an id of their choosing: a post id, a prefixed
// or #-numbered name. When the order's id comes from one of them and the
// platform's markup, printed on every view, names the order too, the
// markup's id is kept, so a reload of the page gives the same order, not a
// second one.
var oneShot = map[string]bool{"datalayer": true, "gtag": true, "gads": true, "meta": true, "gcr": true}

// failedNotice is the class of WooCommerce's "your order cannot be
// processed" notice, shown on the thank-you page of a failed payment.
const failedNotice = "woocommerce-thankyou-order-failed"

// paymentFailed reports whether the page shows WooCommerce's failed-payment
// notice: the class on an element, not in a script (a theme's script may
// look the class up on every thank-you page, with a "<" of its own before
// it) or a stylesheet.
func paymentFailed(p *Page) bool {
	raw := p.Raw
	for i, n := 0, 0; n < 64; n++ {
		j := indexStr(raw[i:], failedNotice)
		if j < 0 {
			return false
		}
		at := i + j
		i = at + len(failedNotice)
		if p.inScript(at) {
			continue
		}
		// Within the start tag it sits in: a '<' and a letter after the
		// last '>' (a tag is far shorter than the bound looked back).
		from := max(0, at-4096)
		lt, gt := bytes.LastIndexByte(raw[from:at], '<'), bytes.LastIndexByte(raw[from:at], '>')
		if lt > gt && isLetter(raw[from+lt+1]) {
			return true
		}
	}
	return false
}

// confirmed reports whether o is enough to be an order (see Extract): an
// id with a total or items, or an id the page's own Katalys conversion
// names.
func (o *Order) confirmed() bool {
	return o.ID != "" && (o.Total != nil || len(o.Items) > 0 || (o.Convert && o.Source == "katalys"))
}
