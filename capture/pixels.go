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
// transaction id (sign-ups, leads) is no order, and one with an id is a
// sale only when another source of the page names the same order
// (adsNamed): Google Ads counts leads and sign-ups as conversions too.
func fromAdsConversion(p *Page) *Order {
	conversion := func(script []byte, c jslit.Call) (jslit.Object, bool) { return gtagEvent(script, c, "conversion") }
	return pixelOrder(p, "gtag", []string{"gtag", "conversion"}, conversion, "transaction_id", "gads")
}

// pixelOrder reads the id, value and currency of the first call of callee
// whose parameters params finds and that carries an id under idKey, in the
// scripts that hold every marker: the shape of the pixels, which give no
// more than that.
func pixelOrder(p *Page, callee string, markers []string, params func([]byte, jslit.Call) (jslit.Object, bool), idKey, source string) *Order {
	for i := range p.Scripts {
		s := &p.Scripts[i]
		if !tagScript(s) || !containsAll(s.Text, markers) {
			continue
		}
		for _, c := range jslit.Calls(s.Text, callee) {
			args, ok := params(s.Text, c)
			if !ok {
				continue
			}
			if id := jsID(args.Get(idKey)); id != "" {
				cur := jsCurrency(args.Get("currency"))
				return &Order{ID: id, Total: jsMoney(args.Get("value"), cur), Currency: cur, Source: source}
			}
		}
	}
	return nil
}

func containsAll(b []byte, markers []string) bool {
	for _, m := range markers {
		if !bytes.Contains(b, []byte(m)) {
			return false
		}
	}
	return true
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
	return pixelOrder(p, "fbq", []string{"Purchase", "fbq"}, fbqPurchase, "order_id", "meta")
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
