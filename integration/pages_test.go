package integration

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fixedPage is an upstream response with fixed headers and body. It sets
// Content-Length unless the header map says otherwise ("Content-Length": ""
// sends none, so the response is chunked).
type fixedPage struct {
	status int
	header map[string]string
	body   []byte
}

func (p fixedPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cl, setCL := p.header["Content-Length"]
	for k, v := range p.header {
		if k != "Content-Length" {
			w.Header().Set(k, v)
		}
	}
	switch {
	case !setCL:
		w.Header().Set("Content-Length", strconv.Itoa(len(p.body)))
	case cl != "":
		w.Header().Set("Content-Length", cl)
	}
	status := p.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(p.body)
	}
}

// globalBuckets declares the two Tracking IDs the tests use.
const globalBuckets = `{
	katalys {
		bucket KA-7Q2M9X4B1Z {
			alias shop.test
		}
		bucket KA-3H8W5N0C6P {
			alias other.test
		}
	}
}
`

// katalysSite is one site on 127.0.0.1:port that injects siteID (a Caddyfile
// token) and proxies to upstream; extra goes inside the katalys block.
func katalysSite(port int, siteID, extra, upstream string) string {
	block := ""
	if extra != "" {
		block = " {\n\t\t" + strings.ReplaceAll(strings.TrimSpace(extra), "\n", "\n\t\t") + "\n\t}"
	}
	return fmt.Sprintf("http://127.0.0.1:%d {\n\tkatalys %s%s\n\treverse_proxy %s\n}\n", port, siteID, block, upstream)
}

// TestInjectIdentity: an uncompressed page gets the snippet exactly once,
// immediately before </body> (else </html>, else at the end), and the
// headers of a changed body are fixed up.
func TestInjectIdentity(t *testing.T) {
	product := storePage(t)
	noBodyClose := "<!DOCTYPE html>\n<html><head><title>Legacy</title></head>\n<body><p>Order #77 received.</p>\n</html>\n"
	fragment := "<div class=\"cart-drawer\"><p>2 items</p></div>\n"
	xhtml := `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>XHTML store</title></head>
<body><p>Hello</p></body></html>
`
	snippet := wantSnippet(siteA, "")
	cases := []struct {
		name        string
		path        string
		contentType string
		page        string
		want        string
	}{
		{"text/html before </body>", "/products/trailhead", "text/html; charset=utf-8", product, wantInjected(t, product, snippet)},
		// Parsed as XML by browsers: the snippet is written as XML.
		{"application/xhtml+xml", "/xhtml", "application/xhtml+xml", xhtml,
			wantInjected(t, xhtml, strings.Replace(snippet, ` async>`, ` async="async">`, 1))},
		{"no </body>: before </html>", "/legacy", "text/html", noBodyClose, insertAt(noBodyClose, strings.LastIndex(noBodyClose, "</html>"), snippet)},
		{"neither: at the end", "/fragment", "text/html", fragment, fragment + snippet},
	}
	mux := http.NewServeMux()
	for i, c := range cases {
		mux.Handle(c.path, fixedPage{header: map[string]string{
			"Content-Type":  c.contentType,
			"ETag":          fmt.Sprintf(`"page-%d-v1"`, i),
			"Accept-Ranges": "bytes",
			"Last-Modified": "Mon, 02 Jun 2025 10:00:00 GMT",
			"Cache-Control": "public, max-age=60",
		}, body: []byte(c.page)})
	}
	up := startUpstream(t, mux)
	port := freePort(t)
	startCaddy(t, globalBuckets+katalysSite(port, siteA, "", hostPort(up)))

	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := fetchInjected(t, newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d%s", port, c.path)))
			body := decodeBody(t, res.header.Get("Content-Encoding"), res.body)
			checkInjected(t, c.name, body, c.want)
			if c.contentType == "application/xhtml+xml" {
				checkWellFormedXML(t, body)
			}
			checkModifiedHeaders(t, c.name, res.header, res.body, fmt.Sprintf(`"page-%d-v1"`, i))
			if cl := res.header.Get("Content-Length"); cl == strconv.Itoa(len(c.page)) {
				t.Errorf("Content-Length %s is the upstream's", cl)
			}
			if got := res.header.Get("Content-Type"); got != c.contentType {
				t.Errorf("Content-Type = %q, want the upstream's %q", got, c.contentType)
			}
		})
	}
}

// TestInjectMarkersInsideOtherMarkup: "</body>" inside a comment, a script,
// a style, a textarea, a title or an attribute value is not the marker; the
// snippet lands before the real closing tag.
func TestInjectMarkersInsideOtherMarkup(t *testing.T) {
	markers := readTestdata(t, "markers.html")
	realEnd := strings.Index(markers, "</body>\n<!-- trailing comment")
	if realEnd < 0 {
		t.Fatal("testdata/markers.html lost its real </body>")
	}
	fixture14 := readFixture(t, "14_head_body_markers_in_comments_jpy.html")

	// Paths off the thank-you paths: these pages get the plain snippet.
	mux := http.NewServeMux()
	mux.Handle("/pages/markers", fixedPage{header: map[string]string{"Content-Type": "text/html; charset=utf-8"}, body: []byte(markers)})
	// The fixture is sent chunked in small writes, so markers also straddle
	// write boundaries.
	mux.HandleFunc("/pages/fixture-14", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		rc := http.NewResponseController(w)
		for s := fixture14; len(s) > 0; {
			n := min(len(s), 97)
			_, _ = w.Write([]byte(s[:n]))
			_ = rc.Flush()
			s = s[n:]
		}
	})
	up := startUpstream(t, mux)
	port := freePort(t)
	startCaddy(t, globalBuckets+katalysSite(port, siteA, "", hostPort(up)))
	snippet := wantSnippet(siteA, "")

	t.Run("decoys in every context", func(t *testing.T) {
		res := fetchInjected(t, newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/pages/markers", port)))
		checkInjected(t, "markers.html", res.body, insertAt(markers, realEnd, snippet))
	})

	t.Run("fixture 14 (markers in comments and scripts, chunked)", func(t *testing.T) {
		res := fetchInjected(t, newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/pages/fixture-14", port)))
		checkInjected(t, "fixture 14", res.body, wantInjected(t, fixture14, snippet))
		checkSnippetLastInBody(t, fixture14, res.body, siteA, defaultScriptSrc)
	})
}

// TestInjectCSP: a nonce in script-src goes on both snippet tags and the
// policy is left alone; without a nonce the inline script's hash and the
// script origin are allowed in script-src and the origin in connect-src.
func TestInjectCSP(t *testing.T) {
	product := storePage(t)
	const noncePolicy = "script-src 'self' 'nonce-abc123'"
	const plainPolicy = "script-src 'self'; connect-src 'self'"
	mux := http.NewServeMux()
	mux.Handle("/nonce", fixedPage{header: map[string]string{"Content-Type": "text/html", "Content-Security-Policy": noncePolicy}, body: []byte(product)})
	mux.Handle("/plain", fixedPage{header: map[string]string{"Content-Type": "text/html", "Content-Security-Policy": plainPolicy}, body: []byte(product)})
	up := startUpstream(t, mux)
	port := freePort(t)
	startCaddy(t, globalBuckets+katalysSite(port, siteA, "", hostPort(up)))
	src := strings.ReplaceAll(defaultScriptSrc, "{site_id}", siteA)

	t.Run("nonce", func(t *testing.T) {
		res := fetchInjected(t, newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/nonce", port)))
		inline, ext := snippetScripts(t, res.body, siteA, src)
		for _, s := range []*scriptInfo{inline, ext} {
			if s.nonce != "abc123" {
				t.Errorf("%s: nonce = %q, want %q", s.desc(), s.nonce, "abc123")
			}
		}
		got := parseCSP(res.header.Get("Content-Security-Policy"))
		want := parseCSP(noncePolicy)
		if !slices.Equal(got["script-src"], want["script-src"]) {
			t.Errorf("script-src = %q, want it unchanged: %q", got["script-src"], want["script-src"])
		}
		t.Logf("CSP sent: %q", res.header.Get("Content-Security-Policy"))
	})

	t.Run("hash and origin", func(t *testing.T) {
		res := fetchInjected(t, newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/plain", port)))
		checkInjected(t, "plain", res.body, wantInjected(t, product, wantSnippet(siteA, "")))
		inline, _ := snippetScripts(t, res.body, siteA, src)
		hash := cspHash(inline.text)
		if want := cspHash(inlineScript(siteA)); hash != want {
			t.Errorf("inline script text %q hashes to %s, want the snippet's %s", inline.text, hash, want)
		}
		csp := res.header.Get("Content-Security-Policy")
		got := parseCSP(csp)
		for _, tok := range []string{"'self'", hash, "https://db.revoffers.com"} {
			if !slices.Contains(got["script-src"], tok) {
				t.Errorf("script-src %q lacks %s (policy sent: %q)", got["script-src"], tok, csp)
			}
		}
		for _, tok := range []string{"'self'", "https://db.revoffers.com"} {
			if !slices.Contains(got["connect-src"], tok) {
				t.Errorf("connect-src %q lacks %s (policy sent: %q)", got["connect-src"], tok, csp)
			}
		}
	})
}

// TestUntouched: responses the plugin must not change come through exactly
// as the upstream sent them (compared with the same request sent straight to
// the upstream): status, body, and every end-to-end header the upstream set.
func TestUntouched(t *testing.T) {
	product := storePage(t)
	withKatalys := strings.Replace(product, "</head>",
		`  <script>window._revoffers_track=window._revoffers_track||{};_revoffers_track.site_id="KA-7Q2M9X4B1Z";</script>`+"\n"+
			`  <script src="https://db.revoffers.com/js/KA-7Q2M9X4B1Z.js" async></script>`+"\n</head>", 1)
	jsonBody := `{"cart":{"items":2,"note":"</body></html>","html":"<p>Free shipping</p></body>"}}`

	mux := http.NewServeMux()
	// A static page server with validators and ranges (HEAD, 206, 304).
	mux.HandleFunc("/static/page.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("ETag", `"static-page-v3"`)
		w.Header().Set("Cache-Control", "public, max-age=300")
		http.ServeContent(w, r, "page.html", mustTime("2025-06-02T10:00:00Z"), strings.NewReader(product))
	})
	mux.Handle("/no-content", fixedPage{status: 204, header: map[string]string{"Content-Type": "text/html", "ETag": `"nc-1"`, "Content-Length": ""}})
	mux.Handle("/api/cart.json", fixedPage{header: map[string]string{"Content-Type": "application/json", "ETag": `"cart-9"`}, body: []byte(jsonBody)})
	mux.Handle("/invoice/1042", fixedPage{header: map[string]string{
		"Content-Type": "text/html; charset=utf-8", "Content-Disposition": `attachment; filename="invoice-1042.html"`,
		"ETag": `"inv-1042"`, "Accept-Ranges": "bytes"}, body: []byte(product)})
	mux.Handle("/already-tracked", fixedPage{header: map[string]string{"Content-Type": "text/html; charset=utf-8", "ETag": `"tracked-1"`, "Accept-Ranges": "bytes"}, body: []byte(withKatalys)})
	mux.Handle("/no-transform", fixedPage{header: map[string]string{"Content-Type": "text/html", "Cache-Control": "no-transform", "ETag": `"nt-1"`}, body: []byte(product)})
	mux.Handle("/missing", fixedPage{status: 404, header: map[string]string{"Content-Type": "text/html; charset=utf-8"}, body: []byte(product)})
	mux.Handle("/fragment-for-fetch", fixedPage{header: map[string]string{"Content-Type": "text/html", "ETag": `"frag-1"`}, body: []byte(product)})
	mux.HandleFunc("/checkout/submit", func(w http.ResponseWriter, r *http.Request) {
		fixedPage{header: map[string]string{"Content-Type": "text/html"}, body: []byte(product)}.ServeHTTP(w, r)
	})
	up := startUpstream(t, mux)
	port := freePort(t)
	startCaddy(t, globalBuckets+katalysSite(port, siteA, "", hostPort(up)))

	cases := []struct {
		name   string
		method string
		path   string
		kv     []string
		status int
	}{
		{"HEAD of a page", "HEAD", "/static/page.html", nil, 200},
		{"204 No Content (text/html)", "GET", "/no-content", nil, 204},
		{"206 Range covering </body>", "GET", "/static/page.html", []string{"Range", "bytes=-300"}, 206},
		{"304 If-None-Match", "GET", "/static/page.html", []string{"If-None-Match", `"static-page-v3"`}, 304},
		{"application/json", "GET", "/api/cart.json", []string{"Accept", "application/json", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Mode", "cors"}, 200},
		{"text/html attachment", "GET", "/invoice/1042", nil, 200},
		{"page already loading db.revoffers.com/js/", "GET", "/already-tracked", nil, 200},
		{"Cache-Control: no-transform", "GET", "/no-transform", nil, 200},
		{"404 HTML page", "GET", "/missing", nil, 404},
		{"fetch() of HTML (Sec-Fetch-Dest: empty)", "GET", "/fragment-for-fetch", []string{"Accept", "*/*", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Mode", "cors"}, 200},
		{"POST answered with HTML", "POST", "/checkout/submit", nil, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			direct := fetch(t, newRequest(t, c.method, up.URL+c.path, c.kv...))
			if direct.status != c.status {
				t.Fatalf("test setup: upstream answered %d, want %d", direct.status, c.status)
			}
			via := fetch(t, newRequest(t, c.method, fmt.Sprintf("http://127.0.0.1:%d%s", port, c.path), c.kv...))
			checkSameAsUpstream(t, via, direct)
		})
	}
}

// checkSameAsUpstream asserts that a response through Caddy is the
// upstream's: same status, same body bytes, same values for every end-to-end
// header the upstream sent.
func checkSameAsUpstream(t testing.TB, via, direct result) {
	t.Helper()
	if via.status != direct.status {
		t.Errorf("status %d, upstream sent %d", via.status, direct.status)
	}
	if string(via.body) != string(direct.body) {
		t.Errorf("body changed: got %d bytes (%d snippets), upstream sent %d bytes", len(via.body), countSnippets(via.body), len(direct.body))
	}
	for k, want := range direct.header {
		switch k {
		case "Date", "Connection", "Keep-Alive", "Transfer-Encoding":
			continue
		}
		if got := via.header.Values(k); !slices.Equal(got, want) {
			t.Errorf("header %s = %q, upstream sent %q", k, got, want)
		}
	}
	for _, k := range []string{"Content-Length", "Content-Encoding", "ETag"} {
		if len(direct.header.Values(k)) == 0 && len(via.header.Values(k)) > 0 {
			t.Errorf("header %s = %q added; upstream sent none", k, via.header.Values(k))
		}
	}
}

// checkWellFormedXML fails t unless body parses as XML, as a browser
// parses an application/xhtml+xml page: an error there blanks the page.
func checkWellFormedXML(t *testing.T, body []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("the XHTML page is not well-formed XML: %v\n%s", err, body)
		}
	}
}
