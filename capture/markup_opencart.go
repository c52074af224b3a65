package capture

import "strings"

// OpenCart checkout/success (orders.md §12): common/success.twig prints
// only "Your order has been placed!" and a thank-you text, no order id,
// totals or items. Stores (and extensions) often add the id to that text:
// "Your order ID is #1043", "Order number: 1043". This reads such an id
// from div#common-success (OpenCart 4) or #content (2.x/3.x), and nothing
// else; a page without one gives nil.

func readOpenCart(p *Page, at int) *Order {
	w := p.Raw[at:min(len(p.Raw), at+markupWindow)]
	in, _, ok := seekElem(w, "common-success", byID("common-success"))
	if !ok {
		if in, _, ok = seekElem(w, "content", byID("content")); !ok {
			return nil
		}
	}
	var id string
	eachElem(in, func(t mtoken) bool { return t.is("p") || t.is("h1") || t.is("h2") || t.is("div") }, func(_ mtoken, b []byte) bool {
		id = orderIDInText(textOf(b, nil))
		return id == ""
	})
	if id == "" {
		return nil
	}
	return &Order{ID: id}
}

// orderIDInText finds an order id announced in a sentence: "order ID is
// #1043", "Order number: 1043", "order #1043", "Bestellnummer: 1043".
func orderIDInText(s string) string {
	f := strings.Fields(s)
	for i, w := range f {
		lw := strings.ToLower(w)
		if !strings.Contains(lw, "order") && !strings.Contains(lw, "bestell") && !strings.Contains(lw, "commande") && !strings.Contains(lw, "pedido") {
			continue
		}
		// The id is within the next few words, after '#', "ID", "number",
		// "no.", "is", ':'.
		for j := i; j < len(f) && j <= i+4; j++ {
			c := strings.TrimRight(f[j], ".,!;)")
			k := strings.LastIndexAny(c, "#:")
			if j == i && k < 0 {
				continue
			}
			if k >= 0 {
				c = c[k+1:]
			}
			if c == "" || c[0] < '0' || c[0] > '9' && (c[0]|0x20 < 'a' || c[0]|0x20 > 'z') {
				continue
			}
			if id := orderNumber(c); id != "" && strings.ContainsAny(id, "0123456789") && (k >= 0 || strings.HasSuffix(f[j-1], ":") || strings.EqualFold(f[j-1], "is") || strings.EqualFold(f[j-1], "#")) {
				return id
			}
		}
	}
	return ""
}
