package capture

import (
	"bytes"
	"encoding/json"
)

// Magento 2 checkout/onepage/success (orders.md §9): div.checkout-success
// prints the increment id, zero-padded and kept as printed, either as
// <a class="order-number"><strong>…</strong></a> (customers; the link's
// order_id is the entity id, not the number) or <span>…</span> (guests).
// Guests also get the "create an account" widget whose x-magento-init
// config carries the customer's email. There are no totals or items.

func readMagento(p *Page, at int) *Order {
	st := markerTag(p, at, markupNeedles[mkMagento].s)
	if st < 0 {
		return nil
	}
	w := window(p.Raw, st+1)
	in, t, ok := seekElem(w, "checkout-success", byClass("checkout-success"))
	if !ok || t.is("body") { // OpenCart 3 puts the route class on <body>
		return nil
	}
	var num []byte
	if a, _, ok := findElem(in, byClass("order-number")); ok {
		num = a
	} else if s, _, ok := findElem(in, byTag("span")); ok {
		num = s
	} else if s, _, ok := findElem(in, byTag("strong")); ok {
		num = s
	}
	o := &Order{ID: orderNumber(textOf(num, nil))}
	if o.ID == "" {
		return nil
	}
	o.Email = magentoRegistrationEmail(p)
	return o
}

// magentoRegistrationEmail reads config.email of the guest registration
// component (Magento_Checkout/js/view/registration).
func magentoRegistrationEmail(p *Page) string {
	for i := range p.Scripts {
		s := &p.Scripts[i]
		if s.Type != "text/x-magento-init" || !bytes.Contains(s.Text, []byte("Magento_Checkout/js/view/registration")) &&
			!bytes.Contains(s.Text, []byte(`Magento_Checkout\/js\/view\/registration`)) {
			continue
		}
		if e := jsonStringAfter(s.Text, `"email"`); e != "" {
			return Email(e)
		}
	}
	return ""
}

// jsonStringAfter returns the JSON string value that follows key (a quoted
// key) and a colon in b, decoded, or "".
func jsonStringAfter(b []byte, key string) string {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return ""
	}
	r := bytes.TrimLeft(b[i+len(key):], " \t\r\n")
	if len(r) == 0 || r[0] != ':' {
		return ""
	}
	r = bytes.TrimLeft(r[1:], " \t\r\n")
	if len(r) == 0 || r[0] != '"' {
		return ""
	}
	end := 1
	for end < len(r) && r[end] != '"' {
		if r[end] == '\\' {
			end++
		}
		end++
	}
	if end >= len(r) {
		return ""
	}
	var s string
	if json.Unmarshal(r[:end+1], &s) != nil {
		return ""
	}
	return s
}
