package tracking

import (
	"net/http"
	"strings"
)

// botMarkers are lower-case substrings of user agents that are not people
// at a browser. Besides crawlers, link previewers, monitors and headless
// browsers, the list holds command-line tools and HTTP libraries: they keep
// no cookies, so each of their requests would mint a new visitor and a new
// session, and uptime checks alone would swamp a small store's numbers.
var botMarkers = []string{
	// crawlers and link previewers
	"bot", "crawl", "spider", "slurp", "scrap", "archiver", "facebookexternalhit",
	"mediapartners-google", "google-inspectiontool", "googleother", "feedfetcher",
	"preview", "embedly", "whatsapp", "vkshare", "+http",
	// monitors, audits and automation
	"headless", "lighthouse", "pingdom", "uptime", "monitor", "synthetics",
	"gtmetrix", "phantomjs", "kube-probe", "prerender",
	// command-line tools and HTTP libraries
	"curl/", "wget/", "httpie/", "python-", "aiohttp/", "httpx/", "go-http-client/",
	"java/", "okhttp/", "apache-httpclient/", "libwww-perl/", "node-fetch/",
	"axios/", "undici",
}

// markersByFirst indexes botMarkers by their first byte, so that IsBot
// tries at each byte of a user agent only the few markers that can start
// there: it runs for every page request, and forty substring searches of a
// browser's user agent cost more than the rest of classifying the visit.
var markersByFirst = func() (t [256][]string) {
	for _, m := range botMarkers {
		t[m[0]] = append(t[m[0]], m)
	}
	return t
}()

// IsBot reports whether userAgent belongs to a crawler, monitor, headless
// browser, command-line tool or HTTP library rather than a person. An empty
// user agent is a bot: every browser sends one. Markers match in any case;
// the "bot" of "cubot" does not count, since Cubot phones name themselves
// in their Android user agent.
func IsBot(userAgent string) bool {
	ua := strings.TrimSpace(userAgent)
	if ua == "" {
		return true
	}
	for i := 0; i < len(ua); i++ {
		for _, m := range markersByFirst[lower(ua[i])] {
			if hasPrefixFold(ua[i:], m) && !(m == "bot" && i >= 2 && hasPrefixFold(ua[i-2:], "cu")) {
				return true
			}
		}
	}
	return false
}

// lower is ASCII lower-casing of one byte.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasPrefixFold reports whether s starts with prefix, a lower-case ASCII
// string, in any case.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lower(s[i]) != prefix[i] {
			return false
		}
	}
	return true
}

// IsPrefetch reports whether the request is a prefetch or prerender: the
// page may never be shown, so it is not a page view. Browsers say so in
// Sec-Purpose (speculation rules, Chromium), Purpose (older Chromium and
// Safari), X-Moz (Firefox) and X-Purpose (old Chrome previews).
func IsPrefetch(h http.Header) bool {
	return headerHas(h, "Sec-Purpose", "prefetch") ||
		headerHas(h, "Sec-Purpose", "prerender") ||
		headerHas(h, "Purpose", "prefetch") ||
		headerHas(h, "X-Moz", "prefetch") ||
		headerHas(h, "X-Purpose", "preview")
}

// headerHas reports whether any value of header name contains token, in any
// case.
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		if strings.Contains(strings.ToLower(v), token) {
			return true
		}
	}
	return false
}

// IsNavigation reports whether the request loads a document a person is
// looking at, going by the Fetch Metadata headers: Sec-Fetch-Mode navigate
// (or nested-navigate, sent by Chromium 76-78 for frames) and Sec-Fetch-Dest
// document, iframe or frame. Fetches, images and scripts are not. A
// service worker that answers a navigation with fetch(event.request), as
// PWA themes do, passes it on with mode navigate and dest empty: that is a
// navigation too. Clients that send neither header (older browsers, plain
// HTTP clients) count as navigations; IsBot sorts out the latter.
func IsNavigation(r *http.Request) bool {
	mode := strings.ToLower(strings.TrimSpace(r.Header.Get("Sec-Fetch-Mode")))
	switch mode {
	case "", "navigate", "nested-navigate":
	default:
		return false
	}
	if dest := r.Header.Get("Sec-Fetch-Dest"); dest != "" {
		switch strings.ToLower(strings.TrimSpace(dest)) {
		case "document", "iframe", "frame":
		case "empty":
			return mode == "navigate" // forwarded by a service worker
		default:
			return false
		}
	}
	return true
}

// IsLanding reports whether navigation r may be a landing, whose click
// parameters are an affiliate's or a campaign's: any navigation but one
// from a page of the same origin (Sec-Fetch-Site: same-origin), such as
// the store's own link to /product?offer_id=bundle-3 or ?source=menu,
// which would otherwise take the credit from the publisher whose click
// brought the visitor. A redirect chain that started on another site is
// cross-site, so a publisher's link through a redirect still lands; a
// browser that sends no fetch metadata is taken at its word, and so is a
// navigation a service worker forwards (Sec-Fetch-Dest: empty), which is
// same-origin whatever page the shopper came from.
//
// Thank-you pages are not landings either, but telling them apart is the
// caller's part (Observe's orderPage): a payment provider sends the
// shopper back with its own transaction_id, and as a click it would take
// the order it confirms.
func IsLanding(r *http.Request) bool {
	if !strings.EqualFold(strings.TrimSpace(r.Header.Get("Sec-Fetch-Site")), "same-origin") {
		return true
	}
	return strings.EqualFold(strings.TrimSpace(r.Header.Get("Sec-Fetch-Dest")), "empty")
}

// OptedOut reports whether the visitor asked not to be tracked, with Global
// Privacy Control (Sec-GPC: 1) or the older Do Not Track (DNT: 1).
func OptedOut(h http.Header) bool {
	return strings.TrimSpace(h.Get("Sec-GPC")) == "1" || strings.TrimSpace(h.Get("DNT")) == "1"
}
