package capture

import (
	"bytes"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
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
var sources = [...]source{
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

// markupSource is the index of the markup source in sources.
var markupSource = slices.IndexFunc(sources[:], func(s source) bool { return s.name == "markup" })

// Extract returns the order page confirms; ok is false when it confirms
// none. A page confirms an order when some source gives an order id and
// either a total or items, or when its own Katalys conversion names the
// order (an id is "the bare minimum" Katalys asks of a thank-you page):
// prices alone (product grids, cross-sells) and analytics events other
// than a purchase never make an order. A WooCommerce or Shopware page that
// says the payment failed (classic or block theme) confirms none, whatever its tags
// report: the plugins that hook its thank-you action print their purchase
// events there too. Nor does a Spree or Solidus order page that does not
// say its order was just placed, or an order with a Spree number whose
// page dates it days back: the customer's account shows the same page for
// an old order. A page served with a header that declares its charset is
// read with NewPageWith(page, Options{HeaderCharset: true}).Order().
func Extract(page []byte) (o Order, ok bool) {
	return NewPage(page).Order()
}

// Order merges what every source finds on p, most trusted first. A
// source that can only give fields the order has already is not read.
func (p *Page) Order() (o Order, ok bool) {
	if paymentFailed(p) || spreeAccountView(p) {
		return Order{}, false
	}
	idFrom := ""                   // the source whose id the order has
	var parts [len(sources)]*Order // what each source read, once it has run
	var read [len(sources)]bool
	find := func(k int) *Order {
		if !read[k] {
			parts[k], read[k] = sources[k].find(p), true
		}
		return parts[k]
	}
	for k, s := range sources {
		if o.Missing()&s.gives == 0 {
			continue
		}
		part := find(k)
		if part == nil {
			continue
		}
		if s.name == "gads" && !adsNamed(part.ID, o.ID, k, find) {
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
	readMarkup := func() *Order { return find(markupSource) }
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
	if !o.confirmed() || o.accountView() {
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

// adsNamed reports whether the order of a Google Ads conversion (source
// k), whose id is id, is one the page names elsewhere: the order found so
// far (before the conversion: the order's id, whose id is orderID), or
// else one a less trusted source names by the same id (the Meta pixel's
// Purchase, the Customer Reviews opt-in, the platform's markup). An Ads
// conversion counts leads and sign-ups as well as sales: alone, or beside
// another order, it is not a sale, and it fills nothing.
func adsNamed(id, orderID string, k int, find func(int) *Order) bool {
	if orderID != "" {
		return sameID(id, orderID)
	}
	for j := k + 1; j < len(sources); j++ {
		if sources[j].gives&fID == 0 {
			continue
		}
		if part := find(j); part != nil && sameID(part.ID, id) {
			return true
		}
	}
	return false
}

// sameID reports whether two sources name the same order: the same id,
// in any case, with or without a leading '#'.
func sameID(a, b string) bool {
	a, b = strings.TrimPrefix(strings.TrimSpace(a), "#"), strings.TrimPrefix(strings.TrimSpace(b), "#")
	return a != "" && strings.EqualFold(a, b)
}

// oneShot are the sources that storefronts often print on the first view
// of a thank-you page only (analytics and pixel tags, guarded against
// double tracking), with an id of their choosing: a post id, a prefixed
// or #-numbered name. When the order's id comes from one of them and the
// platform's markup, printed on every view, names the order too, the
// markup's id is kept, so a reload of the page gives the same order, not a
// second one.
var oneShot = map[string]bool{"datalayer": true, "gtag": true, "gads": true, "meta": true, "gcr": true}

// failedNotices are the classes WooCommerce prints on the thank-you page of
// a failed payment, and only there: the classic template's "your order
// cannot be processed" notice, and the "Try again" / "My account" actions
// of the block theme's Order Confirmation Status block (its "Order failed"
// heading carries no class of its own, and the Summary and Totals blocks
// below it still print the order's number and total).
var failedNotices = [...]string{failedNotice, wooBlocksFailed}

const (
	failedNotice    = "woocommerce-thankyou-order-failed"
	wooBlocksFailed = "wc-block-order-confirmation-status__actions"
)

// paymentFailed reports whether the page shows one of WooCommerce's
// failed-payment notices (failedNotices), or is Shopware's finish page of
// an order whose payment failed.
func paymentFailed(p *Page) bool {
	for _, cls := range failedNotices {
		if classOnElement(p, cls) {
			return true
		}
	}
	return shopwarePaymentFailed(p)
}

// classOnElement reports whether an element of the page has the class cls:
// in the class attribute of a start tag, not in a script (a theme's script
// may look the class up on every thank-you page, with a "<" of its own
// before it), a stylesheet or another attribute.
func classOnElement(p *Page, cls string) bool {
	raw := p.Raw
	for i, n := 0, 0; n < 64; n++ {
		j := indexStr(raw[i:], cls)
		if j < 0 {
			return false
		}
		at := i + j
		i = at + len(cls)
		if p.inScript(at) {
			continue
		}
		// Within the start tag it sits in: a '<' and a letter after the
		// last '>' (a tag is far shorter than the bound looked back).
		from := max(0, at-4096)
		lt, gt := bytes.LastIndexByte(raw[from:at], '<'), bytes.LastIndexByte(raw[from:at], '>')
		if lt <= gt || !isLetter(raw[from+lt+1]) {
			continue
		}
		name := from + lt + 1
		for name < at && isNameByte(raw[name]) {
			name++
		}
		end := endOfTag(raw, name)
		if end < 0 {
			end = len(raw)
		}
		if hasClass(raw[name:end], cls) {
			return true
		}
	}
	return false
}

// accountViewAge is how long before the page is viewed an order printed
// with a Spree or Solidus number (spreeNumberRE) may have been placed and
// still be one the page confirms: as long as a thank-you page gets the
// convert call (as Katalys's WooCommerce plugin reports an order).
const accountViewAge = 5 * 24 * time.Hour

// now is the clock accountView reads; tests set it.
var now = time.Now

// accountView reports whether o, printed with a Spree or Solidus order
// number (R and digits, the number in the path of /orders/R…, which the
// platform shows right after checkout and later from the customer's
// account), says it was placed days before the page is viewed (an order
// date of a schema.org Order, a data layer, a Katalys payload): an old
// order looked at from the account, not a new one, however the page
// prints it (see spreeAccountView for the markup's own rule).
func (o *Order) accountView() bool {
	if !spreeNumberRE.MatchString(o.ID) || o.Time == "" {
		return false
	}
	placed, ok := orderTime(o.Time)
	return ok && now().Sub(placed) > accountViewAge
}

// spreeNumberRE is the number Spree and Solidus give an order: "R" and
// nine digits by default, of a configurable length.
var spreeNumberRE = regexp.MustCompile(`^R[0-9]{6,}$`)

// orderTime reads an order date as pages print it: RFC 3339 (schema.org
// orderDate, GTM4WP), with or without a zone or seconds, or a bare date.
func orderTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range [...]string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04:05 -0700", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// confirmed reports whether o is enough to be an order (see Extract): an
// id with a total or items, or an id the page's own Katalys conversion
// names.
func (o *Order) confirmed() bool {
	return o.ID != "" && (o.Total != nil || len(o.Items) > 0 || (o.Convert && o.Source == "katalys"))
}
