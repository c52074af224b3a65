package capture

import (
	"reflect"
	"testing"
)

func TestShopifyTestdata(t *testing.T) { testSourceGolden(t, "shopify", fromShopify) }

func TestShopifyFixtures(t *testing.T) {
	testSourceFixtures(t, fromShopify, map[string]*Order{
		"07_shopify_legacy_checkout_aud.html": {
			// order_id, not the order name #SL1289 the markup shows;
			// subtotal_price is after the discount (the DOM's 154.95 is
			// before it).
			ID: "6039417722651", Total: katalysF(149.90), Subtotal: katalysF(139.95), Currency: "AUD",
			Discounts: []Discount{{"OFFSHORE15", katalysF(15)}},
			Items: []Item{
				{"SLS-WAX-CW", "Cold Water Surf Wax", 4, katalysF(4.50)},
				{"SLS-FIN-9P", `Single Fin 9" Performance`, 1, katalysF(92)},
				{"SLS-LSH-7C", "Leash 7ft Comp", 1, katalysF(44.95)},
			},
			Email: "kirra.lindgren@example.net", Source: "shopify",
		},
	})
}

func TestShopifyObjects(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   *Order
	}{
		{"presentment money wins over the shop's",
			`Shopify.checkout = {"order_id":1,"currency":"USD","presentment_currency":"EUR","total_price":"10.00",` +
				`"total_price_set":{"shop_money":{"amount":"11.00","currency_code":"USD"},"presentment_money":{"amount":"10.00","currency_code":"EUR"}}};`,
			&Order{ID: "1", Total: katalysF(10), Currency: "EUR", Source: "shopify"}},
		{"last assignment wins",
			`Shopify.checkout = {"order_id":1}; Shopify.checkout = {"order_id":2,"total_price":"5.00"};`,
			&Order{ID: "2", Total: katalysF(5), Source: "shopify"}},
		{"property of checkout is not the object",
			`Shopify.checkout.order_id = 5; Shopify.Checkout = {"order_id": 6};`,
			nil},
		{"store address is not filtered here but a blank is",
			`Shopify.checkout = {"order_id":"3","email":"","line_items":[{"title":"Gift Card","price":"25.00","quantity":"1"}]};`,
			&Order{ID: "3", Items: []Item{{"", "Gift Card", 1, katalysF(25)}}, Source: "shopify"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fromShopify(katalysPage(tt.script))
			if g, w := sourceJSON(t, got), sourceJSON(t, tt.want); !reflect.DeepEqual(g, w) {
				t.Errorf("got %+v\nwant %+v", g, w)
			}
		})
	}
}

func BenchmarkShopify(b *testing.B) { benchmarkSource(b, fromShopify) }
