package capture

import (
	"bytes"
	"strconv"
)

// Shopify's legacy thank-you / order status page (checkout.liquid), read
// from the DOM only (orders.md §7.1): the order name in span.os-order-number
// ("Order #SL1289", not the internal order_id of Shopify.checkout), the
// contact email in <bdo>, and the totals in data-checkout-*-target
// attributes, which hold minor units (cents) while the text is formatted.
// The DOM "Subtotal" is before discounts; Shopify.checkout's subtotal_price
// (after discounts) is more trusted and wins when present.

func readShopifyDOM(p *Page, at int) *Order {
	st := markerTag(p, at, markupNeedles[mkShopify].s)
	if st < 0 {
		return nil
	}
	// The mobile summary toggle precedes the order number; start a little
	// before it is not needed: the sidebar repeats every amount.
	w := window(p.Raw, st+1)
	num, _, ok := seekElem(w, "os-order-number", byClass("os-order-number"))
	if !ok {
		return nil
	}
	o := &Order{ID: orderNumber(textOf(num, nil))}
	if o.ID == "" {
		return nil
	}
	seekEach(w, "<bdo", byTag("bdo"), func(_ mtoken, in []byte) bool {
		o.Email = Email(textOf(in, nil))
		return o.Email == ""
	})
	if _, t, ok := seekElem(w, "data-presentment-currency", byAttr("data-presentment-currency")); ok {
		o.Currency = Currency(attrText(t.attrs, "data-presentment-currency"))
	}
	if o.Currency == "" {
		if c, _, ok := seekElem(w, "payment-due__currency", byClass("payment-due__currency")); ok {
			o.Currency = Currency(textOf(c, nil))
		}
	}
	o.Total = shopifyCents(w, "data-checkout-payment-due-target")
	o.Subtotal = shopifyCents(w, "data-checkout-subtotal-price-target")
	seekEach(w, "total-line--reduction", byTagClass("tr", "total-line--reduction"), func(_ mtoken, in []byte) bool {
		var d Discount
		if c, _, ok := findElem(in, func(t mtoken) bool {
			return hasClass(t.attrs, "applied-reduction-code__information") || hasClass(t.attrs, "reduction-code__text")
		}); ok {
			d.Code = textOf(c, nil)
		}
		d.Amount = shopifyCents(in, "data-checkout-discount-amount-target")
		if d.Code != "" || d.Amount != nil {
			o.Discounts = append(o.Discounts, d)
		}
		return true
	})
	seekEach(w, "product", byTagClass("tr", "product"), func(_ mtoken, in []byte) bool {
		var it Item
		if n, _, ok := findElem(in, byClass("product__description__name")); ok {
			it.Name = textOf(n, nil)
		}
		it.Quantity = quantityIn(in, "product-thumbnail__quantity")
		if v, ok := amountIn(in, "product__price"); ok {
			it.Price = unitPrice(v, it.Quantity)
		}
		if it.Name != "" {
			o.Items = append(o.Items, it)
		}
		return true
	})
	return o
}

// shopifyCents reads the first data-checkout-*-target attribute named name
// in b as hundredths of currency. Shopify prints every currency so, the
// zero-decimal ones too (¥1,000 is "100000"), and so do its clones for VND
// (orders.md §7.1).
func shopifyCents(b []byte, name string) *float64 {
	i := bytes.Index(b, []byte(name+"="))
	if i < 0 {
		return nil
	}
	st := bytes.LastIndexByte(b[:i], '<')
	if st < 0 {
		return nil
	}
	end := endOfTag(b, i)
	if end < 0 {
		return nil
	}
	v, ok := attr(b[st:end-1], name)
	if !ok {
		return nil
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
	if err != nil {
		return nil
	}
	return Money(round6(float64(n) / 100))
}
