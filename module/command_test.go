package module

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/storeedge/caddy-katalys/attribution"
	"github.com/storeedge/caddy-katalys/delivery"
)

// fakeAdmin is an admin endpoint that answers with canned bodies (the admin
// API's golden files) and records what it was asked.
type fakeAdmin struct {
	t       *testing.T
	answers map[string]fakeAnswer // "METHOD escaped-path"
	mu      sync.Mutex
	asked   []string // "METHOD escaped-path body"
}

type fakeAnswer struct {
	status int
	file   string // under testdata/admin/
	body   string // when file is ""
}

func newFakeAdmin(t *testing.T, answers map[string]fakeAnswer) (*fakeAdmin, string) {
	f := &fakeAdmin{t: t, answers: answers}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, strings.TrimPrefix(srv.URL, "http://")
}

func (f *fakeAdmin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	key := r.Method + " " + r.URL.EscapedPath()
	f.mu.Lock()
	f.asked = append(f.asked, strings.TrimSpace(key+" "+string(body)))
	f.mu.Unlock()
	a, ok := f.answers[key]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"error":"fake: no answer for `+key+`"}`)
		return
	}
	if a.file != "" {
		b, err := os.ReadFile(filepath.Join("testdata", "admin", a.file))
		if err != nil {
			f.t.Error(err)
		}
		a.body = string(b)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(cmpOr(a.status, http.StatusOK))
	_, _ = io.WriteString(w, a.body)
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func (f *fakeAdmin) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.asked...)
}

// fixtureAnswers serve the admin API's answers for the fixture of
// admin_test.go, after a re-attribution.
var fixtureAnswers = map[string]fakeAnswer{
	"GET /katalys/buckets/KA-1/orders":                           {file: "orders.json"},
	"GET /katalys/buckets/shop.example.com/orders":               {file: "orders.json"},
	"GET /katalys/buckets/KA-1/attribution":                      {file: "attribution.json"},
	"POST /katalys/buckets/KA-1/orders/1042/status":              {file: "status_refunded.json"},
	"POST /katalys/buckets/KA-1/orders/A%2F7%20%C3%BC%3F/status": {status: 404, body: `{"error":"bucket KA-1 has no order \"A/7 ü?\""}` + "\n"},
	"GET /katalys/buckets/%2E%2E/orders":                         {body: `{"orders":[]}`},
	"GET /katalys/deliveries":                                    {body: `{"deliver":"off","pending":[],"dead":[]}`},
}

func TestCommandTables(t *testing.T) {
	for _, tc := range []struct {
		name   string
		run    func(c cliCall) error
		golden string
		asked  string
	}{
		{"orders", func(c cliCall) error { return c.orders("KA-1") }, "cli_orders.txt", "GET /katalys/buckets/KA-1/orders"},
		{"report", func(c cliCall) error { return c.report("KA-1", 20) }, "cli_report.txt",
			"GET /katalys/buckets/KA-1/attribution|GET /katalys/buckets/KA-1/orders"},
		{"report last 1", func(c cliCall) error { return c.report("KA-1", 1) }, "cli_report_last1.txt",
			"GET /katalys/buckets/KA-1/attribution|GET /katalys/buckets/KA-1/orders"},
		{"status", func(c cliCall) error { return c.status("KA-1", "1042", "refunded") }, "cli_status.txt",
			`POST /katalys/buckets/KA-1/orders/1042/status {"status":"refunded"}`},
		{"empty", func(c cliCall) error { return c.orders("..") }, "cli_orders_empty.txt", "GET /katalys/buckets/%2E%2E/orders"},
		{"deliveries off", func(c cliCall) error { return c.deliveries() }, "cli_deliveries_off.txt", "GET /katalys/deliveries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, addr := newFakeAdmin(t, fixtureAnswers)
			var out bytes.Buffer
			if err := tc.run(cliCall{addr: addr, out: &out}); err != nil {
				t.Fatal(err)
			}
			adminGolden(t, tc.golden, out.Bytes())
			if got := strings.Join(fake.requests(), "|"); got != tc.asked {
				t.Errorf("asked %s\nwant  %s", got, tc.asked)
			}
		})
	}
}

func TestCommandJSON(t *testing.T) {
	_, addr := newFakeAdmin(t, fixtureAnswers)
	want, err := os.ReadFile(filepath.Join("testdata", "admin", "attribution.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := (cliCall{addr: addr, out: &out, json: true}).report("KA-1", 20); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("--json printed\n%s\nwant the API's answer as is", out.Bytes())
	}
}

func TestCommandErrors(t *testing.T) {
	_, addr := newFakeAdmin(t, fixtureAnswers)
	var out bytes.Buffer
	c := cliCall{addr: addr, out: &out}
	err := c.status("KA-1", slashID, "paid")
	if want := `HTTP 404: bucket KA-1 has no order "A/7 ü?"`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	err = c.orders("KA-9")
	if want := `HTTP 404: fake: no answer for GET /katalys/buckets/KA-9/orders`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
	c.addr = freeAddress(t)
	if err := c.orders("KA-1"); err == nil || !strings.Contains(err.Error(), "(is Caddy running?)") {
		t.Errorf("no admin endpoint: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("printed %q on errors", out.String())
	}
}

// TestCommandCobra runs `caddy katalys …` as registered, flags and all.
func TestCommandCobra(t *testing.T) {
	_, addr := newFakeAdmin(t, fixtureAnswers)
	registered, ok := caddycmd.Commands()["katalys"]
	if !ok {
		t.Fatal("caddy katalys is not registered")
	}
	run := func(args ...string) (string, error) {
		cmd := &cobra.Command{Use: "katalys"}
		registered.CobraFunc(cmd)
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(io.Discard)
		cmd.SetArgs(args)
		err := cmd.Execute()
		return out.String(), err
	}
	out, err := run("orders", "KA-1", "--address", addr)
	if err != nil || !strings.Contains(out, "2 orders in KA-1") {
		t.Errorf("orders: %v\n%s", err, out)
	}
	// An alias names its Tracking ID.
	out, err = run("orders", "shop.example.com", "--address", addr)
	if err != nil || !strings.Contains(out, "2 orders in KA-1") {
		t.Errorf("orders of an alias: %v\n%s", err, out)
	}
	out, err = run("--json", "--address", addr, "orders", "KA-1")
	if err != nil || !strings.HasPrefix(out, "{\n  \"orders\": [") {
		t.Errorf("orders --json: %v\n%s", err, out)
	}
	out, err = run("report", "KA-1", "--last", "1", "--address", addr)
	if err != nil || !strings.Contains(out, "the last 1 of 2 orders") {
		t.Errorf("report --last 1: %v\n%s", err, out)
	}
	if _, err := run("status", "KA-1", "1042", "--address", addr); err == nil {
		t.Error("status without a status: no error")
	}
	if _, err := run("orders", "KA-9", "--address", addr); err == nil {
		t.Error("unknown bucket: no error")
	}
}

// TestPublisherTotals covers what the fixture does not: linear shares,
// rejected orders, orders in other currencies and not yet attributed.
func TestPublisherTotals(t *testing.T) {
	usd, eur := "USD", "EUR"
	total := func(v float64) *float64 { return &v }
	linear := &attribution.Result{Status: attribution.Approved, Model: attribution.Linear, PublisherID: "pub-B", Credit: 0.5,
		Why: attribution.Why{Candidates: []attribution.Candidate{
			{Touch: attribution.Touch{PublisherID: "pub-A"}, Chosen: true, Credit: 0.5},
			{Touch: attribution.Touch{PublisherID: "pub-B"}, Chosen: true, Credit: 0.5},
			{Touch: attribution.Touch{PublisherID: "pub-C"}, Reason: "after the order"},
		}}}
	lines := []reportLine{
		{cliOrder{OrderID: "1", Total: total(100), Currency: &usd}, linear},
		{cliOrder{OrderID: "2", Total: total(40), Currency: &eur}, &attribution.Result{Status: attribution.Pending, PublisherID: "pub-A", Credit: 1}},
		{cliOrder{OrderID: "3", Total: total(30), Currency: &usd}, &attribution.Result{Status: attribution.Rejected, PublisherID: "pub-A", Credit: 1}},
		{cliOrder{OrderID: "4", Total: total(10), Currency: &usd}, &attribution.Result{Status: attribution.Organic}},
		{cliOrder{OrderID: "5", Currency: &usd}, nil},
	}
	var out bytes.Buffer
	if err := printTotals(&out, publisherTotals(lines)); err != nil {
		t.Fatal(err)
	}
	want := `PUBLISHER             ORDERS  APPROVED  PENDING  REJECTED  CREDITED REVENUE
pub-A                 3       1         1        1         40.00 EUR, 50.00 USD
pub-B                 1       1         0        0         50.00 USD
(not attributed yet)  1       -         -        -         -
(organic)             1       -         -        -         10.00 USD
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}

func TestTableCells(t *testing.T) {
	var out bytes.Buffer
	tw := newTable(&out, "A", "B")
	tw.row("x\ty", "line\nbreak\x1b[31m")
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := "A    B\nx y  line break [31m\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// TestWaitsFor: `caddy katalys deliveries` says why a pending delivery is
// not on its way.
func TestWaitsFor(t *testing.T) {
	now := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	conv := delivery.Entry{ID: "01", Bucket: "KA-1", OrderID: "7", Kind: delivery.KindOrder}
	status := delivery.Entry{ID: "02", Bucket: "KA-1", OrderID: "7", Kind: delivery.KindStatus, Status: "refunded"}
	dead := []delivery.DeadLetter{{Entry: conv}}
	answered := delivery.Entry{ID: "00", Bucket: "KA-1", OrderID: "6", NextTry: now.Add(20 * time.Minute),
		NotBefore: now.Add(20 * time.Minute), HoldUntil: now.Add(20 * time.Minute)}
	for _, tc := range []struct {
		name   string
		e      delivery.Entry
		before []delivery.Entry
		dead   []delivery.DeadLetter
		want   string
	}{
		{"due", conv, nil, nil, "-"},
		{"behind its conversion", status, []delivery.Entry{conv}, nil, "entry 01 of its order"},
		{"behind its dead conversion", status, nil, dead, "its dead conversion 01"},
		{"Retry-After", delivery.Entry{ID: "03", NextTry: now.Add(10 * time.Minute), NotBefore: now.Add(10 * time.Minute)}, nil, nil,
			"Retry-After until 2026-03-14 10:10"},
		{"backoff", delivery.Entry{ID: "04", NextTry: now.Add(time.Hour)}, nil, nil, "its next try"},
		{"held by another's Retry-After", delivery.Entry{ID: "05", NextTry: now}, []delivery.Entry{answered}, nil,
			"Retry-After until 2026-03-14 10:20"},
		{"backoff past the hold", delivery.Entry{ID: "06", NextTry: now.Add(time.Hour)}, []delivery.Entry{answered}, nil,
			"its next try"},
	} {
		if got := waitsFor(tc.e, tc.before, tc.dead, loopHold(append(tc.before, tc.e), now), now); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
