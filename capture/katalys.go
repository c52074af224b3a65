package capture

import (
	"bytes"
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/storeedge/caddy-katalys/capture/jslit"
)

// The Katalys (formerly RevOffers) source: the _revoffers_track payload a
// store prints for Katalys itself (katalys.md §2, orders.md §13). It comes
// in three shapes, all read here:
//
//   - a push: _revoffers_track.push({action: "convert", order_id: …, …});
//   - a pre-seeded object built property by property before the async
//     script loads: _revoffers_track.order_id = "…"; _revoffers_track.action
//     = "thank_you" (the WordPress and Magento plugins);
//   - a whole object: window._revoffers_track = {…} (the legacy WooCommerce
//     plugin) or Object.assign(window._revoffers_track, {…}).
//
// Values are flat: discounts and line items are numbered keys
// (discount_N_code, line_item_N_sku …), numbered from 1 by the KB and from
// 0 by the plugins, so both are read, in index order.

var katalysMarker = []byte("_revoffers_track")

// fromKatalys returns the order of the page's _revoffers_track payload.
//
// When the page carries a convert push (or a thank_you pre-seed) whose
// order id cannot be read (values computed at run time), it returns an
// order with only Convert set: no order from this source, but the page
// converts by itself, so the proxy must not add a conversion to whatever
// the other sources find.
func fromKatalys(p *Page) *Order {
	var (
		state  jslit.Object // the pre-seeded object, member by member
		pushes []jslit.Object
	)
	for i := range p.Scripts {
		s := &p.Scripts[i]
		// A consent manager or a script optimiser may park the payload
		// (type="text/plain" …) as it does analytics tags: it is still the
		// page's conversion.
		if !tagScript(s) || !bytes.Contains(s.Text, katalysMarker) {
			continue
		}
		for _, e := range katalysEvents(s.Text) {
			switch {
			case e.call != nil && e.call.Callee == "_revoffers_track.push":
				for _, a := range e.call.Args {
					if obj, ok := a.(jslit.Object); ok {
						pushes = append(pushes, obj)
					}
				}
			case e.call != nil: // Object.assign(_revoffers_track, {…}, …)
				if len(e.call.Args) == 0 || !katalysTarget(e.call.Args[0]) {
					continue
				}
				for _, a := range e.call.Args[1:] {
					if obj, ok := a.(jslit.Object); ok {
						state = append(state, obj...)
					}
				}
			case e.assign.Target == "_revoffers_track":
				switch v := e.assign.Value.(type) {
				case jslit.Object:
					state = append(jslit.Object(nil), v...) // a new object
				case jslit.Array:
					state = nil // a new push queue
				}
				// `x = window._revoffers_track || {}` keeps the object.
			default:
				key := strings.TrimPrefix(e.assign.Target, "_revoffers_track.")
				if strings.IndexByte(key, '.') < 0 {
					state = append(state, jslit.Member{Key: key, Value: e.assign.Value})
				}
			}
		}
	}
	if state == nil && pushes == nil {
		return nil
	}

	// Candidates in order of trust: convert pushes, the pre-seeded object,
	// pushes that name no action. Pushes of other actions (pageview,
	// addtocart, custom events) and pre-seeds of another action
	// ("order_status" on an old order) are no order.
	var cands []*Order
	convert := false
	var bare []*Order
	for _, obj := range pushes {
		switch katalysAction(obj) {
		case "convert", "thank_you":
			convert = true
			cands = append(cands, katalysOrder(obj))
		case "":
			// No action: read it, but do not count on Katalys taking it
			// as a conversion (Convert stays false; Katalys dedupes
			// conversions by order id, so a second one is harmless
			// where a missing one is not).
			bare = append(bare, katalysOrder(obj))
		}
	}
	if len(state) > 0 {
		switch act := katalysAction(state); act {
		case "", "convert", "thank_you":
			o := katalysOrder(state)
			if act != "" && o.ID != "" {
				convert = true
			}
			cands = append(cands, o)
		}
	}
	cands = append(cands, bare...)

	var o *Order
	for _, c := range cands {
		if c.ID != "" {
			o = c
			break
		}
	}
	if o == nil {
		if convert {
			return &Order{Source: "katalys", Convert: true}
		}
		return nil
	}
	for _, c := range cands {
		if c != o && (c.ID == "" || c.ID == o.ID) {
			katalysFill(o, c)
		}
	}
	o.Convert = convert
	return o
}

// katalysEvent is a push, an Object.assign or an assignment, in script
// order.
type katalysEvent struct {
	off    int
	call   *jslit.Call
	assign *jslit.Assign
}

func katalysEvents(script []byte) []katalysEvent {
	calls := jslit.Calls(script, "_revoffers_track.push", "Object.assign")
	assigns := jslit.Assignments(script, "_revoffers_track")
	events := make([]katalysEvent, 0, len(calls)+len(assigns))
	for i := range calls {
		events = append(events, katalysEvent{off: calls[i].Offset, call: &calls[i]})
	}
	for i := range assigns {
		events = append(events, katalysEvent{off: assigns[i].Offset, assign: &assigns[i]})
	}
	slices.SortStableFunc(events, func(a, b katalysEvent) int { return cmp.Compare(a.off, b.off) })
	return events
}

// katalysTarget reports whether an Object.assign target is the
// _revoffers_track object (possibly `window._revoffers_track || {}`).
func katalysTarget(v jslit.Value) bool {
	e, ok := v.(jslit.Expr)
	if !ok {
		return false
	}
	s := strings.TrimPrefix(string(e), "window.")
	rest, ok := strings.CutPrefix(s, "_revoffers_track")
	return ok && (rest == "" || !katalysIdentByte(rest[0]))
}

func katalysIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func katalysAction(obj jslit.Object) string {
	return strings.ToLower(katalysText(obj.Get("action")))
}

// katalysOrder reads one payload.
func katalysOrder(obj jslit.Object) *Order {
	o := &Order{Source: "katalys"}
	o.ID = katalysText(obj.Get("order_id"))
	o.Currency = Currency(katalysText(obj.Get("currency")))
	// The legacy plugin's "56.40 USD" is its only currency signal; read
	// before the amounts, which are read in the order's currency.
	wc := katalysText(obj.Get("sale_amount_with_currency"))
	if o.Currency == "" && wc != "" {
		if o.Currency = CurrencyOf(wc); o.Currency == "" {
			o.Currency = trailingCode(wc)
		}
	}
	o.Total = katalysMoney(obj.Get("sale_amount"), o.Currency)
	o.Subtotal = katalysMoney(obj.Get("subtotal_amount"), o.Currency)
	// order_value (WordPress plugin) is NOT the total: it is the subtotal
	// before discounts, or the sale amount when there is none (fixture 11:
	// 189.0 against a total of 205.77). Nor is it read as the Subtotal: the
	// page does not call it that, and which of the two it holds is unknown.
	if wc != "" {
		if o.Total == nil {
			if v, ok := DataMoney(wc, o.Currency); ok {
				o.Total = Money(v)
			}
		}
	}
	// No default currency here: Extract applies Katalys's USD default
	// only when no other source names one.
	o.Email = Email(katalysText(obj.Get("email_address")))
	o.Time = katalysText(obj.Get("order_time"))
	o.Status = katalysText(obj.Get("order_status"))
	o.Discounts, o.Items = katalysLists(obj, o.Currency)
	return o
}

// katalysLists reads the numbered discount_N_* and line_item_N_* keys of an
// order in currency.
func katalysLists(obj jslit.Object, currency string) ([]Discount, []Item) {
	type line struct {
		n          int
		sku, title string
		price      *float64
		qty        int
		hasQty     bool
	}
	type disc struct {
		n      int
		code   string
		amount *float64
	}
	var lines []line
	var discs []disc
	lineAt := func(n int) *line {
		for i := range lines {
			if lines[i].n == n {
				return &lines[i]
			}
		}
		lines = append(lines, line{n: n})
		return &lines[len(lines)-1]
	}
	discAt := func(n int) *disc {
		for i := range discs {
			if discs[i].n == n {
				return &discs[i]
			}
		}
		discs = append(discs, disc{n: n})
		return &discs[len(discs)-1]
	}
	for _, m := range obj { // in order: a later key overrides an earlier one
		if n, field, ok := katalysNumbered(m.Key, "line_item_"); ok {
			switch field {
			case "sku":
				lineAt(n).sku = katalysText(m.Value)
			case "title", "name":
				lineAt(n).title = katalysText(m.Value)
			case "price":
				lineAt(n).price = katalysMoney(m.Value, currency)
			case "qty", "quantity":
				if q, ok := jslit.Int(m.Value); ok {
					l := lineAt(n)
					l.qty, l.hasQty = q, true
				}
			}
			// _var is the variant, not part of the name; _categories
			// and others are not read.
		} else if n, field, ok := katalysNumbered(m.Key, "discount_"); ok {
			switch field {
			case "code":
				discAt(n).code = katalysText(m.Value)
			case "amount", "amt":
				discAt(n).amount = katalysMoney(m.Value, currency)
			}
		}
	}
	slices.SortFunc(lines, func(a, b line) int { return cmp.Compare(a.n, b.n) })
	slices.SortFunc(discs, func(a, b disc) int { return cmp.Compare(a.n, b.n) })

	var items []Item
	for _, l := range lines {
		if l.sku == "" && l.title == "" {
			continue
		}
		if !l.hasQty {
			l.qty = 1 // a line the payload lists without a quantity is one unit
		}
		items = append(items, Item{SKU: l.sku, Name: l.title, Quantity: l.qty, Price: l.price})
	}
	var discounts []Discount
	for _, d := range discs {
		// The WordPress snippets print several codes in one key:
		// implode(', ', $order->get_coupon_codes()). The amount is then
		// the sum for all of them and belongs to none.
		codes := katalysSplitCodes(d.code)
		switch {
		case len(codes) == 0 && d.amount != nil:
			discounts = append(discounts, Discount{Amount: d.amount})
		case len(codes) == 1:
			discounts = append(discounts, Discount{Code: codes[0], Amount: d.amount})
		default:
			for _, c := range codes {
				discounts = append(discounts, Discount{Code: c})
			}
		}
	}
	return discounts, items
}

// katalysNumbered splits "line_item_12_sku" with prefix "line_item_" into 12
// and "sku".
func katalysNumbered(key, prefix string) (n int, field string, ok bool) {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return 0, "", false
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i == 0 || i > 4 || i == len(rest) || rest[i] != '_' {
		return 0, "", false
	}
	n, err := strconv.Atoi(rest[:i])
	return n, rest[i+1:], err == nil
}

// katalysSplitCodes splits a discount code string on commas.
func katalysSplitCodes(s string) []string {
	var codes []string
	for c := range strings.SplitSeq(s, ",") {
		if c = strings.TrimSpace(c); c != "" {
			codes = append(codes, c)
		}
	}
	return codes
}

// katalysFill fills the empty fields of o from c, a less trusted payload
// for the same order.
func katalysFill(o, c *Order) {
	if o.Total == nil {
		o.Total = c.Total
	}
	if o.Subtotal == nil {
		o.Subtotal = c.Subtotal
	}
	if o.Currency == "" {
		o.Currency = c.Currency
	}
	if o.Email == "" {
		o.Email = c.Email
	}
	if o.Time == "" {
		o.Time = c.Time
	}
	if o.Status == "" {
		o.Status = c.Status
	}
	if len(o.Items) == 0 {
		o.Items = c.Items
	}
	if len(o.Discounts) == 0 {
		o.Discounts = c.Discounts
	}
}

// katalysText returns a string or number value as text, HTML entities
// decoded (WordPress esc_js writes & as &amp;), or "" for anything else
// and for template placeholders left katalysUnrendered ("{{ORDER_ID}}").
func katalysText(v jslit.Value) string {
	s, ok := jslit.Str(v)
	if !ok {
		return ""
	}
	s = katalysClean(s)
	if katalysUnrendered(s) {
		return ""
	}
	return s
}

// katalysClean is Text without its allocations for the common string
// that needs no cleaning: ASCII, no entity, single inner spaces only.
func katalysClean(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '&' || c >= 0x80 || c < ' ' || c == ' ' && (i == 0 || i == len(s)-1 || s[i+1] == ' ') {
			return Text(s)
		}
	}
	return s
}

// katalysUnrendered reports whether s is a template placeholder a page printed
// instead of a value: {{order.id}}, %%ORDER_ID%%, <?php … ?>, ${id}.
func katalysUnrendered(s string) bool {
	return strings.Contains(s, "{{") || strings.Contains(s, "{%") || strings.Contains(s, "%%") ||
		strings.Contains(s, "<?") || strings.Contains(s, "${")
}

// katalysMoney reads an amount of an order in currency: a number as is, a
// string through DataMoney ("176.40", "1,234.50", "56.40 USD", and
// "45.500" as 45.5 in KWD).
func katalysMoney(v jslit.Value, currency string) *float64 {
	switch t := v.(type) {
	case jslit.Number:
		if f, ok := jslit.Float(t); ok {
			return Money(f)
		}
	case jslit.String:
		s := katalysClean(string(t))
		if katalysUnrendered(s) {
			return nil
		}
		if f, ok := DataMoney(s, currency); ok {
			return Money(f)
		}
	}
	return nil
}
