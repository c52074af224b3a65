package integration

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// TestCompressedUpstreams: upstreams that compress the page — whether they
// force a coding regardless of Accept-Encoding or honour it — still get the
// snippet, and the client gets a page it can decode; with `encode gzip` in
// the site the page leaves gzipped. An unknown coding passes through
// byte-for-byte.
func TestCompressedUpstreams(t *testing.T) {
	product := storePage(t)
	want := wantInjected(t, product, wantSnippet(siteA, ""))

	var mu sync.Mutex
	seenAE := map[string][]string{} // path → Accept-Encoding values the upstream got
	record := func(r *http.Request) {
		mu.Lock()
		seenAE[r.URL.Path] = append(seenAE[r.URL.Path], r.Header.Get("Accept-Encoding"))
		mu.Unlock()
	}

	mux := http.NewServeMux()
	codings := []string{"gzip", "deflate", "deflate-raw", "br", "zstd"}
	for _, coding := range codings {
		encoded := encodeBody(t, coding, []byte(product))
		mux.HandleFunc("/forced/"+coding, func(w http.ResponseWriter, r *http.Request) {
			record(r)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Encoding", strings.TrimSuffix(coding, "-raw"))
			w.Header().Set("Content-Length", strconv.Itoa(len(encoded)))
			w.Header().Set("ETag", `"forced-`+coding+`"`)
			w.Header().Set("Vary", "Accept-Encoding")
			_, _ = w.Write(encoded)
		})
	}
	mux.HandleFunc("/honours/gzip", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Vary", "Accept-Encoding")
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			_, _ = w.Write([]byte(product))
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = zw.Write([]byte(product))
		_ = zw.Close()
	})
	custom := append([]byte("xc1\x00"), []byte(product)...) // an opaque body that still contains "</body>"
	mux.Handle("/custom", fixedPage{header: map[string]string{
		"Content-Type": "text/html; charset=utf-8", "Content-Encoding": "x-custom", "ETag": `"custom-1"`, "Accept-Ranges": "bytes",
	}, body: custom})
	up := startUpstream(t, mux)

	plain, enc := freePort(t), freePort(t)
	startCaddy(t, globalBuckets+
		katalysSite(plain, siteA, "", hostPort(up))+
		fmt.Sprintf("http://127.0.0.1:%d {\n\tencode gzip\n\tkatalys %s\n\treverse_proxy %s\n}\n", enc, siteA, hostPort(up)))

	paths := []string{"/honours/gzip"}
	for _, c := range codings {
		paths = append(paths, "/forced/"+c)
	}
	for _, path := range paths {
		t.Run(strings.TrimPrefix(path, "/")+"/no encode, browser Accept-Encoding", func(t *testing.T) {
			res := fetch(t, newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d%s", plain, path)))
			if res.status != 200 {
				t.Fatalf("status %d", res.status)
			}
			ce := res.header.Get("Content-Encoding")
			body := decodeBody(t, ce, res.body)
			if n := countSnippets(body); n != 1 {
				t.Errorf("%d snippets in the decoded page, want 1 (Content-Encoding %q)", n, ce)
			}
			checkInjected(t, path, body, want)
			etag := "" // the honouring upstream sends none
			if c, ok := strings.CutPrefix(path, "/forced/"); ok {
				etag = `"forced-` + c + `"`
			}
			checkModifiedHeaders(t, path, res.header, res.body, etag)
			t.Logf("client got Content-Encoding %q", ce)
		})
		t.Run(strings.TrimPrefix(path, "/")+"/encode gzip, Accept-Encoding gzip", func(t *testing.T) {
			res := fetch(t, newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d%s", enc, path), "Accept-Encoding", "gzip"))
			if res.status != 200 {
				t.Fatalf("status %d", res.status)
			}
			ce := res.header.Get("Content-Encoding")
			if ce != "gzip" {
				t.Errorf("Content-Encoding = %q, want gzip from `encode gzip`", ce)
			}
			body := decodeBody(t, ce, res.body)
			if n := countSnippets(body); n != 1 {
				t.Errorf("%d snippets in the decoded page, want 1", n)
			}
			checkInjected(t, path, body, want)
		})
	}

	t.Run("unknown coding x-custom passes through", func(t *testing.T) {
		for _, site := range []struct {
			name string
			port int
			ae   string
		}{{"no encode", plain, "gzip, deflate, br, zstd"}, {"encode gzip", enc, "gzip"}} {
			t.Run(site.name, func(t *testing.T) {
				direct := fetch(t, newRequest(t, "GET", up.URL+"/custom", "Accept-Encoding", site.ae))
				via := fetch(t, newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/custom", site.port), "Accept-Encoding", site.ae))
				checkSameAsUpstream(t, via, direct)
			})
		}
	})

	mu.Lock()
	defer mu.Unlock()
	// Page requests ask the upstream for an uncompressed page: the forced
	// codings above are what an upstream that ignores that sends anyway.
	for _, p := range paths {
		if len(seenAE[p]) == 0 {
			t.Errorf("upstream %s was never asked", p)
		}
		for _, ae := range seenAE[p] {
			if ae != "identity" {
				t.Errorf("upstream %s saw Accept-Encoding %q, want identity", p, ae)
			}
		}
	}
}
