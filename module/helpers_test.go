package module

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/storeedge/caddy-katalys/inject"
)

// testApp declares two buckets with aliases.
var testApp = &App{Buckets: []Bucket{
	{ID: "KA-1", Aliases: []string{"shop.example.com", "KA-OLD"}},
	{ID: "KA-2", Aliases: []string{"other.example.com"}},
}}

// provision returns a handler provisioned the way Caddy does it, in a
// config whose katalys app is app (nil: no katalys app configured).
func provision(t *testing.T, app *App, siteID, scriptSrc string) *Handler {
	t.Helper()
	h, err := tryProvision(app, siteID, scriptSrc)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func tryProvision(app *App, siteID, scriptSrc string) (*Handler, error) {
	cfg := new(caddy.Config)
	if app != nil {
		raw, err := json.Marshal(app)
		if err != nil {
			return nil, err
		}
		cfg.AppsRaw = caddy.ModuleMap{"katalys": raw}
	}
	ctx, err := caddy.ProvisionContext(cfg)
	if err != nil {
		return nil, err
	}
	h := &Handler{SiteID: siteID, ScriptSrc: scriptSrc}
	if err := h.Provision(ctx); err != nil {
		return nil, err
	}
	return h, h.Validate()
}

// upstream is a fake next handler's response.
type upstream struct {
	status   int         // 0: no WriteHeader call (implicit 200)
	header   http.Header // set before WriteHeader
	body     []byte
	chunk    int  // write the body in pieces of this size (0: one write)
	flush    bool // flush after every piece
	readFrom bool // io.Copy the body (the ReadFrom path), as file_server does
	err      error
}

func (u upstream) ServeHTTP(w http.ResponseWriter, _ *http.Request) error {
	for k, v := range u.header {
		w.Header()[k] = slices.Clone(v)
	}
	if u.status != 0 {
		w.WriteHeader(u.status)
	}
	if u.readFrom {
		// LimitReader has no WriteTo, so io.Copy calls w.ReadFrom.
		if _, err := io.Copy(w, io.LimitReader(bytes.NewReader(u.body), int64(len(u.body)))); err != nil {
			return err
		}
		return u.err
	}
	for _, piece := range pieces(u.body, u.chunk) {
		n, err := w.Write(piece)
		if err != nil {
			return err
		}
		if n != len(piece) {
			return fmt.Errorf("short write: %d of %d", n, len(piece))
		}
		if u.flush {
			if err := http.NewResponseController(w).Flush(); err != nil {
				return err
			}
		}
	}
	return u.err
}

func pieces(b []byte, size int) [][]byte {
	if size <= 0 || size >= len(b) {
		if len(b) == 0 {
			return nil
		}
		return [][]byte{b}
	}
	var out [][]byte
	for len(b) > size {
		out = append(out, b[:size])
		b = b[size:]
	}
	return append(out, b)
}

// request builds a request with a Caddy replacer in its context.
func request(method, target string, header http.Header) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	caddyhttp.NewTestReplacer(r)
	return r
}

// response is what reached the client.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string {
	return fmt.Sprintf("%d %v\n%q", r.status, r.header, r.body)
}

func recorded(rec *httptest.ResponseRecorder) response {
	res := rec.Result()
	body, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: body}
}

// through serves req with h in front of next.
func through(t *testing.T, h *Handler, req *http.Request, next caddyhttp.Handler) response {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := h.ServeHTTP(rec, req, next); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	return recorded(rec)
}

// direct serves req with next alone: what the upstream sent.
func direct(t *testing.T, req *http.Request, next caddyhttp.Handler) response {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := next.ServeHTTP(rec, req); err != nil {
		t.Fatalf("upstream: %v", err)
	}
	return recorded(rec)
}

// snippet is the default snippet of a bucket.
func snippet(bucket string) string {
	return string(inject.NewSnippet(bucket, "", "").HTML)
}

// withSnippet is page with the snippet of bucket where it belongs: before
// the last </body> (the test pages have no other markers outside text),
// else before the last </html>, else at the end.
func withSnippet(page, bucket string) string {
	return withHTML(page, snippet(bucket))
}

func withHTML(page, snippet string) string {
	for _, marker := range []string{"</body>", "</html>"} {
		if i := strings.LastIndex(page, marker); i >= 0 {
			return page[:i] + snippet + page[i:]
		}
	}
	return page + snippet
}

// page is a small HTML page.
const page = "<!doctype html><html><head><title>Shop</title></head><body><h1>Hello</h1>" +
	"<p>Welcome to the shop.</p><script>if (a </body> b) {}</script></body></html>\n"

// bigPage is an HTML page of about n bytes, varied enough that compressors
// emit several blocks.
func bigPage(n int) string {
	var b strings.Builder
	b.WriteString("<!doctype html><html><head><title>Catalog</title></head><body><ul>\n")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "<li id=\"p%d\">Product %d — %x, price %d.%02d</li>\n", i, i, i*7919, i%97, i%100)
	}
	b.WriteString("</ul></body></html>\n")
	return b.String()
}

// Encoders for the codings the handler decodes.
func encode(t testing.TB, coding string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := encoder(t, coding, &buf)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type flushWriteCloser interface {
	io.WriteCloser
	Flush() error
}

func encoder(t testing.TB, coding string, dst io.Writer) flushWriteCloser {
	t.Helper()
	switch coding {
	case "gzip", "x-gzip":
		return gzip.NewWriter(dst)
	case "deflate": // as HTTP means it: zlib
		return zlib.NewWriter(dst)
	case "raw-deflate":
		w, _ := flate.NewWriter(dst, flate.DefaultCompression)
		return w
	case "br":
		return brotli.NewWriter(dst)
	case "zstd":
		w, err := zstd.NewWriter(dst)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	t.Fatalf("no encoder for %q", coding)
	return nil
}

// header builds an http.Header from pairs.
func header(kv ...string) http.Header {
	h := make(http.Header)
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// counter reads a counter's value.
func counter(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	if err := (<-ch).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func passed(t *testing.T, reason string) float64 {
	return counter(t, metrics.passed.WithLabelValues(reason))
}

func injected(t *testing.T, place string) float64 {
	return counter(t, metrics.injected.WithLabelValues(place))
}

// flushRecorder records how much of the body had reached it at each flush.
type flushRecorder struct {
	*httptest.ResponseRecorder
	flushes []int
}

func (f *flushRecorder) Flush() {
	f.flushes = append(f.flushes, f.Body.Len())
	f.ResponseRecorder.Flush()
}

// readFromRecorder is an inner writer with its own ReadFrom, standing in
// for the server's sendfile path.
type readFromRecorder struct {
	*httptest.ResponseRecorder
	readFroms int
}

func (r *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.readFroms++
	return io.Copy(writerOnly{r.ResponseRecorder}, src)
}

// discardWriter is an inner writer that keeps nothing, to measure the
// handler's own allocations.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

// statusRecorder records every WriteHeader call (httptest's recorder
// keeps only the first).
type statusRecorder struct {
	*httptest.ResponseRecorder
	statuses []int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.statuses = append(s.statuses, code)
	if code >= 200 {
		s.ResponseRecorder.WriteHeader(code)
	}
}

// unload does to app what Caddy does when it unloads app's config: Stop,
// then (once every app stopped) Cleanup.
func unload(app *App) error {
	return errors.Join(app.Stop(), app.Cleanup())
}
