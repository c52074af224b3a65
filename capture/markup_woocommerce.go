package capture

import (
	"bytes"
	"strings"
)

// WooCommerce classic thank-you template (checkout/thankyou.php,
// order/order-details*.php) and the block theme Order Confirmation blocks
// (orders.md §8.1, §8.2). Neither prints SKUs or unit prices: an item's
// price is its line total divided by its quantity. Amounts show the store's
// currency symbol only.

// readWooCommerce reads the classic template: the overview list
// (ul.woocommerce-order-overview) gives the order number, total and, for
// logged-in owners, the email; the order details table gives the items and
// the totals rows; the customer details give the billing email. A failed
// order (p.woocommerce-thankyou-order-failed) and a page without the
// overview (the email verification form) give nil.
func readWooCommerce(p *Page, at int) *Order {
	st := markerTag(p, at, markupNeedles[mkWooThanks].s)
	if st < 0 {
		return nil
	}
	w := window(p.Raw, st+1)
	buf := getTokens()
	defer func() { putTokens(buf, *buf) }()
	// The overview list, lexed once while its end is looked for.
	tl, ov, t, ok := seekTokens(w, "woocommerce-", func(t mtoken) bool {
		return hasClass(t.attrs, "woocommerce-order-overview") || hasClass(t.attrs, "woocommerce-thankyou-order-details") ||
			hasClass(t.attrs, "woocommerce-thankyou-order-failed")
	}, *buf)
	*buf = tl.t
	if !ok {
		return nil
	}
	if hasClass(t.attrs, "woocommerce-thankyou-order-failed") {
		return noMarkupOrder
	}
	o := &Order{}
	if !tl.raw {
		tl.each(0, len(tl.t), func(t *mtoken) bool { return t.is("li") }, func(k, lo, hi int) bool {
			_, vlo, vhi, ok := tl.find(lo, hi, func(t *mtoken) bool { return t.is("strong") })
			if !ok {
				return true
			}
			li := &tl.t[k]
			switch {
			case hasClass(li.attrs, "woocommerce-order-overview__order"):
				o.ID = orderNumber(tl.text(vlo, vhi, nil))
			case hasClass(li.attrs, "woocommerce-order-overview__email"):
				o.Email = Email(tl.text(vlo, vhi, nil))
			case hasClass(li.attrs, "woocommerce-order-overview__total"):
				if v, cur, ok := tl.money(vlo, vhi); ok {
					o.Total, o.Currency = Money(v), cur
				}
			}
			return true
		})
	} else {
		wooOverview(ov, o)
	}
	if o.ID == "" {
		return nil
	}
	if tl, tbl, _, ok := seekTokens(w, "<table", func(t mtoken) bool {
		return t.is("table") && (hasClass(t.attrs, "woocommerce-table--order-details") || hasClass(t.attrs, "order_details"))
	}, *buf); ok {
		*buf = tl.t
		if tl.raw {
			wooTable(tbl, o)
		} else {
			tl.wooTable(o)
		}
	}
	if o.Email == "" {
		if em, _, ok := seekElem(w, "woocommerce-customer-details--email", byClass("woocommerce-customer-details--email")); ok {
			o.Email = Email(textOf(em, nil))
		}
	}
	return o
}

// wooOverview reads the overview list with the byte helpers.
func wooOverview(ov []byte, o *Order) {
	eachElem(ov, byTag("li"), func(li mtoken, in []byte) bool {
		val, _, ok := findElem(in, byTag("strong"))
		if !ok {
			return true
		}
		switch {
		case hasClass(li.attrs, "woocommerce-order-overview__order"):
			o.ID = orderNumber(textOf(val, nil))
		case hasClass(li.attrs, "woocommerce-order-overview__email"):
			o.Email = Email(textOf(val, nil))
		case hasClass(li.attrs, "woocommerce-order-overview__total"):
			if v, cur, ok := moneyOf(val); ok {
				o.Total, o.Currency = Money(v), cur
			}
		}
		return true
	})
}

// readWooBlocks reads the block theme's Order Confirmation blocks: the
// summary list (order number, total, email by their translated keys), the
// totals table (items; no Subtotal row, the block removes it) and the
// billing email when the addresses block prints it. A failed order (the
// Status block's "Try again" actions, .wc-block-order-confirmation-status__actions,
// printed for a failed order only) gives nil.
func readWooBlocks(p *Page, at int) *Order {
	st := markerTag(p, at, markupNeedles[mkWooBlocks].s)
	if st < 0 {
		return nil
	}
	if classOnElement(p, wooBlocksFailed) {
		return noMarkupOrder
	}
	w := window(p.Raw, st+1)
	sum, _, ok := seekElem(w, "wc-block-order-confirmation-summary-list", byClass("wc-block-order-confirmation-summary-list"))
	if !ok {
		return nil
	}
	o := &Order{}
	first := true
	eachElem(sum, byTag("li"), func(_ mtoken, in []byte) bool {
		key, _, _ := findElem(in, byClass("wc-block-order-confirmation-summary-list-item__key"))
		val, _, ok := findElem(in, byClass("wc-block-order-confirmation-summary-list-item__value"))
		if !ok {
			return true
		}
		switch wooSummaryKey(textOf(key, nil)) {
		case "id":
			o.ID = orderNumber(textOf(val, nil))
		case "total":
			if v, cur, ok := moneyOf(val); ok {
				o.Total, o.Currency = Money(v), cur
			}
		case "email":
			o.Email = Email(textOf(val, nil))
		default:
			switch {
			case first && o.ID == "":
				// The order number comes first whatever the language.
				o.ID = orderNumber(textOf(val, nil))
			case o.Total == nil && bytes.Contains(val, []byte("woocommerce-Price-amount")):
				// The one amount of the list is the total, whatever
				// the language of its key ("合計:", "Suma:").
				if v, cur, ok := moneyOf(val); ok {
					o.Total, o.Currency = Money(v), cur
				}
			case o.Email == "":
				o.Email = Email(textOf(val, nil)) // "" unless it is an address
			}
		}
		first = false
		return true
	})
	if o.ID == "" {
		return nil
	}
	if tbl, _, ok := seekElem(w, "wc-block-order-confirmation-totals__table", byClass("wc-block-order-confirmation-totals__table")); ok {
		wooTable(tbl, o)
	}
	if o.Email == "" {
		if em, _, ok := seekElem(w, "woocommerce-customer-details--email", byClass("woocommerce-customer-details--email")); ok {
			o.Email = Email(textOf(em, nil))
		}
	}
	return o
}

// wooSummaryKey classifies a summary-list key ("Order number:", "Total:",
// "Email:", translated).
func wooSummaryKey(k string) string {
	k = strings.ToLower(strings.TrimRight(k, ": "))
	switch {
	case strings.Contains(k, "mail") || strings.Contains(k, "courriel") || strings.Contains(k, "correo"):
		return "email"
	case strings.Contains(k, "number") || strings.Contains(k, "nummer") || strings.Contains(k, "numéro") ||
		strings.Contains(k, "número") || strings.Contains(k, "numero") || k == "order" || strings.HasSuffix(k, "#"):
		return "id"
	case strings.HasPrefix(k, "total") || strings.HasPrefix(k, "gesamt") || strings.HasPrefix(k, "totale") || strings.HasPrefix(k, "totaal"):
		return "total"
	}
	return ""
}

// wooTable reads the order details table of either template: line-item
// rows (the name cell first, the line total last) and the tfoot totals.
func wooTable(tbl []byte, o *Order) {
	l := newLexer(tbl)
	for {
		t, ok := l.next()
		if !ok {
			return
		}
		if t.kind != tokStart {
			continue
		}
		if t.is("tfoot") {
			totalsRows(l.inner(t), func(kind, _ string, v []byte) { addTotal(o, kind, v) })
			continue
		}
		if !t.is("tr") {
			continue
		}
		cls := t.attrs
		row := l.inner(t)
		if !hasClass(cls, "order_item") && !hasClass(cls, "woocommerce-table__line-item") {
			continue
		}
		if it, ok := wooItem(row); ok {
			o.Items = append(o.Items, it)
		}
	}
}

// wooItem reads one line-item row.
func wooItem(row []byte) (Item, bool) {
	var cells [][]byte
	eachElem(row, byTag("td"), func(_ mtoken, in []byte) bool {
		cells = append(cells, in)
		return true
	})
	if len(cells) < 2 {
		return Item{}, false
	}
	nameCell := cells[0]
	var it Item
	if a, _, ok := findElem(nameCell, byTag("a")); ok {
		it.Name = textOf(a, nil)
	}
	if it.Name == "" {
		it.Name = textOf(nameCell, func(t mtoken) bool {
			return hasClass(t.attrs, "product-quantity") || hasClass(t.attrs, "wc-item-meta") ||
				hasClass(t.attrs, "variation") || t.is("ul") || t.is("dl")
		})
	}
	it.Quantity = 1
	if q, _, ok := findElem(nameCell, byClass("product-quantity")); ok {
		// Refunded lines print <del>2</del> <ins>1</ins>: the last number.
		if n := quantityOf(textOf(q, func(t mtoken) bool { return t.is("del") })); n > 0 {
			it.Quantity = n
		}
	}
	if v, _, ok := moneyOf(cells[len(cells)-1]); ok {
		it.Price = unitPrice(v, it.Quantity)
	}
	if it.Name == "" {
		return Item{}, false
	}
	return it, true
}

// wooTable is wooTable over the tokens of the table.
func (tl *tokList) wooTable(o *Order) {
	hi := len(tl.t)
	for i := 0; i < hi; {
		t := &tl.t[i]
		if t.kind != tokStart {
			i++
			continue
		}
		if t.is("tfoot") {
			lo, chi, next := tl.inner(i, hi)
			tl.totalsRows(lo, chi, func(kind string, vlo, vhi int) { tl.addTotal(o, kind, vlo, vhi) })
			i = next
			continue
		}
		if !t.is("tr") {
			i++
			continue
		}
		cls := t.attrs
		lo, chi, next := tl.inner(i, hi)
		i = next
		if !hasClass(cls, "order_item") && !hasClass(cls, "woocommerce-table__line-item") {
			continue
		}
		if it, ok := tl.wooItem(lo, chi); ok {
			o.Items = append(o.Items, it)
		}
	}
}

// wooItem is wooItem over the tokens [lo, hi) of a row.
func (tl *tokList) wooItem(lo, hi int) (Item, bool) {
	n := 0
	var first, last [2]int
	tl.each(lo, hi, func(t *mtoken) bool { return t.is("td") }, func(_, clo, chi int) bool {
		if n == 0 {
			first = [2]int{clo, chi}
		}
		last = [2]int{clo, chi}
		n++
		return true
	})
	if n < 2 {
		return Item{}, false
	}
	var it Item
	if _, alo, ahi, ok := tl.find(first[0], first[1], func(t *mtoken) bool { return t.is("a") }); ok {
		it.Name = tl.text(alo, ahi, nil)
	}
	if it.Name == "" {
		it.Name = tl.text(first[0], first[1], func(t *mtoken) bool {
			return hasClass(t.attrs, "product-quantity") || hasClass(t.attrs, "wc-item-meta") ||
				hasClass(t.attrs, "variation") || t.is("ul") || t.is("dl")
		})
	}
	it.Quantity = 1
	if _, qlo, qhi, ok := tl.find(first[0], first[1], func(t *mtoken) bool { return hasClass(t.attrs, "product-quantity") }); ok {
		// Refunded lines print <del>2</del> <ins>1</ins>: the last number.
		if q := quantityOf(tl.text(qlo, qhi, func(t *mtoken) bool { return t.is("del") })); q > 0 {
			it.Quantity = q
		}
	}
	if v, _, ok := tl.money(last[0], last[1]); ok {
		it.Price = unitPrice(v, it.Quantity)
	}
	if it.Name == "" {
		return Item{}, false
	}
	return it, true
}
