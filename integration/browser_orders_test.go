package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// convertStub stands in for the Katalys script: like the real one it
// defines _revoffers_track.push once it has loaded (and drains what a page
// queued in an array before), and it keeps every event pushed in
// window.__katalys_pushes for the test to read.
const convertStub = `(function () {
	var t = window._revoffers_track = window._revoffers_track || {};
	var queued = Array.isArray(t) ? t.slice() : [];
	window.__katalys_pushes = [];
	t.push = function (ev) { window.__katalys_pushes.push(JSON.parse(JSON.stringify(ev))); };
	queued.forEach(function (ev) { t.push(ev); });
})();`

// TestBrowserConvertCall: in a real Chromium, the convert call the plugin
// adds to a thank-you page runs once the (stand-in) tracking script has
// loaded and pushes the order's fields, exactly once; with the page's
// Content-Security-Policy enforced (a nonce, or none and only 'self'),
// nothing is blocked.
func TestBrowserConvertCall(t *testing.T) {
	browser := newBrowser(t)
	ga4 := readTestdata(t, "thankyou_ga4.html")
	jsonld := readTestdata(t, "thankyou_jsonld.html")
	site := http.NewServeMux()
	site.HandleFunc("/katalys-stub.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		// Load late, as a script from a CDN would: the page's convert
		// call must wait for push to exist.
		time.Sleep(300 * time.Millisecond)
		_, _ = w.Write([]byte(convertStub))
	})
	serve := func(page, csp string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			if csp != "" {
				w.Header().Set("Content-Security-Policy", csp)
			}
			_, _ = w.Write([]byte(page))
		}
	}
	site.HandleFunc("/checkout/order-received/1/", serve(strings.ReplaceAll(ga4, "NONCE", "n0nce-1"), ""))
	site.HandleFunc("/checkout/order-received/2/", serve(strings.ReplaceAll(ga4, "NONCE", "n0nce-2"), "script-src 'self' 'nonce-n0nce-2'; object-src 'none'"))
	site.HandleFunc("/en_US/order/thank-you", serve(jsonld, "default-src 'self'"))
	up := startUpstream(t, site)

	port := freePort(t)
	startCaddy(t, fmt.Sprintf("%s\nhttp://127.0.0.1:%d {\n\tkatalys %s {\n\t\tscript_src /katalys-stub.js\n\t}\n\treverse_proxy %s\n}\n",
		globalBuckets, port, siteA, hostPort(up)))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	tests := []struct {
		path string
		want map[string]any
	}{
		{"/checkout/order-received/1/", map[string]any{
			"action": "convert", "action_type": "online-sale", "order_id": "SWB-70021",
			"sale_amount": 149.5, "currency": "USD", "discount_1_code": "TRAILHEAD",
			"line_item_1_sku": "SWB-TP-220", "line_item_1_qty": 1.0, "line_item_1_price": 94.0,
			"line_item_2_sku": "SWB-SK-M-MOSS", "line_item_2_title": "Merino Hiking Socks", "line_item_2_qty": 3.0,
		}},
		{"/checkout/order-received/2/", map[string]any{"order_id": "SWB-70021", "sale_amount": 149.5}},
		{"/en_US/order/thank-you", map[string]any{
			"order_id": "GLN-80415", "sale_amount": 50.85, "currency": "AUD",
			"email_address": "b.achterberg@example.org", "line_item_1_sku": "GLN-KP-BP140",
		}},
	}
	for _, tt := range tests {
		t.Run(strings.Trim(tt.path, "/"), func(t *testing.T) {
			tb := openTab(t, browser)
			tb.poseAsDesktop(t)
			tb.navigate(t, base+tt.path)
			var pushes []map[string]any
			deadline := time.Now().Add(10 * time.Second)
			for {
				raw, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`JSON.stringify(window.__katalys_pushes || null)`))
				if err != nil {
					t.Fatalf("reading the pushes: %v", err)
				}
				if err := json.Unmarshal([]byte(raw), &pushes); err != nil {
					t.Fatalf("decoding %q: %v", raw, err)
				}
				if len(pushes) > 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			// Give a second push, if the page were to make one, time to come.
			time.Sleep(500 * time.Millisecond)
			raw, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`JSON.stringify(window.__katalys_pushes || null)`))
			_ = json.Unmarshal([]byte(raw), &pushes)
			if len(pushes) != 1 {
				t.Fatalf("%d events pushed to _revoffers_track, want exactly one convert call: %v\nconsole: %q", len(pushes), pushes, tb.allLogs())
			}
			for k, v := range tt.want {
				if pushes[0][k] != v {
					t.Errorf("convert call %s = %v (%T), want %v", k, pushes[0][k], pushes[0][k], v)
				}
			}
			if s := tb.state(t); len(s.Violations) > 0 || len(tb.cspLogs()) > 0 {
				t.Errorf("CSP violations: %q %q", s.Violations, tb.cspLogs())
			}
		})
	}
}
