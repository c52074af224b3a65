package capture

import "strconv"

// ConvertCall returns the fields of the Katalys convert call for o, as the
// Reporting Schema names them: action "convert", action_type
// "online-sale", order_id, sale_amount, subtotal_amount, currency,
// email_address, discount_N_code/amount and line_item_N_sku/title/price/qty,
// numbered from 1 as the Katalys knowledge base does. Absent values are
// left out: the schema takes only non-empty strings and numbers.
func (o *Order) ConvertCall() map[string]any {
	m := map[string]any{
		"action":      "convert",
		"action_type": "online-sale",
		"order_id":    o.ID,
	}
	setMoney := func(key string, v *float64) {
		if v != nil {
			m[key] = *v
		}
	}
	setText := func(key, v string) {
		if v != "" {
			m[key] = v
		}
	}
	setMoney("sale_amount", o.Total)
	setMoney("subtotal_amount", o.Subtotal)
	setText("currency", o.Currency)
	setText("email_address", o.Email)
	for i, d := range o.Discounts {
		n := strconv.Itoa(i + 1)
		setText("discount_"+n+"_code", d.Code)
		setMoney("discount_"+n+"_amount", d.Amount)
	}
	for i, it := range o.Items {
		n := strconv.Itoa(i + 1)
		setText("line_item_"+n+"_sku", it.SKU)
		setText("line_item_"+n+"_title", it.Name)
		setMoney("line_item_"+n+"_price", it.Price)
		if it.Quantity > 0 {
			m["line_item_"+n+"_qty"] = it.Quantity
		}
	}
	return m
}
