package capture

import "strings"

// Solidus (solidus_starter_frontend) and legacy Spree order pages
// (orders.md §12): fieldset#order_summary (Solidus; div in legacy Spree)
// whose legend / h1 reads "Order R123456789"; items as article.order-item
// (.order-item__price-single, .order-item__quantity "✕2") or legacy
// tr.line-item rows; totals in dl#line-items (Subtotal, Promotion without
// the code, Order Total) or legacy tfoot rows. Amounts rendered by
// Spree::Money#to_html are split across spans (money-whole, money-decimal),
// so each amount is read from the text of its whole cell.
//
// The same page shows an old order from the customer's account, so the
// order is read only when the page says it was just placed: Solidus's
// p.order-page__completed ("Thank you for your order"), or legacy Spree's
// thank-you line in the summary ("Thank you for your business…"), both
// printed only when order_just_completed. Otherwise an order placed
// before the plugin, looked at later, would be captured as new, at the
// time of the look, and credited to the visitor's recent clicks.

func readSpree(p *Page, at int) *Order {
	sum, id, ok := spreeSummary(p, at)
	if !ok {
		return nil
	}
	if !spreeJustPlaced(p.Raw, sum) {
		return noMarkupOrder
	}
	o := &Order{ID: id}
	eachElem(sum, byTagClass("article", "order-item"), func(_ mtoken, in []byte) bool {
		var it Item
		if a, _, ok := findElem(in, func(t mtoken) bool {
			return hasClass(t.attrs, "item-info__name") || t.is("h2") || t.is("h3") || t.is("h4")
		}); ok {
			it.Name = textOf(a, nil)
		}
		if it.Name == "" {
			eachElem(in, byTag("a"), func(_ mtoken, a []byte) bool {
				it.Name = textOf(a, nil)
				return it.Name == ""
			})
		}
		it.Quantity = quantityIn(in, "order-item__quantity")
		if v, ok := amountIn(in, "order-item__price-single"); ok {
			it.Price = Money(v)
		}
		if it.Name != "" {
			o.Items = append(o.Items, it)
		}
		return true
	})
	if len(o.Items) == 0 {
		eachElem(sum, byTagClass("tr", "line-item"), func(_ mtoken, in []byte) bool {
			var it Item
			if d, _, ok := findElem(in, byClass("cart-item-description")); ok {
				if h, _, ok := findElem(d, func(t mtoken) bool { return t.is("h4") || t.is("a") }); ok {
					it.Name = textOf(h, nil)
				}
			}
			it.Quantity = quantityIn(in, "cart-item-quantity")
			if v, ok := amountIn(in, "cart-item-price"); ok {
				it.Price = Money(v)
			}
			if it.Name != "" {
				o.Items = append(o.Items, it)
			}
			return true
		})
	}
	if dl, _, ok := findElem(sum, byID("line-items")); ok && len(o.Items) > 0 && o.Total == nil {
		totalsRows(dl, func(kind, _ string, v []byte) { addTotal(o, kind, v) })
	}
	eachElem(sum, byTag("tfoot"), func(_ mtoken, in []byte) bool {
		totalsRows(in, func(kind, _ string, v []byte) { addTotal(o, kind, v) })
		return true
	})
	return o
}

// spreeSummary finds the order summary of a Spree or Solidus order page
// whose marker is at at, and the order number it names: the legend or
// heading of the summary, or Solidus's page title above it. An element
// with id "order_summary" is Spree's or Solidus's only when it names a
// Spree number (spreeNumberRE) or carries the platform's markup (see
// spreeMarkup): a custom storefront's summary headed "Order #1042" is
// not, and says nothing of where the order was placed.
func spreeSummary(p *Page, at int) (sum []byte, id string, ok bool) {
	st := markerTag(p, at, markupNeedles[mkSolidus].s)
	if st < 0 {
		return nil, "", false
	}
	w := window(p.Raw, st+1)
	sum, t, ok := seekElem(w, "order_summary", byID("order_summary"))
	if !ok {
		return nil, "", false
	}
	for _, h := range []string{"legend", "h1", "h2"} {
		if in, _, ok := findElem(sum, byTag(h)); ok {
			if id = spreeNumber(textOf(in, nil)); id != "" {
				break
			}
		}
	}
	if id == "" {
		// Solidus prints the number in the page title above the fieldset.
		if in, _, ok := findElem(p.Raw[max(0, st-4096):st], byClass("order-page__title")); ok {
			id = spreeNumber(textOf(in, nil))
		}
	}
	if id == "" || !spreeNumberRE.MatchString(id) && !spreeMarkup(p, t) {
		return nil, "", false
	}
	return sum, id, true
}

// spreeAccountView reports whether p is a Spree or Solidus order page
// that does not say its order was just placed: the customer looking at an
// order from their account. Nothing on such a page is a new order,
// whichever source prints it (a theme's schema.org Order, a tag printed
// on every view), as the platform's own analytics snippets, printed only
// for a just-completed order, have it.
func spreeAccountView(p *Page) bool {
	at := indexStr(p.Raw, markupNeedles[mkSolidus].s)
	if at < 0 {
		return false
	}
	sum, _, ok := spreeSummary(p, at)
	return ok && !spreeJustPlaced(p.Raw, sum)
}

// spreeMarkup reports whether the order summary whose start tag is t is
// printed by Spree's or Solidus's own templates: legacy Spree's
// data-hook attribute (its Deface hooks, on the summary and around it),
// or the order-page__ classes of Solidus's starter frontend (the
// fieldset's order-page__info, the page's order-page__title).
func spreeMarkup(p *Page, t mtoken) bool {
	if _, ok := attr(t.attrs, "data-hook"); ok || hasClass(t.attrs, "order-page__info") {
		return true
	}
	return classOnElement(p, "order-page__title")
}

// spreeNumber reads "Order R123456789" / "Order #R123": the last word,
// which must hold a digit.
func spreeNumber(s string) string {
	id := orderNumber(s)
	for _, r := range id {
		if r >= '0' && r <= '9' {
			return id
		}
	}
	return ""
}

// spreeJustPlaced reports whether a Spree or Solidus order page says its
// order was just placed (see readSpree): Solidus's completion paragraph
// anywhere on the page, or a "thank you for your" line in the summary.
func spreeJustPlaced(raw, summary []byte) bool {
	if _, _, ok := findElem(raw, byClass("order-page__completed")); ok {
		return true
	}
	return strings.Contains(strings.ToLower(textOf(summary, nil)), "thank you for your")
}
