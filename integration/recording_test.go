package integration

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/storeedge/caddy-katalys/storage"
	"github.com/storeedge/caddy-katalys/tracking"
)

// recordingSite is a Caddyfile whose katalys app keeps its store in dir,
// with one bucket (retention varies it between reloads) and one site on
// port that injects it and proxies to upstream.
func recordingSite(dir string, retention string, port int, upstream string) string {
	return fmt.Sprintf(`{
	katalys {
		storage %s
		bucket %s {
			alias shop.test
			retention %s
		}
	}
}

http://127.0.0.1:%d {
	katalys %s
	reverse_proxy %s
}
`, dir, siteA, retention, port, siteA, upstream)
}

// htmlUpstream serves a small HTML page on every path.
func htmlUpstream(t *testing.T) string {
	page := "<!DOCTYPE html><html><head><title>Shop</title></head><body><p>Trail shoes</p></body></html>"
	return hostPort(startUpstream(t, fixedPage{header: map[string]string{"Content-Type": "text/html; charset=utf-8"}, body: []byte(page)}))
}

// stopCaddy stops Caddy cleanly through the admin API (the store drains
// and closes) and waits for the process to exit.
func stopCaddy(t *testing.T, c *caddyServer) {
	t.Helper()
	resp, err := client.Post("http://"+c.adminAddr+"/stop", "", nil)
	if err == nil {
		resp.Body.Close()
	}
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("caddy did not exit within 30s of /stop; output:\n%s", c.output.String())
	}
	if c.waitErr != nil {
		t.Fatalf("caddy exited with %v; output:\n%s", c.waitErr, c.output.String())
	}
}

// storedEvents opens the store directory (Caddy must have exited) and
// returns every event of bucket.
func storedEvents(t *testing.T, dir, bucket string) []storage.Event {
	t.Helper()
	var evs []storage.Event
	withStore(t, dir, func(st *storage.Store) error {
		return st.Events(bucket, time.Unix(0, 0), time.Now().Add(time.Hour), func(ev storage.Event) error {
			evs = append(evs, ev)
			return nil
		})
	})
	return evs
}

// postEvents posts a collect payload as a page's fetch() would.
func postEvents(url, body string, cookies ...string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set("Sec-Fetch-Dest", "empty")
	if len(cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(cookies, "; "))
	}
	res, err := tryFetch(req)
	return res.status, string(res.body), err
}

// cookieValue is the value of the cookie name set by header, or "".
func cookieValue(header http.Header, name string) string {
	for _, c := range (&http.Response{Header: header}).Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// TestRecordPagesAndCollect: through a real Caddy, the first page sets the
// visitor and session cookies, the next page (sending them back) keeps the
// visitor and session, a landing with click parameters records a click
// too, a bot is not recorded, `caddy validate` of the running config
// succeeds (it does not open the store), a collect request lands in the
// site's bucket
// with the visitor of its cookie, and all of it is in the Badger directory
// after Caddy stops.
func TestRecordPagesAndCollect(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	c := startCaddy(t, recordingSite(dir, "400d", port, htmlUpstream(t)))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	first := fetch(t, newRequest(t, "GET", base+"/landing?transaction_id=T-42&utm_source=aff"))
	vid := cookieValue(first.header, tracking.VisitorCookie)
	sid := cookieValue(first.header, tracking.SessionCookie)
	if first.status != 200 || vid == "" || sid == "" {
		t.Fatalf("first page: status %d, cookies %q; want 200 with %s and %s", first.status,
			first.header.Values("Set-Cookie"), tracking.VisitorCookie, tracking.SessionCookie)
	}
	for _, sc := range first.header.Values("Set-Cookie") {
		if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") || !strings.Contains(sc, "Path=/") {
			t.Errorf("cookie attributes: %s", sc)
		}
	}
	if !strings.Contains(string(first.body), "_revoffers_track") {
		t.Errorf("first page not injected: %s", first.body)
	}
	cookies := []string{tracking.VisitorCookie + "=" + vid, tracking.SessionCookie + "=" + sid}
	second := fetch(t, newRequest(t, "GET", base+"/products/trail", "Cookie", strings.Join(cookies, "; "),
		"Referer", base+"/landing"))
	// The same session moments later: nothing to renew, so no Set-Cookie,
	// which keeps no-store pages in the back/forward cache.
	if got := second.header.Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("second page, a moment into the session, set cookies %q, want none", got)
	}
	bot := fetch(t, newRequest(t, "GET", base+"/robots-view", "User-Agent", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"))
	if len(bot.header.Values("Set-Cookie")) != 0 {
		t.Errorf("bot got cookies: %q", bot.header.Values("Set-Cookie"))
	}
	// `caddy validate` provisions every module but starts no app: it must
	// not touch the store that the running Caddy holds open (Badger would
	// refuse a second open of the directory).
	validate := exec.Command(caddyBin, "validate", "--config", c.file, "--adapter", "caddyfile")
	validate.Dir, validate.Env = c.dir, c.env
	if out, err := validate.CombinedOutput(); err != nil {
		t.Errorf("caddy validate while Caddy runs on the store: %v\n%s", err, out)
	}
	status, body, err := postEvents(base+"/_katalys/e", `{"action":"addtocart","sku":"TRAIL-1","price":89.90}`, cookies...)
	if err != nil || status != http.StatusNoContent {
		t.Fatalf("collect: %d %s %v", status, body, err)
	}
	status, body, err = postEvents(base+"/_katalys/e", `{"action":"x","site_id":"KA-OTHER"}`)
	if err != nil || status != http.StatusBadRequest || !strings.Contains(body, `"error"`) {
		t.Errorf("collect naming a bucket: %d %s %v; want 400 with a JSON error", status, body, err)
	}
	stopCaddy(t, c)

	evs := storedEvents(t, dir, siteA)
	count := map[string]int{}
	for _, ev := range evs {
		count[ev.Type]++
		if ev.Visitor != vid {
			t.Errorf("%s event of visitor %q, want %q: %+v", ev.Type, ev.Visitor, vid, ev)
		}
		if ev.Session != strings.Split(sid, ".")[0] {
			t.Errorf("%s event in session %q, want the first page's: %+v", ev.Type, ev.Session, ev)
		}
		switch ev.Type {
		case "click":
			if ev.Fields["transaction_id"] != "T-42" || ev.Fields["utm_source"] != "aff" {
				t.Errorf("click fields %v", ev.Fields)
			}
		case "addtocart":
			if ev.Fields["sku"] != "TRAIL-1" || ev.Fields["price"] != "89.90" || ev.Fields["client_ip"] != "127.0.0.1" {
				t.Errorf("collect fields %v", ev.Fields)
			}
		}
	}
	if count["pageview"] != 2 || count["click"] != 1 || count["addtocart"] != 1 || len(evs) != 4 {
		t.Errorf("stored %v (%d events), want 2 pageviews, 1 click, 1 addtocart", count, len(evs))
	}
}

// TestRecordAcrossReloads: the config is reloaded 20 times (changing a
// bucket's retention, so each reload really replaces the config) while
// goroutines post collect events and fetch pages. No reload fails (no
// Badger directory lock error: the store is shared, not reopened), every
// page is served, and every event that got a 204 is in the store after
// Caddy stops.
func TestRecordAcrossReloads(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	upstream := htmlUpstream(t)
	c := startCaddy(t, recordingSite(dir, "400d", port, upstream))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	var (
		stop          atomic.Bool
		wg            sync.WaitGroup
		mu            sync.Mutex
		acked         = map[string]bool{}
		statuses      = map[string]int{}
		pages         atomic.Int64
		transportErrs atomic.Int64
		pageErrs      []string
	)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				id := fmt.Sprintf("g%d-%d", g, i)
				status, _, err := postEvents(base+"/_katalys/e", `{"action":"reload_test","n":"`+id+`"}`)
				mu.Lock()
				if err != nil {
					statuses["transport error"]++
				} else {
					statuses[fmt.Sprint(status)]++
				}
				if err == nil && status == http.StatusNoContent {
					acked[id] = true
				}
				mu.Unlock()
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				req, err := http.NewRequest("GET", base+"/page", nil)
				if err != nil {
					panic(err)
				}
				for _, h := range browserHeaders {
					req.Header.Set(h[0], h[1])
				}
				res, err := tryFetch(req)
				switch {
				case err != nil:
					// A keep-alive connection closed by the old server as
					// the reload retires it (EOF, reset): Caddy's
					// graceful restart, not the plugin; counted below.
					transportErrs.Add(1)
				case res.status != 200 || !strings.Contains(string(res.body), "_revoffers_track"):
					mu.Lock()
					pageErrs = append(pageErrs, fmt.Sprintf("status %d, body %.200q", res.status, res.body))
					mu.Unlock()
				}
				pages.Add(1)
			}
		}()
	}
	for i := range 20 {
		retention := fmt.Sprintf("%dd", 300+i)
		c.reload(t, recordingSite(dir, retention, port, upstream))
	}
	time.Sleep(200 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	stopCaddy(t, c)

	if out := c.output.String(); strings.Contains(out, "Cannot acquire directory lock") || strings.Contains(out, "opening katalys storage") {
		t.Errorf("the store was opened twice or failed to open:\n%s", out)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(pageErrs) != 0 {
		t.Errorf("%d of %d page fetches failed during reloads: %q", len(pageErrs), pages.Load(), pageErrs)
	}
	t.Logf("collect statuses during 20 reloads: %v; %d pages, %d page transport errors", statuses, pages.Load(), transportErrs.Load())
	if n := transportErrs.Load(); n*100 > pages.Load() {
		t.Errorf("%d of %d page fetches hit a transport error", n, pages.Load())
	}
	if statuses["503"] != 0 {
		t.Errorf("collect answered 503 %d times during reloads: the store was not reachable", statuses["503"])
	}
	if len(acked) < 20 {
		t.Fatalf("only %d collect requests acknowledged: %v", len(acked), statuses)
	}
	found := map[string]bool{}
	for _, ev := range storedEvents(t, dir, siteA) {
		if ev.Type == "reload_test" {
			found[ev.Fields["n"]] = true
		}
	}
	missing := 0
	for id := range acked {
		if !found[id] {
			missing++
			if missing <= 10 {
				t.Errorf("acknowledged event %s not in the store", id)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged events lost", missing, len(acked))
	}
}

// crashPosterEnv names the collect URL when the test binary runs as the
// crash test's poster process.
const crashPosterEnv = "KATALYS_CRASH_POSTER_URL"

// runCrashPoster is the other process of TestCrashKeepsAcknowledged: the
// test binary started again with crashPosterEnv set (TestMain dispatches
// here before running any test). It posts collect events from 8 goroutines
// and prints the id of each one that got a 204, until Caddy goes away.
func runCrashPoster(url string) int {
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	deadline := time.Now().Add(60 * time.Second)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			failures := 0
			for i := 0; time.Now().Before(deadline); i++ {
				id := fmt.Sprintf("p%d-%d", g, i)
				status, _, err := postEvents(url, `{"action":"crash_test","n":"`+id+`"}`)
				if err != nil {
					// Caddy was killed: give up after a few refused connections.
					if failures++; failures > 5 {
						return
					}
					time.Sleep(20 * time.Millisecond)
					continue
				}
				if status == http.StatusNoContent {
					mu.Lock()
					fmt.Fprintln(out, "ACK", id)
					_ = out.Flush()
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return 0
}

// TestCrashKeepsAcknowledged: another process posts collect events while
// Caddy is killed with SIGKILL mid-load; Caddy is started again on the
// same store directory (Badger recovers, no lock left behind) and stopped;
// every event that got a 204 before the kill is in the store.
func TestCrashKeepsAcknowledged(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	upstream := htmlUpstream(t)
	c := startCaddy(t, recordingSite(dir, "400d", port, upstream))
	url := fmt.Sprintf("http://127.0.0.1:%d/_katalys/e", port)

	poster := exec.Command(os.Args[0])
	poster.Env = append(os.Environ(), crashPosterEnv+"="+url)
	stdout, err := poster.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	poster.Stderr = &stderr
	if err := poster.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	done := make(chan struct{})
	var firstAck sync.Once
	started := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
				acked[id] = true
				firstAck.Do(func() { close(started) })
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		_ = poster.Process.Kill()
		t.Fatalf("the poster got no 204 in 30s; its stderr:\n%s", stderr.String())
	}
	time.Sleep(700 * time.Millisecond) // mid-load
	if err := c.process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.exited
	<-done
	if err := poster.Wait(); err != nil {
		t.Fatalf("poster: %v\n%s", err, stderr.String())
	}
	if len(acked) < 50 {
		t.Fatalf("only %d events acknowledged before the kill", len(acked))
	}

	// Start again on the same directory: it must open (no stale lock) and
	// keep serving; then stop cleanly.
	c2 := startCaddy(t, recordingSite(dir, "400d", port, upstream))
	if status, body, err := postEvents(url, `{"action":"after_restart"}`); err != nil || status != http.StatusNoContent {
		t.Fatalf("collect after the restart: %d %s %v", status, body, err)
	}
	stopCaddy(t, c2)

	found := map[string]bool{}
	restarted := false
	for _, ev := range storedEvents(t, dir, siteA) {
		switch ev.Type {
		case "crash_test":
			found[ev.Fields["n"]] = true
		case "after_restart":
			restarted = true
		}
	}
	missing := 0
	for id := range acked {
		if !found[id] {
			missing++
			if missing <= 10 {
				t.Errorf("acknowledged event %s lost in the crash", id)
			}
		}
	}
	t.Logf("%d acknowledged before SIGKILL, %d crash_test events stored, %d lost", len(acked), len(found), missing)
	if missing > 0 {
		t.Errorf("%d of %d acknowledged events lost", missing, len(acked))
	}
	if !restarted {
		t.Error("the event posted after the restart is not stored")
	}
}

// TestStoreUnavailableKeepsPagesFlowing: when the store cannot be opened
// (here its path is a regular file), Caddy still starts and serves
// injected pages; nothing is recorded, no cookie is set, and the collect
// endpoint answers 503 rather than pretending to store events.
func TestStoreUnavailableKeepsPagesFlowing(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "store")
	if err := os.WriteFile(notADir, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	startCaddy(t, recordingSite(notADir, "400d", port, htmlUpstream(t)))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	page := fetch(t, newRequest(t, "GET", base+"/"))
	if page.status != http.StatusOK || strings.Count(string(page.body), "_revoffers_track.site_id=") != 1 {
		t.Fatalf("page: status %d, body %q", page.status, page.body)
	}
	if c := page.header.Values("Set-Cookie"); len(c) != 0 {
		t.Errorf("cookies set with no store: %q", c)
	}
	if status, body, err := postEvents(base+"/_katalys/e", `{"action":"addtocart"}`); err != nil || status != http.StatusServiceUnavailable {
		t.Errorf("collect with no store: %d %s %v, want 503", status, body, err)
	}
}
