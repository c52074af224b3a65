package capture

import "strconv"

// Shopware 6 checkout finish page (orders.md §12): p.finish-ordernumber
// [data-order-number] and the hidden line-item block the built-in GA
// plugin reads: div.hidden-line-items-information [data-currency,
// data-value (total)] with span.hidden-line-item [data-sku, data-name,
// data-quantity, data-price (unit price)]. Twig prints floats without fixed
// decimals ("259.7") and escapes attribute values.

func readShopware(p *Page, at int) *Order {
	st := markerTag(p, at, markupNeedles[mkShopware].s)
	if st < 0 {
		return nil
	}
	if shopwarePaymentFailed(p) {
		return noMarkupOrder
	}
	w := window(p.Raw, st+1)
	num, t, ok := seekElem(w, "finish-ordernumber", byClass("finish-ordernumber"))
	if !ok {
		return nil
	}
	o := &Order{ID: attrText(t.attrs, "data-order-number")}
	if o.ID == "" {
		o.ID = orderNumber(textOf(num, nil))
	}
	if o.ID == "" {
		return nil
	}
	hidden, t, ok := seekElem(w, "hidden-line-items-information", byClass("hidden-line-items-information"))
	if !ok {
		return o
	}
	o.Currency = Currency(attrText(t.attrs, "data-currency"))
	if o.Currency == "" {
		o.Currency = CurrencyOf(attrText(t.attrs, "data-currency"))
	}
	if v, ok := DataMoney(attrText(t.attrs, "data-value"), o.Currency); ok {
		o.Total = Money(v)
	}
	eachElem(hidden, byClass("hidden-line-item"), func(t mtoken, _ []byte) bool {
		it := Item{SKU: attrText(t.attrs, "data-sku"), Name: attrText(t.attrs, "data-name")}
		if q, err := strconv.Atoi(attrText(t.attrs, "data-quantity")); err == nil {
			it.Quantity = q
		}
		if v, ok := DataMoney(attrText(t.attrs, "data-price"), o.Currency); ok {
			it.Price = Money(v)
		}
		if it.Name != "" || it.SKU != "" {
			o.Items = append(o.Items, it)
		}
		return true
	})
	return o
}

// shopwarePaymentFailed reports whether p is the finish page of an order
// whose payment failed (/checkout/finish?orderId=…&paymentFailed=1): the
// order number above a "danger" alert, which asks the customer to change
// the payment method and try again. Shopware prints the finish page, with
// its number and line items, for an order whose payment failed as well,
// and the order is not paid: as on WooCommerce's failed-payment page, it
// is no order yet. Paid on the retry, it is captured from the finish page
// that follows.
//
// Only an alert where the finish page prints its own counts: in its
// div.finish-content, which holds the payment-failed alert and the flash
// messages (the base_flashbags block), or in a div.flashbags elsewhere
// (themes and older versions print the flash messages above the
// content). A Bootstrap theme's shop-wide banner (an "alert alert-danger"
// announcement bar in the header) is no failed payment.
func shopwarePaymentFailed(p *Page) bool {
	if !classOnElement(p, "finish-ordernumber") {
		return false
	}
	failed := false
	for _, box := range [...]string{"finish-content", "flashbags"} {
		seekEach(p.Raw, box, byClass(box), func(_ mtoken, in []byte) bool {
			_, _, failed = seekElem(in, "alert-danger", byClass("alert-danger"))
			return !failed
		})
		if failed {
			return true
		}
	}
	return false
}
