package module

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/storeedge/caddy-katalys/capture"
	"github.com/storeedge/caddy-katalys/storage"
)

// provisionHandler provisions h the way Caddy does, in a config whose
// katalys app is testApp.
func provisionHandler(t *testing.T, h *Handler) error {
	t.Helper()
	raw, err := json.Marshal(testApp)
	if err != nil {
		return err
	}
	ctx, err := caddy.ProvisionContext(&caddy.Config{AppsRaw: caddy.ModuleMap{"katalys": raw}})
	if err != nil {
		return err
	}
	if err := h.Provision(ctx); err != nil {
		return err
	}
	return h.Validate()
}

func TestIsThankYou(t *testing.T) {
	h := provision(t, testApp, "KA-1", "")
	tests := []struct {
		target string
		want   bool
	}{
		{"/checkout/order-received/10482/?key=wc_order_abc", true}, // WooCommerce
		{"/kasse/order-received/10482/", true},                     // WooCommerce, German checkout slug
		{"/checkout/onepage/success/", true},                       // Magento
		{"/Checkout/Onepage/Success", true},                        // any case
		{"/order-confirmation?id_cart=4&id_order=7&key=x", true},   // PrestaShop
		{"/index.php?controller=order-confirmation&id_order=7", true},
		{"/checkout/order-confirmation/118", true},  // BigCommerce
		{"/checkout/finish?orderId=abc", true},      // Shopware 6
		{"/orders/R123456789?order_token=x", true},  // Solidus
		{"/checkout/success", true},                 // OpenCart SEO URLs
		{"/index.php?route=checkout/success", true}, // OpenCart
		{"/en_US/order/thank-you", true},            // Sylius
		{"/", false},
		{"/checkout/", false},
		{"/checkout/cart", false},
		{"/products/order-received-poster", false},
		{"/index.php?route=product/product&product_id=42", false},
	}
	for _, tt := range tests {
		if got := h.isThankYou(request("GET", tt.target, nil)); got != tt.want {
			t.Errorf("isThankYou(%s) = %v, want %v", tt.target, got, tt.want)
		}
	}
}

func TestThankYouOption(t *testing.T) {
	h := &Handler{SiteID: "KA-1", ThankYou: []string{"/danke/*", "*/merci"}}
	if err := provisionHandler(t, h); err != nil {
		t.Fatal(err)
	}
	for target, want := range map[string]bool{"/danke/42": true, "/fr/merci": true, "/checkout/onepage/success": true, "/danke": false} {
		if got := h.isThankYou(request("GET", target, nil)); got != want {
			t.Errorf("with thank_you: isThankYou(%s) = %v, want %v", target, got, want)
		}
	}
}

func TestOnlyClosingTags(t *testing.T) {
	for tail, want := range map[string]bool{
		"":                             true,
		"</body>\n</html>\n":           true,
		" </BODY></Html> ":             true,
		"</body><script>x()</script>":  false,
		"</body>\n<!-- c -->\n</html>": false,
		"<p>":                          false,
	} {
		if got := onlyClosingTags([]byte(tail)); got != want {
			t.Errorf("onlyClosingTags(%q) = %v, want %v", tail, got, want)
		}
	}
}

// TestThankYouPageGetsOneConvertCall: through the handler alone, a
// thank-you page whose order is read before </body> gets the convert call
// right after the snippet; convert off, a page with no order and a page
// off the thank-you paths get none.
func TestThankYouPageGetsOneConvertCall(t *testing.T) {
	page := `<html><body><h1>Thanks</h1><script>dataLayer.push({event:"purchase",ecommerce:{transaction_id:"A-1",value:12.5,currency:"EUR",items:[{item_id:"S1",item_name:"Mug",price:12.5,quantity:1}]}});</script></body></html>`
	next := upstream{header: header("Content-Type", "text/html"), body: []byte(page), chunk: 7}
	tests := []struct {
		name, target, convert, prefix, body string
		want                                string // in the served page after the snippet; "" for no convert call
	}{
		{"auto", "/checkout/order-received/1/", "", "", page, `"order_id":"A-1"`},
		{"prefix", "/checkout/order-received/1/", "", "EU-", page, `"order_id":"EU-A-1"`},
		{"off", "/checkout/order-received/1/", ConvertOff, "", page, ""},
		{"not thank-you", "/blog/1", "", "", page, ""},
		{"no order", "/checkout/order-received/1/", "", "", `<html><body><p>Check your email.</p></body></html>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &Handler{SiteID: "KA-1", Convert: tt.convert, OrderPrefix: tt.prefix}
			if err := provisionHandler(t, h); err != nil {
				t.Fatal(err)
			}
			n := next
			n.body = []byte(tt.body)
			res := through(t, h, request("GET", tt.target, nil), n)
			body := string(res.body)
			if strings.Count(body, "_revoffers_track.site_id") != 1 {
				t.Fatalf("snippet not in the page once: %s", body)
			}
			blocks := strings.Count(body, `id="katalys-convert"`)
			switch {
			case tt.want == "" && blocks != 0:
				t.Errorf("convert call added: %s", body)
			case tt.want != "" && (blocks != 1 || !strings.Contains(body, tt.want)):
				t.Errorf("want one convert call with %s: %s", tt.want, body)
			case tt.want != "" && !strings.HasSuffix(body, `</script></body></html>`):
				t.Errorf("convert call not right before </body>: %s", body)
			}
			if res.status != http.StatusOK {
				t.Errorf("status %d", res.status)
			}
		})
	}
}

// BenchmarkIsThankYou is what every page request off the thank-you paths
// pays for order capture: matching its path (and query) against the
// thank-you patterns.
func BenchmarkIsThankYou(b *testing.B) {
	h := &Handler{SiteID: "KA-1"}
	if err := provisionHandlerB(b, h); err != nil {
		b.Fatal(err)
	}
	for _, target := range []string{"/product/merino-sweater/?utm_source=news", "/checkout/order-received/1042/?key=wc_order_x"} {
		r := request("GET", target, nil)
		b.Run(strings.SplitN(target[1:], "/", 2)[0], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h.isThankYou(r)
			}
		})
	}
}

func provisionHandlerB(b *testing.B, h *Handler) error {
	ctx, err := caddy.ProvisionContext(&caddy.Config{})
	if err != nil {
		return err
	}
	return h.Provision(ctx)
}

// TestPathPatternsMatchCaddy: the compiled thank-you patterns match
// exactly what Caddy's path matcher matches, for the built-in patterns
// and the shapes users write.
func TestPathPatternsMatchCaddy(t *testing.T) {
	patterns := append(append([]string{}, ThankYouPaths...), "/danke", "/fr/merci*", "*/thanks", "/shop/*/done")
	ctx, err := caddy.ProvisionContext(&caddy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"/", "/danke", "/Danke", "/danke/1", "/fr/merci/2", "/x/thanks", "/shop/a/done", "/shop/a/b/done",
		"/checkout/order-received/1/", "/kasse/Order-Received/2", "/checkout/onepage/success", "/checkout/x/complete",
		"/checkout/x/y/complete", "/en_US/order/thank-you", "/orders/R1", "/orders", "/order-confirmation", "/p/x"}
	compiled := compilePaths(patterns)
	for _, pat := range patterns {
		m := caddyhttp.MatchPath{pat}
		if err := m.Provision(ctx); err != nil {
			t.Fatal(err)
		}
		one := compilePaths([]string{pat})
		for _, p := range paths {
			want, _ := m.MatchWithError(request("GET", p, nil))
			if got := one.match(p); got != want {
				t.Errorf("pattern %q, path %q: %v, Caddy's path matcher says %v", pat, p, got, want)
			}
		}
	}
	if !compiled.match("/checkout/order-received/7/") || compiled.match("/product/x") {
		t.Error("the compiled list does not match as its patterns do")
	}
}

// TestOrderKeptWhenThePageIsCutShort: when the response fails after the
// snippet went in (the upstream broke, the client went away), the order
// read there is still taken.
func TestOrderKeptWhenThePageIsCutShort(t *testing.T) {
	page := `<html><body><script>dataLayer.push({event:"purchase",ecommerce:{transaction_id:"CUT-1",value:9.5,currency:"EUR"}});</script></body>` +
		strings.Repeat("<!-- more -->", 200)
	h := &Handler{SiteID: "KA-1"}
	if err := provisionHandler(t, h); err != nil {
		t.Fatal(err)
	}
	orders := metrics.thankYouPages.WithLabelValues("order")
	before := counter(t, orders)
	next := upstream{header: header("Content-Type", "text/html"), body: []byte(page), chunk: 512, err: errors.New("upstream went away")}
	rec := httptest.NewRecorder()
	if err := h.ServeHTTP(rec, request("GET", "/checkout/order-received/1/", nil), next); err == nil {
		t.Fatal("the upstream's error was not returned")
	}
	if got := counter(t, orders) - before; got != 1 {
		t.Errorf("thank-you pages with an order: +%v, want +1 (the order read before the failure)", got)
	}
}

// TestNoTransformThankYouPageKeepsItsOrder: a thank-you page that forbids
// changes (Cache-Control: no-transform) goes out exactly as it came, with
// its header but for its Content-Length (its end waits for its order to be
// stored), and its order is read all the same, through Write and through
// ReadFrom.
func TestNoTransformThankYouPageKeepsItsOrder(t *testing.T) {
	page := `<html><body><script>dataLayer.push({event:"purchase",ecommerce:{transaction_id:"NT-1",value:71,currency:"EUR"}});</script></body></html>`
	h := &Handler{SiteID: "KA-1"}
	if err := provisionHandler(t, h); err != nil {
		t.Fatal(err)
	}
	orders := metrics.thankYouPages.WithLabelValues("order")
	for _, readFrom := range []bool{false, true} {
		up := upstream{status: 200, header: header("Content-Type", "text/html", "Cache-Control", "private, no-transform",
			"Content-Length", fmt.Sprint(len(page))), body: []byte(page), readFrom: readFrom}
		before := counter(t, orders)
		want := direct(t, request("GET", "/checkout/order-received/1/", nil), up)
		want.header.Del("Content-Length")
		got := through(t, h, request("GET", "/checkout/order-received/1/", nil), up)
		if got.status != want.status || !equalHeader(got.header, want.header) || !bytes.Equal(got.body, want.body) {
			t.Errorf("readFrom %v: response changed\n got: %v\nwant: %v", readFrom, got, want)
		}
		if d := counter(t, orders) - before; d != 1 {
			t.Errorf("readFrom %v: thank-you pages with an order +%v, want +1", readFrom, d)
		}
	}
}

// TestThankYouPagePastTheLimit: a thank-you page longer than capture_limit
// counts as truncated, with its order read from the part kept, or without
// one when the order comes after the limit, where counting it no_order
// would hide the lost order.
func TestThankYouPagePastTheLimit(t *testing.T) {
	order := `<script>dataLayer.push({event:"purchase",ecommerce:{transaction_id:"BIG-1",value:9.5,currency:"EUR"}});</script>`
	pad := "<p>" + strings.Repeat("x", 4096) + "</p>"
	h := &Handler{SiteID: "KA-1", CaptureLimit: 2048}
	if err := provisionHandler(t, h); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, page, result string }{
		{"order first", "<html><body>" + order + pad + "</body></html>", "truncated"},
		{"order past the limit", "<html><body>" + pad + order + "</body></html>", "truncated"},
		{"no order", "<html><body>" + pad + "</body></html>", "truncated"},
		{"short, no order", "<html><body><p>Check your email.</p></body></html>", "no_order"},
	} {
		before := map[string]float64{}
		for _, r := range []string{"order", "no_order", "truncated"} {
			before[r] = counter(t, metrics.thankYouPages.WithLabelValues(r))
		}
		through(t, h, request("GET", "/checkout/order-received/1/", nil), upstream{status: 200, header: htmlHeader, body: []byte(tt.page)})
		for r, b := range before {
			want := 0.0
			if r == tt.result {
				want = 1
			}
			if d := counter(t, metrics.thankYouPages.WithLabelValues(r)) - b; d != want {
				t.Errorf("%s: thank_you_pages_total{result=%q} +%v, want +%v", tt.name, r, d, want)
			}
		}
	}
}

// TestConvertCallOnlyForRecentOrders: as Katalys's WooCommerce plugin
// does, a thank-you page gets the convert call while its order is less than
// 5 days old; a customer opening the order's link weeks later does not
// convert again.
func TestConvertCallOnlyForRecentOrders(t *testing.T) {
	app := appWith(t, t.TempDir(), DeliverOff, adminBuckets)
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unload(app) })
	h := &Handler{SiteID: "KA-1"}
	if err := provisionHandler(t, h); err != nil {
		t.Fatal(err)
	}
	h.app = app // the started app, with its store
	for id, age := range map[string]time.Duration{"OLD-1": 6 * 24 * time.Hour, "DAY-1": 24 * time.Hour} {
		o := storage.Order{Bucket: "KA-1", Order: capture.Order{ID: id, Total: capture.Money(12.5)}, Time: time.Now().Add(-age)}
		if _, _, err := app.Store().PutOrder(o); err != nil {
			t.Fatal(err)
		}
	}
	view := func(id string) bool {
		page := `<html><body><script>dataLayer.push({event:"purchase",ecommerce:{transaction_id:"` + id + `",value:12.5,currency:"EUR"}});</script></body></html>`
		req := request("GET", "/checkout/order-received/1/", header("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0"))
		res := through(t, h, req, upstream{status: 200, header: htmlHeader, body: []byte(page)})
		return strings.Contains(string(res.body), `id="katalys-convert"`)
	}
	// The page never waits on the store: the first view of an order this
	// handler has not seen gets the call; storing that view (a repeat of
	// the stored order) brings the stored order's time into memory.
	for _, id := range []string{"OLD-1", "DAY-1", "NEW-1"} {
		if !view(id) {
			t.Errorf("order %s, first view: no convert call", id)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, ok := h.orders.placed("KA-1\x00OLD-1"); !ok && time.Now().Before(deadline); _, ok = h.orders.placed("KA-1\x00OLD-1") {
		time.Sleep(10 * time.Millisecond)
	}
	for id, want := range map[string]bool{"OLD-1": false, "DAY-1": true, "NEW-1": true} {
		if got := view(id); got != want {
			t.Errorf("order %s, a later view: convert call %v, want %v", id, got, want)
		}
	}
}

// TestThankYouPageEndsAfterItsOrder: a thank-you page whose body goes out
// as the upstream sent it (it loads the Katalys script already, or forbids
// changes, or a script fetched it) loses its Content-Length, so that its
// end waits for its order to be stored; its bytes are the upstream's.
func TestThankYouPageEndsAfterItsOrder(t *testing.T) {
	page := `<html><head><script src="https://db.revoffers.com/js/KA-1.js" async></script></head><body>` +
		`<script>dataLayer.push({event:"purchase",ecommerce:{transaction_id:"EX-1",value:71,currency:"EUR"}});</script></body></html>`
	h := &Handler{SiteID: "KA-1"}
	if err := provisionHandler(t, h); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		extra []string
		req   http.Header
	}{
		{"loads the script already", nil, nil},
		{"no-transform", []string{"Cache-Control", "no-transform"}, nil},
		{"fetched by a script", nil, header("Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty", "Accept", "text/html, application/xhtml+xml")},
	} {
		up := upstream{status: 200, header: header(append([]string{"Content-Type", "text/html", "Content-Length", fmt.Sprint(len(page))}, tc.extra...)...),
			body: []byte(page)}
		got := through(t, h, request("GET", "/checkout/order-received/1/", tc.req), up)
		if got.header.Get("Content-Length") != "" || string(got.body) != page {
			t.Errorf("%s: Content-Length %q, body unchanged %v; want no length and the same body",
				tc.name, got.header.Get("Content-Length"), string(got.body) == page)
		}
	}
}
