package delivery

import (
	"maps"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/storeedge/caddy-katalys/attribution"
)

func ptr(v float64) *float64 { return &v }

// anOrder is a real-looking captured order: non-USD, two discounts (one
// without a code), three line items (one empty), everything the S2S
// payload can say.
func anOrder() OrderFacts {
	return OrderFacts{
		ID:       "100045",
		Total:    ptr(118.4),
		Subtotal: ptr(129.9),
		Currency: "eur",
		Email:    "Jane.Doe@example.com",
		Discounts: []OrderDiscount{
			{Code: "KATALYS_INFLUENCER", Amount: ptr(10)},
			{Code: "", Amount: nil}, // nothing to say: skipped
			{Code: "", Amount: ptr(1.5)},
		},
		Items: []OrderItem{
			{SKU: "TSHIRT-M-BLU", Name: "T-shirt, blue, M", Quantity: 2, Price: ptr(24.95)},
			{},
			{SKU: "", Name: "Gift wrap", Quantity: 1, Price: ptr(0)},
			{SKU: "MUG-01", Name: "Mug", Quantity: 1, Price: ptr(80)},
		},
		Time:      time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC),
		ClientIP:  "203.0.113.7",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/136.0",
		Status:    "paid",
	}
}

func approved() *attribution.Result {
	return &attribution.Result{
		OrderID: "100045", Status: attribution.Approved, Model: attribution.LastTouch,
		PublisherID: "1605", OfferID: "72", TransactionID: "102a9f3c4d5e6f708192a3b4c5d6e7",
	}
}

func TestOrderPayload(t *testing.T) {
	full := map[string]any{
		"site_id":     "KA-4F7Q2Z",
		"action":      "convert",
		"action_type": "online-sale", "type": "offline_conv",
		"order_id":          "100045",
		"sale_amount":       118.4,
		"subtotal_amount":   129.9,
		"currency":          "EUR",
		"email_address":     "Jane.Doe@example.com",
		"discount_1_code":   "KATALYS_INFLUENCER",
		"discount_1_amount": 10.0,
		"discount_2_amount": 1.5,
		"line_item_1_sku":   "TSHIRT-M-BLU",
		"line_item_1_title": "T-shirt, blue, M",
		"line_item_1_price": 24.95,
		"line_item_1_qty":   2,
		"line_item_2_title": "Gift wrap",
		"line_item_2_price": 0.0,
		"line_item_2_qty":   1,
		"line_item_3_sku":   "MUG-01",
		"line_item_3_title": "Mug",
		"line_item_3_price": 80.0,
		"line_item_3_qty":   1,
		"order_status":      "paid",
		"order_time":        int64(1741944413),
		"client_ip":         "203.0.113.7",
		"user_agent":        "Mozilla/5.0 (X11; Linux x86_64) Firefox/136.0",
		"transaction_id":    "102a9f3c4d5e6f708192a3b4c5d6e7",
		"publisher_id":      "1605",
		"aff_id":            "1605", // katalys.md §3.1: publisher_id is sent back as aff_id
		"offer_id":          "72",
	}
	without := func(m map[string]any, keys ...string) map[string]any {
		m = maps.Clone(m)
		for _, k := range keys {
			delete(m, k)
		}
		return m
	}
	with := func(m map[string]any, kv ...any) map[string]any {
		m = maps.Clone(m)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	pending := approved()
	pending.Status = attribution.Pending
	rejected := approved()
	rejected.Status = attribution.Rejected
	organic := &attribution.Result{OrderID: "100045", Status: attribution.Organic}
	affOnly := approved()
	affOnly.TransactionID = ""
	partner := approved() // a partner link's landing: offer_id and aff_id, no click id
	partner.TransactionID, partner.PublisherID, partner.AffID = "", "", "66"

	tests := []struct {
		name   string
		order  func() OrderFacts
		res    *attribution.Result
		kind   string
		status string
		want   map[string]any
	}{
		{"attributed order, every field", anOrder, approved(), KindOrder, "", full},
		{"pending attribution still carries the click", anOrder, pending, KindOrder, "", full},
		{"publisher and offer without a click id", anOrder, affOnly, KindOrder, "", without(full, "transaction_id")},
		{"partner link: its own aff_id with the offer", anOrder, partner, KindOrder, "",
			with(without(full, "transaction_id", "publisher_id"), "aff_id", "66")},
		{"organic order: no click keys", anOrder, organic, KindOrder, "", without(full, "transaction_id", "publisher_id", "aff_id", "offer_id")},
		{"not attributed yet: no click keys", anOrder, nil, KindOrder, "", without(full, "transaction_id", "publisher_id", "aff_id", "offer_id")},
		{"status change: offline_conv, the new status", anOrder, rejected, KindStatus, "refunded",
			with(without(full, "transaction_id", "publisher_id", "aff_id", "offer_id"), "action", "offline_conv", "order_status", "refunded")},
		{"status change keeps the click while credited", anOrder, approved(), KindStatus, "fulfilled",
			with(full, "action", "offline_conv", "order_status", "fulfilled")},
		{"bare order: USD, absent values left out", func() OrderFacts {
			return OrderFacts{ID: "77", Email: "  ", Total: ptr(math.NaN()), Subtotal: nil,
				Discounts: []OrderDiscount{{}}, Items: []OrderItem{{Quantity: 0}}}
		}, nil, KindOrder, "", map[string]any{
			"site_id": "KA-4F7Q2Z", "action": "convert", "action_type": "online-sale", "type": "offline_conv",
			"order_id": "77", "currency": "USD",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := OrderPayload("KA-4F7Q2Z", tt.order(), tt.res, tt.kind, tt.status)
			for _, k := range slices.Sorted(maps.Keys(tt.want)) {
				if g, ok := got[k]; !ok {
					t.Errorf("%s missing, want %#v", k, tt.want[k])
				} else if g != tt.want[k] {
					t.Errorf("%s = %#v, want %#v", k, g, tt.want[k])
				}
			}
			for _, k := range slices.Sorted(maps.Keys(got)) {
				if _, ok := tt.want[k]; !ok {
					t.Errorf("unexpected %s = %#v", k, got[k])
				}
			}
			// The schema takes only non-empty strings and numbers.
			for k, v := range got {
				switch v := v.(type) {
				case string:
					if v == "" {
						t.Errorf("%s is an empty string", k)
					}
				case float64:
					if math.IsNaN(v) || math.IsInf(v, 0) {
						t.Errorf("%s = %v, not a JSON number", k, v)
					}
				case int, int64:
				default:
					t.Errorf("%s = %#v (%T), want a string or a number", k, v, v)
				}
			}
		})
	}
}
