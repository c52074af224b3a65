package capture

import (
	"bytes"
	"encoding/json"
	"errors"
	"iter"
	"math"
	"slices"
	"strings"

	"golang.org/x/net/html"
)

// This file reads the orders that storefront applications put in JSON
// state on the page: Next.js __NEXT_DATA__ page props (fromNextData),
// Laravel/Inertia data-page attributes (fromInertia) and Magento 2
// text/x-magento-init configuration (fromMagentoInit). See orders.md §9
// and §12.

// fromNextData reads the order in the page props of a Next.js pages-router
// page (<script id="__NEXT_DATA__" type="application/json">): an order
// object of the app's own (props.order, …), a Stripe Checkout Session in
// minor units, and the props' order number and promotion code.
func fromNextData(p *Page) *Order {
	for i := range p.Scripts {
		s := &p.Scripts[i]
		if s.ID != "__NEXT_DATA__" {
			continue
		}
		// orderNumber, order_number, order, Order, …
		if !bytes.Contains(s.Text, []byte("rder")) {
			return nil
		}
		// Only the page props are read; the rest of the blob (build id,
		// query, runtime config) is skipped unparsed.
		b := jrUnwrapped(s.Text)
		props := jrField(jrField(b, "props"), "pageProps")
		if props == nil {
			props = jrField(b, "props")
		}
		o := appOrder(props)
		if o != nil {
			o.Source = "nextjs"
		}
		return o
	}
	return nil
}

// fromInertia reads the order in the page props of a Laravel/Inertia.js
// page: JSON, HTML-escaped, in the data-page attribute of the root element
// (<div id="app" data-page="{&quot;component&quot;:…}">).
func fromInertia(p *Page) *Order {
	// Inertia's page object starts with its component. The search is for
	// "quot;component", whose q is rare in a page; "data-page=" would be
	// searched at a fraction of the speed.
	const needle = "quot;component&quot;"
	const attr = `data-page="{&`
	raw := p.Raw
	for off := 0; off < len(raw); {
		i := bytes.Index(raw[off:], []byte(needle))
		if i < 0 {
			return nil
		}
		i += off
		off = i + len(needle)
		if i < len(attr) || string(raw[i-len(attr):i]) != attr {
			continue
		}
		start := i - 2 // the '{'
		end := bytes.IndexByte(raw[start:], '"')
		if end < 0 {
			return nil
		}
		val := raw[start : start+end]
		if !bytes.Contains(val, []byte("rder")) {
			return nil
		}
		o := appOrder(jrField([]byte(html.UnescapeString(string(val))), "props"))
		if o != nil {
			o.Source = "inertia"
		}
		return o
	}
	return nil
}

// appOrder reads an order from application page props (raw JSON): the
// app's own order object (major units), a Stripe Checkout Session (minor
// units), and order numbers and codes set beside them in the props. It
// returns nil without an order number, or with one but neither a total
// nor items.
//
// The props are walked unparsed; only the order object, the session and
// the props' own scalars are decoded, so that large page props (CMS
// content, catalogues, translations) cost a scan, not a parse.
func appOrder(props []byte) *Order {
	if len(props) == 0 || props[0] != '{' {
		return nil
	}
	var f appFound
	f.scan(props, 0)
	o := &Order{}
	if f.order != nil {
		appFill(o, f.order)
	}
	if f.stripe != nil {
		stripeFill(o, f.stripe)
	}
	// The props' own order number and code.
	if o.ID == "" {
		o.ID = jvStr(appAny(f.top, appNumberKeys...))
	}
	if o.ID == "" {
		o.ID = jvStr(appAny(f.top, "orderId", "order_id"))
	}
	if len(o.Codes()) == 0 {
		codes := appCodes(appAny(f.top, appCodeKeys...))
		switch {
		case len(codes) == 1 && len(o.Discounts) == 1 && o.Discounts[0].Code == "":
			o.Discounts[0].Code = codes[0].Code
		case len(codes) > 0:
			o.Discounts = codes
		}
	}
	if o.ID == "" || (o.Total == nil && len(o.Items) == 0) {
		return nil
	}
	return o
}

// appFound is what a walk of the page props found.
type appFound struct {
	top    map[string]any // the props' scalar order numbers and codes
	order  map[string]any // the app's order object
	stripe *stripeSession
}

// scan walks the object b (raw JSON) for an order-named key holding an
// object with an id (order, orderData, …) and for a Stripe Checkout
// Session, descending only into values that mention an order or a session.
func (f *appFound) scan(b []byte, depth int) {
	for k, v := range jrMembers(b) {
		if depth == 0 && len(v) > 0 && v[0] != '{' && v[0] != '[' && appTopKey(k) {
			if x, ok := jvDecode(v); ok {
				if f.top == nil {
					f.top = map[string]any{}
				}
				f.top[string(k)] = x
			}
			continue
		}
		if len(v) == 0 || (v[0] != '{' && v[0] != '[') || depth > 5 {
			continue
		}
		if v[0] == '{' {
			if f.order == nil && slices.Contains(appOrderKeys, string(k)) {
				if x, ok := jvDecode(v); ok {
					if om := jvObj(x); om != nil && jvStr(om["object"]) != "checkout.session" &&
						(appAny(om, appNumberKeys...) != nil || om["id"] != nil) {
						f.order = om
						continue
					}
				}
			}
			if f.stripe == nil && bytes.Contains(v, []byte(`"checkout.session"`)) {
				if string(jrField(v, "object")) == `"checkout.session"` {
					f.stripe = decodeStripe(v)
					continue
				}
				f.scan(v, depth+1)
				continue
			}
			if f.order == nil && bytes.Contains(v, []byte("rder")) {
				f.scan(v, depth+1)
			}
			continue
		}
		// An array: look into its first objects.
		n := 0
		for e := range jrElems(v) {
			if n++; n > 8 {
				break
			}
			if len(e) > 0 && e[0] == '{' && (bytes.Contains(e, []byte("rder")) || bytes.Contains(e, []byte(`"checkout.session"`))) {
				f.scan(e, depth+1)
			}
		}
	}
}

// appTopKey reports whether k is a props key whose scalar value is read.
func appTopKey(k []byte) bool {
	s := string(k)
	return slices.Contains(appNumberKeys, s) || slices.Contains(appCodeKeys, s) ||
		s == "orderId" || s == "order_id"
}

// Key names, in order of preference.
var (
	appOrderKeys = []string{"order", "orderData", "order_data", "placedOrder",
		"completedOrder", "confirmedOrder", "lastOrder", "currentOrder", "purchase"}
	// appNumberKeys are the human order numbers; "id" comes after them.
	appNumberKeys = []string{"orderNumber", "order_number", "orderNo", "order_no",
		"display_id", "displayId", "increment_id", "incrementId", "number",
		"reference", "orderReference", "order_reference"}
	appCodeKeys = []string{"promoCode", "promo_code", "couponCode", "coupon_code",
		"coupon", "discountCode", "discount_code", "discountCodes", "discount_codes",
		"coupons", "couponCodes", "coupon_codes", "voucherCode", "voucher_code"}
)

// appSortedKeys returns the keys of m whose values are objects or
// arrays, sorted, so that searches are deterministic.
func appSortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		switch v.(type) {
		case map[string]any, []any:
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// appAny returns the value of the first of keys that m has, not null
// and not "".
func appAny(m map[string]any, keys ...string) any {
	for _, k := range keys {
		if v, ok := m[k]; ok && v != nil && v != "" {
			return v
		}
	}
	return nil
}

// appFill fills o from an app's order object: ids, totals in major units
// (or in cents under *_cents keys), currency, email, codes and lines.
func appFill(o *Order, m map[string]any) {
	if o.ID == "" {
		o.ID = jvStr(appAny(m, appNumberKeys...))
		if o.ID == "" {
			o.ID = jvStr(m["id"])
		}
	}
	cur := Currency(jvStr(appAny(m, "currency", "currency_code", "currencyCode",
		"presentment_currency", "currencyIso", "currency_iso")))
	total, tcur := appMoney(m, cur, "total", "grand_total", "grandTotal", "total_price",
		"totalPrice", "total_amount", "totalAmount", "totalPaid")
	subtotal, scur := appMoney(m, cur, "subtotal", "sub_total", "subTotal", "subtotal_price",
		"subtotalPrice", "subtotal_amount", "subtotalAmount")
	cur = jvOr(jvOr(cur, tcur), scur)
	cents, _ := appMoney(m, "", "total_cents", "totalCents", "total_in_cents", "totalInCents")
	if total == nil && cents != nil {
		total = Money(Minor(*cents, cur))
	}
	o.Total = jvOrMoney(o.Total, total)
	o.Subtotal = jvOrMoney(o.Subtotal, subtotal)
	o.Currency = jvOr(o.Currency, cur)
	if o.Email == "" {
		o.Email = Email(jvStr(appAny(m, "email", "customer_email", "customerEmail", "userEmail")))
	}
	if o.Email == "" {
		for _, k := range []string{"customer", "billing_address", "billingAddress", "billing"} {
			if e := Email(jvStr(jvKey(jvObj(m[k]), "email"))); e != "" {
				o.Email = e
				break
			}
		}
	}
	if len(o.Discounts) == 0 {
		o.Discounts = appCodes(appAny(m, appCodeKeys...))
	}
	if len(o.Items) == 0 {
		lines := appAny(m, "items", "line_items", "lineItems", "lines", "products", "order_items", "orderItems")
		if lm := jvObj(lines); lm != nil { // GraphQL connections, Stripe lists
			lines = appAny(lm, "nodes", "edges", "data")
		}
		for _, l := range jvList(lines) {
			lm := jvObj(l)
			if n := jvObj(lm["node"]); n != nil {
				lm = n
			}
			if it, ok := appItem(lm, cur); ok {
				o.Items = append(o.Items, it)
			}
		}
	}
}

// appMoney reads the first of keys that m has as an amount: a number, a
// printed string, or a money object ({amount, currencyCode}, {value,
// currency}, {gross: {amount}}). It also returns the currency the money
// object names. orderCur is the order's currency, where known: a money
// object's own applies first.
func appMoney(m map[string]any, orderCur string, keys ...string) (*float64, string) {
	v := appAny(m, keys...)
	mm := jvObj(v)
	if mm == nil {
		return jvMoney(v, orderCur), ""
	}
	if g := jvObj(mm["gross"]); g != nil {
		mm = g
	}
	cur := Currency(jvStr(appAny(mm, "currencyCode", "currency_code", "currency")))
	return jvMoney(appAny(mm, "amount", "value"), jvOr(cur, orderCur)), cur
}

// appItem reads one order line of an app's order object.
func appItem(m map[string]any, cur string) (Item, bool) {
	if m == nil {
		return Item{}, false
	}
	prod := jvObj(appAny(m, "product", "variant", "productVariant", "merchandise"))
	it := Item{
		SKU:  jvStr(appAny(m, "sku", "item_id", "variant_sku", "product_sku", "productSku")),
		Name: Text(jvStr(appAny(m, "name", "title", "product_name", "productName", "product_title", "item_name", "description"))),
	}
	if it.SKU == "" && prod != nil {
		it.SKU = jvStr(appAny(prod, "sku"))
	}
	if it.Name == "" && prod != nil {
		it.Name = Text(jvStr(appAny(prod, "name", "title")))
	}
	if q, ok := jvInt(appAny(m, "quantity", "qty")); ok && q > 0 {
		it.Quantity = q
	} else {
		it.Quantity = 1
	}
	it.Price, _ = appMoney(m, cur, "unit_price", "unitPrice", "price", "item_price", "itemPrice")
	if it.Price == nil {
		if c, _ := appMoney(m, "", "unit_price_cents", "unitPriceCents", "price_cents", "priceCents"); c != nil {
			it.Price = Money(Minor(*c, cur))
		}
	}
	return it, it.Name != "" || it.SKU != ""
}

// appCodes reads discount codes: a string (comma-separated), a list of
// strings, or a list of objects with a code.
func appCodes(v any) []Discount {
	var ds []Discount
	for _, e := range jvList(v) {
		if m := jvObj(e); m != nil {
			e = appAny(m, "code", "coupon_code", "couponCode", "promoCode")
		}
		s, ok := e.(string)
		if !ok {
			continue
		}
		for c := range strings.SplitSeq(s, ",") {
			if c = Text(c); c != "" {
				ds = append(ds, Discount{Code: c})
			}
		}
	}
	return ds
}

func jvOrMoney(a, b *float64) *float64 {
	if a != nil {
		return a
	}
	return b
}

// stripeSession is the part of a Stripe Checkout Session an order is
// read from. Amounts are in minor units of the lower-case currency.
type stripeSession struct {
	Object          string                 `json:"object"`
	Status          string                 `json:"status"`
	Currency        string                 `json:"currency"`
	AmountTotal     json.Number            `json:"amount_total"`
	AmountSubtotal  json.Number            `json:"amount_subtotal"`
	CustomerEmail   string                 `json:"customer_email"`
	CustomerDetails struct{ Email string } `json:"customer_details"`
	Metadata        map[string]any         `json:"metadata"`
	TotalDetails    struct {
		AmountDiscount json.Number `json:"amount_discount"`
		Breakdown      struct {
			Discounts []struct {
				Amount   json.Number `json:"amount"`
				Discount struct {
					PromotionCode json.RawMessage `json:"promotion_code"`
				} `json:"discount"`
			} `json:"discounts"`
		} `json:"breakdown"`
	} `json:"total_details"`
	LineItems struct {
		Data []stripeLine `json:"data"`
	} `json:"line_items"`
}

type stripeLine struct {
	Description    string         `json:"description"`
	Quantity       json.Number    `json:"quantity"`
	AmountSubtotal json.Number    `json:"amount_subtotal"`
	Metadata       map[string]any `json:"metadata"`
	Price          struct {
		UnitAmount        json.Number     `json:"unit_amount"`
		UnitAmountDecimal json.Number     `json:"unit_amount_decimal"`
		Metadata          map[string]any  `json:"metadata"`
		Product           json.RawMessage `json:"product"` // an id, or expanded
	} `json:"price"`
}

// decodeStripe decodes a session; fields of an unexpected type are left
// empty rather than failing the whole session.
func decodeStripe(b []byte) *stripeSession {
	var s stripeSession
	if err := json.Unmarshal(b, &s); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return nil
		}
	}
	return &s
}

// stripeFill fills o from a Stripe Checkout Session: amounts in minor
// units of its currency; amount_subtotal is before discounts. Its many
// ids (cs_…, pi_…, client_reference_id, coupon and promotion ids) are not
// order numbers; metadata.order_number is.
func stripeFill(o *Order, s *stripeSession) {
	switch s.Status {
	case "open", "expired":
		return // not paid for: no purchase
	}
	cur := Currency(s.Currency)
	minor := func(n json.Number) *float64 {
		if f := jvMoney(n, ""); f != nil && cur != "" { // minor units: a plain number
			return Money(Minor(*f, cur))
		}
		return nil
	}
	if o.ID == "" {
		o.ID = jvStr(appAny(s.Metadata, "order_number", "orderNumber", "order_id", "orderId"))
	}
	o.Total = jvOrMoney(o.Total, minor(s.AmountTotal))
	o.Subtotal = jvOrMoney(o.Subtotal, minor(s.AmountSubtotal))
	o.Currency = jvOr(o.Currency, cur)
	if o.Email == "" {
		o.Email = Email(jvOr(s.CustomerDetails.Email, s.CustomerEmail))
	}
	if len(o.Discounts) == 0 {
		for _, d := range s.TotalDetails.Breakdown.Discounts {
			// promotion_code is an id unless expanded to an object
			// with its code.
			code := jvStr(jrValue(jrField(d.Discount.PromotionCode, "code")))
			if amt := minor(d.Amount); amt != nil || code != "" {
				o.Discounts = append(o.Discounts, Discount{Code: code, Amount: amt})
			}
		}
		if len(o.Discounts) == 0 {
			if amt := minor(s.TotalDetails.AmountDiscount); amt != nil && *amt != 0 {
				o.Discounts = []Discount{{Amount: Money(math.Abs(*amt))}}
			}
		}
	}
	if len(o.Items) > 0 {
		return
	}
	for _, l := range s.LineItems.Data {
		var prod struct {
			Name     string         `json:"name"`
			Metadata map[string]any `json:"metadata"`
		}
		if len(l.Price.Product) > 0 && l.Price.Product[0] == '{' {
			_ = json.Unmarshal(l.Price.Product, &prod)
		}
		it := Item{
			Name: Text(jvOr(l.Description, prod.Name)),
			SKU: jvOr(jvStr(prod.Metadata["sku"]),
				jvOr(jvStr(l.Price.Metadata["sku"]), jvStr(l.Metadata["sku"]))),
			Quantity: 1,
		}
		if q, ok := jvInt(l.Quantity); ok && q > 0 {
			it.Quantity = q
		}
		it.Price = minor(l.Price.UnitAmount)
		if it.Price == nil {
			it.Price = minor(l.Price.UnitAmountDecimal)
		}
		if it.Price == nil {
			if sub := minor(l.AmountSubtotal); sub != nil {
				it.Price = Money(*sub / float64(it.Quantity))
			}
		}
		if it.Name != "" || it.SKU != "" {
			o.Items = append(o.Items, it)
		}
	}
}

// fromMagentoInit reads Magento 2's text/x-magento-init configuration:
// the GA4 (Magento_GoogleGtag) or Universal Analytics
// (Magento_GoogleAnalytics) ordersTrackingData, and the guest
// "create an account" component's email. The tracking data's amounts are
// number_format strings ("1,937.80"); item prices are Magento's item
// price (net of VAT in many stores) and are kept as printed.
//
// When the page has the registration email but no tracking data, the
// partial order carries only the email (the order number is in the
// success markup, another source).
func fromMagentoInit(p *Page) *Order {
	var o *Order
	email := ""
	for i := range p.Scripts {
		s := &p.Scripts[i]
		if s.Type != "text/x-magento-init" {
			continue
		}
		orders := o == nil && bytes.Contains(s.Text, []byte("ordersTrackingData"))
		reg := email == "" && bytes.Contains(s.Text, []byte("registration"))
		if !orders && !reg {
			continue
		}
		if orders {
			// Decode the tracking data alone, not its whole block.
			if t := mageTrackingData(s.Text); t != nil {
				o = mageOrders(t)
				orders = false
			}
		}
		if !orders && !reg {
			continue
		}
		v, ok := mageDecode(s.Text)
		if !ok {
			continue
		}
		if orders {
			if t := mageFindKey(v, "ordersTrackingData", 0); t != nil {
				o = mageOrders(jvObj(t))
			}
		}
		if reg {
			email = mageRegistrationEmail(v, 0)
		}
	}
	if o == nil {
		if email == "" {
			return nil
		}
		o = &Order{}
	}
	o.Email = jvOr(o.Email, email)
	o.Source = "magento"
	return o
}

// mageDecode decodes an x-magento-init block. One revision of ga.phtml
// prints the tracking JSON through escapeJs, which leaves it \uXXXX
// escaped; such a block is unescaped and decoded again.
func mageDecode(b []byte) (any, bool) {
	if v, ok := jvDecode(b); ok {
		return v, true
	}
	if !bytes.Contains(b, []byte(`\u0022`)) && !bytes.Contains(b, []byte(`\u007B`)) && !bytes.Contains(b, []byte(`\u007b`)) {
		return nil, false
	}
	return jvDecode(mageUnescape(b))
}

// mageUnescape decodes the JavaScript escapes \uXXXX, \/ and \" in b.
func mageUnescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			out = append(out, b[i])
			continue
		}
		switch c := b[i+1]; {
		case c == 'u' && i+6 <= len(b):
			var r rune
			ok := true
			for _, h := range b[i+2 : i+6] {
				r <<= 4
				switch {
				case h >= '0' && h <= '9':
					r |= rune(h - '0')
				case h|0x20 >= 'a' && h|0x20 <= 'f':
					r |= rune(h|0x20-'a') + 10
				default:
					ok = false
				}
			}
			if !ok {
				out = append(out, b[i])
				continue
			}
			out = append(out, string(r)...)
			i += 5
		case c == '/' || c == '"' || c == '\'':
			out = append(out, c)
			i++
		default:
			out = append(out, b[i], c)
			i++
		}
	}
	return out
}

// mageTrackingData decodes the object after "ordersTrackingData": in b,
// or returns nil.
func mageTrackingData(b []byte) map[string]any {
	i := bytes.Index(b, []byte(`"ordersTrackingData"`))
	if i < 0 {
		return nil
	}
	i = jrSkipSpace(b, i+len(`"ordersTrackingData"`))
	if i >= len(b) || b[i] != ':' {
		return nil
	}
	i = jrSkipSpace(b, i+1)
	end := jrEnd(b, i)
	if end < 0 {
		return nil
	}
	return jvObj(jrValue(b[i:end]))
}

// mageFindKey returns the value of the first property named key in v.
func mageFindKey(v any, key string, depth int) any {
	if depth > 8 {
		return nil
	}
	switch t := v.(type) {
	case map[string]any:
		if r, ok := t[key]; ok {
			return r
		}
		for _, k := range appSortedKeys(t) {
			if r := mageFindKey(t[k], key, depth+1); r != nil {
				return r
			}
		}
	case []any:
		for _, e := range t {
			if r := mageFindKey(e, key, depth+1); r != nil {
				return r
			}
		}
	}
	return nil
}

// mageRegistrationEmail finds the Magento_Checkout/js/view/registration
// component and returns its config email.
func mageRegistrationEmail(v any, depth int) string {
	if depth > 10 {
		return ""
	}
	switch t := v.(type) {
	case map[string]any:
		if c := jvStr(t["component"]); strings.HasSuffix(c, "/registration") {
			if e := Email(jvStr(jvPath(t, "config", "email"))); e != "" {
				return e
			}
		}
		for _, k := range appSortedKeys(t) {
			if e := mageRegistrationEmail(t[k], depth+1); e != "" {
				return e
			}
		}
	case []any:
		for _, e := range t {
			if r := mageRegistrationEmail(e, depth+1); r != "" {
				return r
			}
		}
	}
	return ""
}

// mageOrders reads ordersTrackingData: orders[0] (GA4 transaction_id and
// value; UA id and revenue), currency (at the top, or in the order since
// Magento 2.4.7) and products (GA4 item_id and item_name; UA id and name).
func mageOrders(t map[string]any) *Order {
	ord := jvObj(jvFirst(t["orders"]))
	if ord == nil {
		return nil
	}
	o := &Order{ID: jvStr(appAny(ord, "transaction_id", "id"))}
	if o.ID == "" {
		return nil
	}
	o.Currency = Currency(jvStr(t["currency"]))
	if o.Currency == "" {
		o.Currency = Currency(jvStr(ord["currency"]))
	}
	o.Total = jvMoney(appAny(ord, "value", "revenue"), o.Currency)
	o.Discounts = appCodes(appAny(ord, "coupon"))
	if len(jvList(t["orders"])) > 1 {
		// Multishipping: one list of products for several orders, which
		// it does not tell apart. The first order is kept, without items
		// (the other orders are not read: a page gives one order).
		return o
	}
	for _, pr := range jvList(t["products"]) {
		pm := jvObj(pr)
		if pm == nil {
			continue
		}
		it := Item{
			SKU:      jvStr(appAny(pm, "item_id", "id", "sku")),
			Name:     Text(jvStr(appAny(pm, "item_name", "name"))),
			Price:    jvMoney(pm["price"], o.Currency),
			Quantity: 1,
		}
		if q, ok := jvInt(pm["quantity"]); ok && q > 0 {
			it.Quantity = q
		}
		if it.SKU != "" || it.Name != "" {
			o.Items = append(o.Items, it)
		}
	}
	return o
}

// Raw JSON walking: finding a member of an object or the elements of an
// array without parsing what is skipped. The input is assumed to be JSON;
// on malformed input the walks stop early.

// jrUnwrapped trims white space around b.
func jrUnwrapped(b []byte) []byte { return bytes.TrimSpace(b) }

func jrSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func jrSkipSpace(b []byte, i int) int {
	for i < len(b) && jrSpace(b[i]) {
		i++
	}
	return i
}

// jrStrEnd returns the index just past the string whose opening quote is
// at b[i], or -1.
func jrStrEnd(b []byte, i int) int {
	for j := i + 1; j <= len(b); {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return -1
		}
		k += j
		n := 0
		for m := k - 1; m > i && b[m] == '\\'; m-- {
			n++
		}
		if n%2 == 0 {
			return k + 1
		}
		j = k + 1
	}
	return -1
}

// jrEnd returns the index just past the value starting at b[i], or -1.
func jrEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return jrStrEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e := jrStrEnd(b, j)
				if e < 0 {
					return -1
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && !jrSpace(b[j]) {
		j++
	}
	return j
}

// jrMembers yields the members of the object b: the key's raw text
// (between the quotes, escapes not decoded) and the value's raw JSON.
func jrMembers(b []byte) iter.Seq2[[]byte, []byte] {
	return func(yield func([]byte, []byte) bool) {
		i := jrSkipSpace(b, 0)
		if i >= len(b) || b[i] != '{' {
			return
		}
		i++
		for {
			i = jrSkipSpace(b, i)
			if i >= len(b) || b[i] != '"' {
				return
			}
			ke := jrStrEnd(b, i)
			if ke < 0 {
				return
			}
			key := b[i+1 : ke-1]
			i = jrSkipSpace(b, ke)
			if i >= len(b) || b[i] != ':' {
				return
			}
			i = jrSkipSpace(b, i+1)
			ve := jrEnd(b, i)
			if ve < 0 {
				return
			}
			if !yield(key, b[i:ve]) {
				return
			}
			i = jrSkipSpace(b, ve)
			if i >= len(b) || b[i] != ',' {
				return
			}
			i++
		}
	}
}

// jrElems yields the elements of the array b as raw JSON.
func jrElems(b []byte) iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		i := jrSkipSpace(b, 0)
		if i >= len(b) || b[i] != '[' {
			return
		}
		i++
		for {
			i = jrSkipSpace(b, i)
			if i >= len(b) || b[i] == ']' {
				return
			}
			ve := jrEnd(b, i)
			if ve < 0 {
				return
			}
			if !yield(b[i:ve]) {
				return
			}
			i = jrSkipSpace(b, ve)
			if i >= len(b) || b[i] != ',' {
				return
			}
			i++
		}
	}
}

// jrField returns the raw value of member key of the object b, or nil.
func jrField(b []byte, key string) []byte {
	for k, v := range jrMembers(b) {
		if string(k) == key {
			return v
		}
	}
	return nil
}

// jrValue decodes a raw JSON value (nil for none).
func jrValue(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	v, _ := jvDecode(b)
	return v
}
