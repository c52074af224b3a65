package integration

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// newBrowser starts Debian's Chromium, headless, with a fresh profile and
// only the flags below (none of which reach the network) and extra, and
// closes it when the test ends. chromedp talks to it over a pipe, so it binds no port.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser tests need Chromium at %s (Debian: apt-get install chromium): %v", chromiumPath, err)
	}
	output := &lockedBuffer{}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(output),
		// A private HOME and XDG dirs, so nothing lands in the real
		// ~/.config (Debian's launcher and crashpad write there).
		chromedp.NoInheritEnv,
		chromedp.Env(harnessEnv(t.TempDir())...),
	}
	opts = append(opts, extra...)
	ctx, cancelTimeout := context.WithTimeout(context.Background(), 2*time.Minute)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	// Start the browser now, so a broken install fails here, clearly.
	if err := chromedp.Do(browserCtx); err != nil {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
		t.Fatalf("starting Chromium (%s): %v\nChromium output:\n%s", chromiumPath, err, output.String())
	}
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancelTimeout()
		if t.Failed() {
			t.Logf("--- Chromium output ---\n%s--- end of Chromium output ---", output.String())
		}
	})
	return browserCtx
}

// cspListener runs in every new document before the page's own scripts
// (DevTools-injected, so the page's CSP does not apply to it) and records
// each securitypolicyviolation event.
const cspListener = `window.__csp_violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
	window.__csp_violations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + (e.sample ? " (" + e.sample + ")" : ""));
}, true);`

// pageState is what the test reads back from a page.
type pageState struct {
	Loaded     *string  `json:"loaded"`     // set by the stand-in Katalys script
	Fetched    *string  `json:"fetched"`    // the stand-in's fetch() outcome
	Track      *string  `json:"track"`      // _revoffers_track.site_id, set by the inline snippet
	PageRan    bool     `json:"pageRan"`    // the page's own script ran
	Violations []string `json:"violations"` // securitypolicyviolation events
}

const pageStateJS = `JSON.stringify({
	loaded: typeof window.__katalys_loaded === "undefined" ? null : String(window.__katalys_loaded),
	fetched: typeof window.__katalys_fetch === "undefined" ? null : String(window.__katalys_fetch),
	track: (window._revoffers_track && window._revoffers_track.site_id) || null,
	pageRan: !!window.__page_ran,
	violations: window.__csp_violations || []
})`

// tab is one browser tab with its console and log collected.
type tab struct {
	ctx  context.Context
	mu   sync.Mutex
	logs []string
}

func openTab(t *testing.T, browser context.Context) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	tb := &tab{ctx: ctx}
	err := chromedp.Listen(ctx, func(ev any) {
		var line string
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			var parts []string
			for _, a := range e.Args {
				if len(a.Value) > 0 {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			line = "console." + string(e.Type) + ": " + strings.Join(parts, " ")
		case *log.EventEntryAdded:
			if e.Entry != nil {
				line = "log[" + string(e.Entry.Source) + "/" + string(e.Entry.Level) + "]: " + e.Entry.Text
			}
		case *runtime.EventExceptionThrown:
			if e.ExceptionDetails != nil {
				line = "exception: " + e.ExceptionDetails.Text
				if e.ExceptionDetails.Exception != nil {
					line += " " + e.ExceptionDetails.Exception.Description
				}
			}
		}
		if line != "" {
			tb.mu.Lock()
			tb.logs = append(tb.logs, line)
			tb.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("listening to the tab: %v", err)
	}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspListener}); err != nil {
		t.Fatalf("installing the securitypolicyviolation listener: %v", err)
	}
	return tb
}

func (tb *tab) navigate(t *testing.T, url string) {
	t.Helper()
	if err := chromedp.Do(tb.ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigating to %s: %v", url, err)
	}
}

func (tb *tab) state(t *testing.T) pageState {
	t.Helper()
	raw, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](pageStateJS))
	if err != nil {
		t.Fatalf("reading the page state: %v", err)
	}
	var s pageState
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatalf("decoding the page state %q: %v", raw, err)
	}
	return s
}

// waitState polls the page until done(state) or the deadline.
func (tb *tab) waitState(t *testing.T, d time.Duration, done func(pageState) bool) pageState {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := tb.state(t)
		if done(s) || time.Now().After(deadline) {
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cspLogs returns the console and log lines that mention CSP.
func (tb *tab) cspLogs() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out []string
	for _, l := range tb.logs {
		low := strings.ToLower(l)
		if strings.Contains(low, "content security policy") || strings.Contains(low, "content-security-policy") {
			out = append(out, l)
		}
	}
	return out
}

func (tb *tab) allLogs() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.logs...)
}

func ptrString(p *string) string {
	if p == nil {
		return "<unset>"
	}
	return fmt.Sprintf("%q", *p)
}

// TestBrowserCSP: in a real Chromium, a page with a strict CSP served
// through the katalys site runs the snippet: the (stand-in) tracking script
// loads from another origin, sees the site id, and its fetch() to its own
// origin succeeds, with no CSP violation event and no CSP message in the
// console. The same page through plain reverse_proxy shows the stand-in
// never ran, and a page with a blocked inline script shows the violation
// detectors do fire.
func TestBrowserCSP(t *testing.T) {
	browser := newBrowser(t)

	// The stand-in for db.revoffers.com, on its own origin.
	var collectMu sync.Mutex
	var collected []string
	standIn := http.NewServeMux()
	standIn.HandleFunc("/collect", func(w http.ResponseWriter, r *http.Request) {
		collectMu.Lock()
		collected = append(collected, r.URL.Query().Get("site_id"))
		collectMu.Unlock()
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write([]byte("ok"))
	})
	tracker := startUpstream(t, standIn)
	trackerOrigin := tracker.URL
	standIn.HandleFunc("/js/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, `(function () {
	var id = window._revoffers_track && window._revoffers_track.site_id;
	window.__katalys_loaded = id;
	fetch(%q + "/collect?site_id=" + encodeURIComponent(id), {mode: "cors", cache: "no-store"})
		.then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
		.then(function (t) { window.__katalys_fetch = t; }, function (e) { window.__katalys_fetch = "failed: " + e; });
})();
`, trackerOrigin)
	})

	// The store.
	const nonce = "cjR4bmQwbU4wbmNl"
	store := http.NewServeMux()
	store.HandleFunc("/app.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/javascript")
		_, _ = w.Write([]byte("window.__page_ran = true;\n"))
	})
	pageHTML := func(ownScript string) []byte {
		return []byte("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Order received</title>" + ownScript +
			"</head>\n<body>\n<h1>Thank you!</h1>\n<p>Order #1042 is confirmed.</p>\n</body>\n</html>\n")
	}
	store.Handle("/hash", fixedPage{header: map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": "default-src 'self'; script-src 'self'",
	}, body: pageHTML(`<script src="/app.js"></script>`)})
	store.Handle("/nonce", fixedPage{header: map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": "default-src 'self'; script-src 'self' 'nonce-" + nonce + "'",
	}, body: pageHTML(`<script nonce="` + nonce + `">window.__page_ran = true;</script>`)})
	// Google's strict CSP in its hash form, as static and cached stores
	// use it: 'strict-dynamic' without a nonce ignores origins, so only a
	// script that a hash-allowed script adds may load.
	const ownInline = "window.__page_ran = true;"
	ownHash := sha256.Sum256([]byte(ownInline))
	store.Handle("/strict-hash", fixedPage{header: map[string]string{
		"Content-Type": "text/html; charset=utf-8",
		"Content-Security-Policy": "script-src 'sha256-" + base64.StdEncoding.EncodeToString(ownHash[:]) +
			"' 'strict-dynamic'; object-src 'none'; base-uri 'none'",
	}, body: pageHTML(`<script>` + ownInline + `</script>`)})
	store.Handle("/inline-blocked", fixedPage{header: map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Content-Security-Policy": "default-src 'self'; script-src 'self'",
	}, body: pageHTML(`<script src="/app.js"></script><script>window.__inline_ran = true;</script>`)})
	up := startUpstream(t, store)

	withKatalys, plain := freePort(t), freePort(t)
	startCaddy(t, globalBuckets+
		katalysSite(withKatalys, siteA, "script_src "+trackerOrigin+"/js/{site_id}.js", hostPort(up))+
		fmt.Sprintf("http://127.0.0.1:%d {\n\treverse_proxy %s\n}\n", plain, hostPort(up)))

	for _, path := range []string{"/hash", "/nonce", "/strict-hash"} {
		t.Run("katalys "+strings.TrimPrefix(path, "/"), func(t *testing.T) {
			tb := openTab(t, browser)
			tb.navigate(t, fmt.Sprintf("http://127.0.0.1:%d%s", withKatalys, path))
			s := tb.waitState(t, 15*time.Second, func(s pageState) bool { return s.Fetched != nil })
			if s.Loaded == nil || *s.Loaded != siteA {
				t.Errorf("window.__katalys_loaded = %s, want %q: the tracking script did not run with the site id", ptrString(s.Loaded), siteA)
			}
			if s.Track == nil || *s.Track != siteA {
				t.Errorf("_revoffers_track.site_id = %s, want %q", ptrString(s.Track), siteA)
			}
			if s.Fetched == nil || *s.Fetched != "ok" {
				t.Errorf("the tracking script's fetch() = %s, want \"ok\"", ptrString(s.Fetched))
			}
			if !s.PageRan {
				t.Errorf("the page's own script did not run")
			}
			if len(s.Violations) > 0 {
				t.Errorf("securitypolicyviolation events: %q", s.Violations)
			}
			if l := tb.cspLogs(); len(l) > 0 {
				t.Errorf("console/log mentions Content Security Policy: %q", l)
			}
			collectMu.Lock()
			hits := strings.Join(collected, ",")
			collectMu.Unlock()
			if !strings.Contains(hits, siteA) {
				t.Errorf("the stand-in's /collect never saw site id %s (got %q)", siteA, hits)
			}
			if t.Failed() {
				t.Logf("console/log:\n%s", strings.Join(tb.allLogs(), "\n"))
			}
		})
	}

	t.Run("negative control: plain reverse_proxy", func(t *testing.T) {
		collectMu.Lock()
		before := len(collected)
		collectMu.Unlock()
		tb := openTab(t, browser)
		// Navigate returns after the load event, which async scripts delay:
		// had a tracking script been on the page, it would have run by now.
		tb.navigate(t, fmt.Sprintf("http://127.0.0.1:%d/hash", plain))
		s := tb.state(t)
		if !s.PageRan {
			t.Fatalf("the page's own script did not run; the control proves nothing")
		}
		if s.Loaded != nil || s.Track != nil || s.Fetched != nil {
			t.Errorf("without katalys the stand-in ran: loaded=%s track=%s fetched=%s", ptrString(s.Loaded), ptrString(s.Track), ptrString(s.Fetched))
		}
		collectMu.Lock()
		after := len(collected)
		collectMu.Unlock()
		if after != before {
			t.Errorf("without katalys the stand-in's /collect was called")
		}
	})

	t.Run("detector control: a blocked inline script is seen", func(t *testing.T) {
		tb := openTab(t, browser)
		tb.navigate(t, fmt.Sprintf("http://127.0.0.1:%d/inline-blocked", plain))
		s := tb.waitState(t, 5*time.Second, func(s pageState) bool { return len(s.Violations) > 0 })
		if len(s.Violations) == 0 {
			t.Errorf("no securitypolicyviolation event for an inline script under script-src 'self': the listener is blind")
		}
		deadline := time.Now().Add(5 * time.Second)
		for len(tb.cspLogs()) == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if len(tb.cspLogs()) == 0 {
			t.Errorf("no console/log line mentions Content Security Policy for a blocked inline script; logs: %q", tb.allLogs())
		}
		t.Logf("violations seen: %q; CSP log lines: %q", s.Violations, tb.cspLogs())
	})
}

// desktopUA is the user agent of the desktop Chromium the tests drive,
// without "Headless".
const desktopUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// poseAsDesktop makes the tab send desktopUA. Headless Chromium says
// "HeadlessChrome" in its user agent, which tracking rightly treats as a
// bot (no cookie, nothing recorded, no order read from a thank-you page):
// the tab poses as the desktop browser it is.
func (tb *tab) poseAsDesktop(t *testing.T) {
	t.Helper()
	if _, err := chromedp.Call(tb.ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: desktopUA}); err != nil {
		t.Fatalf("overriding the user agent: %v", err)
	}
}
