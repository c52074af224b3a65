package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

const marker = `_revoffers_track.site_id="KA-7Q2M9X4B1Z"`

func TestPageSizes(t *testing.T) {
	for _, s := range sizes[:3] {
		p := Page(s.n)
		if len(p) != s.n {
			t.Errorf("%s: %d bytes, want %d", s.name, len(p), s.n)
		}
		if c := bytes.Count(p, []byte("</body>")); c != 1 {
			t.Errorf("%s: %d </body>, want 1", s.name, c)
		}
		if !bytes.Equal(p, Page(s.n)) {
			t.Errorf("%s: not deterministic", s.name)
		}
	}
}

func TestServe(t *testing.T) {
	s := &server{pages: map[string]page{}}
	p := Page(10 << 10)
	s.pages["10k"] = page{plain: p, gz: gzipped(p)}
	ts := httptest.NewServer(s)
	defer ts.Close()
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	for _, ae := range []string{"", "gzip", "br, gzip;q=0.5", "gzip;q=0", "br"} {
		req, _ := http.NewRequest("GET", ts.URL+"/10k", nil)
		if ae != "" {
			req.Header.Set("Accept-Encoding", ae)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Errorf("%q: Content-Length %q, body %d", ae, resp.Header.Get("Content-Length"), len(body))
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%q: Content-Type %q", ae, ct)
		}
		wantGzip := acceptsGzip(ae)
		if got := resp.Header.Get("Content-Encoding") == "gzip"; got != wantGzip {
			t.Errorf("%q: gzip %v, want %v", ae, got, wantGzip)
		}
		if wantGzip {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			body, err = io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(body, p) {
			t.Errorf("%q: body differs from the page", ae)
		}
	}
	if s.gzip.Load() != 2 || s.ident.Load() != 3 {
		t.Errorf("stats: gzip %d identity %d, want 2 and 3", s.gzip.Load(), s.ident.Load())
	}
}

func TestVerify(t *testing.T) {
	p := Page(10 << 10)
	k := bytes.LastIndex(p, []byte("</body>"))
	snippet := `<script>window._revoffers_track=window._revoffers_track||{};` + marker + `;</script>`
	injected := append(append(append([]byte{}, p[:k]...), snippet...), p[k:]...)
	if err := verify("10k", p, 0, marker); err != nil {
		t.Errorf("unchanged page: %v", err)
	}
	if err := verify("10k", injected, 1, marker); err != nil {
		t.Errorf("injected page: %v", err)
	}
	if verify("10k", injected, 0, marker) == nil {
		t.Error("injected page passes as unchanged")
	}
	if verify("10k", p, 1, marker) == nil {
		t.Error("unchanged page passes as injected")
	}
	twice := append(append(append([]byte{}, p[:k]...), snippet+snippet...), p[k:]...)
	if verify("10k", twice, 1, marker) == nil {
		t.Error("page with two snippets passes")
	}
	atEnd := append(append([]byte{}, p...), snippet...)
	if verify("10k", atEnd, 1, marker) == nil {
		t.Error("snippet after </html> passes")
	}
	if verify("10k", p[:len(p)-1], 0, marker) == nil {
		t.Error("truncated page passes")
	}
}

func TestAcceptsGzip(t *testing.T) {
	for ae, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "br, gzip": true, "gzip;q=0": false,
		"gzip; q=0.0": false, "gzip;q=0.1": true, "*": true, "identity": false, "x-gzip": false,
	} {
		if got := acceptsGzip(ae); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", ae, got, want)
		}
	}
}

// TestThankYouPage: the thank-you page has its size, one </body>, the
// order markup and the purchase push, and is served by its last path
// segment on any path.
func TestThankYouPage(t *testing.T) {
	p, ok := pageFor("ty200k")
	if !ok || len(p) != thankYouSize {
		t.Fatalf("ty200k: %d bytes, want %d", len(p), thankYouSize)
	}
	for _, s := range []string{"woocommerce-order-overview", `transaction_id: "NW-40917"`, "cross-sells-title"} {
		if !bytes.Contains(p, []byte(s)) {
			t.Errorf("ty200k lacks %q", s)
		}
	}
	if bytes.Count(p, []byte("</body>")) != 1 || bytes.Index(p, []byte(orderPush)) > bytes.Index(p, []byte("</body>")) {
		t.Error("ty200k: want one </body>, after the purchase push")
	}
	ts := httptest.NewServer(newServer())
	defer ts.Close()
	for _, path := range []string{"/checkout/order-received/ty200k", "/journal/plain/ty200k"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(body, p) {
			t.Errorf("%s: not the thank-you page", path)
		}
	}
}
