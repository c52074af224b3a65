package integration

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/storeedge/caddy-katalys/storage"
	"github.com/storeedge/caddy-katalys/tracking"
)

// thankYouUpstream serves fixture pages by path; paths in gzipped are
// sent gzip-compressed whatever the request accepts, as a store behind a
// compressing CDN or plugin does.
func thankYouUpstream(t *testing.T, pages map[string]string, gzipped map[string]bool) string {
	t.Helper()
	return hostPort(startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		body := []byte(page)
		if gzipped[r.URL.Path] {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			_, _ = zw.Write(body)
			_ = zw.Close()
			body = b.Bytes()
			w.Header().Set("Content-Encoding", "gzip")
		}
		_, _ = w.Write(body)
	})))
}

const (
	snippetStart = `<script>window._revoffers_track=window._revoffers_track||{};_revoffers_track.site_id=`
	convertOpen  = `<script type="application/json" id="katalys-convert">`
)

// servedThankYou checks that a served thank-you page is the upstream page
// with the plugin's markup right before its </body>, and returns the
// convert call added there, nil when none was.
func servedThankYou(t *testing.T, label, original string, served []byte) map[string]any {
	t.Helper()
	body := string(served)
	start := strings.Index(body, snippetStart)
	end := strings.LastIndex(body, "</body>")
	if start < 0 || end < start || strings.Count(body, snippetStart) != 1 {
		t.Fatalf("%s: the snippet is not in the page exactly once before </body>:\n%s", label, body)
	}
	if got := body[:start] + body[end:]; got != original {
		t.Fatalf("%s: the page around the inserted markup differs from the upstream page", label)
	}
	inserted := body[start:end]
	if n := strings.Count(body, convertOpen); n > 1 {
		t.Fatalf("%s: %d convert calls added", label, n)
	}
	i := strings.Index(inserted, convertOpen)
	if i < 0 {
		return nil
	}
	payload, _, ok := strings.Cut(inserted[i+len(convertOpen):], "</script>")
	if !ok {
		t.Fatalf("%s: unterminated convert block: %s", label, inserted)
	}
	var call map[string]any
	if err := json.Unmarshal([]byte(payload), &call); err != nil {
		t.Fatalf("%s: convert block is not JSON: %v\n%s", label, err, payload)
	}
	return call
}

// storedOrders opens the store directory (Caddy must have exited) and
// returns the orders of bucket by id.
func storedOrders(t *testing.T, dir, bucket string) map[string]storage.Order {
	t.Helper()
	orders := map[string]storage.Order{}
	withStore(t, dir, func(st *storage.Store) error {
		return st.Orders(bucket, func(o storage.Order) error { orders[o.ID] = o; return nil })
	})
	return orders
}

// TestThankYouOrders: thank-you pages of several platforms, identity and
// gzip, stream through unchanged but for the snippet and, where the page
// has no Katalys conversion of its own, one convert call; each order is
// stored once in its bucket however often its page is reloaded, with the
// visit it came from; pages with no order, or off the thank-you paths,
// store nothing.
func TestThankYouOrders(t *testing.T) {
	dir := t.TempDir()
	pages := map[string]string{
		"/checkout/onepage/success/":      readFixture(t, "01_ga4_datalayer_purchase_usd.html"),
		"/checkout/order-received/10482/": readFixture(t, "08_woocommerce_classic_markup_only_gbp.html"),
		"/en_US/order/thank-you":          readFixture(t, "04_jsonld_order_aud.html"),
		"/checkout/finish":                readFixture(t, "10_katalys_push_convert_usd.html"),
		"/checkout/order-received/30718/": readFixture(t, "11_katalys_preseeded_woo_blocks_cad.html"),
		"/checkout/order-received/48816/": readFixture(t, "13_no_order_woocommerce_verify_email.html"),
		"/blog/how-we-ship":               readFixture(t, "01_ga4_datalayer_purchase_usd.html"),
	}
	gzipped := map[string]bool{"/checkout/onepage/success/": true, "/checkout/order-received/10482/": true}
	upstream := thankYouUpstream(t, pages, gzipped)
	port := freePort(t)
	c := startCaddy(t, fmt.Sprintf(`{
	katalys {
		storage %s
		bucket %s
	}
}

http://127.0.0.1:%d {
	encode gzip
	katalys %s {
		order_prefix WEB-
	}
	reverse_proxy %s
}
`, dir, siteA, port, siteA, upstream))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	// A visitor lands, then reaches each thank-you page and reloads it twice.
	landing := fetch(t, newRequest(t, "GET", base+"/blog/how-we-ship?transaction_id=T-9&publisher_id=P-1"))
	vid := cookieValue(landing.header, tracking.VisitorCookie)
	sid := cookieValue(landing.header, tracking.SessionCookie)
	if vid == "" {
		t.Fatalf("no visitor cookie on the landing page: %q", landing.header.Values("Set-Cookie"))
	}
	cookie := tracking.VisitorCookie + "=" + vid + "; " + tracking.SessionCookie + "=" + sid
	// The order_id of the convert call added to each page; "" for none.
	// Pages that load the Katalys script already (10, 11 and 13, with site
	// ids of other buckets) are served untouched, but their orders are
	// still captured.
	wantConvert := map[string]string{
		"/checkout/onepage/success/":      "WEB-SWB-61870",
		"/checkout/order-received/10482/": "WEB-GC-10482",
		"/en_US/order/thank-you":          "WEB-GLN-77120",
		"/checkout/finish":                "", // pushes its own convert call
		"/checkout/order-received/30718/": "", // pre-seeded Katalys thank_you properties
		"/checkout/order-received/48816/": "", // no order
		"/blog/how-we-ship":               "", // not a thank-you path
	}
	untouched := map[string]bool{"/checkout/finish": true, "/checkout/order-received/30718/": true, "/checkout/order-received/48816/": true}
	for path, wantID := range wantConvert {
		for i := range 3 {
			for _, enc := range []string{"identity", "gzip"} {
				res := fetch(t, newRequest(t, "GET", base+path, "Cookie", cookie, "Accept-Encoding", enc,
					"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0"))
				label := fmt.Sprintf("%s view %d (%s)", path, i+1, enc)
				if res.status != 200 {
					t.Fatalf("%s: status %d", label, res.status)
				}
				body := decodeBody(t, res.header.Get("Content-Encoding"), res.body)
				if untouched[path] {
					if string(body) != pages[path] {
						t.Errorf("%s: a page that loads the Katalys script was changed", label)
					}
					continue
				}
				call := servedThankYou(t, label, pages[path], body)
				switch {
				case wantID == "" && call != nil:
					t.Errorf("%s: convert call added to a page that must not get one: %v", label, call)
				case wantID != "" && call == nil:
					t.Errorf("%s: no convert call added", label)
				case wantID != "" && (call["order_id"] != wantID || call["action"] != "convert" || call["action_type"] != "online-sale"):
					t.Errorf("%s: convert call %v, want order_id %s", label, call, wantID)
				}
			}
		}
	}
	stopCaddy(t, c)

	orders := storedOrders(t, dir, siteA)
	ids := make([]string, 0, len(orders))
	for id := range orders {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	want := []string{"WEB-30718", "WEB-73158", "WEB-GC-10482", "WEB-GLN-77120", "WEB-SWB-61870"}
	if !slices.Equal(ids, want) {
		t.Fatalf("stored orders %q, want %q (one per thank-you page with an order, however often viewed)", ids, want)
	}
	o := orders["WEB-SWB-61870"]
	if o.Total == nil || *o.Total != 164.84 || o.Currency != "USD" || len(o.Items) != 3 || o.Email != "rosa.quintero@example.com" {
		t.Errorf("order WEB-SWB-61870 = total %v %s, %d items, email %q", o.Total, o.Currency, len(o.Items), o.Email)
	}
	session, _, _ := strings.Cut(sid, ".") // the cookie is "<session id>.<last seen>"
	if o.Visitor != vid || o.Session != session || o.ClientIP != "127.0.0.1" || !strings.Contains(o.UserAgent, "Firefox") || o.Source == "" || o.URL != "/checkout/onepage/success/" {
		t.Errorf("order WEB-SWB-61870 visit = visitor %q session %q ip %q ua %q source %q url %q; want visitor %q session %q",
			o.Visitor, o.Session, o.ClientIP, o.UserAgent, o.Source, o.URL, vid, session)
	}
	if g := orders["WEB-GC-10482"]; g.Currency != "GBP" || g.Total == nil || *g.Total != 86.37 {
		t.Errorf("gzip upstream order WEB-GC-10482 = %v %s", g.Total, g.Currency)
	}
	if n := strings.Count(c.output.String(), `"order captured"`); n != len(want) {
		t.Errorf("%d \"order captured\" log lines, want one per order (%d)", n, len(want))
	}
}

// TestBotViewOfThankYouPage: a link preview (or crawler, or monitor) that
// loads a thank-you page before the customer does stores no order and gets
// no convert call; the customer's own view then stores the order with the
// customer's visit, so it is credited to their click.
func TestBotViewOfThankYouPage(t *testing.T) {
	c, dir, base, path, pages, vid := clickedWooSite(t)

	bot := fetch(t, newRequest(t, "GET", base+path, "User-Agent", "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"))
	if call := servedThankYou(t, "bot view", pages[path], decodeBody(t, bot.header.Get("Content-Encoding"), bot.body)); call != nil {
		t.Errorf("bot view: convert call added: %v", call)
	}
	customer := fetch(t, newRequest(t, "GET", base+path, "User-Agent", browserUA, "Cookie", tracking.VisitorCookie+"="+vid))
	if call := servedThankYou(t, "customer view", pages[path], decodeBody(t, customer.header.Get("Content-Encoding"), customer.body)); call == nil || call["order_id"] != "GC-10482" {
		t.Errorf("customer view: convert call %v, want one for GC-10482", call)
	}
	stopCaddy(t, c)
	o, ok := storedOrders(t, dir, siteA)["GC-10482"]
	if !ok || o.Visitor != vid || !strings.Contains(o.UserAgent, "Firefox") {
		t.Fatalf("order GC-10482 stored %v with visitor %q, user agent %q; want the customer's visit (%s)", ok, o.Visitor, o.UserAgent, vid)
	}
}

// TestFetchedThankYouPage: a store whose pages load through Turbo (Hotwire)
// fetches the thank-you page (Sec-Fetch-Dest: empty) instead of navigating
// to it. The page gets nothing added, as every fetch, but its order is
// stored, with the visit of the cookie that came with the fetch.
func TestFetchedThankYouPage(t *testing.T) {
	c, dir, base, path, pages, vid := clickedWooSite(t)
	res := fetch(t, newRequest(t, "GET", base+path, "User-Agent", browserUA, "Cookie", tracking.VisitorCookie+"="+vid,
		"Accept", "text/vnd.turbo-stream.html, text/html, application/xhtml+xml", "Accept-Encoding", "gzip",
		"Sec-Fetch-Dest", "empty", "Sec-Fetch-Mode", "cors", "X-Turbo-Request-Id", "1"))
	if body := decodeBody(t, res.header.Get("Content-Encoding"), res.body); string(body) != pages[path] {
		t.Errorf("the fetched page was changed")
	}
	if len(res.header.Values("Set-Cookie")) != 0 {
		t.Errorf("cookies set on a fetch: %q", res.header.Values("Set-Cookie"))
	}
	stopCaddy(t, c)
	o, ok := storedOrders(t, dir, siteA)["GC-10482"]
	if !ok || o.Visitor != vid || o.Total == nil || *o.Total != 86.37 {
		t.Fatalf("order GC-10482 stored %v, visitor %q, total %v; want the fetch's visitor %s and 86.37", ok, o.Visitor, o.Total, vid)
	}
}

// TestPostedThankYouPage: a payment provider's form posts the customer
// back to the thank-you page (PayPal Standard with rm=2). The POST comes
// from another site, so it carries none of the visitor's SameSite=Lax
// cookies: the page gets its snippet and convert call and its order is
// stored (organic, with no visitor), and no cookie is set, which would
// replace the visitor's own. Before, the order was lost.
func TestPostedThankYouPage(t *testing.T) {
	c, dir, base, path, pages, _ := clickedWooSite(t)
	req := newRequest(t, "POST", base+path, "User-Agent", browserUA, "Content-Type", "application/x-www-form-urlencoded",
		"Accept", "text/html,application/xhtml+xml,*/*;q=0.8", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document",
		"Sec-Fetch-Site", "cross-site", "Origin", "https://www.paypal.example")
	req.Body = io.NopCloser(strings.NewReader("payment_status=Completed&txn_id=9XK1"))
	res := fetch(t, req)
	if call := servedThankYou(t, "posted view", pages[path], decodeBody(t, res.header.Get("Content-Encoding"), res.body)); call == nil || call["order_id"] != "GC-10482" {
		t.Errorf("posted view: convert call %v, want one for GC-10482", call)
	}
	if cookies := res.header.Values("Set-Cookie"); len(cookies) != 0 {
		t.Errorf("cookies set on the posted page, replacing the visitor's: %q", cookies)
	}
	stopCaddy(t, c)
	o, ok := storedOrders(t, dir, siteA)["GC-10482"]
	if !ok || o.Visitor != "" || o.Total == nil || *o.Total != 86.37 {
		t.Fatalf("order GC-10482 stored %v, visitor %q, total %v; want it stored, with no visitor, 86.37", ok, o.Visitor, o.Total)
	}
	for _, ev := range storedEvents(t, dir, siteA) {
		if ev.Type == "pageview" && strings.Contains(ev.Fields["url"], "order-received") {
			t.Errorf("the posted page was recorded as a page view: %+v", ev)
		}
	}
}

// TestBucketCurrency: a store that prints its Canadian dollars as "$" (the
// page names no currency) declares it on its bucket; its orders are kept
// and converted in CAD, not reported as US dollars, the Reporting
// Schema's default.
func TestBucketCurrency(t *testing.T) {
	dir := t.TempDir()
	path := "/checkout/order-received/10482/"
	page := strings.ReplaceAll(readFixture(t, "08_woocommerce_classic_markup_only_gbp.html"), "&pound;", "$")
	// The store's own Katalys push, which names no currency either.
	pushPath := "/checkout/order-received/73158/"
	upstream := thankYouUpstream(t, map[string]string{path: page, pushPath: readFixture(t, "10_katalys_push_convert_usd.html")}, nil)
	port := freePort(t)
	c := startCaddy(t, fmt.Sprintf(`{
	katalys {
		storage %s
		bucket %s {
			currency CAD
		}
	}
}

http://127.0.0.1:%d {
	katalys %s
	reverse_proxy %s
}
`, dir, siteA, port, siteA, upstream))
	res := fetch(t, newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d%s", port, path), "User-Agent", browserUA))
	if call := servedThankYou(t, "thank-you page", page, res.body); call == nil || call["currency"] != "CAD" || call["sale_amount"] != 86.37 {
		t.Errorf("convert call %v, want 86.37 CAD", call)
	}
	fetch(t, newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d%s", port, pushPath), "User-Agent", browserUA))
	stopCaddy(t, c)
	for _, id := range []string{"GC-10482", "73158"} {
		if o := storedOrders(t, dir, siteA)[id]; o.Currency != "CAD" {
			t.Errorf("order %s stored in %q, want CAD", id, o.Currency)
		}
	}
}

// TestPostedThankYouPageSameSite: a form on the store itself posts to
// the thank-you page; the POST carries the visitor's cookies, so the order
// keeps the visitor (and the click it earned), still with no cookie set
// and no page view. A payment provider's server calling the same URL (no
// Fetch Metadata, no text/html in Accept) is no page: it passes through
// and stores nothing.
func TestPostedThankYouPageSameSite(t *testing.T) {
	c, dir, base, path, pages, vid := clickedWooSite(t)
	callback := newRequest(t, "POST", base+path, "User-Agent", "PaymentProvider-Callback/2.0", "Accept", "*/*",
		"Content-Type", "application/x-www-form-urlencoded", "Accept-Encoding", "identity", "Accept-Language", "",
		"Sec-Fetch-Dest", "", "Sec-Fetch-Mode", "", "Sec-Fetch-Site", "", "Upgrade-Insecure-Requests", "")
	callback.Body = io.NopCloser(strings.NewReader("status=paid"))
	if res := fetch(t, callback); string(res.body) != pages[path] {
		t.Errorf("the server callback's answer was changed")
	}
	req := newRequest(t, "POST", base+path, "User-Agent", browserUA, "Content-Type", "application/x-www-form-urlencoded",
		"Accept", "text/html,*/*;q=0.8", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document",
		"Sec-Fetch-Site", "same-origin", "Cookie", tracking.VisitorCookie+"="+vid)
	req.Body = io.NopCloser(strings.NewReader("confirm=1"))
	res := fetch(t, req)
	if call := servedThankYou(t, "posted view", pages[path], decodeBody(t, res.header.Get("Content-Encoding"), res.body)); call == nil {
		t.Errorf("posted view: no convert call")
	}
	if cookies := res.header.Values("Set-Cookie"); len(cookies) != 0 {
		t.Errorf("cookies set on the posted page: %q", cookies)
	}
	stopCaddy(t, c)
	if o, ok := storedOrders(t, dir, siteA)["GC-10482"]; !ok || o.Visitor != vid || !strings.Contains(o.UserAgent, "Firefox") {
		t.Fatalf("order GC-10482 stored %v with visitor %q, user agent %q; want the posting visitor %s", ok, o.Visitor, o.UserAgent, vid)
	}
}

// browserUA is a desktop browser's user agent: recorded, not a bot.
const browserUA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0"

// clickedWooSite starts Caddy with the plugin (encode gzip, a store in
// dir) before an upstream that serves the shared WooCommerce thank-you
// fixture, uncompressed, at path, and lands a browser on the store with
// an affiliate click. It returns the visitor id of that landing.
func clickedWooSite(t *testing.T) (c *caddyServer, dir, base, path string, pages map[string]string, vid string) {
	t.Helper()
	dir = t.TempDir()
	path = "/checkout/order-received/10482/"
	pages = map[string]string{path: readFixture(t, "08_woocommerce_classic_markup_only_gbp.html"), "/": "<html><body><h1>Shop</h1></body></html>"}
	upstream := thankYouUpstream(t, pages, nil) // uncompressed, as the plugin asks
	port := freePort(t)
	c = startCaddy(t, fmt.Sprintf(`{
	katalys {
		storage %s
		bucket %s
	}
}

http://127.0.0.1:%d {
	encode gzip
	katalys %s
	reverse_proxy %s
}
`, dir, siteA, port, siteA, upstream))
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	landing := fetch(t, newRequest(t, "GET", base+"/?transaction_id=TX-1&publisher_id=P-1", "User-Agent", browserUA))
	if vid = cookieValue(landing.header, tracking.VisitorCookie); vid == "" {
		t.Fatal("no visitor cookie on the landing page")
	}
	return c, dir, base, path, pages, vid
}
