package capture

import "strings"

// Sylius thank-you page (orders.md §12): #sylius-thank-you "Thank you!",
// and for logged-in customers a#sylius-show-order-in-account whose href
// ends with the order number (/account/orders/000000231, zero-padded).
// Guests get no number, and the page prints no totals, items or email.

func readSylius(p *Page, at int) *Order {
	st := markerTag(p, at, markupNeedles[mkSylius].s)
	if st < 0 {
		return nil
	}
	w := window(p.Raw, st+1)
	_, t, ok := seekElem(w, "sylius-show-order-in-account", byID("sylius-show-order-in-account"))
	if !ok {
		return nil
	}
	href := attrText(t.attrs, "href")
	if i := strings.IndexAny(href, "?#"); i >= 0 {
		href = href[:i]
	}
	href = strings.TrimRight(href, "/")
	id := orderNumber(href[strings.LastIndexByte(href, '/')+1:])
	if id == "" {
		return nil
	}
	return &Order{ID: id}
}
