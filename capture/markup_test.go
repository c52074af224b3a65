package capture

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const markupFixtures = "../../shared/fixtures/thankyou"

// mkItem and mkWant are the expected partial order of the markup source in
// a compact form: money as float64 (-1 for nil).
type mkItem struct {
	sku, name string
	qty       int
	price     float64
}

type mkWant struct {
	source, id      string
	total, subtotal float64
	currency, email string
	codes           []string
	discounts       int
	items           []mkItem
}

func mkMoney(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}

func checkMarkup(t *testing.T, got *Order, want *mkWant) {
	t.Helper()
	if want == nil {
		if got != nil {
			b, _ := json.Marshal(got)
			t.Fatalf("want nil, got %s", b)
		}
		return
	}
	if got == nil {
		t.Fatalf("got nil, want %+v", *want)
	}
	if got.Source != want.source || got.ID != want.id || got.Currency != want.currency || got.Email != want.email {
		t.Errorf("source/id/currency/email = %q %q %q %q, want %q %q %q %q", got.Source, got.ID, got.Currency, got.Email,
			want.source, want.id, want.currency, want.email)
	}
	if g := mkMoney(got.Total); !near(g, want.total) {
		t.Errorf("total = %v, want %v", g, want.total)
	}
	if g := mkMoney(got.Subtotal); !near(g, want.subtotal) {
		t.Errorf("subtotal = %v, want %v", g, want.subtotal)
	}
	if strings.Join(got.Codes(), ",") != strings.Join(want.codes, ",") || len(got.Discounts) != want.discounts {
		t.Errorf("discounts = %+v, want codes %v, %d discounts", got.Discounts, want.codes, want.discounts)
	}
	if len(got.Items) != len(want.items) {
		t.Fatalf("items = %+v, want %+v", got.Items, want.items)
	}
	for i, w := range want.items {
		g := got.Items[i]
		if g.SKU != w.sku || g.Name != w.name || g.Quantity != w.qty || !near(mkMoney(g.Price), w.price) {
			t.Errorf("item %d = %q %q %d %v, want %+v", i, g.SKU, g.Name, g.Quantity, mkMoney(g.Price), w)
		}
	}
}

func near(a, b float64) bool { return a-b < 0.005 && b-a < 0.005 }

func readMarkupPage(t testing.TB, path string) *Page {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return NewPage(raw)
}

// What the markup source alone yields on each shared fixture.
var markupFixtureWants = map[string]*mkWant{
	"01": {source: "markup/totals", total: -1, subtotal: 161.50},
	"02": nil,
	"03": nil,
	"04": {source: "markup/totals", total: -1, subtotal: 94.75},
	"05": {source: "markup/totals", total: -1, subtotal: 52.50},
	"06": nil, // "Basket total (before discounts)" is no Subtotal row
	"07": {source: "markup/shopify", id: "SL1289", total: 149.90, subtotal: 154.95, currency: "AUD",
		email: "kirra.lindgren@example.net", codes: []string{"OFFSHORE15"}, discounts: 1,
		items: []mkItem{{"", "Cold Water Surf Wax", 4, 4.50}, {"", `Single Fin 9" Performance`, 1, 92}, {"", "Leash 7ft Comp", 1, 44.95}}},
	"08": {source: "markup/woocommerce", id: "GC-10482", total: 86.37, subtotal: 90.47, currency: "GBP",
		email: "fenella.brookes@example.com", discounts: 1,
		items: []mkItem{{"", "Nightjar Sessions – Live at the Crescent", 2, 24.99}, {"", "Hartley’s Basement Tapes", 1, 31.50},
			{"", "Anti-static Inner Sleeves (50 pack)", 1, 8.99}}},
	"09": {source: "markup/magento", id: "000004926", total: -1, subtotal: -1, email: "j.weidmann@example.org"},
	"10": nil,
	"11": {source: "markup/woocommerce", id: "30718", total: 205.77, subtotal: -1, email: "maeve.oconnell@example.net", discounts: 1,
		items: []mkItem{{"", "Rainbow Stacker", 2, 34.50}, {"", "Maple Marble Run Starter Set", 1, 92}, {"", "Pull-Along Fox", 1, 28}}},
	"12": {source: "markup/totals", total: -1, subtotal: 90},
	"13": nil,
	"14": {source: "markup/totals", total: -1, subtotal: 11660},
}

func TestMarkupFixtures(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(markupFixtures, "*.html"))
	if err != nil || len(paths) != 14 {
		t.Fatalf("fixtures: %v, %d files", err, len(paths))
	}
	for _, path := range paths {
		name := filepath.Base(path)
		want, ok := markupFixtureWants[name[:2]]
		if !ok {
			t.Fatalf("no expectation for %s", name)
		}
		t.Run(name, func(t *testing.T) { checkMarkup(t, fromMarkup(readMarkupPage(t, path)), want) })
	}
}

// Pages of our own under testdata/markup, one per platform and quirk.
var markupPageWants = map[string]*mkWant{
	"woocommerce_classic_eur.html": {source: "markup/woocommerce", id: "004711", total: 1284.90, subtotal: 1258.70, currency: "EUR",
		email: "lena.brandt@example.de", discounts: 1,
		items: []mkItem{{"", "Espressomaschine „Bar“ Duo", 1, 1199}, {"", "Bohnen Hausmischung 1kg", 3, 19.90}}},
	"woocommerce_failed.html":        nil,
	"woocommerce_blocks_failed.html": nil, // the Status block's "Try again" actions
	"woocommerce_blocks_de.html": {source: "markup/woocommerce", id: "8812", total: 1249, subtotal: -1, currency: "CHF",
		email: "urs.keller@example.ch", items: []mkItem{{"", "Taschenuhr „Gotthard“", 1, 1249}}},
	"shopify_gbp.html": {source: "markup/shopify", id: "1047", total: 1234.56, subtotal: 1189, currency: "GBP",
		email: "ada.l@example.co.uk", codes: []string{"TWEED10"}, discounts: 1,
		items: []mkItem{{"", "Tweed Cap", 2, 45}, {"", "Wool Coat", 1, 1099}}},
	"magento_customer.html": {source: "markup/magento", id: "000000187", total: -1, subtotal: -1},
	"prestashop_fr.html": {source: "markup/prestashop", id: "XKBKNABJK", total: 1166.50, subtotal: 1186.50, currency: "EUR",
		email: "margaux.petit@example.fr", discounts: 1,
		items: []mkItem{{"", "Théière en fonte", 1, 1149}, {"", "Thé vert Sencha 100 g", 3, 12.50}}},
	"shopware_payment_failed.html": nil, // the "danger" alert of ?paymentFailed=1
	"shopware.html": {source: "markup/shopware", id: "10045", total: 259.70, subtotal: -1, currency: "EUR",
		items: []mkItem{{"SW10001", `Wanderschuh "Alpin"`, 2, 119.90}, {"SW10007", "Socken 3er-Pack", 1, 14.91}}},
	"shopware_banner.html": {source: "markup/shopware", id: "10061", total: 89.90, subtotal: -1, currency: "EUR",
		items: []mkItem{{"SW10012", "Wollmütze", 3, 28.30}}}, // a paid finish page under a red announcement bar
	"sylius.html":       {source: "markup/sylius", id: "000000231", total: -1, subtotal: -1},
	"sylius_guest.html": nil,
	"spree_legacy.html": {source: "markup/spree", id: "R123456789", total: 50.97, subtotal: 45.97,
		items: []mkItem{{"", "Ruby on Rails Tote", 2, 15.99}, {"", "Ruby on Rails Mug", 1, 13.99}}},
	"solidus_account_jsonld.html": nil, // an old order from the account: no thank-you line
	"solidus.html": {source: "markup/spree", id: "R482917305", total: 1170.08, subtotal: 1288.98, discounts: 1,
		items: []mkItem{{"", "Ruby Tote", 1, 1249}, {"", "Canvas Strap", 2, 19.99}}},
	"bigcommerce.html":      {source: "markup/bigcommerce", id: "4127", total: -1, subtotal: -1},
	"opencart_orderid.html": {source: "markup/opencart", id: "1043", total: -1, subtotal: -1},
	"opencart_plain.html":   nil,
	"cart_decoy.html":       nil,
}

func TestMarkupPages(t *testing.T) {
	paths, _ := filepath.Glob("testdata/markup/*.html")
	if len(paths) != len(markupPageWants) {
		t.Errorf("%d pages, %d expectations", len(paths), len(markupPageWants))
	}
	for _, path := range paths {
		name := filepath.Base(path)
		want, ok := markupPageWants[name]
		if !ok {
			t.Errorf("no expectation for %s", name)
			continue
		}
		t.Run(name, func(t *testing.T) { checkMarkup(t, fromMarkup(readMarkupPage(t, path)), want) })
	}
}

// The scan anchors every marker on one of a few rare bytes, so that it
// makes few passes over the page.
func TestMarkupNeedleAnchors(t *testing.T) {
	for i, n := range markupNeedles {
		if !strings.ContainsRune("kbySZ", rune(n.s[n.at])) {
			t.Errorf("needle %d %q anchored on %q", i, n.s, n.s[n.at])
		}
	}
	if len(markupPasses) != 5 {
		t.Errorf("%d passes", len(markupPasses))
	}
}

func TestMarkupLexer(t *testing.T) {
	b := []byte(`<div class="a b"><!-- <p class="x">no</p> --><script>if(a<b){"</div>"}</script><p class="x">Hi &amp; <b>there</b><br>you</p></div>`)
	in, _, ok := findElem(b, byClass("x"))
	if !ok || textOf(in, nil) != "Hi & there you" {
		t.Fatalf("text = %q", textOf(in, nil))
	}
	in, _, ok = findElem(b, byClass("b"))
	if !ok || !bytes.HasSuffix(in, []byte("you</p>")) {
		t.Fatalf("inner = %q", in)
	}
	if v, ok := attr([]byte(`data-x='1' class=foo data-y="a>b"`), "data-y"); !ok || string(v) != "a>b" {
		t.Fatalf("attr = %q", v)
	}
	if hasClass([]byte(`class="order_items"`), "order_item") {
		t.Fatal("partial class matched")
	}
}

func TestMarkupHelpers(t *testing.T) {
	for in, want := range map[string]string{"Order #SL1289": "SL1289", "Your order number: 10045": "10045",
		"000004926": "000004926", "Order R123": "R123", "Thank you!": ""} {
		if got := orderNumber(in); got != want {
			t.Errorf("orderNumber(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]int{"× 2": 2, "✕3": 3, "Qty 12": 12, "1.5": 0, "": 0} {
		if got := quantityOf(in); got != want {
			t.Errorf("quantityOf(%q) = %d, want %d", in, got, want)
		}
	}
	for in, want := range map[string]string{"Your order ID is #1043.": "1043", "Order number: A-77": "A-77",
		"Your order has been placed!": "", "Order 3 items today": ""} {
		if got := orderIDInText(in); got != want {
			t.Errorf("orderIDInText(%q) = %q, want %q", in, got, want)
		}
	}
}

// bigPage pads a fixture to about 200 KB with markup that carries no
// marker, as large real pages do (navigation, product grids, inline CSS).
func bigPage(raw []byte) []byte {
	filler := []byte(`<li class="menu-item menu-item-type-taxonomy"><a href="https://store.example/category/kitchen/">Kitchen &amp; dining</a><span class="price"><span class="amount">&#36;24.00</span></span><img src="/wp-content/uploads/2025/01/mug-300x300.webp" width="300" height="300" alt="Stoneware mug" loading="lazy" decoding="async"></li>` + "\n")
	i := bytes.Index(raw, []byte("<body"))
	if i < 0 {
		i = 0
	}
	var b []byte
	b = append(b, raw[:i]...)
	body := raw[i:]
	half := (200_000 - len(raw)) / 2
	pad := bytes.Repeat(filler, max(0, half/len(filler)))
	b = append(b, pad...)
	b = append(b, body...)
	return append(b, pad...)
}

func BenchmarkMarkup(b *testing.B) {
	paths, _ := filepath.Glob(filepath.Join(markupFixtures, "*.html"))
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		name := filepath.Base(path)[:2]
		for _, c := range []struct {
			name string
			raw  []byte
		}{{name, raw}, {name + "_200KB", bigPage(raw)}} {
			p := NewPage(c.raw)
			b.Run(c.name, func(b *testing.B) {
				b.SetBytes(int64(len(c.raw)))
				b.ReportAllocs()
				for b.Loop() {
					fromMarkup(p)
				}
			})
		}
	}
}

// TestSpreeAccountViewIsNoOrder: an old order looked at from the customer's
// account, the confirmation page without its thank-you line, is no order,
// while the page that confirms it is.
func TestSpreeAccountViewIsNoOrder(t *testing.T) {
	for page, thanks := range map[string]*regexp.Regexp{
		"solidus.html":      regexp.MustCompile(`<p class="order-page__completed">[^<]*</p>`),
		"spree_legacy.html": regexp.MustCompile(`<strong>Thank you for your business[^<]*</strong>|<div class="flash success">[^<]*</div>`),
	} {
		raw, err := os.ReadFile(filepath.Join("testdata/markup", page))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := NewPage(raw).Order(); !ok {
			t.Errorf("%s: no order", page)
		}
		account := thanks.ReplaceAll(raw, nil)
		if bytes.Equal(account, raw) {
			t.Fatalf("%s: no thank-you line to remove", page)
		}
		if o, ok := NewPage(account).Order(); ok {
			t.Errorf("%s without its thank-you line: order %q, want none", page, o.ID)
		}
	}
}

// TestSpreeAccountViewWithOtherSources: the rule that a Spree or Solidus
// order page confirms an order only when it says the order was just
// placed holds for the whole page, not only its markup: a theme's
// schema.org Order or a tag printed on every view of the account's order
// page is no new order either.
func TestSpreeAccountViewWithOtherSources(t *testing.T) {
	raw, err := os.ReadFile("testdata/markup/solidus_account_jsonld.html")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := Extract(raw); ok {
		t.Errorf("account view with a JSON-LD Order: order %+v", o)
	}
	gtag := []byte(`<script>gtag("event","purchase",{transaction_id:"R555000111",value:45,currency:"USD"})</script></body>`)
	if o, ok := Extract(bytes.Replace(raw, []byte("</body>"), gtag, 1)); ok {
		t.Errorf("account view with a gtag purchase: order %+v", o)
	}
	// The same page right after checkout confirms the order.
	thanks := []byte(`<p class="order-page__completed">Thank you for your order.</p><fieldset`)
	placed := bytes.Replace(raw, []byte("<fieldset"), thanks, 1)
	placed = bytes.Replace(placed, []byte(`"2024-01-10"`), []byte(`"`+time.Now().UTC().Format("2006-01-02")+`"`), 1)
	if o, ok := Extract(placed); !ok || o.ID != "R555000111" || o.Total == nil || *o.Total != 45 {
		t.Errorf("the page right after checkout: %+v, %v; want order R555000111 of 45", o, ok)
	}
}

// TestOrderSummaryOfOtherStorefronts: an element with id
// "order_summary" is Spree's or Solidus's only with a Spree number or the
// platform's markup; on a custom storefront's thank-you page, whose
// summary is headed "Order #1042", it vetoes nothing, and the page's GA4
// purchase is its order. The platform's own pages without a thank-you line
// stay account views, a number of another format included.
func TestOrderSummaryOfOtherStorefronts(t *testing.T) {
	custom := `<html><body><h1>Thanks for shopping with us!</h1>
<div id="order_summary"><h2>Order #1042</h2><p>Total: $54.00</p></div>
<script>dataLayer.push({event:'purchase', ecommerce:{transaction_id:'1042', value: 54, currency:'USD'}});</script>
</body></html>`
	if o, ok := Extract([]byte(custom)); !ok || o.ID != "1042" || o.Total == nil || *o.Total != 54 {
		t.Errorf("custom storefront: %+v, %v; want order 1042 of 54", o, ok)
	}
	spree := func(summary, number string) []byte {
		return []byte(`<html><body>` + summary + `<legend>Order ` + number + `</legend><p>Total: $54.00</p></fieldset>
<script>dataLayer.push({event:'purchase', ecommerce:{transaction_id:'` + number + `', value: 54, currency:'USD'}});</script>
</body></html>`)
	}
	for _, tt := range []struct{ summary, number string }{
		{`<fieldset id="order_summary">`, "R123456789"},
		{`<fieldset id="order_summary" data-hook>`, "SO1042"},
		{`<h1 class="order-page__title">Order SO1042</h1><fieldset class="order-page__info" id="order_summary">`, "SO1042"},
	} {
		if o, ok := Extract(spree(tt.summary, tt.number)); ok {
			t.Errorf("%s %s without a thank-you line: order %+v, want none", tt.summary, tt.number, o)
		}
	}
}

// TestOldSpreeOrderDate: an order with a Spree or Solidus number whose
// page prints an order date days before the view (a storefront that
// prints a schema.org Order but not the platform's markup) is an old
// order looked at from the account, not a new one. Other orders keep
// their printed dates, whatever their age (the shared fixtures print
// dates of 2025).
func TestOldSpreeOrderDate(t *testing.T) {
	defer func(f func() time.Time) { now = f }(now)
	now = func() time.Time { return time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC) }
	page := func(id, date string) []byte {
		return []byte(`<html><head><script type="application/ld+json">{"@context":"https://schema.org","@type":"Order",` +
			`"orderNumber":"` + id + `","orderStatus":"https://schema.org/OrderDelivered","priceCurrency":"USD","price":"45.00","orderDate":"` + date + `"}</script></head>` +
			`<body><h1>Order ` + id + `</h1></body></html>`)
	}
	for _, tt := range []struct {
		id, date string
		ok       bool
	}{
		{"R555000111", "2024-01-10", false},
		{"R555000111", "2024-02-20T09:30:00Z", false},
		{"R555000111", "2024-02-29T16:00:00-05:00", true},
		{"R555000111", "2024-03-01", true},
		{"R555000111", "", true},
		{"R555000111", "last Tuesday", true},
		{"5550001", "2024-01-10", true},
		{"000004926", "2023-06-01T10:00:00+02:00", true},
	} {
		if o, ok := Extract(page(tt.id, tt.date)); ok != tt.ok {
			t.Errorf("order %s dated %q: %+v, %v; want ok %v", tt.id, tt.date, o, ok, tt.ok)
		}
	}
}

// TestShopwarePaymentFailed: Shopware's finish page of an order whose
// payment failed (?paymentFailed=1) prints the order number, the line
// items and the purchase tags, with a "danger" alert asking to change the
// payment method; as WooCommerce's failed-payment page, it confirms no
// order, whatever its tags say. The alert's class in a stylesheet is no
// alert.
func TestShopwarePaymentFailed(t *testing.T) {
	raw, err := os.ReadFile("testdata/markup/shopware_payment_failed.html")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := Extract(raw); ok {
		t.Errorf("payment failed: order %+v", o)
	}
	alert := regexp.MustCompile(`<div role="alert" class="alert alert-danger alert-has-icon">.*</div></div></div>`)
	paid := alert.ReplaceAll(raw, nil)
	if bytes.Equal(paid, raw) {
		t.Fatal("no alert to remove")
	}
	if o, ok := Extract(paid); !ok || o.ID != "10057" || o.Total == nil || *o.Total != 124.89 {
		t.Errorf("paid: %+v, %v; want order 10057 of 124.89", o, ok)
	}
}

// TestShopwareDangerBanner: a Bootstrap theme's shop-wide "alert
// alert-danger" banner (an announcement bar in the header, or at the top
// of the content) on a paid finish page is no failed payment: only a
// danger alert where Shopware prints its own, in the finish content or
// among the flash messages, is. The failed page keeps failing under a
// banner.
func TestShopwareDangerBanner(t *testing.T) {
	read := func(name string) string {
		raw, err := os.ReadFile(filepath.Join("testdata/markup", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	banner := `<div class="alert alert-danger top-bar">Sale: -20% until Sunday!</div>`
	paid, failed, bar := read("shopware.html"), read("shopware_payment_failed.html"), read("shopware_banner.html")
	flash := `<div role="alert" class="alert alert-danger alert-has-icon"><div class="alert-content-container"><div class="alert-content">Die Zahlung ist fehlgeschlagen.</div></div></div>`
	for _, tt := range []struct {
		name, page string
		id         string // "" for no order
	}{
		{"banner atop the content", strings.Replace(paid, "<main>", "<main>"+banner, 1), "10045"},
		{"announcement bar in the header", bar, "10061"},
		{"failed under a banner", strings.Replace(failed, "<main>", "<main>"+banner, 1), ""},
		{"failed: a flash message in the finish content", strings.Replace(bar, `<div class="flashbags"></div>`, `<div class="flashbags">`+flash+`</div>`, 1), ""},
		{"failed: a flash message above the content", strings.Replace(bar, `<div class="flashbags container"></div>`, `<div class="flashbags container">`+flash+`</div>`, 1), ""},
	} {
		o, ok := Extract([]byte(tt.page))
		if tt.id == "" && ok {
			t.Errorf("%s: order %+v, want none", tt.name, o)
		}
		if tt.id != "" && (!ok || o.ID != tt.id) {
			t.Errorf("%s: %+v, %v; want order %s", tt.name, o, ok, tt.id)
		}
	}
}

// TestShopifyCentsInEveryCurrency: Shopify's data-checkout-*-target
// attributes hold hundredths whatever the currency, zero-decimal ones
// included, and so do its clones for VND (orders.md §7.1).
func TestShopifyCentsInEveryCurrency(t *testing.T) {
	raw, err := os.ReadFile("testdata/markup/shopify_gbp.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		currency, due string
		total         float64
	}{
		{"GBP", "123456", 1234.56},
		{"VND", "360000000", 3600000},
		{"JPY", "1193000", 11930},
	} {
		page := bytes.ReplaceAll(raw, []byte(`"GBP"`), []byte(`"`+tt.currency+`"`))
		page = bytes.ReplaceAll(page, []byte(">GBP"), []byte(">"+tt.currency))
		page = bytes.ReplaceAll(page, []byte(`data-checkout-payment-due-target="123456"`), []byte(`data-checkout-payment-due-target="`+tt.due+`"`))
		o := fromMarkup(NewPage(page))
		if o == nil || o.Currency != tt.currency || !near(mkMoney(o.Total), tt.total) {
			t.Errorf("%s %s: got %+v, want total %v", tt.currency, tt.due, o, tt.total)
		}
	}
}

// TestMarkupLargeOrder: the order table of a large order is read whole,
// its last lines and the totals below them included.
func TestMarkupLargeOrder(t *testing.T) {
	raw, err := os.ReadFile("testdata/markup/woocommerce_classic_eur.html")
	if err != nil {
		t.Fatal(err)
	}
	page := string(raw)
	i := strings.Index(page, `<tr class="woocommerce-table__line-item`)
	j := i + strings.Index(page[i:], "</tr>") + len("</tr>")
	const lines = 400
	big := page[:i] + strings.Repeat(page[i:j]+"\n", lines-1) + page[i:]
	o := fromMarkup(NewPage([]byte(big)))
	if o == nil {
		t.Fatal("no order")
	}
	if len(o.Items) != lines+1 || mkMoney(o.Subtotal) != 1258.70 {
		t.Errorf("%d items and subtotal %v of a %d-byte page; want %d items and 1258.70", len(o.Items), mkMoney(o.Subtotal), len(big), lines+1)
	}
}

// TestMarkerInAThemeScript: a theme script that looks the thank-you
// notice up (`if (a<b) $('.woocommerce-thankyou-order-received')`) reads
// like a tag holding the marker. Reading from there, the order's markup lay
// past the window when a large inline stylesheet came between them.
func TestMarkerInAThemeScript(t *testing.T) {
	page, err := os.ReadFile(filepath.Join(markupFixtures, "08_woocommerce_classic_markup_only_gbp.html"))
	if err != nil {
		t.Fatal(err)
	}
	head := "<script>if (a<b) { jQuery('.woocommerce-thankyou-order-received').show(); }</script>\n" +
		"<style>" + strings.Repeat("/* a page builder's inline styles */\n", markupWindow/32) + "</style>\n</head>"
	o, ok := Extract(bytes.Replace(page, []byte("</head>"), []byte(head), 1))
	if !ok || o.ID != "GC-10482" || o.Total == nil || *o.Total != 86.37 {
		t.Fatalf("Extract = %+v, %v; want order GC-10482 of 86.37", o, ok)
	}
}
