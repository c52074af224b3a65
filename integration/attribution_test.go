package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/storeedge/caddy-katalys/storage"
	"github.com/storeedge/caddy-katalys/tracking"
)

// orderPage is a thank-you page printing order id for total (USD) with a
// GA4 purchase push.
func orderPage(id string, total float64) string {
	return fmt.Sprintf(`<!DOCTYPE html>
<html><head><title>Order received</title></head>
<body><h1>Thank you! Order %[1]s is confirmed.</h1>
<script>
window.dataLayer = window.dataLayer || [];
dataLayer.push({event: "purchase", ecommerce: {transaction_id: "%[1]s", value: %.2[2]f, currency: "USD",
  items: [{item_id: "SKU-1", item_name: "Trail shoe", price: %.2[2]f, quantity: 1}]}});
</script>
</body></html>
`, id, total)
}

// shopUpstream serves a small shop: any path under /checkout/order-received/<id>/
// is the thank-you page of order <id> (for 100.00 USD), /katalys-stub.js the
// stand-in tracking script, anything else a product page.
func shopUpstream(t *testing.T) string {
	t.Helper()
	return hostPort(startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/katalys-stub.js":
			w.Header().Set("Content-Type", "application/javascript")
			_, _ = io.WriteString(w, convertStub)
			return
		case r.URL.Path == "/favicon.ico":
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if id, ok := strings.CutPrefix(r.URL.Path, "/checkout/order-received/"); ok {
			_, _ = io.WriteString(w, orderPage(strings.Trim(id, "/"), 100))
			return
		}
		fmt.Fprintf(w, "<!DOCTYPE html><html><head><title>%s</title></head><body><h1>%s</h1></body></html>", r.URL.Path, r.URL.Path)
	})))
}

// admin calls the admin API of c and decodes its JSON answer into out
// (when not nil); it returns the status.
func admin(t *testing.T, c *caddyServer, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+c.adminAddr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, raw)
		}
	}
	if resp.StatusCode >= 300 {
		t.Logf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode
}

// attributionJSON is an attribution as the admin API returns it.
type attributionJSON struct {
	OrderID       string            `json:"order_id"`
	Status        string            `json:"status"`
	Model         string            `json:"model"`
	PublisherID   string            `json:"publisher_id"`
	OfferID       string            `json:"offer_id"`
	TransactionID string            `json:"transaction_id"`
	Subs          map[string]string `json:"subs"`
	TouchTime     *time.Time        `json:"touch_time"`
	DaysFromClick *float64          `json:"days_from_click"`
	Credit        float64           `json:"credit"`
	Why           struct {
		Rule       string `json:"rule"`
		Candidates []struct {
			PublisherID string  `json:"publisher_id"`
			Chosen      bool    `json:"chosen"`
			Credit      float64 `json:"credit"`
		} `json:"candidates"`
	} `json:"why"`
}

// attributionOf returns the attribution of order in bucket from the admin
// API. Orders are stored and attributed just after their page is served,
// off the request, so it waits a little for one that is not there yet.
func attributionOf(t *testing.T, c *caddyServer, bucket, order string) attributionJSON {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var res struct {
			Attributions []attributionJSON `json:"attributions"`
		}
		if status := admin(t, c, "GET", "/katalys/buckets/"+bucket+"/attribution", "", &res); status != 200 {
			t.Fatalf("attribution of %s: status %d", bucket, status)
		}
		for _, a := range res.Attributions {
			if a.OrderID == order {
				return a
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no attribution of order %s in %s: %+v", order, bucket, res.Attributions)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAttributionJourneyInChromium: a real Chromium arrives through an
// affiliate link, browses, and reaches the thank-you page; the admin API
// then shows that order approved for that publisher and click; the report
// page, screenshot in Chromium, holds its charts and the order.
func TestAttributionJourneyInChromium(t *testing.T) {
	browser := newBrowser(t)
	dir := t.TempDir()
	port := freePort(t)
	c := startCaddy(t, fmt.Sprintf(`{
	katalys {
		storage %s
		bucket %s
	}
}

http://127.0.0.1:%d {
	katalys %s {
		script_src /katalys-stub.js
	}
	reverse_proxy %s
}
`, dir, siteA, port, siteA, shopUpstream(t)))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	tb := openTab(t, browser)
	const ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	if _, err := chromedp.Call(tb.ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua}); err != nil {
		t.Fatalf("overriding the user agent: %v", err)
	}
	tb.navigate(t, base+"/?transaction_id=TX-7781&offer_id=OF-12&publisher_id=PUB-42&sub1=spring")
	tb.navigate(t, base+"/product/trail-shoe/")
	tb.navigate(t, base+"/checkout/order-received/J-5001/")
	// The convert call ran in the page.
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`JSON.stringify(window.__katalys_pushes || [])`))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(raw, `"order_id":"J-5001"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no convert call pushed on the thank-you page: %s; console %q", raw, tb.allLogs())
		}
		time.Sleep(50 * time.Millisecond)
	}

	a := attributionOf(t, c, siteA, "J-5001")
	if a.Status != "approved" || a.PublisherID != "PUB-42" || a.TransactionID != "TX-7781" || a.OfferID != "OF-12" ||
		a.Subs["sub1"] != "spring" || a.Credit != 1 || a.Model != "last_touch" || a.TouchTime == nil {
		t.Errorf("attribution of J-5001 = %+v; want approved to PUB-42, click TX-7781, offer OF-12, sub1 spring", a)
	}
	var orders struct {
		Orders []struct {
			OrderID string   `json:"order_id"`
			Total   *float64 `json:"total"`
			Visitor string   `json:"visitor"`
		} `json:"orders"`
	}
	if admin(t, c, "GET", "/katalys/buckets/"+siteA+"/orders", "", &orders) != 200 || len(orders.Orders) != 1 ||
		orders.Orders[0].OrderID != "J-5001" || orders.Orders[0].Visitor == "" {
		t.Errorf("orders = %+v; want J-5001 with its visitor", orders.Orders)
	}

	// The report page: saved with `caddy katalys report --html` (browsers
	// may not open Caddy's admin endpoint themselves) and opened in the
	// browser as a file, offline.
	page := filepath.Join(t.TempDir(), "report.html")
	cmd := exec.Command(caddyBin, "katalys", "report", siteA, "--address", c.adminAddr, "--html", page)
	cmd.Dir, cmd.Env = c.dir, c.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("caddy katalys report --html: %v\n%s", err, out)
	}
	report := openTab(t, browser)
	report.navigate(t, "file://"+page)
	charts, err := chromedp.Run(report.ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("svg[id^=chart-]")).map(e => e.id).join(",")`))
	if err != nil {
		t.Fatalf("reading the report page: %v", err)
	}
	text, err := chromedp.Run(report.ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatalf("reading the report page: %v", err)
	}
	for _, id := range []string{"chart-daily", "chart-share", "chart-lag"} {
		if !strings.Contains(charts, id) {
			t.Errorf("report page lacks chart %s (charts: %q)", id, charts)
		}
	}
	for _, s := range []string{"J-5001", "PUB-42", "approved"} {
		if !strings.Contains(text, s) {
			t.Errorf("report page text lacks %q", s)
		}
	}
	shot, err := chromedp.Run(report.ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	checkScreenshot(t, shot)
	if err := os.WriteFile(filepath.Join(t.TempDir(), "report.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	// The CLI's tables, too.
	cmd = exec.Command(caddyBin, "katalys", "orders", siteA, "--address", c.adminAddr)
	cmd.Dir, cmd.Env = c.dir, c.env
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "J-5001") {
		t.Errorf("caddy katalys orders: %v\n%s", err, out)
	}
}

// checkScreenshot checks that a screenshot is a real rendering: a PNG of
// some size with many colours (charts), not a blank page.
func checkScreenshot(t *testing.T, shot []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	b := img.Bounds()
	if b.Dx() < 400 || b.Dy() < 300 {
		t.Fatalf("screenshot is %dx%d", b.Dx(), b.Dy())
	}
	colours := map[uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[r>>12<<8|g>>12<<4|bl>>12] = true
		}
	}
	if len(colours) < 8 {
		t.Errorf("screenshot has %d colours: a blank page?", len(colours))
	}
}

// seedClicks writes click events into the store in dir before Caddy opens it.
func seedClicks(t *testing.T, dir string, evs ...storage.Event) {
	t.Helper()
	withStore(t, dir, func(st *storage.Store) error { return st.Write(context.Background(), evs) })
}

func click(bucket, visitor string, at time.Time, kv ...string) storage.Event {
	f := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = kv[i+1]
	}
	return storage.Event{Bucket: bucket, Time: at, Type: "click", Visitor: visitor, Fields: f}
}

// TestAttributionRules: the rules of DESIGN §4.5 through real Caddy, the
// store and the admin API: a click 31 days old with window 30d leaves the
// order organic; one visitor cookie in two buckets never crosses; a refund
// within the refund window rejects; linear splits the credit; changing the
// model and re-attributing keeps the previous decision beside the new one.
func TestAttributionRules(t *testing.T) {
	const (
		bucketA = "KA-AAAAAAAAA1" // window 30d
		bucketB = "KA-BBBBBBBBB2"
		bucketL = "KA-LLLLLLLLL3" // linear
		vOld    = "0123456789abcdef0123456789abcdef"
		vBoth   = "fedcba9876543210fedcba9876543210"
		vLin    = "00112233445566778899aabbccddeeff"
	)
	dir := t.TempDir()
	now := time.Now()
	seedClicks(t, dir,
		click(bucketA, vOld, now.Add(-31*24*time.Hour), "transaction_id", "TX-OLD", "publisher_id", "PUB-OLD"),
		click(bucketB, vBoth, now.Add(-2*time.Hour), "transaction_id", "TX-B", "publisher_id", "PUB-B"),
		click(bucketL, vLin, now.Add(-48*time.Hour), "transaction_id", "TX-L1", "publisher_id", "PUB-1"),
		click(bucketL, vLin, now.Add(-24*time.Hour), "transaction_id", "TX-L2", "publisher_id", "PUB-2"),
	)
	portA, portB, portL := freePort(t), freePort(t), freePort(t)
	upstream := shopUpstream(t)
	config := func(modelA string) string {
		return fmt.Sprintf(`{
	katalys {
		storage %s
		bucket %s {
			window 30d
			model %s
		}
		bucket %s
		bucket %s {
			model linear
		}
	}
}

http://127.0.0.1:%d {
	katalys %s
	reverse_proxy %s
}

http://127.0.0.1:%d {
	katalys %s
	reverse_proxy %s
}

http://127.0.0.1:%d {
	katalys %s
	reverse_proxy %s
}
`, dir, bucketA, modelA, bucketB, bucketL, portA, bucketA, upstream, portB, bucketB, upstream, portL, bucketL, upstream)
	}
	c := startCaddy(t, config("last_touch"))
	buy := func(port int, visitor, order string) {
		t.Helper()
		res := fetch(t, newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/checkout/order-received/%s/", port, order),
			"Cookie", tracking.VisitorCookie+"="+visitor, "User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0"))
		if res.status != 200 {
			t.Fatalf("thank-you page of %s: status %d", order, res.status)
		}
	}
	buy(portA, vOld, "A-1")  // the only click is 31 days old
	buy(portA, vBoth, "A-2") // the visitor's click is in bucket B
	buy(portB, vBoth, "B-1")
	buy(portB, vBoth, "B-2")
	buy(portL, vLin, "L-1")

	if a := attributionOf(t, c, bucketA, "A-1"); a.Status != "organic" || a.PublisherID != "" || len(a.Why.Candidates) != 1 {
		t.Errorf("A-1 (click 31 days old, window 30d) = %+v; want organic, the old click among the candidates", a)
	}
	if a := attributionOf(t, c, bucketA, "A-2"); a.Status != "organic" || len(a.Why.Candidates) != 0 {
		t.Errorf("A-2 (click in another bucket) = %+v; want organic with no candidate", a)
	}
	if a := attributionOf(t, c, bucketB, "B-1"); a.Status != "approved" || a.PublisherID != "PUB-B" {
		t.Errorf("B-1 = %+v; want approved to PUB-B", a)
	}
	l := attributionOf(t, c, bucketL, "L-1")
	if l.Status != "approved" || l.Model != "linear" || len(l.Why.Candidates) != 2 ||
		l.Why.Candidates[0].Credit != 0.5 || l.Why.Candidates[1].Credit != 0.5 {
		t.Errorf("L-1 (linear, two clicks) = %+v; want the credit split 0.5 / 0.5", l)
	}

	// A refund within the refund window rejects; the other order stands.
	var changed struct {
		Attribution attributionJSON `json:"attribution"`
	}
	if status := admin(t, c, "POST", "/katalys/buckets/"+bucketB+"/orders/B-1/status", `{"status":"refunded"}`, &changed); status != 200 {
		t.Fatalf("refund: status %d", status)
	}
	if changed.Attribution.Status != "rejected" || attributionOf(t, c, bucketB, "B-1").Status != "rejected" {
		t.Errorf("B-1 after a refund = %+v; want rejected", changed.Attribution)
	}
	if a := attributionOf(t, c, bucketB, "B-2"); a.Status != "approved" {
		t.Errorf("B-2 = %s; want approved", a.Status)
	}
	if status := admin(t, c, "POST", "/katalys/buckets/"+bucketB+"/orders/B-1/status", `{"status":"lost"}`, nil); status != 400 {
		t.Errorf("unknown status: %d, want 400", status)
	}
	if status := admin(t, c, "POST", "/katalys/buckets/"+bucketB+"/orders/NOPE/status", `{"status":"paid"}`, nil); status != 404 {
		t.Errorf("unknown order: %d, want 404", status)
	}

	// Change bucket A's model and window and re-attribute: the new decision
	// is stored, and the previous one kept beside it.
	c.reload(t, strings.Replace(config("first_touch"), "window 30d", "window 45d", 1))
	var re struct {
		Reattributed int `json:"reattributed"`
	}
	if status := admin(t, c, "POST", "/katalys/buckets/"+bucketA+"/reattribute", "", &re); status != 200 || re.Reattributed != 2 {
		t.Fatalf("reattribute: status %d, %+v; want 2 orders", status, re)
	}
	a := attributionOf(t, c, bucketA, "A-1")
	if a.Status != "approved" || a.PublisherID != "PUB-OLD" || a.Model != "first_touch" {
		t.Errorf("A-1 after window 45d, first_touch = %+v; want approved to PUB-OLD", a)
	}
	var full struct {
		Attributions []struct {
			OrderID string            `json:"order_id"`
			History []attributionJSON `json:"history"`
		} `json:"attributions"`
	}
	admin(t, c, "GET", "/katalys/buckets/"+bucketA+"/attribution?history=1", "", &full)
	for _, f := range full.Attributions {
		if f.OrderID == "A-1" && (len(f.History) != 1 || f.History[0].Status != "organic" || f.History[0].Model != "last_touch") {
			t.Errorf("A-1 history = %+v; want the previous organic last_touch decision", f.History)
		}
	}
}

// followLink clicks, in the tab's page, a link to href (a path on the same
// origin, so the browser sends Sec-Fetch-Site: same-origin) and waits
// until that page has loaded.
func (tb *tab) followLink(t *testing.T, href string) {
	t.Helper()
	click := fmt.Sprintf(`(() => { const a = document.createElement("a"); a.href = %q; a.textContent = "go";
document.body.append(a); a.click(); return true })()`, href)
	if _, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](click)); err != nil {
		t.Fatalf("clicking a link to %s: %v", href, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Errors are the old page's context going away mid-navigation.
		at, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`location.pathname + location.search + " " + document.readyState`))
		if err == nil && at == href+" complete" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the link to %s did not load: at %q (%v)", href, at, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestAttributionKeepsThePublishersClick: in a real Chromium, a shopper
// lands through a publisher's link, follows the store's own links that
// carry an offer_id, a source and a partner-like aff_id, and comes back
// from the payment provider to a thank-you URL with the provider's
// transaction_id. None of these is a click: the order is the publisher's,
// in the admin API and in what Katalys is sent.
func TestAttributionKeepsThePublishersClick(t *testing.T) {
	browser := newBrowser(t)
	col := &collector{}
	colSrv := startUpstream(t, col)
	port := freePort(t)
	c := startCaddy(t, deliverySite(t.TempDir(), colSrv.URL+"/v2/_tr_offline", port, shopUpstream(t),
		"{\n\t\tscript_src /katalys-stub.js\n\t}"))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	tb := openTab(t, browser)
	tb.poseAsDesktop(t)
	tb.navigate(t, base+"/?transaction_id=TX-REAL-8&offer_id=OF-12&publisher_id=PUB-REAL")
	tb.followLink(t, "/product/bundle/?offer_id=bundle-3&source=menu")
	tb.followLink(t, "/product/trail-shoe/?aff_id=66&offer_id=77&utm_source=newsletter")
	// The provider's return is typed here: a top-level navigation from no
	// page of the store, as a redirect from the provider's site is.
	tb.navigate(t, base+"/checkout/order-received/G-1/?status=successful&transaction_id=4411902")

	a := attributionOf(t, c, siteA, "G-1")
	if a.Status != "approved" || a.PublisherID != "PUB-REAL" || a.TransactionID != "TX-REAL-8" || a.OfferID != "OF-12" {
		t.Errorf("attribution of G-1 = %+v; want approved to PUB-REAL, click TX-REAL-8, offer OF-12", a)
	}
	if n := len(a.Why.Candidates); n != 1 {
		t.Errorf("%d clicks considered, want the publisher's alone: %+v", n, a.Why.Candidates)
	}
	waitFor(t, 10*time.Second, "the delivery of G-1", func() bool { return len(col.ackedOf("G-1")) > 0 })
	p := col.ackedOf("G-1")[0]
	if p["transaction_id"] != "TX-REAL-8" || p["publisher_id"] != "PUB-REAL" || p["aff_id"] != "PUB-REAL" || p["offer_id"] != "OF-12" {
		t.Errorf("Katalys was sent %v; want the publisher's click TX-REAL-8", p)
	}
}
