package capture

import (
	"bytes"
	"slices"
	"strings"

	"github.com/storeedge/caddy-katalys/capture/jslit"
)

// This file reads the Google Analytics payloads of a page: dataLayer
// pushes (GA4 ecommerce, Universal Analytics enhanced ecommerce, GTM
// "classic" transaction keys, GTM4WP orderData) and gtag('event',
// 'purchase') calls. The helpers at the end read money, ids and items out
// of jslit values and are shared with pixels.go.

// dataLayerMarkers are the words one of which every script holding a
// dataLayer purchase contains; other scripts are not parsed.
var dataLayerMarkers = []string{"ecommerce", "transactionId", "orderData"}

// dataLayerScript reports whether a script may put a purchase in a data
// layer: it pushes to something (or assigns a dataLayer) and names an
// ecommerce shape. The cheap searches come first: bytes.Index is fast for
// a needle whose first byte is rare in scripts ('L', '.') and several
// times slower for common lower-case words such as "ecommerce".
func dataLayerScript(t []byte) bool {
	return (bytes.Contains(t, []byte("Layer")) || bytes.Contains(t, []byte(".push("))) &&
		containsMarker(t, dataLayerMarkers)
}

// Ranks of the dataLayer shapes, most trusted first: GTM4WP's raw order
// data is the platform's own record (the plain order number, subtotal and
// email), then GA4, then the older UA and classic GTM shapes.
const (
	rankGTM4WP = iota
	rankGA4
	rankUA
	rankGTM
)

var dataLayerSources = [...]string{rankGTM4WP: "gtm4wp", rankGA4: "ga4", rankUA: "ua", rankGTM: "gtm"}

// fromDataLayer reads the purchase a page pushes to its Google Tag Manager
// data layer, whatever the layer is called: GA4 ecommerce
// (Source "ga4"), UA enhanced ecommerce (ecommerce.purchase.actionField,
// "ua"), classic GTM transaction keys ("gtm") and GTM4WP orderData
// ("gtm4wp"). Pushed objects, objects pushed by name (GTM4WP's
// dataLayer_content) and arrays assigned to the layer (`dataLayer =
// [{…}]`) are read. When a page prints several shapes of one order, the
// most trusted one is taken and its gaps filled from the others with the
// same order id.
func fromDataLayer(p *Page) *Order {
	var (
		best      *Order
		bestRank  = len(dataLayerSources)
		parts     []*Order
		ranks     []int
		pageEmail string
	)
	for i := range p.Scripts {
		s := &p.Scripts[i]
		if !tagScript(s) || !dataLayerScript(s.Text) {
			continue
		}
		for _, obj := range dataLayerObjects(s.Text) {
			part, rank := dataLayerOrder(obj)
			if part == nil {
				if pageEmail == "" {
					pageEmail = objectEmail(obj)
				}
				continue
			}
			parts, ranks = append(parts, part), append(ranks, rank)
			if rank < bestRank {
				best, bestRank = part, rank
			}
		}
	}
	if best == nil {
		return nil
	}
	o := *best
	for r := range dataLayerSources {
		for i, part := range parts {
			if part != best && ranks[i] == r && part.ID == o.ID {
				o.merge(part)
			}
		}
	}
	if o.Email == "" {
		o.Email = pageEmail
	}
	o.Source, o.Sources = dataLayerSources[bestRank], nil
	return &o
}

// What the event of a data layer object says of its transaction.
const (
	eventPurchase = iota // a purchase, or no event name: every shape counts
	eventUnknown         // a name that says neither: only a purchase's own shapes count
	eventOther           // something else: a lead, a sign-up, a refund; no order
)

// purchaseEvent reads the event of a data layer object. GA4's "purchase"
// and the names stores and tag plugins give the same push ("eec.purchase",
// "dl_purchase", "orderCompleted", "gtm4wp.orderCompletedEEC",
// "transactionComplete", "transaction", classic GTM's "trackTrans") name a
// purchase; a lead ("generate_lead"), a sign-up, a checkout step, a
// refund, a failed or cancelled payment name something else, and never
// make an order, even with a transaction id. Any other name ("sale",
// "conversion", "new_order", "payment_complete") is unknown: the shape
// decides (see dataLayerOrder). An object with no event, or one whose
// event is not a name (a variable), is read by its shape.
func purchaseEvent(obj jslit.Object) int {
	v := obj.Get("event")
	if v == nil {
		return eventPurchase
	}
	ev, ok := jslit.Str(v)
	if !ok {
		return eventPurchase // not a name (a variable): the shape decides
	}
	ev = strings.TrimSpace(ev)
	if ev == "" {
		return eventPurchase
	}
	if notPurchaseEvent(ev) {
		return eventOther
	}
	ev = strings.ToLower(ev)
	switch {
	case strings.Contains(ev, "purchase"), strings.Contains(ev, "transaction"), strings.Contains(ev, "tracktrans"):
		return eventPurchase
	case strings.Contains(ev, "order") || strings.Contains(ev, "checkout"):
		for _, done := range [...]string{"complet", "placed", "confirm", "success", "received", "thank"} {
			if strings.Contains(ev, done) {
				return eventPurchase
			}
		}
	}
	return eventUnknown
}

// notPurchaseEvent reports whether an event name says it is no purchase:
// a refund, a cancelled, failed, declined or abandoned payment anywhere in
// the name ("purchase_failed", "orderRefunded"), or one of the words of a
// return, a lead, a sign-up or a step before the purchase ("order_return",
// "generate_lead", "sign_up", "begin_checkout", "add_payment_info"). Those
// words count whole ("returning_customer_purchase" is a purchase), split
// at '_', '.', '-', spaces and a change to upper case.
func notPurchaseEvent(ev string) bool {
	lower := strings.ToLower(ev)
	for _, not := range [...]string{"refund", "cancel", "fail", "declin", "abandon"} {
		if strings.Contains(lower, not) {
			return true
		}
	}
	// A name that says purchase or transaction is one whatever else it
	// says ("subscription_purchase", "addTransaction"), but for a return.
	sale := strings.Contains(lower, "purchase") || strings.Contains(lower, "transaction")
	for _, w := range eventWords(ev) {
		switch w {
		case "return", "returns", "returned":
			return true
		case "lead", "leads", "sign", "signup", "login", "register", "registration", "subscribe",
			"subscription", "newsletter", "optin", "begin", "add":
			if !sale {
				return true
			}
		}
	}
	return false
}

// eventWords splits an event name into its lower-case words: at anything
// but a letter or a digit, and before an upper-case letter that follows a
// lower-case one ("orderReturned" is "order", "returned").
func eventWords(ev string) []string {
	var words []string
	start := -1
	for i := 0; i <= len(ev); i++ {
		var c byte
		if i < len(ev) {
			c = ev[i]
		}
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		split := !alnum || (c >= 'A' && c <= 'Z' && i > 0 && ev[i-1] >= 'a' && ev[i-1] <= 'z')
		if split && start >= 0 {
			words = append(words, strings.ToLower(ev[start:i]))
			start = -1
		}
		if alnum && start < 0 {
			start = i
		}
	}
	return words
}

// dataLayerOrder reads the order one data layer object carries, combining
// the shapes it holds (GTM4WP prints orderData beside the GA4 ecommerce
// object), and the rank of the most trusted of them. Under an event name
// that says neither purchase nor anything else (purchaseEvent), only the
// shapes that are a purchase's own are read: GTM4WP's order data, UA's
// ecommerce.purchase, classic GTM's transactionId with a transactionTotal
// (Google's old GTM transaction template, pushed with any event). GA4's
// ecommerce.transaction_id, which GA4 events other than a purchase carry
// too (a lead's id), needs a purchase's name or none.
func dataLayerOrder(obj jslit.Object) (*Order, int) {
	ev := purchaseEvent(obj)
	if ev == eventOther {
		return nil, 0
	}
	var o *Order
	rank := 0
	add := func(part *Order, r int) {
		if part == nil {
			return
		}
		if o == nil {
			o, rank = part, r
			return
		}
		o.merge(part)
	}
	add(gtm4wpOrder(obj.Get("orderData")), rankGTM4WP)
	if ec, ok := obj.Get("ecommerce").(jslit.Object); ok {
		if ev == eventPurchase {
			add(ga4Order(ec), rankGA4)
		}
		add(uaOrder(ec), rankUA)
	}
	if classic := gtmClassicOrder(obj); classic != nil && (ev == eventPurchase || classic.Total != nil) {
		add(classic, rankGTM)
	}
	if o == nil {
		return nil, 0
	}
	if o.Email == "" {
		o.Email = objectEmail(obj)
	}
	return o, rank
}

// ga4Order reads a GA4 ecommerce object: transaction_id, value (the grand
// total on the storefronts that print it), currency, coupon (possibly
// several codes joined with commas) and items.
func ga4Order(ec jslit.Object) *Order {
	id := jsID(ec.Get("transaction_id"))
	if id == "" {
		return nil
	}
	cur := jsCurrency(ec.Get("currency"))
	o := &Order{
		ID:        id,
		Total:     jsMoney(ec.Get("value"), cur),
		Currency:  cur,
		Discounts: couponCodes(ec.Get("coupon")),
		Items:     jsItems(ec.Get("items"), cur),
		Source:    "ga4",
		shipping:  jsMoney(ec.Get("shipping"), cur),
		tax:       jsMoney(ec.Get("tax"), cur),
	}
	o.Email = objectEmail(ec)
	return o
}

// uaOrder reads Universal Analytics enhanced ecommerce:
// purchase.actionField {id, revenue, coupon}, purchase.products[], and the
// currencyCode that sits beside purchase.
func uaOrder(ec jslit.Object) *Order {
	purchase, ok := ec.Get("purchase").(jslit.Object)
	if !ok {
		return nil
	}
	af, _ := purchase.Get("actionField").(jslit.Object)
	id := jsID(af.Get("id"))
	if id == "" {
		id = jsID(af.Get("transaction_id"))
	}
	if id == "" {
		return nil
	}
	cur := jsCurrency(ec.Get("currencyCode"))
	if cur == "" {
		cur = jsCurrency(af.Get("currency"))
	}
	return &Order{
		ID:        id,
		Total:     jsMoney(af.Get("revenue"), cur),
		Currency:  cur,
		Discounts: couponCodes(af.Get("coupon")),
		Items:     jsItems(purchase.Get("products"), cur),
		Source:    "ua",
	}
}

// gtmClassicOrder reads the flat pre-enhanced GTM ecommerce keys
// (transactionId, transactionTotal, transactionProducts[] …).
func gtmClassicOrder(obj jslit.Object) *Order {
	id := jsID(obj.Get("transactionId"))
	if id == "" {
		return nil
	}
	cur := jsCurrency(obj.Get("transactionCurrency"))
	return &Order{
		ID:        id,
		Total:     jsMoney(obj.Get("transactionTotal"), cur),
		Currency:  cur,
		Discounts: couponCodes(obj.Get("transactionPromoCode")),
		Items:     jsItems(obj.Get("transactionProducts"), cur),
		Source:    "gtm",
	}
}

// gtm4wpOrder reads GTM4WP's raw orderData block: attributes
// {order_number, coupons, date, status}, totals {currency, total,
// subtotal (before discounts), discount_total}, customer.billing.email
// and items.
func gtm4wpOrder(v jslit.Value) *Order {
	od, ok := v.(jslit.Object)
	if !ok {
		return nil
	}
	id := jsID(jslit.Path(od, "attributes", "order_number"))
	if id == "" {
		return nil
	}
	totals := jslit.Path(od, "totals")
	cur := jsCurrency(jslit.Path(totals, "currency"))
	o := &Order{
		ID:        id,
		Total:     jsMoney(jslit.Path(totals, "total"), cur),
		Subtotal:  jsMoney(jslit.Path(totals, "subtotal"), cur),
		Currency:  cur,
		Discounts: couponCodes(jslit.Path(od, "attributes", "coupons")),
		Items:     jsItems(od.Get("items"), cur),
		Email:     jsEmail(jslit.Path(od, "customer", "billing", "email")),
		Time:      jsText(jslit.Path(od, "attributes", "date")),
		Status:    jsText(jslit.Path(od, "attributes", "status")),
		Source:    "gtm4wp",
	}
	if d := jsMoney(jslit.Path(totals, "discount_total"), cur); d != nil && *d != 0 {
		switch len(o.Discounts) {
		case 0:
			o.Discounts = []Discount{{Amount: d}}
		case 1:
			o.Discounts[0].Amount = d
		}
	}
	return o
}

// jsEmailKeys are the keys under which data layer objects carry the
// customer's email in clear text (GTM4WP customerBillingEmail, the
// non-standard customer_email of published snippets, enhanced conversions
// user_data).
var jsEmailKeys = []string{"customer_email", "customerEmail", "customerBillingEmail", "email", "email_address", "user_email"}

// objectEmail returns the first clear-text customer email obj carries at
// its top level or in its user_data object.
func objectEmail(obj jslit.Object) string {
	for _, k := range jsEmailKeys {
		if e := jsEmail(obj.Get(k)); e != "" {
			return e
		}
	}
	if ud, ok := obj.Get("user_data").(jslit.Object); ok {
		for _, k := range jsEmailKeys {
			if e := jsEmail(ud.Get(k)); e != "" {
				return e
			}
		}
	}
	return ""
}

// dataLayerObjects returns the objects a script puts in a data layer:
// those pushed (`dataLayer.push({…})`, `window.shopLayer.push({…})`), those
// pushed by name (`var dataLayer_content = {…}; dataLayer.push(
// dataLayer_content)`) and the elements of an array assigned to the layer
// (`dataLayer = [{…}]`).
func dataLayerObjects(script []byte) []jslit.Object {
	layers := pushedLayers(script)
	callees := make([]string, len(layers))
	for i, l := range layers {
		callees[i] = l + ".push"
	}
	var objs []jslit.Object
	for _, c := range jslit.Calls(script, callees...) {
		for _, a := range c.Args {
			if obj, ok := argObject(script, a); ok {
				objs = append(objs, obj)
			}
		}
	}
	if !bytes.Contains(script, []byte("=[")) && !bytes.Contains(script, []byte("= [")) {
		return objs
	}
	for _, a := range jslit.Assignments(script, layers...) {
		if arr, ok := a.Value.(jslit.Array); ok {
			for _, e := range arr {
				if v, ok := e.(jslit.Object); ok {
					objs = append(objs, v)
				}
			}
		}
	}
	return objs
}

// pushedLayers returns the names of the arrays a script pushes to
// ("dataLayer", "shopLayer"), with "window." removed, and always
// "dataLayer" (which may be assigned an array literal without a push). The
// GTM loader's `w[l].push` and the Katalys queue are left out.
func pushedLayers(script []byte) []string {
	names := []string{"dataLayer"}
	for i := 0; ; {
		j := bytes.Index(script[i:], []byte(".push("))
		if j < 0 {
			break
		}
		j += i
		i = j + len(".push(")
		name := strings.TrimPrefix(jsPathBefore(script, j), "window.")
		if name == "" || name == "_revoffers_track" || strings.HasSuffix(name, ".queue") || slices.Contains(names, name) {
			continue
		}
		names = append(names, name)
	}
	return names
}

// jsPathBefore returns the dotted identifier that ends just before
// script[end] ("window.dataLayer"), or "" when there is none.
func jsPathBefore(script []byte, end int) string {
	start := end
	for start > 0 {
		c := script[start-1]
		if c == '.' || c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			start--
			continue
		}
		break
	}
	name := string(script[start:end])
	if name == "" || name[0] == '.' || name[0] >= '0' && name[0] <= '9' {
		return ""
	}
	return name
}

// isJSIdent reports whether s is a plain JavaScript identifier.
func isJSIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// fromGtag reads gtag('event', 'purchase', {…}) (Source "gtag"): GA4
// parameters, with items in GA4 (item_id/item_name) or old UA
// (id/name) names. The email comes from gtag('set', 'user_data', {email})
// when it is in clear text.
func fromGtag(p *Page) *Order {
	var o *Order
	for i := range p.Scripts {
		s := &p.Scripts[i]
		if !tagScript(s) || !bytes.Contains(s.Text, []byte("gtag")) || !bytes.Contains(s.Text, []byte("purchase")) {
			continue
		}
		for _, c := range jslit.Calls(s.Text, "gtag") {
			params, ok := gtagEvent(s.Text, c, "purchase")
			if !ok {
				continue
			}
			part := ga4Order(params) // gtag's purchase parameters are GA4's
			if part == nil {
				continue
			}
			part.Source = "gtag"
			if o == nil {
				o = part
			} else if part.ID == o.ID {
				o.merge(part)
			}
		}
	}
	if o == nil {
		return nil
	}
	if o.Email == "" {
		o.Email = gtagUserEmail(p)
	}
	o.Source, o.Sources = "gtag", nil
	return o
}

// gtagEvent returns the parameters of gtag('event', name, {…}) in script.
func gtagEvent(script []byte, c jslit.Call, name string) (jslit.Object, bool) {
	if len(c.Args) < 3 {
		return nil, false
	}
	if cmd, _ := jslit.Str(c.Args[0]); cmd != "event" {
		return nil, false
	}
	if ev, _ := jslit.Str(c.Args[1]); strings.TrimSpace(ev) != name {
		return nil, false
	}
	return argObject(script, c.Args[2])
}

// argObject returns a call argument that is an object literal, or the
// object literal last assigned in the same script to the variable passed
// (`var purchaseData = {…}; gtag('event', 'purchase', purchaseData)`).
func argObject(script []byte, v jslit.Value) (jslit.Object, bool) {
	switch t := v.(type) {
	case jslit.Object:
		return t, true
	case jslit.Expr:
		name := strings.TrimPrefix(string(t), "window.")
		if !isJSIdent(name) || name == "arguments" {
			return nil, false
		}
		var obj jslit.Object
		found := false
		for _, a := range jslit.Assignments(script, name) {
			if o, ok := a.Value.(jslit.Object); ok && a.Target == name {
				obj, found = o, true
			}
		}
		return obj, found
	}
	return nil, false
}

// gtagUserEmail returns the clear-text email of enhanced conversions,
// gtag('set', 'user_data', {email: …}), or "" (hashed sha256_* values are
// not emails).
func gtagUserEmail(p *Page) string {
	for i := range p.Scripts {
		s := &p.Scripts[i]
		if !tagScript(s) || !bytes.Contains(s.Text, []byte("gtag")) || !bytes.Contains(s.Text, []byte("user_data")) {
			continue
		}
		for _, c := range jslit.Calls(s.Text, "gtag") {
			if len(c.Args) < 2 {
				continue
			}
			if cmd, _ := jslit.Str(c.Args[0]); cmd != "set" {
				continue
			}
			var ud jslit.Value
			if key, _ := jslit.Str(c.Args[1]); key == "user_data" && len(c.Args) > 2 {
				ud = c.Args[2]
			} else {
				ud = jslit.Path(c.Args[1], "user_data")
			}
			if obj, ok := argObject(s.Text, ud); ok {
				if e := objectEmail(obj); e != "" {
					return e
				}
			}
		}
	}
	return ""
}

// Helpers shared by the script sources of this file and pixels.go.

// tagScript reports whether a script element holds JavaScript that runs,
// now or later: besides Script.JS, the types under which consent managers
// and script optimisers park tags until consent or first interaction —
// Cookiebot, Complianz, OneTrust and iubenda ("text/plain"), Partytown
// ("text/partytown"), WP Rocket ("rocketlazyloadscript"), LiteSpeed
// ("litespeed/javascript"), Perfmatters ("pmdelayedscript") and Cloudflare
// Rocket Loader ("<hash>-text/javascript"). Analytics and pixel payloads
// are exactly what these tools defer.
func tagScript(s *Script) bool {
	if s.JS() {
		return true
	}
	switch s.Type {
	case "text/plain", "text/partytown", "rocketlazyloadscript", "litespeed/javascript", "pmdelayedscript":
		return true
	}
	return strings.HasSuffix(s.Type, "-text/javascript")
}

// containsMarker reports whether b contains one of the markers.
func containsMarker(b []byte, markers []string) bool {
	for _, m := range markers {
		if bytes.Contains(b, []byte(m)) {
			return true
		}
	}
	return false
}

// jsText returns a string or number value as clean text ("" otherwise).
func jsText(v jslit.Value) string {
	s, ok := jslit.Str(v)
	if !ok {
		return ""
	}
	return Text(s)
}

// jsID returns an order id or SKU exactly as printed (a number keeps its
// literal text, leading zeros included), or "" when absent, empty or an
// unsubstituted template placeholder ("{{ order.number }}", "%%ORDER_ID%%").
func jsID(v jslit.Value) string {
	s, ok := jslit.Str(v)
	if !ok {
		return ""
	}
	s = strings.TrimSpace(s)
	if unsubstituted(s) {
		return ""
	}
	return s
}

// unsubstituted reports whether s is a template variable a server left
// unsubstituted.
func unsubstituted(s string) bool {
	for _, m := range []string{"{{", "}}", "%%", "<%", "<?", "${", "[[", "{%"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// jsMoney reads an amount in major units of currency ("" when unknown): a
// number, a numeric string, or a formatted string ("1,937.80", "1 249,00").
// In a currency printed without decimals, a string's dot before three
// digits groups thousands ("250.000" IDR is 250000), as the storefronts of
// those currencies print it.
func jsMoney(v jslit.Value, currency string) *float64 {
	v = jslit.Unwrap(v) // value: parseFloat('249.90')
	if s, ok := v.(jslit.String); ok && wholeUnits(currency) && dotGrouped(strings.TrimPrefix(strings.TrimSpace(string(s)), "-")) {
		if f, ok := ParseMoney(Text(string(s))); ok {
			return Money(f)
		}
	}
	if f, ok := jslit.Float(v); ok {
		return Money(f)
	}
	if s, ok := v.(jslit.String); ok {
		if f, ok := ParseMoney(Text(string(s))); ok {
			return Money(f)
		}
	}
	return nil
}

// dotGrouped reports whether s is a whole number grouped in thousands with
// dots: 1 to 3 digits, then groups of a dot and 3 digits ("250.000",
// "1.250.000"), not "1500.000".
func dotGrouped(s string) bool {
	groups := strings.Split(s, ".")
	if len(groups) < 2 || len(groups[0]) < 1 || len(groups[0]) > 3 || !allDigits(groups[0]) {
		return false
	}
	for _, g := range groups[1:] {
		if len(g) != 3 || !allDigits(g) {
			return false
		}
	}
	return true
}

// jsCurrency reads an ISO currency code ("usd" becomes "USD").
func jsCurrency(v jslit.Value) string {
	s, ok := v.(jslit.String)
	if !ok {
		return ""
	}
	if c := Currency(string(s)); c != "" {
		return c
	}
	return CurrencyOf(string(s))
}

// jsEmail returns v when it is a customer email in clear text.
func jsEmail(v jslit.Value) string {
	s, ok := v.(jslit.String)
	if !ok || unsubstituted(string(s)) {
		return ""
	}
	return Email(Text(string(s)))
}

// couponCodes splits a coupon value ("SPRING10", "spring10, freeship", or
// an array of codes) into discounts without amounts.
func couponCodes(v jslit.Value) []Discount {
	var ds []Discount
	add := func(s string) {
		for c := range strings.SplitSeq(s, ",") {
			c = Text(c)
			if c == "" || unsubstituted(c) {
				continue
			}
			for _, d := range ds {
				if d.Code == c {
					c = ""
					break
				}
			}
			if c != "" {
				ds = append(ds, Discount{Code: c})
			}
		}
	}
	switch t := v.(type) {
	case jslit.String:
		add(string(t))
	case jslit.Array:
		for _, e := range t {
			if s, ok := e.(jslit.String); ok {
				add(string(s))
			}
		}
	}
	return ds
}

// itemSKUKeys are the item identifier keys, best first: an explicit sku
// (GTM4WP prints both sku and a product-id item_id), then GA4's item_id,
// then UA's id.
var itemSKUKeys = []string{"sku", "item_id", "id"}

// jsItems reads an items or products array: sku/item_id/id, item_name or
// name (without item_variant), quantity (1 when absent) and unit price.
func jsItems(v jslit.Value, currency string) []Item {
	arr, ok := v.(jslit.Array)
	if !ok {
		return nil
	}
	var items []Item
	for _, e := range arr {
		obj, ok := e.(jslit.Object)
		if !ok {
			continue
		}
		var it Item
		for _, k := range itemSKUKeys {
			if it.SKU = jsID(obj.Get(k)); it.SKU != "" {
				break
			}
		}
		it.Name = jsText(obj.Get("item_name"))
		if it.Name == "" {
			it.Name = jsText(obj.Get("name"))
		}
		if it.SKU == "" && it.Name == "" {
			continue
		}
		it.Quantity = 1
		if q, ok := jslit.Int(obj.Get("quantity")); ok {
			it.Quantity = q
		}
		it.Price = jsMoney(obj.Get("price"), currency)
		items = append(items, it)
	}
	return items
}
