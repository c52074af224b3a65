package capture

import (
	"bytes"
	"strings"

	"github.com/storeedge/caddy-katalys/capture/jslit"
)

// This file reads the ad and review pixels of a page: the Google Ads
// conversion event, the Meta pixel Purchase event and the Google Customer
// Reviews opt-in. They are low-trust sources: each gives a few fields
// (id, total, currency; or id and email) that fill what better sources
// lack.

// fromAdsConversion reads the Google Ads conversion event,
// gtag('event', 'conversion', {send_to, value, currency, transaction_id})
// (Source "gads"): id, total and currency only. A conversion without a
// transaction id (sign-ups, leads) is no order.
func fromAdsConversion(p *Page) *Order {
	for i := range p.Scripts {
		s := &p.Scripts[i]
		if !tagScript(s) || !bytes.Contains(s.Text, []byte("gtag")) || !bytes.Contains(s.Text, []byte("conversion")) {
			continue
		}
		for _, c := range jslit.Calls(s.Text, "gtag") {
			params, ok := gtagEvent(s.Text, c, "conversion")
			if !ok {
				continue
			}
			id := jsID(params.Get("transaction_id"))
			if id == "" {
				continue
			}
			return &Order{
				ID:       id,
				Total:    jsMoney(params.Get("value")),
				Currency: jsCurrency(params.Get("currency")),
				Source:   "gads",
			}
		}
	}
	return nil
}

// fromMeta reads the Meta pixel Purchase event, fbq('track', 'Purchase',
// {value, currency, …}) or fbq('trackSingle', pixelID, 'Purchase', {…})
// (Source "meta"). The standard event has no order id; only the
// order_id that Facebook for WooCommerce adds makes it an order, so
// without one the source yields nil. Its contents[].id are catalog ids,
// not SKUs, so no items are given; advanced-matching em values are hashes,
// so no email either. FB4WC prints the same object several times: the
// first is taken.
func fromMeta(p *Page) *Order {
	for i := range p.Scripts {
		s := &p.Scripts[i]
		if !tagScript(s) || !bytes.Contains(s.Text, []byte("Purchase")) || !bytes.Contains(s.Text, []byte("fbq")) {
			continue
		}
		for _, c := range jslit.Calls(s.Text, "fbq") {
			params, ok := fbqPurchase(s.Text, c)
			if !ok {
				continue
			}
			id := jsID(params.Get("order_id"))
			if id == "" {
				continue
			}
			return &Order{
				ID:       id,
				Total:    jsMoney(params.Get("value")),
				Currency: jsCurrency(params.Get("currency")),
				Source:   "meta",
			}
		}
	}
	return nil
}

// fbqPurchase returns the parameters of a Purchase event:
// fbq('track', 'Purchase', {…}[, {eventID}]) or
// fbq('trackSingle', pixelID, 'Purchase', {…}).
func fbqPurchase(script []byte, c jslit.Call) (jslit.Object, bool) {
	if len(c.Args) < 3 {
		return nil, false
	}
	cmd, _ := jslit.Str(c.Args[0])
	ev, params := 1, 2
	switch cmd {
	case "track":
	case "trackSingle":
		ev, params = 2, 3
	default:
		return nil, false
	}
	if len(c.Args) <= params {
		return nil, false
	}
	if name, _ := jslit.Str(c.Args[ev]); strings.TrimSpace(name) != "Purchase" {
		return nil, false
	}
	return argObject(script, c.Args[params])
}

// fromGCR reads the Google Customer Reviews opt-in,
// gapi.surveyoptin.render({merchant_id, order_id, email, …}) (Source
// "gcr"): the order id and the customer's email only.
func fromGCR(p *Page) *Order {
	for i := range p.Scripts {
		s := &p.Scripts[i]
		if !tagScript(s) || !bytes.Contains(s.Text, []byte("gapi")) || !bytes.Contains(s.Text, []byte("surveyoptin")) {
			continue
		}
		for _, c := range jslit.Calls(s.Text, "gapi.surveyoptin.render") {
			for _, a := range c.Args {
				params, ok := argObject(s.Text, a)
				if !ok {
					continue
				}
				id := jsID(params.Get("order_id"))
				if id == "" {
					continue
				}
				return &Order{ID: id, Email: jsEmail(params.Get("email")), Source: "gcr"}
			}
		}
	}
	return nil
}
