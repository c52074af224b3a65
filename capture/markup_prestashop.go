package capture

import "strings"

// PrestaShop 1.7 / 8 classic theme order confirmation (orders.md §11):
// section#content-hook_order_confirmation ("An email has been sent to your
// mail address …"), the order-confirmation table (.order-line rows with
// unit price, quantity, line total; subtotal rows tr.subtotal_type_*,
// tr.total-value) and li#order-reference-value. The id read here is the
// order reference the customer sees (9 letters); the numeric id is only in
// the URL and in ps_googleanalytics' transaction_id.

func readPrestaShop(p *Page, at int) *Order {
	st := markerTag(p, at, markupNeedles[mkPrestaShop].s)
	if st < 0 {
		return nil
	}
	w := window(p.Raw, st+1)
	o := &Order{}
	if ref, _, ok := seekElem(w, "order-reference-value", byID("order-reference-value")); ok {
		s := textOf(ref, nil)
		if i := strings.LastIndexAny(s, ":："); i >= 0 {
			s = s[i+1:]
		}
		o.ID = orderNumber(s)
	}
	if o.ID == "" {
		return nil
	}
	if hook, _, ok := seekElem(w, "content-hook_order_confirmation", byID("content-hook_order_confirmation")); ok {
		// Only the paragraphs: payment modules' hooks may print the
		// store's own address.
		eachElem(hook, byTag("p"), func(_ mtoken, in []byte) bool {
			o.Email = emailIn(textOf(in, nil))
			return o.Email == ""
		})
	}
	if tbl, _, ok := seekElem(w, "order-confirmation-table", byClass("order-confirmation-table")); ok {
		eachElem(tbl, byClass("order-line"), func(_ mtoken, in []byte) bool {
			var it Item
			if d, _, ok := findElem(in, byClass("details")); ok {
				if s, _, ok := findElem(d, byTag("span")); ok {
					it.Name = prestaName(textOf(s, nil))
				}
			}
			if q, _, ok := findElem(in, byClass("qty")); ok {
				var cells [][]byte
				eachElem(q, func(t mtoken) bool { return t.is("div") && !hasClass(t.attrs, "row") }, func(_ mtoken, c []byte) bool {
					cells = append(cells, c)
					return true
				})
				if len(cells) >= 3 {
					it.Quantity = quantityOf(textOf(cells[1], nil))
					if v, _, ok := moneyOf(cells[0]); ok {
						it.Price = Money(v)
					} else if v, _, ok := moneyOf(cells[2]); ok {
						it.Price = unitPrice(v, it.Quantity)
					}
				}
			}
			if it.Name != "" && it.Quantity > 0 {
				o.Items = append(o.Items, it)
			}
			return true
		})
		eachElem(tbl, byTag("tr"), func(t mtoken, in []byte) bool {
			var cells [][]byte
			eachElem(in, byTag("td"), func(_ mtoken, c []byte) bool {
				cells = append(cells, c)
				return true
			})
			if len(cells) < 2 {
				return true
			}
			v := cells[len(cells)-1]
			switch {
			case hasClass(t.attrs, "subtotal_type_products"):
				addTotal(o, "subtotal", v)
			case hasClass(t.attrs, "subtotal_type_discount"):
				addTotal(o, "discount", v)
			case hasClass(t.attrs, "total-value"):
				o.Total = nil // the tax-included total comes last
				addTotal(o, "total", v)
			}
			return true
		})
	}
	return o
}

// prestaName drops the attribute text PrestaShop appends to a product name
// ("T-shirt - Size : S- Color : White" → "T-shirt").
func prestaName(s string) string {
	if i := strings.Index(s, " - "); i > 0 && strings.Contains(s[i:], " : ") {
		return strings.TrimSpace(s[:i])
	}
	return s
}
