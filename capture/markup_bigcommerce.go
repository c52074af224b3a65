package capture

import "bytes"

// BigCommerce optimized one-page checkout (orders.md §10): the
// confirmation renders client-side, so the served HTML holds only
// window.checkoutConfig = {…"orderId": 4127…} and an empty #checkout-app.
// The merchant's conversion code (%%ORDER_ID%% placeholders) is read by
// the pixel sources, not here.

func readBigCommerce(p *Page, at int) *Order {
	w := p.Raw[at:min(len(p.Raw), at+markupWindow)]
	i := bytes.Index(w, []byte("orderId"))
	if i < 0 {
		return nil
	}
	r := w[i+len("orderId"):]
	r = bytes.TrimLeft(r, "\"' \t\r\n")
	if len(r) == 0 || r[0] != ':' {
		return nil
	}
	r = bytes.TrimLeft(r[1:], "\"' \t\r\n")
	n := 0
	for n < len(r) && (r[n] >= '0' && r[n] <= '9' || isLetter(r[n]) || r[n] == '-') {
		n++
	}
	id := string(r[:n])
	if id == "" || id == "null" || id == "undefined" || !bytes.ContainsAny(r[:n], "0123456789") {
		return nil
	}
	return &Order{ID: id}
}
