package module

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/storeedge/caddy-katalys/storage"
	"github.com/storeedge/caddy-katalys/tracking"
)

// startedHandler provisions a handler in a config whose katalys app keeps
// its store in a fresh directory, and starts the app (as Caddy does after
// provisioning every module). The app is stopped when the test ends.
func startedHandler(t *testing.T, buckets []Bucket, siteID, endpoint string) (*Handler, *App) {
	t.Helper()
	app := &App{Storage: t.TempDir(), Buckets: buckets}
	raw, err := json.Marshal(app)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := caddy.ProvisionContext(&caddy.Config{AppsRaw: caddy.ModuleMap{"katalys": raw}})
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{SiteID: siteID, Endpoint: endpoint}
	if err := h.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := h.app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unload(h.app); err != nil {
			t.Error(err)
		}
	})
	return h, h.app
}

// events reads every event of bucket from the app's open store.
func events(t *testing.T, st *storage.Store, bucket string) []storage.Event {
	t.Helper()
	var out []storage.Event
	err := st.Events(bucket, time.Unix(0, 0), time.Now().Add(time.Hour), func(ev storage.Event) error {
		out = append(out, ev)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// post sends a collect request through h; next must not be reached.
func post(t *testing.T, h *Handler, method, target, body string, kv ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Set(kv[i], kv[i+1])
	}
	caddyhttp.NewTestReplacer(r)
	rec := httptest.NewRecorder()
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		t.Errorf("%s %s reached the next handler", method, target)
		return nil
	})
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatalf("ServeHTTP: %v", err)
	}
	return rec
}

func errorReason(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var body struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == "" {
		t.Errorf("body %q is not {\"error\": reason}: %v", rec.Body.String(), err)
	}
	return body.Error
}

// TestCollectStatuses: the collect endpoint's answers, and that a 204
// means the events are in the store (readable at once: Write returned
// after the commit).
func TestCollectStatuses(t *testing.T) {
	h, app := startedHandler(t, testApp.Buckets, "shop.example.com", "")
	const vid = "0123456789abcdef0123456789abcdef"
	cookie := tracking.VisitorCookie + "=" + vid

	rec := post(t, h, "POST", "/_katalys/e", `{"action":"addtocart","sku":"TRAIL-1","price":12.50}`, "Cookie", cookie, "User-Agent", "UA/1")
	if rec.Code != http.StatusNoContent {
		t.Fatalf("single event: %d %s", rec.Code, rec.Body)
	}
	got := events(t, app.Store(), "KA-1")
	if len(got) != 1 {
		t.Fatalf("after a 204: %d events in the store, want 1: %+v", len(got), got)
	}
	ev := got[0]
	if ev.Type != "addtocart" || ev.Visitor != vid || ev.Fields["sku"] != "TRAIL-1" || ev.Fields["price"] != "12.50" ||
		ev.Fields["user_agent"] != "UA/1" || ev.Fields["client_ip"] != "192.0.2.1" {
		t.Errorf("stored event %+v", ev)
	}

	rec = post(t, h, "POST", "/_katalys/e", `[{"action":"a1"},{"action":"a2"},{"action":"a3"}]`)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("array: %d %s", rec.Code, rec.Body)
	}
	if n := len(events(t, app.Store(), "KA-1")); n != 4 {
		t.Errorf("after the array: %d events, want 4", n)
	}
	if n := len(events(t, app.Store(), "KA-2")); n != 0 {
		t.Errorf("other bucket got %d events", n)
	}

	many := "[" + strings.Repeat(`{"action":"x"},`, maxCollectEvents) + `{"action":"x"}]`
	big := `{"action":"x","pad":"` + strings.Repeat("a", maxCollectBody) + `"}`
	for _, tc := range []struct {
		name, method, body string
		status             int
	}{
		{"malformed JSON", "POST", `{"action":`, http.StatusBadRequest},
		{"no action", "POST", `{"sku":"1"}`, http.StatusBadRequest},
		{"bucket in payload", "POST", `{"action":"x","bucket":"KA-2"}`, http.StatusBadRequest},
		{"nested value", "POST", `{"action":"x","items":[1]}`, http.StatusBadRequest},
		{"empty body", "POST", "", http.StatusBadRequest},
		{"too many events", "POST", many, http.StatusRequestEntityTooLarge},
		{"body too large", "POST", big, http.StatusRequestEntityTooLarge},
		{"GET", "GET", "", http.StatusMethodNotAllowed},
		{"PUT", "PUT", `{"action":"x"}`, http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := post(t, h, tc.method, "/_katalys/e", tc.body)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			reason := errorReason(t, rec)
			t.Logf("%d %s", rec.Code, reason)
			if tc.status == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "POST" {
				t.Errorf("Allow %q", rec.Header().Get("Allow"))
			}
		})
	}
	if n := len(events(t, app.Store(), "KA-1")); n != 4 {
		t.Errorf("refused requests stored events: %d, want 4", n)
	}
}

// TestCollectEndpointOption: a configured endpoint moves the collect path;
// the default path then goes on to the rest of the route.
func TestCollectEndpointOption(t *testing.T) {
	h, app := startedHandler(t, nil, "KA-9", "/ka")
	if rec := post(t, h, "POST", "/ka/e", `{"action":"x"}`); rec.Code != http.StatusNoContent {
		t.Fatalf("POST /ka/e: %d %s", rec.Code, rec.Body)
	}
	if n := len(events(t, app.Store(), "KA-9")); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
	reached := false
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) error {
		reached = true
		w.WriteHeader(http.StatusNotFound)
		return nil
	})
	r := httptest.NewRequest("POST", "/_katalys/e", strings.NewReader(`{"action":"x"}`))
	caddyhttp.NewTestReplacer(r)
	if err := h.ServeHTTP(httptest.NewRecorder(), r, next); err != nil || !reached {
		t.Errorf("POST /_katalys/e with endpoint /ka: reached next %v, err %v", reached, err)
	}
	for _, bad := range []string{"ka", "//ka", "/ka?x", "/{host}", "/a b"} {
		if err := CheckEndpoint(bad); err == nil {
			t.Errorf("CheckEndpoint(%q) = nil", bad)
		}
	}
}

// TestCollectNotStarted: before the app started (apps start in random
// order) the endpoint answers 503 and pages are served without cookies.
func TestCollectNotStarted(t *testing.T) {
	h := provision(t, testApp, "KA-1", "")
	if rec := post(t, h, "POST", "/_katalys/e", `{"action":"x"}`); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	before := counter(t, metrics.notRecorded.WithLabelValues(skipNotReady))
	res := through(t, h, request("GET", "/", nil), upstream{header: header("Content-Type", "text/html"), body: []byte("<body></body>")})
	if res.header.Get("Set-Cookie") != "" {
		t.Errorf("cookie set with no store: %v", res.header)
	}
	if after := counter(t, metrics.notRecorded.WithLabelValues(skipNotReady)); after != before+1 {
		t.Errorf("not_ready counted %v → %v", before, after)
	}
}

// TestCollectPrivacy: under `privacy gpc` an opted-out visitor's events
// are accepted and not kept; `ip truncate` shortens the stored address.
func TestCollectPrivacy(t *testing.T) {
	h, app := startedHandler(t, []Bucket{{ID: "KA-1", Privacy: PrivacyGPC, IP: IPTruncate}}, "KA-1", "")
	if rec := post(t, h, "POST", "/_katalys/e", `{"action":"x"}`, "Sec-GPC", "1"); rec.Code != http.StatusNoContent {
		t.Fatalf("opted out: %d", rec.Code)
	}
	if n := len(events(t, app.Store(), "KA-1")); n != 0 {
		t.Errorf("opted-out events stored: %d", n)
	}
	if rec := post(t, h, "POST", "/_katalys/e", `{"action":"x","client_ip":"1.2.3.4"}`); rec.Code != http.StatusNoContent {
		t.Fatalf("%d", rec.Code)
	}
	got := events(t, app.Store(), "KA-1")
	if len(got) != 1 || got[0].Fields["client_ip"] != "192.0.2.0" {
		t.Errorf("stored %+v, want one event with client_ip 192.0.2.0", got)
	}
}

// TestCollectTooMany: past maxCollectInFlight requests at once, 429.
func TestCollectTooMany(t *testing.T) {
	h, _ := startedHandler(t, nil, "KA-1", "")
	for range maxCollectInFlight {
		h.inflight <- struct{}{}
	}
	rec := post(t, h, "POST", "/_katalys/e", `{"action":"x"}`)
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
		t.Errorf("status %d, Retry-After %q; want 429 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	<-h.inflight
	if rec := post(t, h, "POST", "/_katalys/e", `{"action":"x"}`); rec.Code != http.StatusNoContent {
		t.Errorf("with room again: %d", rec.Code)
	}
}

// TestCollectConcurrent: every 204 of concurrent requests is in the store
// and durable: found again after the store is closed and reopened.
func TestCollectConcurrent(t *testing.T) {
	h, app := startedHandler(t, nil, "KA-1", "")
	dir := app.Storage
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := 0
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				body := `{"action":"c","g":` + strconv.Itoa(g) + `,"i":` + strconv.Itoa(i) + `}`
				r := httptest.NewRequest("POST", "/_katalys/e", strings.NewReader(body))
				caddyhttp.NewTestReplacer(r)
				rec := httptest.NewRecorder()
				_ = h.ServeHTTP(rec, r, nil)
				if rec.Code == http.StatusNoContent {
					mu.Lock()
					acked++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if err := unload(app); err != nil {
		t.Fatal(err)
	}
	if err := app.Store().Write(t.Context(), []storage.Event{{Bucket: "KA-1", Time: time.Now(), Type: "late"}}); err == nil {
		t.Error("a write after the last Stop succeeded")
	}
	if rec := post(t, h, "POST", "/_katalys/e", `{"action":"late"}`); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("collect after the store closed: %d, want 503", rec.Code)
	}
	st, err := storage.Open(storage.Options{Dir: dir})
	if err != nil {
		t.Fatalf("reopening after Stop (was the store closed exactly once?): %v", err)
	}
	defer st.Close()
	if n := len(events(t, st, "KA-1")); n != acked || acked != 200 {
		t.Errorf("%d events after reopening, %d acknowledged, want 200", n, acked)
	}
}

// TestPageRecorded: a page view sets the visitor and session cookies with
// the header and lands in the store; a landing with click parameters adds
// a click; a non-page and a bot are not recorded and get no cookie.
func TestPageRecorded(t *testing.T) {
	h, app := startedHandler(t, testApp.Buckets, "KA-1", "")
	page := upstream{header: header("Content-Type", "text/html; charset=utf-8"), body: []byte("<html><body>hi</body></html>")}
	nav := header("Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document", "User-Agent", "Mozilla/5.0 Test",
		"Referer", "https://news.example/")
	res := through(t, h, request("GET", "/p?transaction_id=T1&utm_source=aff", nav), page)
	if !strings.Contains(string(res.body), "_revoffers_track") {
		t.Fatalf("page not injected: %s", res)
	}
	var vid string
	for _, c := range (&http.Response{Header: res.header}).Cookies() {
		if c.Name == tracking.VisitorCookie {
			vid = c.Value
		}
	}
	if vid == "" {
		t.Fatalf("no visitor cookie on the page: %v", res.header)
	}
	// A JSON response to a page request: no cookie, nothing recorded.
	json := through(t, h, request("GET", "/api", nav), upstream{header: header("Content-Type", "application/json"), body: []byte("{}")})
	if json.header.Get("Set-Cookie") != "" {
		t.Errorf("cookie on a JSON response: %v", json.header)
	}
	bot := header("User-Agent", "Googlebot/2.1 (+http://www.google.com/bot.html)")
	if res := through(t, h, request("GET", "/q", bot), page); res.header.Get("Set-Cookie") != "" {
		t.Errorf("cookie for a bot: %v", res.header)
	}
	// Enqueue is asynchronous: stop (drains the queue), then read.
	dir := app.Storage
	if err := unload(app); err != nil {
		t.Fatal(err)
	}
	st, err := storage.Open(storage.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got := events(t, st, "KA-1")
	types := map[string]storage.Event{}
	for _, ev := range got {
		types[ev.Type] = ev
	}
	if len(got) != 2 {
		t.Fatalf("%d events, want a pageview and a click: %+v", len(got), got)
	}
	pv, click := types["pageview"], types["click"]
	if pv.Visitor != vid || pv.Session == "" || pv.Fields["url"] != "/p?transaction_id=T1&utm_source=aff" ||
		pv.Fields["referrer"] != "https://news.example/" || pv.Fields["user_agent"] != "Mozilla/5.0 Test" ||
		pv.Fields["client_ip"] != "192.0.2.1" {
		t.Errorf("pageview %+v", pv)
	}
	if click.Visitor != vid || click.Session != pv.Session || click.Fields["transaction_id"] != "T1" || click.Fields["utm_source"] != "aff" {
		t.Errorf("click %+v", click)
	}
}

// TestAppProvisionOpensNothing: Provision and Validate (all that `caddy
// validate` runs) do not create or open the storage directory.
func TestAppProvisionOpensNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	a := &App{Storage: dir, Buckets: []Bucket{{ID: "KA-1", Retention: caddy.Duration(24 * time.Hour), Window: caddy.Duration(24 * time.Hour)}}}
	if err := a.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Provision/Validate touched %s: %v", dir, err)
	}
	if a.Store() != nil {
		t.Error("a store before Start")
	}
	if err := a.Cleanup(); err != nil { // never started: nothing to release
		t.Fatal(err)
	}
	if got := a.retention("KA-1"); got != 24*time.Hour {
		t.Errorf("retention %v", got)
	}
	if got := a.retention("KA-unknown"); got != DefaultRetention {
		t.Errorf("default retention %v", got)
	}
}

// TestAppValidateRecordingOptions: unknown privacy and ip values and a
// negative retention are config errors.
func TestAppValidateRecordingOptions(t *testing.T) {
	for _, b := range []Bucket{
		{ID: "KA-1", Privacy: "strict"},
		{ID: "KA-1", IP: "hash"},
		{ID: "KA-1", Retention: -1},
	} {
		a := &App{Buckets: []Bucket{b}}
		if err := a.Provision(caddy.Context{}); err != nil {
			t.Fatal(err)
		}
		if err := a.Validate(); err == nil {
			t.Errorf("%+v: no error", b)
		}
	}
	a := &App{Buckets: []Bucket{{ID: "KA-1", Privacy: PrivacyGPC, IP: IPTruncate}}}
	if err := a.Provision(caddy.Context{}); err != nil || a.Validate() != nil {
		t.Fatal("valid options refused")
	}
	if p := a.Policy("KA-1"); !p.PrivacyGPC || !p.TruncateIP {
		t.Errorf("policy %+v", p)
	}
	if p := a.Policy("KA-2"); p.PrivacyGPC || p.TruncateIP {
		t.Errorf("policy of an undeclared bucket %+v", p)
	}
}

// TestAppStoreShared: two configs on one directory share the open store
// (a reload), the second from its Provision on; stopping one leaves the
// other's store open; Stop then Cleanup releases once.
func TestAppStoreShared(t *testing.T) {
	dir := t.TempDir()
	newApp := func() *App {
		a := &App{Storage: dir}
		if err := a.Provision(caddy.Context{}); err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := newApp()
	if a.Store() != nil {
		t.Fatal("store before Start")
	}
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	// A reload: the new config's app gets the open store in Provision,
	// before any app of the new config starts.
	b := newApp()
	if b.Store() == nil || b.Store() != a.Store() {
		t.Fatal("a config provisioned while the store is open does not share it")
	}
	if err := b.Start(); err != nil {
		t.Fatalf("second config on the same directory: %v", err)
	}
	if a.Store() != b.Store() {
		t.Fatal("two stores for one directory")
	}
	// A reload that fails after provisioning: Cleanup without Start gives
	// back what Provision took, once.
	failed := newApp()
	_ = failed.Cleanup()
	_ = failed.Cleanup()
	if n, _ := stores.References("badger:" + dir); n != 2 {
		t.Fatalf("%d references after a failed config, want 2", n)
	}
	if err := unload(a); err != nil {
		t.Fatal(err)
	}
	_ = a.Cleanup() // after Stop: must not release again
	if err := b.Store().Write(t.Context(), []storage.Event{{Bucket: "KA-1", Time: time.Now(), Type: "x"}}); err != nil {
		t.Fatalf("store closed under the running config: %v", err)
	}
	if err := b.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if n, _ := stores.References("badger:" + dir); n != 0 {
		t.Errorf("%d references left", n)
	}
}

// TestAppStartWithBrokenStore: a store that cannot be opened does not stop
// Caddy from starting (pages must keep flowing); it is counted, and the
// app has no store.
func TestAppStartWithBrokenStore(t *testing.T) {
	a, _ := provisionBlocked(t)
	before := testutil.ToFloat64(metrics.storeErrors)
	if err := a.Start(); err != nil {
		t.Fatalf("Start failed on a broken store: %v", err)
	}
	if a.Store() != nil {
		t.Error("a store although it could not be opened")
	}
	if got := testutil.ToFloat64(metrics.storeErrors) - before; got != 1 {
		t.Errorf("store_open_errors_total grew by %v, want 1", got)
	}
	if err := unload(a); err != nil {
		t.Fatal(err)
	}
	if err := a.Cleanup(); err != nil {
		t.Fatal(err)
	}
}

// TestAppOpensTheStoreOnceItCan: a store that could not be opened is tried
// again, and an order captured meanwhile, waiting for it (waitStore), gets
// it. An app that stopped before its store opened takes no reference.
func TestAppOpensTheStoreOnceItCan(t *testing.T) {
	a, file := startBlocked(t)
	got := make(chan *storage.Store, 1)
	go func() { got <- a.waitStore(maxStoreWait) }()
	time.Sleep(200 * time.Millisecond) // the first retry fails
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	select {
	case st := <-got:
		if st == nil {
			t.Fatal("waitStore gave no store")
		}
	case <-time.After(maxStoreWait + time.Second):
		t.Fatal("waitStore did not return")
	}
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := a.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if n, _ := stores.References("badger:" + file); n != 0 {
		t.Errorf("%d references left", n)
	}

	// Stopped before the store could open: the retry ends, nothing held.
	b, file := startBlocked(t)
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := b.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * firstStoreRetry)
	if n, _ := stores.References("badger:" + file); n != 0 || b.Store() != nil {
		t.Errorf("a stopped app opened its store: %d references", n)
	}
}

// provisionBlocked provisions an app whose storage path is a file, so that
// its store cannot open until the file goes; it returns the app and the
// path.
func provisionBlocked(t *testing.T) (*App, string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "store")
	if err := os.WriteFile(file, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := &App{Storage: file}
	if err := a.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	return a, file
}

// startBlocked is provisionBlocked, started.
func startBlocked(t *testing.T) (*App, string) {
	t.Helper()
	a, file := provisionBlocked(t)
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	return a, file
}

// TestLateOpenAndReload: a config whose store opens late (openLate) and
// is then reloaded away stops what the late open started; a late open
// after the config's Cleanup takes nothing, so the running config's
// settings stay the store's.
func TestLateOpenAndReload(t *testing.T) {
	dir := t.TempDir()
	old := appWith(t, dir, "http://127.0.0.1:9/collect", adminBuckets)
	if !old.openLate() || old.Store() == nil || old.run.delivery.Load() == nil {
		t.Fatal("a late open that can open the store did not start the config")
	}
	cur := appWith(t, dir, DeliverOff, adminBuckets)
	if err := cur.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unload(cur) })
	if err := unload(old); err != nil {
		t.Fatal(err)
	}
	select {
	case <-old.run.delivery.Load().done:
	default:
		t.Error("the reloaded config's delivery loop runs on")
	}

	late := appWith(t, dir, "http://127.0.0.1:9/collect", adminBuckets)
	if err := unload(late); err != nil {
		t.Fatal(err)
	}
	if !late.openLate() || late.run.held.Load() || late.run.delivery.Load() != nil {
		t.Error("a late open after Cleanup took the store")
	}
	if pending := putOrderPending(t, cur.Store(), "R-1"); pending != 0 {
		t.Errorf("under the running config's deliver off, an order got %d outbox entries", pending)
	}
}
