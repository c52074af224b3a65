package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/storeedge/caddy-katalys/tracking"
)

// TestBrowserVisitorCookie: in a real Chromium, the first page of a visit
// through Caddy sets the visitor cookie (HttpOnly, SameSite=Lax) and the
// next page request sends it back (the upstream sees it); the stand-in
// tracking script, served by the site itself, posts an event to the
// first-party collect endpoint with fetch(), gets 204, and the event is
// stored under the visitor of the cookie, beside the two page views and
// the click of the landing.
func TestBrowserVisitorCookie(t *testing.T) {
	browser := newBrowser(t)

	var mu sync.Mutex
	cookieSeen := map[string]string{} // path → the Cookie header the upstream got
	site := http.NewServeMux()
	site.HandleFunc("/js/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte(`(function () {
	window.__katalys_loaded = window._revoffers_track && window._revoffers_track.site_id;
	fetch("/_katalys/e", {method: "POST", headers: {"Content-Type": "application/json"},
		body: JSON.stringify({action: "browser_js", page: location.pathname})})
		.then(function (r) { window.__katalys_fetch = String(r.status); },
			function (e) { window.__katalys_fetch = "failed: " + e; });
})();
`))
	})
	site.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		cookieSeen[r.URL.Path] = r.Header.Get("Cookie")
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>%s</title></head><body><h1>%s</h1></body></html>\n", r.URL.Path, r.URL.Path)
	})
	up := startUpstream(t, site)

	c, dir, base := startRecordingSite(t, up)

	tb := openTab(t, browser)
	tb.poseAsDesktop(t)
	visit := func(path string) {
		t.Helper()
		tb.navigate(t, base+path)
		s := tb.waitState(t, 15*time.Second, func(s pageState) bool { return s.Fetched != nil })
		if s.Loaded == nil || *s.Loaded != siteA {
			t.Errorf("%s: the tracking script did not run with the site id: %s", path, ptrString(s.Loaded))
		}
		if s.Fetched == nil || *s.Fetched != "204" {
			t.Errorf("%s: the collect fetch() = %s, want \"204\"; logs %q", path, ptrString(s.Fetched), tb.allLogs())
		}
	}
	visit("/landing?utm_source=browser_test")

	var vid string
	res, err := chromedp.Call(tb.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
	if err != nil {
		t.Fatalf("reading the browser's cookies: %v", err)
	}
	for _, ck := range res.Cookies {
		if ck.Name == tracking.VisitorCookie {
			vid = ck.Value
			if !ck.HTTPOnly || ck.SameSite != network.CookieSameSiteLax || ck.Path != "/" {
				t.Errorf("visitor cookie attributes: HttpOnly %v, SameSite %q, Path %q", ck.HTTPOnly, ck.SameSite, ck.Path)
			}
			if days := time.Until(time.Unix(int64(ck.Expires), 0)).Hours() / 24; days < 399 || days > 401 {
				t.Errorf("visitor cookie expires in %.1f days, want 400", days)
			}
		}
	}
	if vid == "" {
		t.Fatalf("the first page left no %s cookie in the browser: %+v", tracking.VisitorCookie, res.Cookies)
	}

	visit("/second")
	mu.Lock()
	first, second := cookieSeen["/landing"], cookieSeen["/second"]
	mu.Unlock()
	if strings.Contains(first, tracking.VisitorCookie) {
		t.Errorf("the first request already carried a visitor cookie: %q", first)
	}
	if !strings.Contains(second, tracking.VisitorCookie+"="+vid) {
		t.Errorf("the second page request carried Cookie %q, want %s=%s", second, tracking.VisitorCookie, vid)
	}

	stopCaddy(t, c)
	count := map[string]int{}
	for _, ev := range storedEvents(t, dir, siteA) {
		count[ev.Type]++
		if ev.Visitor != vid {
			t.Errorf("%s event of visitor %q, want %q (%+v)", ev.Type, ev.Visitor, vid, ev)
		}
	}
	if count["pageview"] != 2 || count["click"] != 1 || count["browser_js"] != 2 {
		t.Errorf("stored %v, want 2 pageview, 1 click, 2 browser_js", count)
	}
}

// TestBrowserServiceWorkerNavigation: a store whose service worker answers
// navigations with fetch(event.request), as PWA themes do. Chromium sends
// such a page load on with Sec-Fetch-Mode navigate and Sec-Fetch-Dest
// empty; it is still the page the visitor sees, so it gets the snippet and
// its page view and click are recorded. Before, a returning visitor's
// affiliate click was lost and the order went to Katalys as organic.
func TestBrowserServiceWorkerNavigation(t *testing.T) {
	// The browser's own user agent, so that the worker's requests, which a
	// tab's override does not reach, are not a headless bot's.
	browser := newBrowser(t, chromedp.UserAgent(desktopUA))

	var mu sync.Mutex
	dests := map[string]string{} // request URI → the Sec-Fetch-Dest the upstream got
	site := http.NewServeMux()
	site.HandleFunc("/sw.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		_, _ = w.Write([]byte(`self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (e) { e.waitUntil(self.clients.claim()); });
self.addEventListener("fetch", function (e) {
	if (e.request.mode === "navigate") e.respondWith(fetch(e.request));
});
`))
	})
	site.HandleFunc("/js/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		_, _ = w.Write([]byte(`window.__katalys_loaded = window._revoffers_track && window._revoffers_track.site_id;` + "\n"))
	})
	site.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		dests[r.URL.RequestURI()] = r.Header.Get("Sec-Fetch-Dest")
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!DOCTYPE html>
<html><head><title>Shop</title>
<script>navigator.serviceWorker.register("/sw.js").then(function () { return navigator.serviceWorker.ready; })
	.then(function () { window.__sw_ready = true; });</script>
</head><body><h1>Shop</h1></body></html>
`)
	})
	up := startUpstream(t, site)

	c, dir, base := startRecordingSite(t, up)

	tb := openTab(t, browser)
	tb.navigate(t, base+"/")
	deadline := time.Now().Add(15 * time.Second)
	for {
		controlled, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`!!window.__sw_ready && !!navigator.serviceWorker.controller`))
		if err != nil {
			t.Fatalf("reading the service worker's state: %v", err)
		}
		if controlled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service worker never took control of the page; logs %q", tb.allLogs())
		}
		time.Sleep(50 * time.Millisecond)
	}

	landing := "/?transaction_id=TX-SW-1&offer_id=OF-1&aff_id=AFF-1"
	tb.navigate(t, base+landing)
	s := tb.waitState(t, 15*time.Second, func(s pageState) bool { return s.Loaded != nil })
	mu.Lock()
	dest := dests[landing]
	mu.Unlock()
	if dest != "empty" {
		t.Fatalf("the landing reached the upstream with Sec-Fetch-Dest %q, want \"empty\" (forwarded by the worker)", dest)
	}
	if s.Loaded == nil || *s.Loaded != siteA {
		t.Errorf("the tracking script did not run with the site id on the page the worker forwarded: %s; logs %q", ptrString(s.Loaded), tb.allLogs())
	}

	stopCaddy(t, c)
	var clicks []string
	for _, ev := range storedEvents(t, dir, siteA) {
		if ev.Type == "click" {
			clicks = append(clicks, ev.Fields["transaction_id"])
		}
	}
	if len(clicks) != 1 || clicks[0] != "TX-SW-1" {
		t.Errorf("clicks stored: %q, want the landing's TX-SW-1", clicks)
	}
}

// TestBrowserBackForwardCache: a store that sends Cache-Control: no-store
// on its pages (PHP's session default) keeps them in Chromium's
// back/forward cache, which restores such a page only if no HttpOnly
// cookie changed since it was shown. Within a session the plugin sets no
// cookie on every page, so going back to the first page restores it, as
// it does without the plugin; renewing the cookies on each page made every
// Back a full reload (and another page view).
func TestBrowserBackForwardCache(t *testing.T) {
	browser := newBrowser(t)
	site := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, `<!DOCTYPE html>
<html><head><title>%[1]s</title>
<script>window.__shows = 0; addEventListener("pageshow", function (e) { window.__shows++; window.__persisted = e.persisted; });</script>
</head><body><h1>%[1]s</h1></body></html>
`, r.URL.Path)
	})
	up := startUpstream(t, site)
	c, _, base := startRecordingSite(t, up)
	defer stopCaddy(t, c)

	tb := openTab(t, browser)
	tb.poseAsDesktop(t)
	tb.navigate(t, base+"/first")
	tb.navigate(t, base+"/second")
	// history.back(), not chromedp's NavigateBack, which waits for a load
	// event that a page restored from the cache never fires.
	if _, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool](`history.back(), true`)); err != nil {
		t.Fatalf("going back: %v", err)
	}
	var state struct {
		Path      string `json:"path"`
		Persisted bool   `json:"persisted"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		raw, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`JSON.stringify({path: location.pathname, persisted: !!window.__persisted})`))
		if err != nil {
			t.Fatalf("reading the page: %v", err)
		}
		if err := json.Unmarshal([]byte(raw), &state); err != nil {
			t.Fatal(err)
		}
		if state.Path == "/first" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if state.Path != "/first" || !state.Persisted {
		t.Errorf("back on %s, restored from the back/forward cache: %v; want /first, restored", state.Path, state.Persisted)
	}
}

// startRecordingSite starts Caddy with a store of its own (dir) and the
// site 127.0.0.1:<port> (base) in bucket siteA before up, loading the
// tracking script from up's /js/ (script_src /js/{site_id}.js).
func startRecordingSite(t *testing.T, up *httptest.Server) (c *caddyServer, dir, base string) {
	t.Helper()
	dir = t.TempDir()
	port := freePort(t)
	c = startCaddy(t, fmt.Sprintf(`{
	katalys {
		storage %s
		bucket %s
	}
}

http://127.0.0.1:%d {
	katalys %s {
		script_src /js/{site_id}.js
	}
	reverse_proxy %s
}
`, dir, siteA, port, siteA, hostPort(up)))
	return c, dir, fmt.Sprintf("http://127.0.0.1:%d", port)
}
