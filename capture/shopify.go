package capture

import (
	"bytes"

	"github.com/storeedge/caddy-katalys/capture/jslit"
)

// The Shopify source: the legacy thank-you / order status page's
// `Shopify.checkout = {…};` object (orders.md §7.1). Only the structured
// object is read here; the page's DOM (.os-order-number, the
// data-checkout-*-target cents) belongs to the markup source. Other
// Shopify.* objects on the page (Shopify.Checkout.estimatedPrice,
// Shopify.shop, ShopifyAnalytics.meta) are not the order.

var (
	shopifyMarker = []byte("Shopify.checkout")
	// A whole window.Shopify dump carries the object as a member.
	shopifyDump     = []byte("Shopify")
	shopifyDumpKeys = [][]byte{[]byte(`"checkout":`), []byte("checkout:")}
)

// fromShopify returns the order of the page's Shopify.checkout object.
func fromShopify(p *Page) *Order {
	var found *Order
	for i := range p.Scripts {
		s := &p.Scripts[i]
		if !s.JS() {
			continue
		}
		roots := []string{"Shopify.checkout"}
		if !bytes.Contains(s.Text, shopifyMarker) {
			if !bytes.Contains(s.Text, shopifyDump) ||
				!bytes.Contains(s.Text, shopifyDumpKeys[0]) && !bytes.Contains(s.Text, shopifyDumpKeys[1]) {
				continue
			}
			roots = []string{"Shopify"}
		}
		for _, a := range jslit.Assignments(s.Text, roots...) {
			var v jslit.Value
			switch a.Target {
			case "Shopify.checkout":
				v = a.Value
			case "Shopify":
				// A whole dump: window.Shopify = {…, checkout: {…}}.
				v = jslit.Path(a.Value, "checkout")
			default:
				continue
			}
			obj, ok := v.(jslit.Object)
			if !ok {
				continue
			}
			if o := shopifyOrder(obj); o != nil {
				found = o // the last assignment is what the page holds
			}
		}
	}
	return found
}

// shopifyOrder reads a Shopify.checkout object, nil when it has no order
// id (a checkout that is not an order yet).
func shopifyOrder(c jslit.Object) *Order {
	// order_id is the internal numeric id (6039417722651); the customer
	// sees the order name (#SL1289), which only the markup prints. It is a
	// JSON number: kept as written, never through float.
	id := katalysText(c.Get("order_id"))
	if id == "" || id == "0" {
		return nil
	}
	o := &Order{Source: "shopify", ID: id}

	// The customer pays in the presentment currency; money values of the
	// object are in it. total_price_set names both explicitly.
	o.Currency = Currency(katalysText(c.Get("presentment_currency")))
	if o.Currency == "" {
		o.Currency = Currency(katalysText(c.Get("currency")))
	}
	pm := jslit.Path(c, "total_price_set", "presentment_money")
	if cur := Currency(katalysText(jslit.Path(pm, "currency_code"))); cur != "" && (o.Currency == "" || cur == o.Currency) {
		o.Currency = cur
		o.Total = katalysMoney(jslit.Path(pm, "amount"), o.Currency)
	}
	if o.Total == nil {
		o.Total = katalysMoney(c.Get("total_price"), o.Currency)
	}
	// subtotal_price is after discounts (line 19.50 with 17.55 off gives
	// "1.95"): it is what the page calls the subtotal.
	o.Subtotal = katalysMoney(c.Get("subtotal_price"), o.Currency)
	o.Email = Email(katalysText(c.Get("email")))

	if d, ok := c.Get("discount").(jslit.Object); ok {
		code := katalysText(d.Get("code"))
		amount := katalysMoney(d.Get("amount"), o.Currency)
		if code != "" || amount != nil {
			o.Discounts = append(o.Discounts, Discount{Code: code, Amount: amount})
		}
	}
	if len(o.Discounts) == 0 {
		o.Discounts = shopifyAllocatedCodes(c)
	}

	lines, _ := c.Get("line_items").(jslit.Array)
	for _, l := range lines {
		lo, ok := l.(jslit.Object)
		if !ok {
			continue
		}
		it := Item{
			SKU: katalysText(lo.Get("sku")),
			// title is the product; variant_title ("Smoke") is kept apart.
			Name:  katalysText(lo.Get("title")),
			Price: katalysMoney(lo.Get("price"), o.Currency), // unit price; line_price is price × quantity
		}
		if it.SKU == "" && it.Name == "" {
			continue
		}
		if q, ok := jslit.Int(lo.Get("quantity")); ok {
			it.Quantity = q
		} else {
			it.Quantity = 1
		}
		o.Items = append(o.Items, it)
	}
	return o
}

// shopifyAllocatedCodes collects, in order and once each, the discount
// codes of the line items' discount allocations, for objects whose order
// level discount is null (automatic discounts have no code and are
// skipped).
func shopifyAllocatedCodes(c jslit.Object) []Discount {
	var out []Discount
	lines, _ := c.Get("line_items").(jslit.Array)
	for _, l := range lines {
		allocs, _ := jslit.Path(l, "discount_allocations").(jslit.Array)
		for _, a := range allocs {
			app := jslit.Path(a, "application")
			if katalysText(jslit.Path(app, "type")) != "discount_code" {
				continue
			}
			code := katalysText(jslit.Path(app, "code"))
			if code == "" {
				continue
			}
			seen := false
			for _, d := range out {
				seen = seen || d.Code == code
			}
			if !seen {
				out = append(out, Discount{Code: code})
			}
		}
	}
	return out
}
