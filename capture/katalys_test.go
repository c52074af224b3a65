package capture

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/storeedge/caddy-katalys/capture/jslit"
)

// katalysFixtureDir holds the shared thank-you fixtures (CI clones the
// repository with shared beside it).
const katalysFixtureDir = "../../shared/fixtures/thankyou"

func katalysF(v float64) *float64 { return &v }

// sourceResult is what a source yields on a page, as the golden files
// under testdata/<source>/ spell it: null, or the partial order and
// whether the page carries its own Katalys conversion.
type sourceResult struct {
	Convert bool   `json:"convert"`
	Order   *Order `json:"order"`
}

func sourceJSON(t *testing.T, o *Order) any {
	t.Helper()
	var r any
	if o != nil {
		r = sourceResult{Convert: o.Convert, Order: o}
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// testSourceGolden runs find on every page of testdata/<dir> and compares
// the result with the golden .json beside it.
func testSourceGolden(t *testing.T, dir string, find func(*Page) *Order) {
	pages, _ := filepath.Glob(filepath.Join("testdata", dir, "*.html"))
	if len(pages) == 0 {
		t.Fatalf("no pages in testdata/%s", dir)
	}
	for _, page := range pages {
		name := strings.TrimSuffix(filepath.Base(page), ".html")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(page)
			if err != nil {
				t.Fatal(err)
			}
			golden, err := os.ReadFile(strings.TrimSuffix(page, ".html") + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var want any
			if err := json.Unmarshal(golden, &want); err != nil {
				t.Fatalf("golden: %v", err)
			}
			got := find(NewPage(raw))
			if g := sourceJSON(t, got); !reflect.DeepEqual(g, want) {
				gb, _ := json.MarshalIndent(g, "", "  ")
				t.Errorf("got\n%s\nwant\n%s", gb, golden)
			}
		})
	}
}

func TestKatalysTestdata(t *testing.T) { testSourceGolden(t, "katalys", fromKatalys) }

// testSourceFixtures checks what find alone yields on each shared
// fixture: want for the pages listed, nil on every other one.
func testSourceFixtures(t *testing.T, find func(*Page) *Order, want map[string]*Order) {
	pages, _ := filepath.Glob(filepath.Join(katalysFixtureDir, "*.html"))
	if len(pages) == 0 {
		t.Fatal("shared fixtures not available")
	}
	for _, page := range pages {
		name := filepath.Base(page)
		t.Run(strings.TrimSuffix(name, ".html"), func(t *testing.T) {
			raw, err := os.ReadFile(page)
			if err != nil {
				t.Fatal(err)
			}
			got := find(NewPage(raw))
			if g, w := sourceJSON(t, got), sourceJSON(t, want[name]); !reflect.DeepEqual(g, w) {
				gb, _ := json.MarshalIndent(g, "", "  ")
				wb, _ := json.MarshalIndent(w, "", "  ")
				t.Errorf("got\n%s\nwant\n%s", gb, wb)
			}
		})
	}
}

func TestKatalysFixtures(t *testing.T) {
	testSourceFixtures(t, fromKatalys, map[string]*Order{
		"10_katalys_push_convert_usd.html": {
			ID: "73158", Total: katalysF(176.40), Subtotal: katalysF(220.50),
			// No currency key: Extract applies Katalys's USD default.
			Discounts: []Discount{{"DESKDROP20", katalysF(44.10)}, {"FREESHIPUS", katalysF(12.00)}},
			Items: []Item{
				{"DBG-RSR-WAL", "Maker's Walnut Monitor Riser", 1, katalysF(134)},
				{"DBG-MAT-XL", "Felt Desk Mat XL", 1, katalysF(58)},
				{"DBG-CLIP-6", "Cable Management Clips (6-pack)", 3, katalysF(9.5)},
			},
			Email: "theo.marchetti@example.com", Source: "katalys", Convert: true,
		},
		"11_katalys_preseeded_woo_blocks_cad.html": {
			// order_value 189.0 is neither the total nor the subtotal.
			ID: "30718", Email: "maeve.oconnell@example.net", Time: "@1748449842",
			Status: "processing", Source: "katalys", Convert: true,
		},
	})
}

func katalysPage(scripts ...string) *Page {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html><html><body>")
	for _, s := range scripts {
		b.WriteString("<script>" + s + "</script>\n")
	}
	b.WriteString("</body></html>")
	return NewPage([]byte(b.String()))
}

func TestKatalysPayloads(t *testing.T) {
	tests := []struct {
		name    string
		scripts []string
		want    *Order
	}{
		{"order_value is not the total",
			[]string{`_revoffers_track.order_id = "9"; _revoffers_track.action = "thank_you"; _revoffers_track.order_value = 40;`},
			&Order{ID: "9", Source: "katalys", Convert: true}},
		{"pre-seed without action reads but does not convert",
			[]string{`window._revoffers_track = window._revoffers_track || {}; _revoffers_track["order_id"] = "000000187";`},
			&Order{ID: "000000187", Source: "katalys"}},
		{"number id kept as written",
			[]string{`_revoffers_track.push({action: "convert", order_id: 0042, sale_amount: 10})`},
			&Order{ID: "0042", Total: katalysF(10), Source: "katalys", Convert: true}},
		{"zero- and one-based lines in index order, _var apart",
			[]string{`_revoffers_track.push({action:"convert", order_id:"A1",
				line_item_10_sku:"K", line_item_10_title:"Ten", line_item_10_qty:1, line_item_10_price:"1.00",
				line_item_2_sku:"B", line_item_2_title:"Two", line_item_2_var:"Blue / L", line_item_2_qty:"3", line_item_2_price:2.5,
				line_item_0_title:"Zero"})`},
			&Order{ID: "A1", Items: []Item{{"", "Zero", 1, nil}, {"B", "Two", 3, katalysF(2.5)}, {"K", "Ten", 1, katalysF(1)}},
				Source: "katalys", Convert: true}},
		{"discount amount without code",
			[]string{`_revoffers_track.push({action:"convert", order_id:"A2", discount_1_amount: "5.00", discount_2_code: ""})`},
			&Order{ID: "A2", Discounts: []Discount{{"", katalysF(5)}}, Source: "katalys", Convert: true}},
		{"legacy currency signal",
			[]string{`_revoffers_track = {action: "convert", order_id: 77, sale_amount_with_currency: "1,204.10 CAD"};`},
			&Order{ID: "77", Total: katalysF(1204.10), Currency: "CAD", Source: "katalys", Convert: true}},
		{"three decimals are decimals, not thousands (KWD)",
			[]string{`_revoffers_track.push({action:"convert", order_id:"1001", sale_amount:"45.500", currency:"KWD",
				line_item_1_sku:"A", line_item_1_price:"22.750", line_item_1_qty:2})`},
			&Order{ID: "1001", Total: katalysF(45.5), Currency: "KWD", Items: []Item{{"A", "", 2, katalysF(22.75)}},
				Source: "katalys", Convert: true}},
		{"legacy plugin: the currency printed with the amount (KWD)",
			[]string{`_revoffers_track = {action: "convert", order_id: 78, sale_amount: "45.500", sale_amount_with_currency: "45.500 KWD"};`},
			&Order{ID: "78", Total: katalysF(45.5), Currency: "KWD", Source: "katalys", Convert: true}},
		{"placeholders are not values",
			[]string{`_revoffers_track.push({action:"convert", order_id:"{{YOUR_ORDER_ID}}", sale_amount:"{{YOUR_SALE_AMOUNT}}", email_address:"{{CUSTOMER_EMAIL}}"})`},
			&Order{Source: "katalys", Convert: true}},
		{"hashed email skipped",
			[]string{`_revoffers_track.push({action:"convert", order_id:"H", email_address:"5459e704b2d404da8e2dca45dee1e006"})`},
			&Order{ID: "H", Source: "katalys", Convert: true}},
		{"object reset by a later assignment",
			[]string{`_revoffers_track.order_id = "OLD"; _revoffers_track.action = "thank_you";`, `_revoffers_track = [];`},
			nil},
		{"assign to another object ignored",
			[]string{`var cfg = {}; Object.assign(cfg, {order_id: "X", action: "convert"}); cfg._revoffers_track = 1;`},
			nil},
		{"several objects in one push",
			[]string{`_revoffers_track.push({action: "pageview"}, {action: "convert", order_id: "P2", sale_amount: "3"})`},
			&Order{ID: "P2", Total: katalysF(3), Source: "katalys", Convert: true}},
		{"non-JS script ignored",
			nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fromKatalys(katalysPage(tt.scripts...))
			if g, w := sourceJSON(t, got), sourceJSON(t, tt.want); !reflect.DeepEqual(g, w) {
				t.Errorf("got %+v\nwant %+v", g, w)
			}
		})
	}
	// A JSON data block that mentions the object is not script.
	p := NewPage([]byte(`<script type="application/json">{"_revoffers_track": {"order_id": "J"}}</script>`))
	if o := fromKatalys(p); o != nil {
		t.Errorf("data blocks: %+v", o)
	}
	// A payload a consent manager parks until consent is the page's own
	// conversion all the same; with an id alone it is an order.
	p = NewPage([]byte(`<script type="text/plain" data-cookieconsent="marketing">` +
		`_revoffers_track.push({action:"convert", order_id:"T"})</script>`))
	if o := fromKatalys(p); o == nil || o.ID != "T" || !o.Convert {
		t.Errorf("consent-deferred push: %+v, want order T, Convert", o)
	}
	if o, ok := p.Order(); !ok || o.ID != "T" || o.Total != nil || !o.Convert {
		t.Errorf("consent-deferred push, id only: %+v, %v; want order T, no total", o, ok)
	}
}

// TestIDOnlyOrders: an order id alone makes an order only when the page's
// own Katalys conversion names it, not when an analytics tag does.
func TestIDOnlyOrders(t *testing.T) {
	for _, tt := range []struct {
		name, page string
		ok         bool
	}{
		{"katalys convert", `<script>_revoffers_track.push({action:"convert",order_id:"73158"})</script>`, true},
		{"katalys thank_you pre-seed", `<script>window._revoffers_track=window._revoffers_track||{};_revoffers_track.action="thank_you";_revoffers_track.order_id="000000187";</script>`, true},
		{"katalys push with no action", `<script>_revoffers_track.push({order_id:"73158"})</script>`, false},
		{"ga4 purchase", `<script>gtag("event","purchase",{transaction_id:"73158"})</script>`, false},
	} {
		o, ok := Extract([]byte(tt.page))
		if ok != tt.ok || (ok && o.ID == "") {
			t.Errorf("%s: %+v, %v; want ok %v", tt.name, o, ok, tt.ok)
		}
	}
}

// benchmarkSource runs find over every shared fixture page.
func benchmarkSource(b *testing.B, find func(*Page) *Order) {
	paths, _ := filepath.Glob(filepath.Join(katalysFixtureDir, "*.html"))
	if len(paths) == 0 {
		b.Skip("shared fixtures not available")
	}
	var pages []*Page
	size := 0
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		pages = append(pages, NewPage(raw))
		size += len(raw)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range pages {
			find(p)
		}
	}
}

func BenchmarkKatalys(b *testing.B) { benchmarkSource(b, fromKatalys) }

// TestFailedPaymentPage: WooCommerce prints its thank-you page, with the
// purchase events of the plugins hooked there, for a failed payment too;
// the notice on the page vetoes every source. The same class in a
// stylesheet is no notice.
func TestFailedPaymentPage(t *testing.T) {
	purchase := `<script>dataLayer.push({event:"purchase",ecommerce:{transaction_id:"48816",value:86.37,currency:"GBP"}});</script>`
	failed := `<div class="woocommerce-order"><p class="woocommerce-notice woocommerce-notice--error woocommerce-thankyou-order-failed">Unfortunately your order cannot be processed as the originating bank/merchant has declined your transaction.</p></div>`
	if o, ok := Extract([]byte(`<html><body>` + failed + purchase + `</body></html>`)); ok {
		t.Errorf("failed payment page: order %+v", o)
	}
	// A block theme's Status block prints "Order failed" with no class of
	// its own; its "Try again" actions, printed for a failed order only,
	// carry one. The Summary block still prints the number and total.
	summary := `<ul class="wc-block-order-confirmation-summary-list">` +
		`<li class="wc-block-order-confirmation-summary-list-item"><span class="wc-block-order-confirmation-summary-list-item__key">Order number:</span> <span class="wc-block-order-confirmation-summary-list-item__value">48816</span></li>` +
		`<li class="wc-block-order-confirmation-summary-list-item"><span class="wc-block-order-confirmation-summary-list-item__key">Total:</span> <span class="wc-block-order-confirmation-summary-list-item__value"><span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-currencySymbol">&pound;</span>86.37</bdi></span></span></li></ul>`
	status := `<div data-block-name="woocommerce/order-confirmation-status" class="wc-block-order-confirmation-status"><h1>Order failed</h1>` +
		`<p>Your order cannot be processed as the originating bank/merchant has declined your transaction. Please attempt your purchase again.</p>`
	for name, page := range map[string]string{
		"blocks, p actions":          `<body class="woocommerce-order-received">` + status + `<p class="wc-block-order-confirmation-status__actions"><a href="/checkout/order-pay/48816/?pay_for_order=true" class="button">Try again</a></p></div>` + summary + `</body>`,
		"blocks, span actions":       `<body class="woocommerce-order-received">` + status + `<br><span class='wc-block-order-confirmation-status__actions'><a href="/checkout/order-pay/48816/?pay_for_order=true" class="button">Try again</a></span></div>` + summary + `</body>`,
		"blocks, actions and a push": `<body>` + status + `<p class="wc-block-order-confirmation-status__actions"><a href="/" class="button">Try again</a></p></div>` + summary + purchase + `</body>`,
	} {
		if o, ok := Extract([]byte(page)); ok {
			t.Errorf("failed payment page (%s): order %+v", name, o)
		}
	}
	if o, ok := Extract([]byte(`<body class="woocommerce-order-received">` + summary + `</body>`)); !ok || o.ID != "48816" {
		t.Errorf("block theme page of a paid order: %+v, %v; want order 48816", o, ok)
	}
	for name, page := range map[string]string{
		"stylesheet": `<html><head><style>.woocommerce-thankyou-order-failed{color:#b81c23}</style></head><body>` + purchase + `</body></html>`,
		"script": `<html><body>` + purchase + `<script>for(var i=0;i<n.length;i++){}` +
			`if(document.querySelector('.woocommerce-thankyou-order-failed')){retry()}</script></body></html>`,
		"blocks stylesheet": `<html><head><style>.wc-block-order-confirmation-status__actions .button{margin:0}</style></head><body>` + summary + `</body></html>`,
		"blocks script": `<html><body>` + summary + `<script>for(var i=0;i<n.length;i++){}` +
			`if(document.querySelector('.wc-block-order-confirmation-status__actions')){retry()}</script></body></html>`,
		"blocks other attribute": `<html><body><div data-wc-context='{"hide":".wc-block-order-confirmation-status__actions"}'></div>` + summary + `</body></html>`,
	} {
		if o, ok := Extract([]byte(page)); !ok || o.ID != "48816" {
			t.Errorf("page whose %s names the notice: %+v, %v; want order 48816", name, o, ok)
		}
	}
}

// TestReloadKeepsTheOrderID: analytics and pixel tags are often printed on
// the first view of a thank-you page only, with an id of their own (a
// numeric id, a post id, a prefixed or #-numbered name). The order's id is
// the one the platform's markup prints on every view, so a reload (or a
// view without the tag) gives the same order, not a second one.
func TestReloadKeepsTheOrderID(t *testing.T) {
	const woo08 = "08_woocommerce_classic_markup_only_gbp.html" // the shared fixture: markup only
	for _, tt := range []struct{ first, later, want string }{
		{"ps_first.html", "ps_reload.html", "XKBKNABJK"},                              // ps_googleanalytics's gtag id 128
		{"shopify_nocheckout_first.html", "shopify_nocheckout_reload.html", "SL1289"}, // GA4's "#SL1289"
		{"woo_fb4wc_first.html", woo08, "GC-10482"},                                   // Facebook for WooCommerce's post id
		{"woo_ga4_prefix.html", woo08, "GC-10482"},                                    // GTM4WP's "shop1_" prefix
	} {
		for _, name := range []string{tt.first, tt.later} {
			file := filepath.Join("testdata", "reload", name)
			if name == woo08 {
				file = filepath.Join(katalysFixtureDir, woo08)
			}
			page, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if o, ok := Extract(page); !ok || o.ID != tt.want {
				t.Errorf("%s: order %q (%v), want %q", name, o.ID, ok, tt.want)
			}
		}
	}
}

// TestParseFloatValues: storefront templates that print the total inside
// parseFloat('…') (a Lightspeed snippet, Shopify Liquid ones) give it.
func TestParseFloatValues(t *testing.T) {
	page := `<script>gtag('event','purchase',{transaction_id:'LS-88120',value:parseFloat('249.90'),currency:'EUR',` +
		`items:[{item_id:'B-1',item_name:'Bike bell',price:Number("24.99"),quantity:1}]});</script>`
	o, ok := Extract([]byte(page))
	if !ok || o.ID != "LS-88120" || o.Total == nil || *o.Total != 249.90 || len(o.Items) != 1 || o.Items[0].Price == nil || *o.Items[0].Price != 24.99 {
		t.Fatalf("order %+v, %v; want LS-88120, 249.90, one item at 24.99", o, ok)
	}
}

// TestWholeUnitCurrencyStrings: in a currency printed without decimals a
// string's "250.000" is 250,000 (IDR, CLP, VND storefronts group with a
// dot); elsewhere it stays the decimal it reads as.
func TestWholeUnitCurrencyStrings(t *testing.T) {
	// A refund's negative amount is grouped the same way.
	if v := jsMoney(jslit.String("-250.000"), "IDR"); v == nil || *v != -250000 {
		t.Errorf("jsMoney('-250.000', IDR) = %v, want -250000", v)
	}
	// "1500.000" is no thousands grouping: a plain decimal still.
	if o, ok := Extract([]byte(`<script>dataLayer.push({event:'purchase',ecommerce:{transaction_id:'1',value:'1500.000',currency:'JPY'}});</script>`)); !ok || o.Total == nil || *o.Total != 1500 {
		t.Errorf("JPY '1500.000': %+v, %v; want 1500", o, ok)
	}
	for _, tt := range []struct {
		currency     string
		total, price float64
	}{
		{"IDR", 250000, 125000},
		{"CLP", 250000, 125000},
		{"USD", 250, 125},
		{"KWD", 250, 125},
	} {
		page := `<script>dataLayer.push({event:'purchase',ecommerce:{transaction_id:'1042',value:'250.000',currency:'` + tt.currency +
			`',items:[{item_id:'A',item_name:'Batik',price:'125.000',quantity:2}]}});</script>`
		o, ok := Extract([]byte(page))
		if !ok || o.Total == nil || *o.Total != tt.total || len(o.Items) != 1 || o.Items[0].Price == nil || *o.Items[0].Price != tt.price {
			t.Errorf("%s: %+v, %v; want total %v, price %v", tt.currency, o, ok, tt.total, tt.price)
		}
	}
}

// TestThreeDecimalMarkup: in the markup of a three-decimal currency's
// store, "45.500 د.ك" is 45.5 KWD, and so is Shopware's data-value.
func TestThreeDecimalMarkup(t *testing.T) {
	for _, tt := range []struct {
		name, page, id, currency string
		total                    float64
	}{
		{"woocommerce", `<ul class="woocommerce-order-overview woocommerce-thankyou-order-details order_details">` +
			`<li class="woocommerce-order-overview__order order">Order number: <strong>5521</strong></li>` +
			`<li class="woocommerce-order-overview__total total">Total: <strong><span class="woocommerce-Price-amount amount"><bdi>45.500&nbsp;` +
			`<span class="woocommerce-Price-currencySymbol">&#x62f;.&#x643;</span></bdi></span></strong></li></ul>`, "5521", "KWD", 45.5},
		{"shopware", `<p class="finish-ordernumber" data-order-number="10045">Your order number: #10045</p>` +
			`<div class="d-none hidden-line-items-information" data-currency="KWD" data-value="45.125"></div>`, "10045", "KWD", 45.125},
		{"code after the amount", `<ul class="woocommerce-order-overview woocommerce-thankyou-order-details order_details">` +
			`<li class="woocommerce-order-overview__order order">Order number: <strong>5522</strong></li>` +
			`<li class="woocommerce-order-overview__total total">Total: <strong>12.250 BHD</strong></li></ul>`, "5522", "BHD", 12.25},
		{"two-decimal currency unchanged", `<ul class="woocommerce-order-overview woocommerce-thankyou-order-details order_details">` +
			`<li class="woocommerce-order-overview__order order">Order number: <strong>5523</strong></li>` +
			`<li class="woocommerce-order-overview__total total">Total: <strong>1.250 €</strong></li></ul>`, "5523", "EUR", 1250},
	} {
		o, ok := Extract([]byte(tt.page))
		if !ok || o.ID != tt.id || o.Currency != tt.currency || o.Total == nil || *o.Total != tt.total {
			t.Errorf("%s: %+v, %v; want %s, %v %s", tt.name, o, ok, tt.id, tt.total, tt.currency)
		}
	}
}

// TestDiscountAmountFromTheMarkup: a GA4 coupon code and the page's
// "Discount: -$7.90" row are one discount, with its code and its amount;
// rows that name another code, or more rows than codes, fill nothing.
func TestDiscountAmountFromTheMarkup(t *testing.T) {
	for _, tt := range []struct {
		name string
		dst  []Discount
		src  []Discount
		want []Discount
	}{
		{"code, then amount", []Discount{{Code: "WELCOME10"}}, []Discount{{Amount: Money(7.9)}}, []Discount{{Code: "WELCOME10", Amount: Money(7.9)}}},
		{"same code", []Discount{{Code: "A"}}, []Discount{{Code: "A", Amount: Money(2)}}, []Discount{{Code: "A", Amount: Money(2)}}},
		{"other code", []Discount{{Code: "A"}}, []Discount{{Code: "B", Amount: Money(2)}}, []Discount{{Code: "A"}}},
		{"more rows", []Discount{{Code: "A"}}, []Discount{{Amount: Money(1)}, {Amount: Money(2)}}, []Discount{{Code: "A"}}},
		{"amount kept", []Discount{{Code: "A", Amount: Money(3)}}, []Discount{{Amount: Money(2)}}, []Discount{{Code: "A", Amount: Money(3)}}},
	} {
		o := &Order{ID: "1", Discounts: tt.dst}
		o.merge(&Order{Discounts: tt.src})
		if !reflect.DeepEqual(o.Discounts, tt.want) {
			t.Errorf("%s: %+v, want %+v", tt.name, o.Discounts, tt.want)
		}
	}
}

// TestWooBlocksInOtherLanguages: the block theme's summary list keys are
// translated ("合計:", "Suma:"); its one amount is the total all the same.
func TestWooBlocksInOtherLanguages(t *testing.T) {
	for name, total := range map[string]float64{"ja.html": 20577, "pl.html": 205.77} {
		page, err := os.ReadFile(filepath.Join("testdata", "woo_blocks_i18n", name))
		if err != nil {
			t.Fatal(err)
		}
		if o, ok := Extract(page); !ok || o.ID != "30718" || o.Total == nil || *o.Total != total {
			t.Errorf("%s: %+v, %v; want order 30718, total %v", name, o, ok, total)
		}
	}
}
