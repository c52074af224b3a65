package module

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/storeedge/caddy-katalys/capture"
	"github.com/storeedge/caddy-katalys/storage"
)

var updateAdmin = flag.Bool("update-admin", false, "rewrite the admin API's golden files in testdata/admin/")

// adminNow is when the admin API's fixture thinks it is.
var adminNow = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

// adminBuckets are the fixture's buckets: KA-1 with two aliases, KA-2.
var adminBuckets = []Bucket{
	{ID: "KA-1", Aliases: []string{"shop.example.com", "KA-OLD"}},
	{ID: "KA-2"},
}

// slashID is an order id that needs escaping in a path.
const slashID = "A/7 ü?"

// startedApp provisions and starts a katalys app with buckets and a store in
// a fresh directory, as Caddy does; it is stopped when the test ends.
func startedApp(t *testing.T, buckets []Bucket) *App {
	t.Helper()
	app := provisionedApp(t, buckets)
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unload(app); err != nil {
			t.Error(err)
		}
	})
	return app
}

func provisionedApp(t *testing.T, buckets []Bucket) *App {
	t.Helper()
	// Delivery off: no test reaches beyond loopback (the default target
	// is Katalys itself).
	return appWith(t, t.TempDir(), DeliverOff, buckets)
}

// adminFor is the admin API serving app.
func adminFor(app *App) *AdminAPI {
	return &AdminAPI{
		app:    func() (*App, error) { return app, nil },
		now:    func() time.Time { return adminNow },
		logger: zap.NewNop(),
	}
}

// adminFixture is an admin API over a started app whose store holds:
// in KA-1, visitor v1 clicking publisher pub-7 and then pub-9 before order
// 1042, and visitor v2 (no click) placing order slashID; in KA-2, the same
// visitor id v1 clicking pub-X and an order 1042 of its own.
func adminFixture(t *testing.T) (*AdminAPI, *storage.Store) {
	t.Helper()
	app := startedApp(t, adminBuckets)
	st := app.Store()
	day := func(d, h int) time.Time { return time.Date(2025, 3, d, h, 0, 0, 0, time.UTC) }
	click := func(bucket, visitor string, at time.Time, tx, pub string) storage.Event {
		return storage.Event{Bucket: bucket, Time: at, Type: "click", Visitor: visitor, Session: "s-" + tx,
			Instance: "edge-1", Fields: map[string]string{
				"transaction_id": tx, "offer_id": "of-1", "publisher_id": pub, "sub1": "spring"}}
	}
	evs := []storage.Event{
		click("KA-1", "v1", day(1, 9), "tx-1", "pub-7"),
		{Bucket: "KA-1", Time: day(1, 10), Type: "pageview", Visitor: "v1", Session: "s-tx-1", Instance: "edge-1",
			Fields: map[string]string{"url": "https://shop.example.com/tea", "user_agent": "Firefox"}},
		click("KA-1", "v1", day(3, 9), "tx-2", "pub-9"),
		{Bucket: "KA-1", Time: day(5, 8), Type: "pageview", Visitor: "v2", Instance: "edge-1",
			Fields: map[string]string{"url": "https://shop.example.com/"}},
		click("KA-2", "v1", day(3, 11), "tx-x", "pub-X"),
	}
	if err := st.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	orders := []storage.Order{
		{Order: capture.Order{ID: "1042", Total: capture.Money(77.05), Subtotal: capture.Money(80),
			Currency: "USD", Email: "ann@example.com", Source: "katalys",
			Discounts: []capture.Discount{{Code: "SPRING", Amount: capture.Money(2.95)}},
			Items:     []capture.Item{{SKU: "TEA-1", Name: "Sencha", Quantity: 2, Price: capture.Money(40)}}},
			Bucket: "KA-1", Time: day(4, 10), Visitor: "v1", Session: "s-tx-2"},
		{Order: capture.Order{ID: slashID, Source: "ga4"}, Bucket: "KA-1", Time: day(5, 9), Visitor: "v2"},
		{Order: capture.Order{ID: "1042", Total: capture.Money(5), Currency: "EUR", Source: "ga4"},
			Bucket: "KA-2", Time: day(4, 12), Visitor: "v1"},
	}
	for _, o := range orders {
		if _, _, err := st.PutOrder(o); err != nil {
			t.Fatal(err)
		}
	}
	return adminFor(app), st
}

// adminResponse is what a client of Caddy's admin endpoint receives.
type adminResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r adminResponse) String() string { return string(r.body) }

// errorMessage is the message of a JSON error response.
func (r adminResponse) errorMessage(t *testing.T) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" {
		t.Fatalf("not a JSON error: %q (%v)", r.body, err)
	}
	return e.Error
}

// adminDo serves one request with api, and writes an error the way Caddy's
// admin endpoint does (TestAdminThroughCaddy checks that against the real
// endpoint): its status, and {"error": "message"}.
func adminDo(t *testing.T, api *AdminAPI, method, target, body string) adminResponse {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	w := httptest.NewRecorder()
	if err := api.serve(w, r); err != nil {
		var apiErr caddy.APIError
		if !errors.As(err, &apiErr) || apiErr.HTTPStatus == 0 {
			t.Fatalf("%s %s: error without a status: %v", method, target, err)
		}
		apiErr.Message = apiErr.Err.Error()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(apiErr.HTTPStatus)
		if err := json.NewEncoder(w).Encode(apiErr); err != nil {
			t.Fatal(err)
		}
	}
	res := w.Result()
	return adminResponse{status: res.StatusCode, header: res.Header, body: w.Body.Bytes()}
}

// adminOK is adminDo for a request that must succeed with contentType.
func adminOK(t *testing.T, api *AdminAPI, method, target, body, contentType string) adminResponse {
	t.Helper()
	res := adminDo(t, api, method, target, body)
	if res.status != http.StatusOK {
		t.Fatalf("%s %s: status %d: %s", method, target, res.status, res.body)
	}
	if got := res.header.Get("Content-Type"); got != contentType {
		t.Errorf("%s %s: Content-Type %q, want %q", method, target, got, contentType)
	}
	return res
}

// adminGolden compares got with testdata/admin/name, or rewrites it with
// -update-admin. JSON is compared indented.
func adminGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	if strings.HasSuffix(name, ".json") {
		var buf bytes.Buffer
		if err := json.Indent(&buf, got, "", "  "); err != nil {
			t.Fatalf("%s: %v in %s", name, err, got)
		}
		got = buf.Bytes()
	}
	path := filepath.Join("testdata", "admin", name)
	if *updateAdmin {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-admin to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update-admin to see the change in git diff):\ngot:\n%s", name, got)
	}
}

func TestAdminBuckets(t *testing.T) {
	api, _ := adminFixture(t)
	res := adminOK(t, api, "GET", "/katalys/buckets", "", "application/json")
	want := `{"buckets":[{"id":"KA-1","aliases":["shop.example.com","KA-OLD"],"events":4,"orders":2},` +
		`{"id":"KA-2","aliases":[],"events":1,"orders":1}]}` + "\n"
	if string(res.body) != want {
		t.Errorf("got  %s\nwant %s", res.body, want)
	}
}

func TestAdminOrders(t *testing.T) {
	api, _ := adminFixture(t)
	// An alias, in another case and with a trailing dot, names KA-1.
	res := adminOK(t, api, "GET", "/katalys/buckets/SHOP.example.com./orders", "", "application/json")
	adminGolden(t, "orders.json", res.body)
	// Without declared buckets, a bucket is known once the store holds
	// something of it (or a site uses it), in any case; a typo is a 404,
	// not an empty bucket.
	empty := provisionedApp(t, nil)
	defer startApp(t, empty)()
	if r := adminDo(t, adminFor(empty), "GET", "/katalys/buckets/KA-NEW/orders", ""); r.status != http.StatusNotFound ||
		!strings.Contains(string(r.body), `unknown bucket \"KA-NEW\"`) {
		t.Errorf("unknown bucket: %d %s, want 404", r.status, r.body)
	}
	putOrderPending(t, empty.Store(), "1") // in KA-1
	res = adminOK(t, adminFor(empty), "GET", "/katalys/buckets/ka-1/orders", "", "application/json")
	if got := string(res.body); !strings.Contains(got, `"bucket":"KA-1","order_id":"1"`) {
		t.Errorf("orders of ka-1: %s", got)
	}
	res = adminOK(t, adminFor(empty), "GET", "/katalys/buckets", "", "application/json")
	if got, want := string(res.body), `{"buckets":[{"id":"KA-1","aliases":[],"events":0,"orders":1}]}`+"\n"; got != want {
		t.Errorf("buckets: %s, want %s", got, want)
	}
	// Two buckets that differ in case only: the name as written wins.
	if _, _, err := empty.Store().PutOrder(storage.Order{Bucket: "ka-1", Order: capture.Order{ID: "2", Total: capture.Money(5)}}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"ka-1": `"order_id":"2"`, "KA-1": `"order_id":"1"`} {
		res = adminOK(t, adminFor(empty), "GET", "/katalys/buckets/"+name+"/orders", "", "application/json")
		if got := string(res.body); !strings.Contains(got, want) || strings.Count(got, `"order_id"`) != 1 {
			t.Errorf("orders of %s: %s, want only %s", name, got, want)
		}
	}
}

// startApp starts app and returns its Stop.
func startApp(t *testing.T, app *App) func() {
	t.Helper()
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := unload(app); err != nil {
			t.Error(err)
		}
	}
}

func TestAdminAttribution(t *testing.T) {
	api, _ := adminFixture(t)
	res := adminOK(t, api, "GET", "/katalys/buckets/KA-1/attribution", "", "application/json")
	if got := string(res.body); got != `{"attributions":[]}`+"\n" {
		t.Errorf("before any decision: %s", got)
	}
	for bucket, want := range map[string]string{"KA-1": `{"reattributed":2}`, "KA-2": `{"reattributed":1}`} {
		res = adminOK(t, api, "POST", "/katalys/buckets/"+bucket+"/reattribute", "", "application/json")
		if got := strings.TrimSpace(string(res.body)); got != want {
			t.Errorf("reattribute %s: %s, want %s", bucket, got, want)
		}
	}
	res = adminOK(t, api, "GET", "/katalys/buckets/KA-1/attribution?format=json", "", "application/json")
	adminGolden(t, "attribution.json", res.body)
	res = adminOK(t, api, "GET", "/katalys/buckets/KA-2/attribution", "", "application/json")
	adminGolden(t, "attribution_ka2.json", res.body)

	// Periods select orders by when they were placed.
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"from=2025-03-04&to=2025-03-04", []string{"1042"}},
		{"from=2025-03-05", []string{slashID}},
		{"to=2025-03-04T10:00:00Z", nil},
		{"to=2025-03-04T10:00:00.000000001Z", []string{"1042"}},
		{"from=2025-03-04T11:00:00%2B01:00&to=2025-03-06", []string{"1042", slashID}},
	} {
		res := adminOK(t, api, "GET", "/katalys/buckets/KA-1/attribution?"+tc.query, "", "application/json")
		if got := attributedIDs(t, res.body); strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s: orders %q, want %q", tc.query, got, tc.want)
		}
	}

	res = adminOK(t, api, "GET", "/katalys/buckets/KA-OLD/attribution?format=csv", "", "text/csv; charset=utf-8")
	if got, want := res.header.Get("Content-Disposition"), `attachment; filename=KA-1-attribution.csv`; got != want {
		t.Errorf("Content-Disposition %q, want %q", got, want)
	}
	adminGolden(t, "attribution.csv", res.body)
	res = adminOK(t, api, "GET", "/katalys/buckets/KA-1/attribution?format=csv&from=2025-03-05", "", "text/csv; charset=utf-8")
	if lines := strings.Split(strings.TrimSpace(string(res.body)), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], "A/7 ü?,organic,") {
		t.Errorf("CSV from 2025-03-05:\n%s", res.body)
	}
}

func attributedIDs(t *testing.T, body []byte) []string {
	t.Helper()
	var v struct {
		Attributions []struct {
			OrderID string `json:"order_id"`
		} `json:"attributions"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	var ids []string
	for _, a := range v.Attributions {
		ids = append(ids, a.OrderID)
	}
	return ids
}

func TestAdminStatus(t *testing.T) {
	api, st := adminFixture(t)
	adminOK(t, api, "POST", "/katalys/buckets/KA-1/reattribute", "", "application/json")

	res := adminOK(t, api, "POST", "/katalys/buckets/KA-1/orders/1042/status", `{"status":"refunded"}`, "application/json")
	adminGolden(t, "status_refunded.json", res.body)
	rec, found, err := st.GetAttribution("KA-1", "1042")
	if err != nil || !found {
		t.Fatalf("GetAttribution: %v %v", found, err)
	}
	if rec.Current.Status != "rejected" || len(rec.History) != 1 || rec.History[0].Status != "approved" {
		t.Errorf("stored: current %s, history %+v", rec.Current.Status, rec.History)
	}
	// The same order id in KA-2 is another order: untouched.
	if o, _, _ := st.GetOrder("KA-2", "1042"); o.Status != "" {
		t.Errorf("KA-2's order 1042 got status %q", o.Status)
	}

	// An order id with a slash, a space, a non-ASCII letter and a question
	// mark arrives escaped; the status is read case-insensitively.
	res = adminOK(t, api, "POST", "/katalys/buckets/KA-1/orders/A%2F7%20%C3%BC%3F/status", `{"status":" Paid "}`, "application/json")
	var got struct {
		Order       apiOrder `json:"order"`
		Attribution struct {
			OrderID string `json:"order_id"`
			Status  string `json:"status"`
		} `json:"attribution"`
	}
	if err := json.Unmarshal(res.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Order.OrderID != slashID || *got.Order.Status != "paid" || got.Attribution.OrderID != slashID || got.Attribution.Status != "organic" {
		t.Errorf("status of %q: %s", slashID, res.body)
	}
}

func TestAdminEvents(t *testing.T) {
	api, _ := adminFixture(t)
	res := adminOK(t, api, "GET", "/katalys/buckets/KA-1/events", "", "application/x-ndjson")
	adminGolden(t, "events.ndjson", res.body)
	for _, tc := range []struct {
		query string
		lines int
	}{
		{"from=2025-03-01T10:00:00Z", 3},
		{"from=2025-03-02&to=2025-03-03", 1},
		{"to=2025-03-01T09:00:00Z", 0},
		{"from=2025-03-06", 0},
	} {
		res := adminOK(t, api, "GET", "/katalys/buckets/KA-1/events?"+tc.query, "", "application/x-ndjson")
		if n := bytes.Count(res.body, []byte("\n")); n != tc.lines {
			t.Errorf("%s: %d events, want %d:\n%s", tc.query, n, tc.lines, res.body)
		}
	}
}

func TestAdminEraseVisitor(t *testing.T) {
	api, st := adminFixture(t)
	res := adminOK(t, api, "DELETE", "/katalys/buckets/KA-1/visitors/v1", "", "application/json")
	if got := strings.TrimSpace(string(res.body)); got != `{"erased":3}` {
		t.Errorf("erase: %s", got)
	}
	for _, tc := range []struct {
		bucket string
		events int
	}{{"KA-1", 1}, {"KA-2", 1}} {
		if n, _, err := st.BucketCounts(tc.bucket); err != nil || n != tc.events {
			t.Errorf("%s: %d events (%v), want %d", tc.bucket, n, err, tc.events)
		}
	}
	res = adminOK(t, api, "DELETE", "/katalys/buckets/KA-1/visitors/v1", "", "application/json")
	if got := strings.TrimSpace(string(res.body)); got != `{"erased":0}` {
		t.Errorf("second erase: %s", got)
	}
}

func TestAdminReport(t *testing.T) {
	api, _ := adminFixture(t)
	adminOK(t, api, "POST", "/katalys/buckets/KA-1/reattribute", "", "application/json")
	res := adminOK(t, api, "GET", "/katalys/buckets/KA-1/report", "", "text/html; charset=utf-8")
	page := string(res.body)
	for _, want := range []string{"<html", "KA-1", "1042", "pub-9", "A/7 ü?", "</html>"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, unwanted := range []string{"src=\"http", "href=\"http", "pub-X"} {
		if strings.Contains(page, unwanted) {
			t.Errorf("report holds %q", unwanted)
		}
	}
	res = adminOK(t, api, "GET", "/katalys/buckets/KA-1/report?from=2025-03-05", "", "text/html; charset=utf-8")
	if strings.Contains(string(res.body), ">1042<") {
		t.Error("report from 2025-03-05 shows order 1042")
	}
}

// TestAdminReportCurrency: the report page's revenue is in the bucket's
// currency when the bucket names one (orders without a currency taken to
// be in it), else in the currency most orders use.
func TestAdminReportCurrency(t *testing.T) {
	app := startedApp(t, []Bucket{{ID: "KA-CA", Currency: "CAD"}, {ID: "KA-ANY"}})
	day := time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)
	for _, bucket := range []string{"KA-CA", "KA-ANY"} {
		for i, o := range []capture.Order{
			{ID: "u1", Total: capture.Money(10), Currency: "USD"},
			{ID: "u2", Total: capture.Money(20), Currency: "USD"},
			{ID: "c1", Total: capture.Money(100), Currency: "CAD"},
			{ID: "n1", Total: capture.Money(5)}, // stored before the bucket named its currency
		} {
			o.Source = "ga4"
			so := storage.Order{Order: o, Bucket: bucket, Time: day.Add(time.Duration(i) * time.Hour)}
			if _, _, err := app.Store().PutOrder(so); err != nil {
				t.Fatal(err)
			}
		}
	}
	revenue := regexp.MustCompile(`id="total-revenue"><div class="label">Revenue</div><div class="value">([^<]*)<`)
	api := adminFor(app)
	for _, tc := range []struct {
		bucket, revenue, note string
	}{
		{"KA-CA", "105.00 CAD", "Also 30.00 USD in 2 orders."},
		{"KA-ANY", "30.00 USD", "Also 5.00 without a currency in 1 order, 100.00 CAD in 1 order."},
	} {
		t.Run(tc.bucket, func(t *testing.T) {
			page := adminOK(t, api, "GET", "/katalys/buckets/"+tc.bucket+"/report", "", "text/html; charset=utf-8").String()
			m := revenue.FindStringSubmatch(page)
			if m == nil {
				t.Fatal("the page has no revenue card")
			}
			if m[1] != tc.revenue {
				t.Errorf("revenue %q, want %q", m[1], tc.revenue)
			}
			if !strings.Contains(page, tc.note) {
				t.Errorf("the page does not note %q", tc.note)
			}
		})
	}
}

func TestAdminErrors(t *testing.T) {
	api, _ := adminFixture(t)
	for _, tc := range []struct {
		method, target, body string
		status               int
		allow, message       string // allow: the Allow header of a 405
	}{
		{"GET", "/katalys/", "", 404, "", "no katalys admin route"},
		{"GET", "/katalys/buckets/", "", 404, "", "no katalys admin route"},
		{"GET", "/katalys/buckets/KA-1", "", 404, "", "no katalys admin route"},
		{"GET", "/katalys/buckets/KA-1/orders/1042", "", 404, "", "no katalys admin route"},
		{"GET", "/katalys/buckets/KA-404/orders", "", 404, "", `unknown bucket "KA-404" (known buckets: KA-1, KA-2)`},
		{"DELETE", "/katalys/buckets/KA-1/visitors/", "", 404, "", "no katalys admin route"},
		{"POST", "/katalys/buckets", "", 405, "GET", "method not allowed"},
		{"PUT", "/katalys/buckets/KA-1/orders", "", 405, "GET", "method not allowed"},
		{"GET", "/katalys/buckets/KA-1/reattribute", "", 405, "POST", "method not allowed"},
		{"GET", "/katalys/buckets/KA-1/orders/1042/status", "", 405, "POST", "method not allowed"},
		{"GET", "/katalys/buckets/KA-1/visitors/v1", "", 405, "DELETE", "method not allowed"},
		{"POST", "/katalys/buckets/KA-1/orders/999/status", `{"status":"paid"}`, 404, "", `bucket KA-1 has no order "999"`},
		{"POST", "/katalys/buckets/KA-2/orders/A%2F7%20%C3%BC%3F/status", `{"status":"paid"}`, 404, "", `bucket KA-2 has no order "A/7 ü?"`},
		{"POST", "/katalys/buckets/KA-1/orders/1042/status", `{"status":"shipped"}`, 400, "", `unknown order status "shipped" (want one of pending, paid`},
		{"POST", "/katalys/buckets/KA-1/orders/1042/status", `{}`, 400, "", `unknown order status ""`},
		{"POST", "/katalys/buckets/KA-1/orders/1042/status", `{"state":"paid"}`, 400, "", `the body must be {"status": "…"}`},
		{"POST", "/katalys/buckets/KA-1/orders/1042/status", `refunded`, 400, "", `the body must be {"status": "…"}`},
		{"POST", "/katalys/buckets/KA-1/orders/1042/status", ``, 400, "", `the body must be {"status": "…"}`},
		{"GET", "/katalys/buckets/KA-1/attribution?format=xml", "", 400, "", `unknown format "xml" (want json or csv)`},
		{"GET", "/katalys/buckets/KA-1/attribution?from=yesterday", "", 400, "", `from: "yesterday" is neither an RFC 3339 time nor a YYYY-MM-DD date`},
		{"GET", "/katalys/buckets/KA-1/events?to=2025-13-01", "", 400, "", `to: "2025-13-01" is neither`},
		{"GET", "/katalys/buckets/KA-1/events?from=2025-03-05&to=2025-03-04", "", 400, "", "from 2025-03-05T00:00:00Z is not before to 2025-03-05T00:00:00Z"},
		{"GET", "/katalys/buckets/KA-1/report?from=2025-03-06T00:00:00Z&to=2025-03-05T00:00:00Z", "", 400, "", "is not before"},
	} {
		res := adminDo(t, api, tc.method, tc.target, tc.body)
		if res.status != tc.status {
			t.Errorf("%s %s: status %d, want %d: %s", tc.method, tc.target, res.status, tc.status, res.body)
			continue
		}
		if msg := res.errorMessage(t); !strings.Contains(msg, tc.message) {
			t.Errorf("%s %s: error %q, want it to contain %q", tc.method, tc.target, msg, tc.message)
		}
		if got := res.header.Get("Allow"); got != tc.allow {
			t.Errorf("%s %s: Allow %q, want %q", tc.method, tc.target, got, tc.allow)
		}
	}
}

// TestAdminUnavailable covers the 503s: a config without a katalys app, and
// an app whose store is not open (before Start, or when opening failed).
func TestAdminUnavailable(t *testing.T) {
	noApp := &AdminAPI{app: func() (*App, error) { return nil, errNoApp }, now: time.Now, logger: zap.NewNop()}
	notStarted := adminFor(provisionedApp(t, adminBuckets))
	for _, tc := range []struct {
		api     *AdminAPI
		method  string
		target  string
		message string
	}{
		{noApp, "GET", "/katalys/buckets", "the running config has no katalys app"},
		{noApp, "GET", "/katalys/buckets/KA-1/orders", "the running config has no katalys app"},
		{notStarted, "GET", "/katalys/buckets", "the katalys store is not open"},
		{notStarted, "POST", "/katalys/buckets/KA-1/reattribute", "the katalys store is not open"},
	} {
		res := adminDo(t, tc.api, tc.method, tc.target, "")
		if res.status != http.StatusServiceUnavailable {
			t.Errorf("%s %s: status %d, want 503", tc.method, tc.target, res.status)
			continue
		}
		if msg := res.errorMessage(t); !strings.Contains(msg, tc.message) {
			t.Errorf("%s %s: error %q, want %q", tc.method, tc.target, msg, tc.message)
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		end  bool
		want time.Time
	}{
		{"", false, time.Time{}},
		{"2025-03-04", false, time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)},
		{"2025-03-04", true, time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC)},
		{"2025-03-04T10:30:00Z", true, time.Date(2025, 3, 4, 10, 30, 0, 0, time.UTC)},
		{"2025-03-04T10:30:00.5+02:00", false, time.Date(2025, 3, 4, 8, 30, 0, 5e8, time.UTC)},
	} {
		got, err := parseTime(tc.in, tc.end)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseTime(%q, %v) = %v, %v; want %v", tc.in, tc.end, got, err, tc.want)
		}
	}
	for _, in := range []string{"2025-3-4", "04.03.2025", "2025-03-04 10:30", "1741082400"} {
		if _, err := parseTime(in, false); err == nil {
			t.Errorf("parseTime(%q): no error", in)
		}
	}
}

// TestAdminThroughCaddy serves the routes from a real Caddy admin endpoint:
// the router finds the running app with a katalys global option and, after
// a reload, without one (only a handler loaded the app), Caddy writes the
// errors as {"error": …}, and a config without the app answers 503.
func TestAdminThroughCaddy(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir()) // where the app without a storage option keeps its store
	admin := freeAddress(t)
	t.Cleanup(func() { _ = caddy.Stop() })
	load := func(apps string) {
		t.Helper()
		cfg := `{"admin": {"listen": "` + admin + `"}, "apps": {` + apps + `}}`
		if err := caddy.Load([]byte(cfg), true); err != nil {
			t.Fatalf("loading %s: %v", cfg, err)
		}
	}
	get := func(path string) (int, string) {
		t.Helper()
		res, err := http.Get("http://" + admin + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(res.Body); err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, strings.TrimSpace(buf.String())
	}
	steps := []struct {
		apps string
		path string
		code int
		body string
	}{
		{apps: `"katalys": {"storage": "` + filepath.ToSlash(t.TempDir()) + `", "buckets": [{"id": "KA-1", "aliases": ["shop.example.com"]}]}`,
			path: "/katalys/buckets", code: 200, body: `{"buckets":[{"id":"KA-1","aliases":["shop.example.com"],"events":0,"orders":0}]}`},
		{path: "/katalys/buckets/shop.example.com/orders", code: 200, body: `{"orders":[]}`},
		{path: "/katalys/buckets/KA-9/orders", code: 404, body: `{"error":"unknown bucket \"KA-9\" (known buckets: KA-1)"}`},
		{apps: `"http": {"servers": {"shop": {"listen": ["` + freeAddress(t) + `"], "automatic_https": {"disable": true},
			"routes": [{"handle": [{"handler": "katalys", "site_id": "KA-9"}]}]}}}`,
			path: "/katalys/buckets/KA-9/orders", code: 200, body: `{"orders":[]}`},
		{path: "/katalys/buckets", code: 200, body: `{"buckets":[{"id":"KA-9","aliases":[],"events":0,"orders":0}]}`},
		{path: "/katalys/buckets/KA-8/orders", code: 404,
			body: `{"error":"unknown bucket \"KA-8\": no bucket is declared, no site uses it and the store holds nothing of it (known buckets: KA-9)"}`},
		{apps: `"http": {"servers": {}}`,
			path: "/katalys/buckets", code: 503, body: `{"error":"the running config has no katalys app"}`},
	}
	for _, s := range steps {
		if s.apps != "" {
			load(s.apps)
		}
		if code, body := get(s.path); code != s.code || body != s.body {
			t.Errorf("GET %s: %d %s\nwant %d %s", s.path, code, body, s.code, s.body)
		}
	}
}

// freeAddress is a loopback address with a port nobody listens on.
func freeAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// appWith provisions a katalys app on dir with buckets and the given
// deliver option, as a config of this process would.
func appWith(t *testing.T, dir, deliver string, buckets []Bucket) *App {
	t.Helper()
	raw, err := json.Marshal(&App{Storage: dir, Buckets: buckets, Deliver: deliver})
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := caddy.ProvisionContext(&caddy.Config{AppsRaw: caddy.ModuleMap{"katalys": raw}})
	if err != nil {
		t.Fatal(err)
	}
	v, err := ctx.App("katalys")
	if err != nil {
		t.Fatal(err)
	}
	return v.(*App)
}

// TestReloadTurnsDeliveryOn: a reload from "deliver off" to a target, on
// the store the first config opened, makes the orders captured after it
// wait in the outbox for the target; and one back to "off" stops that.
func TestReloadTurnsDeliveryOn(t *testing.T) {
	dir := t.TempDir()
	off := appWith(t, dir, DeliverOff, adminBuckets)
	if err := off.Start(); err != nil {
		t.Fatal(err)
	}
	// A collector that is never reached: the order only has to wait for it.
	on := appWith(t, dir, "http://127.0.0.1:9/collect", adminBuckets)
	if err := on.Start(); err != nil { // the reload: the new config starts first
		t.Fatal(err)
	}
	if err := unload(off); err != nil {
		t.Fatal(err)
	}
	st := on.Store()
	if pending := putOrderPending(t, st, "B-2"); pending != 1 {
		t.Errorf("after the reload to a target: %d outbox entries, want 1 for order B-2", pending)
	}
	back := appWith(t, dir, DeliverOff, adminBuckets)
	if err := back.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unload(back) })
	if err := unload(on); err != nil {
		t.Fatal(err)
	}
	if pending := putOrderPending(t, st, "C-3"); pending != 1 {
		t.Errorf("after the reload back to off: %d outbox entries, want B-2's alone", pending)
	}
}

// TestStopKeepsTheStoreUntilCleanup: Caddy stops a config's apps in
// random order and cleans up after all of them; between the two the http
// servers still serve, so the store must still take orders.
func TestStopKeepsTheStoreUntilCleanup(t *testing.T) {
	app := appWith(t, t.TempDir(), DeliverOff, adminBuckets)
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	if err := app.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := app.Store().PutOrder(storage.Order{Bucket: "KA-1", Order: capture.Order{ID: "late"}}); err != nil {
		t.Errorf("an order captured after Stop, before Cleanup: %v", err)
	}
	if err := app.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := app.Store().PutOrder(storage.Order{Bucket: "KA-1", Order: capture.Order{ID: "later"}}); err == nil {
		t.Error("the store still took an order after Cleanup")
	}
}

// TestFailedReloadKeepsTheRunningSettings: a reload whose new config fails
// after this app started (another app's error) is unloaded while the old
// config runs on; the old config's delivery setting applies again.
func TestFailedReloadKeepsTheRunningSettings(t *testing.T) {
	dir := t.TempDir()
	running := appWith(t, dir, "http://127.0.0.1:9/collect", adminBuckets)
	if err := running.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unload(running) })
	failed := appWith(t, dir, DeliverOff, adminBuckets)
	if err := failed.Start(); err != nil {
		t.Fatal(err)
	}
	if err := unload(failed); err != nil { // the reload failed: Caddy unloads the new config
		t.Fatal(err)
	}
	st := running.Store()
	if pending := putOrderPending(t, st, "D-4"); pending != 1 {
		t.Errorf("after a failed reload to deliver off: %d outbox entries, want 1: the running config delivers", pending)
	}
}

// putOrderPending stores a new order id of KA-1 in st and returns the
// delivery entries pending after it.
func putOrderPending(t *testing.T, st *storage.Store, id string) int {
	t.Helper()
	if _, _, err := st.PutOrder(storage.Order{Bucket: "KA-1", Order: capture.Order{ID: id, Total: capture.Money(5)}}); err != nil {
		t.Fatal(err)
	}
	pending, _ := st.OutboxCounts()
	return pending
}

// TestReloadSendsAnOrderOnce: on a reload the new config's delivery loop
// waits for the old one to stop; before, both sent an order that was in
// flight in the old one when the new one started.
func TestReloadSendsAnOrderOnce(t *testing.T) {
	var (
		mu       sync.Mutex
		received = map[string]int{}
		release  = make(chan struct{})
		arrived  = make(chan struct{}, 10)
	)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p map[string]any
		_ = json.Unmarshal(body, &p)
		mu.Lock()
		received[fmt.Sprint(p["order_id"])]++
		first := received[fmt.Sprint(p["order_id"])] == 1
		mu.Unlock()
		arrived <- struct{}{}
		if first {
			<-release // Katalys is slow with the first one
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	dir := t.TempDir()
	old := appWith(t, dir, collector.URL, adminBuckets)
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	putOrderPending(t, old.Store(), "A-1")
	old.wakeDelivery()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the order was not sent")
	}
	// The reload: the new config starts while A-1 is in flight.
	reloaded := appWith(t, dir, collector.URL, adminBuckets)
	if err := reloaded.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unload(reloaded) })
	select {
	case <-arrived:
		t.Error("the new config sent the order in flight in the old one")
	case <-time.After(500 * time.Millisecond):
	}
	stopped := make(chan error, 1)
	go func() { stopped <- unload(old) }()
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	// The new loop has the turn now, and finds nothing to send.
	putOrderPending(t, reloaded.Store(), "B-2")
	reloaded.wakeDelivery()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the new config sent nothing after the old one stopped")
	}
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if want := map[string]int{"A-1": 1, "B-2": 1}; !maps.Equal(received, want) {
		t.Errorf("received %v, want %v", received, want)
	}
}
