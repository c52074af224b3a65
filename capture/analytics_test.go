package capture

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The analytics and pixel sources (analytics.go, pixels.go) are tested
// together: every page under testdata/analytics and testdata/pixels has a
// golden .json beside it giving what each of the five sources alone yields
// (an order or null), and the shared fixtures are checked against
// expected.json for the fields these sources print.

const analyticsFixtureDir = "../../shared/fixtures/thankyou"

// analyticsSources are the sources of analytics.go and pixels.go, by the
// names the golden files use.
var analyticsSources = []struct {
	name string
	find func(*Page) *Order
}{
	{"fromDataLayer", fromDataLayer},
	{"fromGtag", fromGtag},
	{"fromAdsConversion", fromAdsConversion},
	{"fromMeta", fromMeta},
	{"fromGCR", fromGCR},
}

// analyticsJSON renders o for comparison: empty lists as null, Sources left
// out (the sources set Source only).
func analyticsJSON(t testing.TB, o *Order) string {
	t.Helper()
	if o == nil {
		return "null"
	}
	c := *o
	if len(c.Items) == 0 {
		c.Items = nil
	}
	if len(c.Discounts) == 0 {
		c.Discounts = nil
	}
	c.Sources = nil
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// analyticsCheckGolden runs the five sources over every page of dir and
// compares each with the page's golden file.
func analyticsCheckGolden(t *testing.T, dir string) {
	pages, err := filepath.Glob(filepath.Join(dir, "*.html"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no pages in %s: %v", dir, err)
	}
	for _, path := range pages {
		name := strings.TrimSuffix(filepath.Base(path), ".html")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			goldenRaw, err := os.ReadFile(strings.TrimSuffix(path, ".html") + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var golden map[string]*Order
			if err := json.Unmarshal(goldenRaw, &golden); err != nil {
				t.Fatalf("golden: %v", err)
			}
			p := NewPage(raw)
			for _, s := range analyticsSources {
				want, ok := golden[s.name]
				if !ok {
					t.Errorf("golden has no %s", s.name)
					continue
				}
				got := s.find(p)
				if g, w := analyticsJSON(t, got), analyticsJSON(t, want); g != w {
					t.Errorf("%s:\n got %s\nwant %s", s.name, g, w)
				}
			}
		})
	}
}

func TestAnalyticsGolden(t *testing.T) { analyticsCheckGolden(t, "testdata/analytics") }

// analyticsExpected reads the shared fixtures' expected.json as Orders.
func analyticsExpected(t testing.TB) map[string]*Order {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(analyticsFixtureDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp map[string]*struct {
		ID       string   `json:"order_id"`
		Total    *float64 `json:"total"`
		Subtotal *float64 `json:"subtotal"`
		Currency string   `json:"currency"`
		Codes    []string `json:"discount_codes"`
		Items    []struct {
			SKU      *string  `json:"sku"`
			Name     string   `json:"name"`
			Quantity int      `json:"quantity"`
			Price    *float64 `json:"price"`
		} `json:"items"`
		Email *string `json:"email"`
	}
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	orders := make(map[string]*Order, len(exp))
	for name, e := range exp {
		if e == nil {
			orders[name] = nil
			continue
		}
		o := &Order{ID: e.ID, Total: e.Total, Subtotal: e.Subtotal, Currency: e.Currency}
		for _, c := range e.Codes {
			o.Discounts = append(o.Discounts, Discount{Code: c})
		}
		for _, it := range e.Items {
			item := Item{Name: it.Name, Quantity: it.Quantity, Price: it.Price}
			if it.SKU != nil {
				item.SKU = *it.SKU
			}
			o.Items = append(o.Items, item)
		}
		if e.Email != nil {
			o.Email = *e.Email
		}
		orders[name] = o
	}
	return orders
}

// analyticsWant says what one source yields on one fixture: the fixture's
// expected order, cut down to the fields the source prints, or nil.
type analyticsWant func(exp *Order) *Order

// only keeps the fields of exp that a source prints and sets its Source.
func analyticsOnly(source string, fields ...string) analyticsWant {
	return func(exp *Order) *Order {
		o := &Order{Source: source}
		for _, f := range fields {
			switch f {
			case "id":
				o.ID = exp.ID
			case "total":
				o.Total = exp.Total
			case "subtotal":
				o.Subtotal = exp.Subtotal
			case "currency":
				o.Currency = exp.Currency
			case "codes":
				o.Discounts = exp.Discounts
			case "items":
				o.Items = exp.Items
			case "email":
				o.Email = exp.Email
			}
		}
		return o
	}
}

// analyticsFixtures lists, per shared fixture, what each of the five
// sources yields; a source not listed yields nil. Every fixture is listed,
// so that a source that starts reading a decoy is caught.
var analyticsFixtures = map[string]map[string]analyticsWant{
	"01_ga4_datalayer_purchase_usd.html": {
		"fromDataLayer": analyticsOnly("ga4", "id", "total", "currency", "codes", "items"),
	},
	"02_gtag_purchase_cad.html": {
		"fromGtag":          analyticsOnly("gtag", "id", "total", "currency", "codes", "items", "email"),
		"fromAdsConversion": analyticsOnly("gads", "id", "total", "currency"),
	},
	"03_ua_enhanced_ecommerce_eur.html": {
		"fromDataLayer": analyticsOnly("ua", "id", "total", "currency", "codes", "items"),
	},
	"04_jsonld_order_aud.html":                    {},
	"05_microdata_order_gbp.html":                 {},
	"06_meta_pixel_with_datalayer_usd.html":       {"fromDataLayer": analyticsOnly("gtm", "id", "total", "currency", "codes", "items")},
	"07_shopify_legacy_checkout_aud.html":         {},
	"08_woocommerce_classic_markup_only_gbp.html": {},
	"09_magento2_success_gtag_eur.html":           {},
	"10_katalys_push_convert_usd.html":            {},
	"11_katalys_preseeded_woo_blocks_cad.html":    {"fromAdsConversion": analyticsOnly("gads", "id", "total", "currency")},
	"12_stripe_nextjs_minor_units_eur.html":       {},
	"13_no_order_woocommerce_verify_email.html":   {},
	"14_head_body_markers_in_comments_jpy.html": {
		"fromDataLayer": analyticsOnly("ga4", "id", "total", "currency", "codes", "items"),
		"fromGCR":       analyticsOnly("gcr", "id", "email"),
	},
}

func TestAnalyticsFixtures(t *testing.T) {
	expected := analyticsExpected(t)
	if len(expected) != len(analyticsFixtures) {
		t.Errorf("expected.json has %d fixtures, the table %d", len(expected), len(analyticsFixtures))
	}
	for name, wants := range analyticsFixtures {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(analyticsFixtureDir, name))
			if err != nil {
				t.Fatal(err)
			}
			p := NewPage(raw)
			for _, s := range analyticsSources {
				var want *Order
				if w := wants[s.name]; w != nil {
					want = w(expected[name])
				}
				if g, w := analyticsJSON(t, s.find(p)), analyticsJSON(t, want); g != w {
					t.Errorf("%s:\n got %s\nwant %s", s.name, g, w)
				}
			}
		})
	}
}

// TestAnalyticsDataLayerQuirks covers shapes too small for a page of
// their own.
func TestAnalyticsDataLayerQuirks(t *testing.T) {
	tests := []struct {
		name, script string
		want         string // ID|total|currency|codes|skus|source, or "nil"
	}{
		{"ecommerce null only", `dataLayer.push({ecommerce: null});`, "nil"},
		{"purchase without id", `dataLayer.push({event:'purchase', ecommerce:{value: 10, currency:'USD', items:[{item_id:'A', price: 10, quantity: 1}]}});`, "nil"},
		{"add_payment_info with id", `dataLayer.push({event:'add_payment_info', ecommerce:{transaction_id:'X1', value: 10}});`, "nil"},
		{"any event name", `window.dataLayer.push({event:'GA4_purchase', ecommerce:{transaction_id:'A-1', value:'12.50', currency:'eur'}});`,
			"A-1|12.5|EUR|||ga4"},
		{"no event at all", `dataLayer.push({ecommerce:{transaction_id: 77, value: 3}});`, "77|3||||ga4"},
		// Only a purchase makes an order; a lead or a sign-up with a
		// transaction id (events no deny-list can foresee) does not.
		{"generate_lead with id", `dataLayer.push({event:"generate_lead",ecommerce:{transaction_id:"NL-5521",value:10,currency:"EUR"}});`, "nil"},
		{"sign_up with id", `dataLayer.push({event:'sign_up', transactionId:'S-1', transactionTotal: 0});`, "nil"},
		{"custom lead event", `dataLayer.push({event:'newsletter_optin', ecommerce:{transaction_id:'N-2', value: 1}});`, "nil"},
		{"purchase failed", `dataLayer.push({event:'purchase_failed', ecommerce:{transaction_id:'F-1', value: 5}});`, "nil"},
		{"begin_checkout with id", `dataLayer.push({event:'begin_checkout', ecommerce:{transaction_id:'B-1', value: 5}});`, "nil"},
		{"checkout_complete", `dataLayer.push({event:'checkout_complete', ecommerce:{transaction_id:'CC-1', value: 5}});`, "CC-1|5||||ga4"},
		{"order_placed", `dataLayer.push({event:'order_placed', transactionId:'OP-1', transactionTotal: 8});`, "OP-1|8||||gtm"},
		{"gtm4wp event", `dataLayer.push({event:'gtm4wp.orderCompletedEEC', ecommerce:{purchase:{actionField:{id:'W-1', revenue: 9}}}});`, "W-1|9||||ua"},
		{"event in a variable", `dataLayer.push({event: ev, ecommerce:{transaction_id:'V-1', value: 2}});`, "V-1|2||||ga4"},
		{"leading zeros kept", `dataLayer.push({event:'purchase', ecommerce:{transaction_id:"000000187", value:"1,284.50", currency:"EUR"}});`,
			"000000187|1284.5|EUR|||ga4"},
		{"numeric id literal kept", `dataLayer.push({event:'purchase', ecommerce:{transaction_id: 0042, value: 5}});`, "0042|5||||ga4"},
		{"coupon array and repeats", `dataLayer.push({event:'purchase', ecommerce:{transaction_id:'C1', coupon:['A10', 'B5, A10']}});`,
			"C1|||A10,B5||ga4"},
		{"ua without event", `dataLayer.push({'ecommerce':{'purchase':{'actionField':{'id':'U9','revenue':'35.43'},'products':[{'id':'S1','name':'N','price':'35.43','quantity':1}]}}});`,
			"U9|35.43|||S1|ua"},
		{"ua refund", `dataLayer.push({'ecommerce':{'refund':{'actionField':{'id':'U9'}}}});`, "nil"},
		{"classic with currency and code", `dataLayer.push({'transactionId':'T-5','transactionTotal':'9.90','transactionCurrency':'GBP','transactionPromoCode':'HELLO','transactionProducts':[{'sku':'K1','name':'N','price':'9.90','quantity':'1'}]});`,
			"T-5|9.9|GBP|HELLO|K1|gtm"},
		{"ga4 preferred over classic in one page",
			`dataLayer.push({'transactionId':'P1','transactionTotal':20,'transactionPromoCode':'OLD'}); dataLayer.push({event:'purchase', ecommerce:{transaction_id:'P1', value: 20, currency:'USD'}});`,
			"P1|20|USD|OLD||ga4"},
		{"other order id not merged",
			`dataLayer.push({event:'purchase', ecommerce:{transaction_id:'P1', value: 20}}); dataLayer.push({'transactionId':'P0','transactionCurrency':'USD'});`,
			"P1|20||||ga4"},
		{"pushed by name", `var payload = {event:'purchase', ecommerce:{transaction_id:'N1', value: 1}}; dataLayer.push(payload);`, "N1|1||||ga4"},
		{"gtag helper push is not an order", `function gtag(){dataLayer.push(arguments);} gtag('event','purchase',{transaction_id:'G1'});`, "nil"},
		{"katalys queue is not a layer", `_revoffers_track.push({transactionId: 'K1', ecommerce: {transaction_id: 'K1'}});`, "nil"},
		{"template placeholder", `dataLayer.push({event:'purchase', ecommerce:{transaction_id:'{{ order.name }}', value: 1}});`, "nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPage([]byte("<html><body><script>" + tt.script + "</script></body></html>"))
			if got := analyticsSummary(fromDataLayer(p)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestAnalyticsPurchaseEventNames: the event names stores give a purchase
// are more than any list holds. A name that says neither a purchase nor
// something else (classic GTM's "trackTrans", "sale", "conversion",
// "new_order", "payment_complete") lets a purchase's own shape make the
// order: UA's ecommerce.purchase, classic GTM's transactionId with a
// transactionTotal. GA4's ecommerce.transaction_id, which leads carry too,
// needs a purchase's name. A name that says a return, a refund, a lead or a
// sign-up makes none, whatever the shape; "returning" customers buy.
func TestAnalyticsPurchaseEventNames(t *testing.T) {
	tests := []struct {
		name, script string
		want         string // ID|total|currency|codes|skus|source, or "nil"
	}{
		{"classic GTM trackTrans", `dataLayer.push({'event':'trackTrans','transactionId':'T-77','transactionTotal':110.00,'transactionProducts':[{'sku':'K1','name':'N','price':'110.00','quantity':'1'}]});`,
			"T-77|110|||K1|gtm"},
		{"sale", `dataLayer.push({event:'sale', transactionId:'S-9', transactionTotal:'45.00'});`, "S-9|45||||gtm"},
		{"conversion", `dataLayer.push({event:'conversion', transactionId:'C-9', transactionTotal: 49.9, transactionCurrency:'EUR'});`, "C-9|49.9|EUR|||gtm"},
		{"new_order", `dataLayer.push({event:'new_order', ecommerce:{purchase:{actionField:{id:'N-3', revenue:'20.00'}}}});`, "N-3|20||||ua"},
		{"payment_complete", `dataLayer.push({event:'payment_complete', transactionId:'P-4', transactionTotal: 12});`, "P-4|12||||gtm"},
		{"returning_customer_purchase", `dataLayer.push({event:'returning_customer_purchase', ecommerce:{transaction_id:'RC-1', value: 30}});`, "RC-1|30||||ga4"},
		{"returningCustomer sale", `dataLayer.push({event:'returningCustomer', transactionId:'RC-2', transactionTotal: 31});`, "RC-2|31||||gtm"},
		{"trackTrans with GA4", `dataLayer.push({event:'trackTrans', ecommerce:{transaction_id:'T-78', value: 5}});`, "T-78|5||||ga4"},
		{"sale with GA4 only", `dataLayer.push({event:'sale', ecommerce:{transaction_id:'S-2', value: 5}});`, "nil"},
		{"conversion without a total", `dataLayer.push({event:'conversion', transactionId:'C-2'});`, "nil"},
		{"generate_lead with classic keys", `dataLayer.push({event:'generate_lead', transactionId:'L-1', transactionTotal: 10});`, "nil"},
		{"signUp with UA purchase", `dataLayer.push({event:'signUp', ecommerce:{purchase:{actionField:{id:'U-1', revenue: 1}}}});`, "nil"},
		{"order_return", `dataLayer.push({event:'order_return', transactionId:'R-1', transactionTotal: 10});`, "nil"},
		{"orderReturned", `dataLayer.push({event:'orderReturned', ecommerce:{purchase:{actionField:{id:'R-2', revenue: 10}}}});`, "nil"},
		{"refund_purchase", `dataLayer.push({event:'refund_purchase', ecommerce:{transaction_id:'R-3', value: 10}});`, "nil"},
		{"PAYMENTFAILED", `dataLayer.push({event:'PAYMENTFAILED', transactionId:'F-2', transactionTotal: 10});`, "nil"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPage([]byte("<html><body><script>" + tt.script + "</script></body></html>"))
			if got := analyticsSummary(fromDataLayer(p)); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
	// The whole page: Google's old GTM transaction template is an order.
	page := `<html><body><script>dataLayer = [{'event':'trackTrans','transactionId':'T-79','transactionTotal':'64.50','transactionCurrency':'USD'}];</script></body></html>`
	if o, ok := Extract([]byte(page)); !ok || o.ID != "T-79" || o.Total == nil || *o.Total != 64.5 {
		t.Errorf("trackTrans page: %+v, %v; want order T-79 of 64.50", o, ok)
	}
}

// analyticsSummary renders the id, total, currency, codes, SKUs and source of o on
// one line.
func analyticsSummary(o *Order) string {
	if o == nil {
		return "nil"
	}
	total := ""
	if o.Total != nil {
		b, _ := json.Marshal(*o.Total)
		total = string(b)
	}
	var skus []string
	for _, it := range o.Items {
		skus = append(skus, it.SKU)
	}
	return strings.Join([]string{o.ID, total, o.Currency, strings.Join(o.Codes(), ","), strings.Join(skus, ","), o.Source}, "|")
}

func TestAnalyticsGtagQuirks(t *testing.T) {
	tests := []struct {
		name, script string
		want         string
		email        string
	}{
		{"double quotes and send_to", `gtag("event", "purchase", {"send_to": "G-X", "transaction_id": "Q1", "value": 5, "currency": "CAD"});`, "Q1|5|CAD|||gtag", ""},
		{"add_payment_info is not the order", `gtag("event", "add_payment_info", {"transaction_id": "Q1", "value": 5});`, "nil", ""},
		{"hashed user data", `gtag('set','user_data',{sha256_email_address:'ab12'}); gtag('event','purchase',{transaction_id:'Q2'});`, "Q2|||||gtag", ""},
		{"user data via set object", `gtag('set', {user_data: {email: 'a.b@example.com'}}); gtag('event','purchase',{transaction_id:'Q3'});`, "Q3|||||gtag", "a.b@example.com"},
		{"params and user data by name", `var ud = {email: 'c.d@example.net'}; var purchaseData = {transaction_id: 'V1', value: 9}; gtag('set', 'user_data', ud); gtag('event', 'purchase', purchaseData);`, "V1|9||||gtag", "c.d@example.net"},
		{"spree items without commas", "gtag('event', 'purchase', {\"transaction_id\": 'R1', \"value\": '138.2', \"items\": [\n{\"id\": 'A', \"name\": 'Men&#39;s Crew', \"quantity\": '2', \"price\": '45.0'}\n{\"id\": 'B', \"name\": 'Cap', \"quantity\": '1', \"price\": '48.2'}\n]});", "R1|138.2|||A,B|gtag", ""},
		{"decimal comma printed unquoted", `gtag('event','purchase',{transaction_id:'1047',value:49,90,currency:'EUR'});`, "1047|49.9|EUR|||gtag", ""},
		{"thousands comma printed unquoted", `gtag('event','purchase',{transaction_id:'1048',value:1,234.56,currency:'USD'});`, "1048|1234.56|USD|||gtag", ""},
		{"placeholder email refused", `gtag('set','user_data',{email:'{{ customer.email }}'}); gtag('event','purchase',{transaction_id:'Q4'});`, "Q4|||||gtag", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPage([]byte("<script>" + tt.script + "</script>"))
			o := fromGtag(p)
			if got := analyticsSummary(o); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if o != nil && o.Email != tt.email {
				t.Errorf("email %q, want %q", o.Email, tt.email)
			}
		})
	}
}

// analyticsBenchPages reads the shared fixtures, scanned once: the benchmarks
// measure the sources, not NewPage.
func analyticsBenchPages(b *testing.B) ([]*Page, int64) {
	b.Helper()
	paths, err := filepath.Glob(filepath.Join(analyticsFixtureDir, "*.html"))
	if err != nil || len(paths) == 0 {
		b.Fatalf("no fixtures: %v", err)
	}
	var pages []*Page
	var n int64
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		pages = append(pages, NewPage(raw))
		n += int64(len(raw))
	}
	return pages, n
}

// BenchmarkAnalyticsFixtures runs the five sources over all 14 fixtures
// per op, all together and one by one.
func BenchmarkAnalyticsFixtures(b *testing.B) {
	pages, n := analyticsBenchPages(b)
	b.Run("all", func(b *testing.B) {
		b.SetBytes(n)
		b.ReportAllocs()
		for b.Loop() {
			for _, p := range pages {
				for _, s := range analyticsSources {
					s.find(p)
				}
			}
		}
	})
	for _, s := range analyticsSources {
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(n)
			b.ReportAllocs()
			for b.Loop() {
				for _, p := range pages {
					s.find(p)
				}
			}
		})
	}
}

// BenchmarkAnalyticsLargePage runs the five sources over a 200 KB page:
// fixture 01 grown with the bulk of other storefronts' pages (their
// markup, inline scripts and JSON blocks, without analytics payloads), as
// a heavy theme would add.
func BenchmarkAnalyticsLargePage(b *testing.B) {
	read := func(name string) []byte {
		raw, err := os.ReadFile(filepath.Join(analyticsFixtureDir, name))
		if err != nil {
			b.Fatal(err)
		}
		return raw
	}
	raw := read("01_ga4_datalayer_purchase_usd.html")
	var filler [][]byte
	for _, name := range []string{
		"04_jsonld_order_aud.html", "05_microdata_order_gbp.html", "07_shopify_legacy_checkout_aud.html",
		"08_woocommerce_classic_markup_only_gbp.html", "09_magento2_success_gtag_eur.html", "12_stripe_nextjs_minor_units_eur.html",
	} {
		f := read(name)
		// The body of the page, its head scripts included.
		filler = append(filler, f[bytes.Index(f, []byte("<head>"))+len("<head>"):bytes.LastIndex(f, []byte("</body>"))])
	}
	var page bytes.Buffer
	cut := bytes.Index(raw, []byte("<footer"))
	page.Write(raw[:cut])
	for i := 0; page.Len() < 200<<10; i++ {
		page.Write(filler[i%len(filler)])
	}
	page.Write(raw[cut:])
	p := NewPage(page.Bytes())
	b.SetBytes(int64(page.Len()))
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range analyticsSources {
			s.find(p)
		}
	}
}

func TestAnalyticsDataLayerEmail(t *testing.T) {
	tests := []struct{ name, script, email string }{
		{"page push beside the purchase", `dataLayer.push({pageType: 'thanks', customerEmail: 'g.h@example.com'}); dataLayer.push({event: 'purchase', ecommerce: {transaction_id: 'E1'}});`, "g.h@example.com"},
		{"inside ecommerce", `dataLayer.push({event: 'purchase', ecommerce: {transaction_id: 'E2', customer_email: 'i.j@example.org'}});`, "i.j@example.org"},
		{"hashed only", `dataLayer.push({event: 'purchase', user_data: {sha256_email_address: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'}, ecommerce: {transaction_id: 'E3'}});`, ""},
		{"clear user_data", `dataLayer.push({event: 'purchase', user_data: {email: 'k.l@example.net'}, ecommerce: {transaction_id: 'E4'}});`, "k.l@example.net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := fromDataLayer(NewPage([]byte("<script>" + tt.script + "</script>")))
			if o == nil {
				t.Fatal("no order")
			}
			if o.Email != tt.email {
				t.Errorf("email %q, want %q", o.Email, tt.email)
			}
		})
	}
}

// TestGA4ValueBesideShipping: a purchase tag that prints shipping or tax
// beside its value follows Google's definition (value leaves them out)
// when the page's grand total is that value plus them; the order's total
// is then the grand total. Otherwise the tag's value stands, as most
// stores put the grand total there.
func TestGA4ValueBesideShipping(t *testing.T) {
	page, err := os.ReadFile(filepath.Join(analyticsFixtureDir, "08_woocommerce_classic_markup_only_gbp.html"))
	if err != nil {
		t.Fatal(err)
	}
	// The page: subtotal £90.47, discount £9.05, shipping £4.95, total
	// £86.37 including £14.40 VAT.
	tests := []struct {
		name, params string
		want         float64
	}{
		{"value without shipping", `value: 81.42, shipping: 4.95`, 86.37},
		{"value without shipping or tax", `value: 67.02, shipping: 4.95, tax: 14.40`, 86.37},
		{"value without tax, shipping not printed", `value: 71.97, tax: 14.40`, 86.37},
		{"value is the grand total (GTM4WP)", `value: 86.37, shipping: 4.95, tax: 14.40`, 86.37},
		{"no shipping printed: the value stands", `value: 81.42`, 81.42},
		{"sums that are not the page's total: the value stands", `value: 70.00, shipping: 4.95`, 70},
		{"another currency: the value stands", `value: 81.42, shipping: 4.95, currency: 'EUR'`, 81.42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := ", currency: 'GBP'"
			if strings.Contains(tt.params, "currency") {
				cur = ""
			}
			tag := "<script>gtag('event', 'purchase', {transaction_id: 'GC-10482', " + tt.params + cur + "});</script>\n</head>"
			o, ok := Extract(bytes.Replace(page, []byte("</head>"), []byte(tag), 1))
			if !ok || o.Total == nil {
				t.Fatalf("Extract = %+v, %v", o, ok)
			}
			if *o.Total != tt.want {
				t.Errorf("total %v, want %v", *o.Total, tt.want)
			}
		})
	}
}

// TestPurchaseNamesWithOtherWords: a name that says purchase or
// transaction is a purchase, whatever other word it holds that alone would
// name no sale (a subscription, an add); a return is none.
func TestPurchaseNamesWithOtherWords(t *testing.T) {
	for _, tt := range []struct {
		name, push string
		order      bool
	}{
		{"subscription_purchase", `dataLayer.push({event:'subscription_purchase', ecommerce:{transaction_id:'SUB-1', value: 29, currency:'USD'}});`, true},
		{"Purchase - Subscription", `dataLayer.push({event:'Purchase - Subscription', ecommerce:{transaction_id:'SUB-2', value: 29, currency:'USD'}});`, true},
		{"addTransaction", `dataLayer.push({event:'addTransaction', transactionId:'T-1', transactionTotal: 29});`, true},
		{"subscribe", `dataLayer.push({event:'subscribe', ecommerce:{transaction_id:'SUB-3', value: 29, currency:'USD'}});`, false},
		{"purchase_returned", `dataLayer.push({event:'purchase_returned', ecommerce:{transaction_id:'R-1', value: 29, currency:'USD'}});`, false},
	} {
		page := "<html><body><script>" + tt.push + "</script></body></html>"
		if _, ok := Extract([]byte(page)); ok != tt.order {
			t.Errorf("%s: an order %v, want %v", tt.name, ok, tt.order)
		}
	}
}
