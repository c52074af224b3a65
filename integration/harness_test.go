package integration

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	kflate "github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"

	"github.com/storeedge/caddy-katalys/storage"
)

// caddyBin is the Caddy binary with the plugin, built once by TestMain.
var caddyBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if url := os.Getenv(crashPosterEnv); url != "" {
		return runCrashPoster(url)
	}
	dir, err := os.MkdirTemp("", "caddy-katalys-integration-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: integration: making a temp dir for the Caddy binary: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)

	caddyBin = filepath.Join(dir, "caddy")
	build := exec.Command("go", "build", "-o", caddyBin, "./cmd/caddy")
	build.Dir = ".." // the module root
	out, err := build.CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: integration: building Caddy with the katalys plugin failed\n"+
			"  command: (cd .. && go build -o %s ./cmd/caddy)\n  error: %v\n%s\n", caddyBin, err, out)
		return 1
	}
	return m.Run()
}

// freePort returns a TCP port that was free on 127.0.0.1 a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port on 127.0.0.1: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// lockedBuffer collects a process's stdout and stderr.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// caddyServer is one `caddy run` process.
type caddyServer struct {
	dir       string // the process's own temp dir (config, HOME, XDG dirs)
	file      string // the Caddyfile it runs
	adminAddr string // 127.0.0.1:port of the admin API
	env       []string
	output    *lockedBuffer
	process   *os.Process // for tests that kill Caddy themselves (SIGKILL)
	exited    chan struct{}
	waitErr   error
}

// harnessEnv is the environment for Caddy processes: the test's environment
// with HOME and the XDG directories moved into dir, so Caddy's data and config
// dirs (and the katalys storage default under them) are per test.
func harnessEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME":
			continue
		}
		env = append(env, kv)
	}
	for name, sub := range map[string]string{
		"HOME":            "home",
		"XDG_DATA_HOME":   "data",
		"XDG_CONFIG_HOME": "config",
		"XDG_CACHE_HOME":  "cache",
	} {
		p := filepath.Join(dir, sub)
		_ = os.MkdirAll(p, 0o755)
		env = append(env, name+"="+p)
	}
	return env
}

// render puts the harness's global options into body. A body that starts
// with its own global block (`{ katalys { … } }`) gets them at the top of
// that block; otherwise a global block is added.
func (c *caddyServer) render(body string) string {
	opts := "\tadmin " + c.adminAddr + "\n" +
		"\tdefault_bind 127.0.0.1\n" +
		"\tauto_https off\n" +
		"\tpersist_config off\n" +
		"\tskip_install_trust\n" +
		"\tgrace_period 1s\n"
	trimmed := strings.TrimLeft(body, " \t\r\n")
	global, rest := "", body
	if strings.HasPrefix(trimmed, "{") {
		global, rest = strings.TrimPrefix(trimmed, "{"), ""
	}
	// Orders are delivered to Katalys by default; tests run without a
	// network, so those that do not name a deliver endpoint (a local
	// collector) get delivery off.
	const block = "\tkatalys {\n"
	switch {
	case strings.Contains(global, block) && !strings.Contains(global, "deliver "):
		global = strings.Replace(global, block, block+"\t\tdeliver off\n", 1)
	case !strings.Contains(global, block):
		opts += "\tkatalys {\n\t\tdeliver off\n\t}\n"
	}
	if rest == "" {
		return "{\n" + opts + global
	}
	return "{\n" + opts + "}\n\n" + rest
}

// startCaddy runs Caddy with the plugin on the Caddyfile body (see render),
// waits until its admin API and every server it listens on answer, and kills
// it when the test ends. Caddy's output goes to the test log when the test
// fails.
func startCaddy(t testing.TB, body string) *caddyServer {
	t.Helper()
	dir := t.TempDir()
	c := &caddyServer{
		dir:       dir,
		file:      filepath.Join(dir, "Caddyfile"),
		adminAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		env:       harnessEnv(dir),
		output:    &lockedBuffer{},
		exited:    make(chan struct{}),
	}
	cfg := c.render(body)
	if err := os.WriteFile(c.file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddyBin, "run", "--config", c.file, "--adapter", "caddyfile")
	cmd.Dir = dir
	cmd.Env = c.env
	cmd.Stdout = c.output
	cmd.Stderr = c.output
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting caddy: %v", err)
	}
	c.process = cmd.Process
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			_ = cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			t.Logf("Caddyfile:\n%s\n--- caddy output ---\n%s--- end of caddy output ---", numbered(cfg), c.output.String())
		}
	})
	c.waitReady(t)
	return c
}

// numbered prefixes each line with its number, for logs.
func numbered(s string) string {
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		fmt.Fprintf(&b, "%3d  %s\n", i+1, line)
	}
	return b.String()
}

// waitReady waits until the admin API answers and every listener of the http
// app accepts connections.
func (c *caddyServer) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	admin := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer admin.CloseIdleConnections()
	for {
		select {
		case <-c.exited:
			t.Fatalf("caddy exited before it was ready (%v); output:\n%s", c.waitErr, c.output.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy was not ready after 30s; output:\n%s", c.output.String())
		}
		listen, err := c.listenAddrs(admin)
		if err == nil && len(listen) > 0 {
			ok := true
			for _, a := range listen {
				conn, err := net.DialTimeout("tcp", a, time.Second)
				if err != nil {
					ok = false
					break
				}
				conn.Close()
			}
			if ok {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listenAddrs asks the admin API for the addresses the http servers listen
// on, as 127.0.0.1:port.
func (c *caddyServer) listenAddrs(admin *http.Client) ([]string, error) {
	resp, err := admin.Get("http://" + c.adminAddr + "/config/apps/http/servers")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("admin API: %s", resp.Status)
	}
	var servers map[string]struct {
		Listen []string `json:"listen"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&servers); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range servers {
		for _, l := range s.Listen {
			l = strings.TrimPrefix(l, "tcp/")
			host, port, err := net.SplitHostPort(l)
			if err != nil {
				return nil, err
			}
			if host != "" && host != "127.0.0.1" {
				return nil, fmt.Errorf("server listens on %q, not 127.0.0.1", l)
			}
			out = append(out, "127.0.0.1:"+port)
		}
	}
	return out, nil
}

// reload replaces the running config with body (rendered like startCaddy's)
// through `caddy reload`, which returns once the new config is running.
func (c *caddyServer) reload(t testing.TB, body string) {
	t.Helper()
	cfg := c.render(body)
	if err := os.WriteFile(c.file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddyBin, "reload", "--config", c.file, "--adapter", "caddyfile", "--address", c.adminAddr)
	cmd.Dir = c.dir
	cmd.Env = c.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("caddy reload failed: %v\n%s\nCaddyfile:\n%s", err, out, numbered(cfg))
	}
	c.waitReady(t)
}

// adapt runs `caddy adapt` on a Caddyfile written verbatim (no harness
// options) and returns its output streams and exit error.
func adapt(t testing.TB, caddyfile string) (stdout, stderr string, err error) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(caddyfile), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddyBin, "adapt", "--config", file, "--adapter", "caddyfile")
	cmd.Dir = dir
	cmd.Env = harnessEnv(dir)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// ---------------------------------------------------------------------------
// Upstreams and the client.

// startUpstream serves h on 127.0.0.1 for the test's lifetime.
func startUpstream(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// hostPort is the 127.0.0.1:port of an httptest server.
func hostPort(srv *httptest.Server) string {
	return strings.TrimPrefix(srv.URL, "http://")
}

// client talks to 127.0.0.1 only, never through a proxy, and never adds or
// decodes Accept-Encoding on its own: each test sets what it sends.
var client = &http.Client{
	Timeout: 30 * time.Second,
	Transport: &http.Transport{
		Proxy:              nil,
		DisableCompression: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if host != "127.0.0.1" {
				return nil, fmt.Errorf("integration tests only connect to 127.0.0.1, not %s", addr)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 16,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// browserHeaders are what Chrome sends for a top-level navigation.
var browserHeaders = [][2]string{
	{"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"},
	{"Accept-Encoding", "gzip, deflate, br, zstd"},
	{"Accept-Language", "en-US,en;q=0.9"},
	{"Sec-Fetch-Dest", "document"},
	{"Sec-Fetch-Mode", "navigate"},
	{"Sec-Fetch-Site", "none"},
	{"Upgrade-Insecure-Requests", "1"},
	{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"},
}

// newRequest builds a request with the browser's navigation headers, then
// kv pairs on top ("Host" sets the Host; an empty value deletes the header).
func newRequest(t testing.TB, method, url string, kv ...string) *http.Request {
	t.Helper()
	if len(kv)%2 != 0 {
		t.Fatalf("newRequest: odd header list %q", kv)
	}
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range browserHeaders {
		req.Header.Set(h[0], h[1])
	}
	for i := 0; i < len(kv); i += 2 {
		switch {
		case http.CanonicalHeaderKey(kv[i]) == "Host":
			req.Host = kv[i+1]
		case kv[i+1] == "":
			req.Header.Del(kv[i])
		default:
			req.Header.Set(kv[i], kv[i+1])
		}
	}
	return req
}

// result is a response read in full.
type result struct {
	status int
	header http.Header
	body   []byte
}

// fetch sends req and reads the whole response, failing the test on any
// transport error.
func fetch(t testing.TB, req *http.Request) result {
	t.Helper()
	res, err := tryFetch(req)
	if err != nil {
		t.Fatalf("%s %s (Host %s): %v", req.Method, req.URL, req.Host, err)
	}
	return res
}

func tryFetch(req *http.Request) (result, error) {
	resp, err := client.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, fmt.Errorf("reading the body: %w", err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// ---------------------------------------------------------------------------
// The snippet.

const (
	siteA = "KA-7Q2M9X4B1Z"
	siteB = "KA-3H8W5N0C6P"
)

// defaultScriptSrc is the plugin's default script_src.
const defaultScriptSrc = "https://db.revoffers.com/js/{site_id}.js"

// inlineScript is the text of the snippet's inline script for siteID (site
// ids used in these tests need no JS escaping).
func inlineScript(siteID string) string {
	return `window._revoffers_track=window._revoffers_track||{};_revoffers_track.site_id="` + siteID + `";`
}

// wantSnippet is the markup the plugin inserts for siteID (no nonce).
func wantSnippet(siteID, scriptSrc string) string {
	if scriptSrc == "" {
		scriptSrc = defaultScriptSrc
	}
	src := strings.ReplaceAll(scriptSrc, "{site_id}", siteID)
	return `<script>` + inlineScript(siteID) + `</script><script src="` + src + `" async></script>`
}

var siteIDRe = regexp.MustCompile(`_revoffers_track\.site_id=("(?:[^"\\]|\\.)*")`)

// snippetSiteIDs returns the site id of every inline snippet in body, in
// order.
func snippetSiteIDs(body []byte) []string {
	var ids []string
	for _, m := range siteIDRe.FindAllSubmatch(body, -1) {
		var s string
		if err := json.Unmarshal(m[1], &s); err != nil {
			s = string(m[1])
		}
		ids = append(ids, s)
	}
	return ids
}

// countSnippets counts the inline snippets (`_revoffers_track.site_id=`) in
// body.
// fetchInjected fetches a page that must come back 200 with exactly one
// snippet, and returns it for the finer checks.
func fetchInjected(t testing.TB, req *http.Request) result {
	t.Helper()
	res := fetch(t, req)
	if res.status != http.StatusOK {
		t.Fatalf("%s: status %d, want 200; body %q", req.URL, res.status, res.body)
	}
	if n := countSnippets(res.body); n != 1 {
		t.Fatalf("%s: %d snippets, want exactly 1", req.URL, n)
	}
	return res
}

func countSnippets(body []byte) int {
	return bytes.Count(body, []byte("_revoffers_track.site_id="))
}

// insertAt returns page with snippet inserted at byte index at.
func insertAt(page string, at int, snippet string) string {
	return page[:at] + snippet + page[at:]
}

// wantInjected is page with the snippet before its last `</body>`: the
// expectation for pages whose last `</body>` is the real one.
func wantInjected(t testing.TB, page, snippet string) string {
	t.Helper()
	i := strings.LastIndex(page, "</body>")
	if i < 0 {
		t.Fatalf("test page has no </body>")
	}
	return insertAt(page, i, snippet)
}

// checkInjected asserts that body is page with snippet inserted where want
// says, and shows where they differ otherwise.
func checkInjected(t testing.TB, label string, got []byte, want string) {
	t.Helper()
	if string(got) == want {
		return
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-120)
	t.Errorf("%s: body differs from the page with the snippet inserted before the real </body> (%d snippets found, got %d bytes, want %d)\n"+
		"first difference at byte %d:\n got: …%q…\nwant: …%q…",
		label, countSnippets(got), len(got), len(want), i, got[lo:min(len(got), i+160)], want[lo:min(len(want), i+160)])
}

// checkModifiedHeaders asserts the header fix-ups of a modified page whose
// (undecoded) body the client received as body. The upstream's
// Content-Length must be gone; a Content-Length that matches the new body is
// fine: Go's HTTP server (Caddy's) computes one by itself when a handler
// finishes a short response before its first flush.
func checkModifiedHeaders(t testing.TB, label string, h http.Header, body []byte, upstreamETag string) {
	t.Helper()
	if v := h.Values("Content-Length"); len(v) != 0 && (len(v) != 1 || v[0] != strconv.Itoa(len(body))) {
		t.Errorf("%s: modified page has Content-Length %q, but its body is %d bytes", label, v, len(body))
	}
	if v := h.Values("Accept-Ranges"); len(v) != 0 {
		t.Errorf("%s: modified page still has Accept-Ranges %q", label, v)
	}
	if upstreamETag != "" {
		got := h.Get("ETag")
		want := upstreamETag
		if !strings.HasPrefix(want, "W/") {
			want = "W/" + want
		}
		if got != want {
			t.Errorf("%s: ETag = %q, want the upstream's %q weakened to %q", label, got, upstreamETag, want)
		}
	}
}

// ---------------------------------------------------------------------------
// Content codings.

// encodeBody encodes data with an HTTP content coding.
func encodeBody(t testing.TB, coding string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	var err error
	switch coding {
	case "gzip":
		w = gzip.NewWriter(&b)
	case "deflate": // HTTP deflate is the zlib format (RFC 9110 §8.4.1.2)
		w = zlib.NewWriter(&b)
	case "deflate-raw": // what some servers send as "deflate" anyway
		w, err = kflate.NewWriter(&b, kflate.DefaultCompression)
	case "br":
		w = brotli.NewWriter(&b)
	case "zstd":
		w, err = zstd.NewWriter(&b)
	default:
		t.Fatalf("encodeBody: unknown coding %q", coding)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// decodeBody undoes the Content-Encoding of a response.
func decodeBody(t testing.TB, contentEncoding string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
		return body
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("response says gzip but is not: %v", err)
		}
		r = zr
	case "deflate":
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil { // some servers send raw deflate
			r = flate.NewReader(bytes.NewReader(body))
		} else {
			r = zr
		}
	case "br":
		r = brotli.NewReader(bytes.NewReader(body))
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	default:
		t.Fatalf("response has Content-Encoding %q, which the test cannot decode", contentEncoding)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding the %s response: %v", contentEncoding, err)
	}
	return out
}

// readTestdata reads a file of integration/testdata.
func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// storePage is a product page of a few KiB with one </body>, big enough that
// `encode` compresses it.
func storePage(t testing.TB) string {
	return readTestdata(t, "product.html")
}

// withStore opens the store in dir, which no Caddy holds (before it starts,
// or after it exited), runs fn with it and closes it, failing the test on
// any error.
func withStore(t testing.TB, dir string, fn func(*storage.Store) error) {
	t.Helper()
	st, err := storage.Open(storage.Options{Dir: dir})
	if err != nil {
		t.Fatalf("opening the store in %s: %v", dir, err)
	}
	err = fn(st)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
}
