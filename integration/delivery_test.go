package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/storeedge/caddy-katalys/tracking"
)

// collector is a local stand-in for Katalys' server-to-server endpoint: it
// records every payload it is sent and answers what answer says.
type collector struct {
	mu       sync.Mutex
	received []map[string]any // every request's payload, in order
	acked    []map[string]any // those answered 2xx
	answer   func(n int, payload map[string]any) (status int, body string, delay time.Duration)
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p map[string]any
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &p); err != nil {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.received = append(c.received, p)
	n := len(c.received)
	c.mu.Unlock()
	status, body, delay := http.StatusOK, "", time.Duration(0)
	if c.answer != nil {
		status, body, delay = c.answer(n, p)
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	if status < 300 {
		c.mu.Lock()
		c.acked = append(c.acked, p)
		c.mu.Unlock()
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *collector) ackedOf(order string) []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for _, p := range c.acked {
		if p["order_id"] == order {
			out = append(out, p)
		}
	}
	return out
}

func deliverySite(dir, collectorURL string, port int, upstream, extra string) string {
	return fmt.Sprintf(`{
	katalys {
		storage %s
		bucket %s
		deliver %s {
			timeout 1s
		}
	}
}

http://127.0.0.1:%d {
	katalys %s %s
	reverse_proxy %s
}
`, dir, siteA, collectorURL, port, siteA, extra, upstream)
}

// clickedStripeShop starts Caddy, delivering to col, before stripeShop,
// and lands a visitor on it with affiliate click tx (publisher PUB-7,
// offer OF-2). It returns the visitor's id.
func clickedStripeShop(t *testing.T, col *collector, tx string) (c *caddyServer, base, vid string) {
	t.Helper()
	colSrv := startUpstream(t, col)
	port := freePort(t)
	c = startCaddy(t, deliverySite(t.TempDir(), colSrv.URL+"/v2/_tr_offline", port, stripeShop(t), ""))
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	landing := fetch(t, newRequest(t, "GET", base+"/?transaction_id="+tx+"&publisher_id=PUB-7&offer_id=OF-2", "User-Agent", browserUA))
	return c, base, cookieValue(landing.header, tracking.VisitorCookie)
}

// stripeShop is an upstream whose thank-you pages are the Stripe/Next.js
// fixture (order AM-41982, 90.90 EUR) and whose other pages are a bare
// shop page.
func stripeShop(t *testing.T) string {
	page := readFixture(t, "12_stripe_nextjs_minor_units_eur.html")
	return hostPort(startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if strings.HasPrefix(r.URL.Path, "/checkout/order-received/") {
			_, _ = io.WriteString(w, page)
			return
		}
		_, _ = io.WriteString(w, "<!DOCTYPE html><html><body><h1>Shop</h1></body></html>")
	})))
}

// TestDeliveryToCollector: a captured order reaches a local collector in
// the Reporting Schema, field by field (a non-USD currency, discounts,
// line items, client_ip, user_agent, the click's transaction_id), although
// the collector first hangs past the timeout and then answers 503; the
// order's refund follows it, after it.
func TestDeliveryToCollector(t *testing.T) {
	col := &collector{answer: func(n int, _ map[string]any) (int, string, time.Duration) {
		switch n {
		case 1:
			return http.StatusServiceUnavailable, "", 2 * time.Second // hangs past the 1s timeout
		case 2:
			return http.StatusServiceUnavailable, "busy", 0
		}
		return http.StatusOK, `{"ok":true}`, 0
	}}
	c, base, vid := clickedStripeShop(t, col, "TX-DEL-1")
	fetch(t, newRequest(t, "GET", base+"/checkout/order-received/AM-41982/", "User-Agent", browserUA,
		"Cookie", tracking.VisitorCookie+"="+vid))

	waitFor(t, 30*time.Second, "the order at the collector", func() bool { return len(col.ackedOf("AM-41982")) > 0 })
	p := col.ackedOf("AM-41982")[0]
	want := map[string]any{
		"site_id": siteA, "action": "convert", "action_type": "online-sale", "order_id": "AM-41982",
		"sale_amount": 90.9, "subtotal_amount": 90.0, "currency": "EUR", "email_address": "camille.roussel@example.org",
		"discount_1_code": "MAREE10", "client_ip": "127.0.0.1", "user_agent": browserUA,
		"transaction_id": "TX-DEL-1", "publisher_id": "PUB-7", "aff_id": "PUB-7",
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("payload %s = %v (%T), want %v", k, p[k], p[k], v)
		}
	}
	for _, k := range []string{"line_item_1_sku", "line_item_1_title", "line_item_1_price", "line_item_1_qty", "line_item_3_sku", "order_time"} {
		if _, ok := p[k]; !ok {
			t.Errorf("payload lacks %s: %v", k, p)
		}
	}
	col.mu.Lock()
	attempts := len(col.received)
	col.mu.Unlock()
	if attempts < 3 {
		t.Errorf("%d requests reached the collector; want the hung one, the 503 and the accepted one", attempts)
	}

	// The refund goes after the conversion.
	if status := admin(t, c, "POST", "/katalys/buckets/"+siteA+"/orders/AM-41982/status", `{"status":"refunded"}`, nil); status != 200 {
		t.Fatalf("refund: %d", status)
	}
	waitFor(t, 30*time.Second, "the refund at the collector", func() bool { return len(col.ackedOf("AM-41982")) >= 2 })
	if r := col.ackedOf("AM-41982")[1]; r["order_status"] != "refunded" || r["action"] == "convert" {
		t.Errorf("second delivery = %v; want the status change, refunded", r)
	} else if tx, ok := r["transaction_id"]; ok {
		t.Errorf("the refund still credits click %v: sent with the decision from before it", tx)
	}
	var d struct {
		Pending []any `json:"pending"`
		Dead    []any `json:"dead"`
	}
	waitFor(t, 10*time.Second, "an empty outbox", func() bool {
		admin(t, c, "GET", "/katalys/deliveries", "", &d)
		return len(d.Pending) == 0
	})
	if len(d.Dead) != 0 {
		t.Errorf("dead letters: %v", d.Dead)
	}
}

// TestDeliveryUpdateCarriesALaterClick: a thank-you page first read with
// no visitor (a fetch without the cookie) gives an organic conversion;
// the clicked visitor's own view of it later brings the visitor, whose
// click credits the order, and Katalys hears of it: an update carrying the
// transaction_id follows the conversion. Before, only the local
// attribution knew.
func TestDeliveryUpdateCarriesALaterClick(t *testing.T) {
	col := &collector{}
	c, base, vid := clickedStripeShop(t, col, "TX-UPD-1")
	thanks := base + "/checkout/order-received/AM-41982/"
	// A script's fetch of the page, without the visitor's cookie.
	fetch(t, newRequest(t, "GET", thanks, "User-Agent", browserUA, "Sec-Fetch-Dest", "empty", "Sec-Fetch-Mode", "cors", "Accept", "text/html"))
	waitFor(t, 30*time.Second, "the conversion at the collector", func() bool { return len(col.ackedOf("AM-41982")) > 0 })
	if p := col.ackedOf("AM-41982")[0]; p["action"] != "convert" || p["transaction_id"] != nil {
		t.Fatalf("first delivery = %v; want the organic conversion", p)
	}
	// The clicked visitor's own view.
	fetch(t, newRequest(t, "GET", thanks, "User-Agent", browserUA, "Cookie", tracking.VisitorCookie+"="+vid))
	waitFor(t, 30*time.Second, "the update at the collector", func() bool { return len(col.ackedOf("AM-41982")) >= 2 })
	if p := col.ackedOf("AM-41982")[1]; p["action"] != "offline_conv" || p["transaction_id"] != "TX-UPD-1" || p["sale_amount"] != 90.9 {
		t.Errorf("second delivery = %v; want the whole order again, credited to TX-UPD-1", p)
	}
	// A third view learns nothing: nothing more is sent.
	fetch(t, newRequest(t, "GET", thanks, "User-Agent", browserUA, "Cookie", tracking.VisitorCookie+"="+vid))
	var d struct {
		Pending []any `json:"pending"`
	}
	waitFor(t, 10*time.Second, "an empty outbox", func() bool {
		admin(t, c, "GET", "/katalys/deliveries", "", &d)
		return len(d.Pending) == 0
	})
	if n := len(col.ackedOf("AM-41982")); n != 2 {
		t.Errorf("%d deliveries of AM-41982, want 2", n)
	}
}

// TestDeliveryDeadLetter: a collector that refuses orders with a 400 puts
// them in the dead letters with its answer; once the cause is fixed, a
// retry delivers one, and a retry of "all" the rest.
func TestDeliveryDeadLetter(t *testing.T) {
	var refuse sync.Map
	refuse.Store("on", true)
	col := &collector{answer: func(int, map[string]any) (int, string, time.Duration) {
		if v, _ := refuse.Load("on"); v == true {
			return http.StatusBadRequest, `{"error":"unknown site_id"}`, 0
		}
		return http.StatusNoContent, "", 0
	}}
	colSrv := startUpstream(t, col)
	dir := t.TempDir()
	port := freePort(t)
	upstream := shopUpstream(t)
	c := startCaddy(t, deliverySite(dir, colSrv.URL, port, upstream, ""))
	for _, id := range []string{"DL-1", "DL-2", "DL-3"} {
		fetch(t, newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/checkout/order-received/%s/", port, id), "User-Agent", "Mozilla/5.0 Firefox/132.0"))
	}

	var d struct {
		Dead []struct {
			ID         string `json:"id"`
			OrderID    string `json:"order_id"`
			HTTPStatus int    `json:"http_status"`
			Body       string `json:"body"`
		} `json:"dead"`
	}
	waitFor(t, 20*time.Second, "the dead letters", func() bool {
		admin(t, c, "GET", "/katalys/deliveries", "", &d)
		return len(d.Dead) == 3
	})
	if dl := d.Dead[0]; dl.OrderID != "DL-1" || dl.HTTPStatus != 400 || !strings.Contains(dl.Body, "unknown site_id") {
		t.Errorf("dead letter = %+v; want order DL-1, 400 and the answer", dl)
	}
	refuse.Store("on", false)
	if status := admin(t, c, "POST", "/katalys/deliveries/"+d.Dead[0].ID+"/retry", "", nil); status != 200 {
		t.Fatalf("retry: %d", status)
	}
	waitFor(t, 20*time.Second, "the retried order at the collector", func() bool { return len(col.ackedOf("DL-1")) == 1 })
	// The others, all at once.
	var retried struct {
		Retried []string `json:"retried"`
		Resumed *int     `json:"resumed"`
	}
	if status := admin(t, c, "POST", "/katalys/deliveries/all/retry", "", &retried); status != 200 || len(retried.Retried) != 2 || retried.Resumed == nil {
		t.Fatalf("retry all: %d %v %v, want the 2 dead letters left and a count of resumed deliveries", status, retried.Retried, retried.Resumed)
	}
	waitFor(t, 20*time.Second, "every retried order at the collector", func() bool {
		return len(col.ackedOf("DL-2")) == 1 && len(col.ackedOf("DL-3")) == 1
	})
}

// TestDeliverySurvivesSIGKILL: Caddy killed with SIGKILL while delivering a
// backlog, started again on the same store, delivers everything that was
// not acknowledged: the collector sees each order at least once and at
// most twice.
func TestDeliverySurvivesSIGKILL(t *testing.T) {
	const orders = 40
	col := &collector{answer: func(int, map[string]any) (int, string, time.Duration) {
		return http.StatusOK, "", 150 * time.Millisecond // slow: the kill lands mid-delivery
	}}
	colSrv := startUpstream(t, col)
	dir := t.TempDir()
	port := freePort(t)
	upstream := shopUpstream(t)
	config := deliverySite(dir, colSrv.URL, port, upstream, "")
	c := startCaddy(t, config)
	for i := range orders {
		fetch(t, newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/checkout/order-received/K-%03d/", port, i), "User-Agent", "Mozilla/5.0 Firefox/132.0"))
	}
	// Every order stored (they are, just after their pages) before the kill.
	waitFor(t, 20*time.Second, "every order stored", func() bool {
		var res struct {
			Orders []any `json:"orders"`
		}
		admin(t, c, "GET", "/katalys/buckets/"+siteA+"/orders", "", &res)
		return len(res.Orders) == orders
	})
	waitFor(t, 20*time.Second, "deliveries under way", func() bool {
		col.mu.Lock()
		defer col.mu.Unlock()
		return len(col.acked) >= 5 // some delivered, more in flight
	})
	if err := c.process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.exited
	col.mu.Lock()
	before := len(col.acked)
	col.mu.Unlock()
	if before >= orders {
		t.Fatalf("all %d orders were delivered before the kill; the test must kill mid-delivery", orders)
	}

	c2 := startCaddy(t, config)
	waitFor(t, 60*time.Second, "every order at the collector", func() bool {
		for i := range orders {
			if len(col.ackedOf(fmt.Sprintf("K-%03d", i))) == 0 {
				return false
			}
		}
		return true
	})
	for i := range orders {
		if n := len(col.ackedOf(fmt.Sprintf("K-%03d", i))); n > 2 {
			t.Errorf("order K-%03d delivered %d times, want at most 2", i, n)
		}
	}
	t.Logf("%d orders acknowledged before SIGKILL, all %d after the restart", before, orders)
	stopCaddy(t, c2)
}

// TestOrderOfAServedPageSurvivesSIGKILL: an order whose thank-you page
// reached the browser whole is on disk: Caddy killed with SIGKILL right
// after the last page loses none of them. Half the pages forbid changes
// (Cache-Control: no-transform) and come with a Content-Length, which
// would let the client have them whole before the handler returns.
func TestOrderOfAServedPageSurvivesSIGKILL(t *testing.T) {
	const orders = 30
	dir := t.TempDir()
	port := freePort(t)
	shop := hostPort(startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.Trim(strings.TrimPrefix(r.URL.Path, "/checkout/order-received/"), "/")
		page := orderPage(id, 100)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		if r.URL.Query().Has("nt") {
			w.Header().Set("Cache-Control", "private, no-transform")
		}
		_, _ = io.WriteString(w, page)
	})))
	c := startCaddy(t, fmt.Sprintf(`{
	katalys {
		storage %s
		bucket %s
	}
}

http://127.0.0.1:%d {
	katalys %s
	reverse_proxy %s
}
`, dir, siteA, port, siteA, shop))
	for i := range orders {
		query := ""
		if i%2 == 1 {
			query = "?nt=1"
		}
		res := fetch(t, newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/checkout/order-received/S-%03d/%s", port, i, query),
			"User-Agent", browserUA))
		if res.status != http.StatusOK || !strings.Contains(string(res.body), "</html>") {
			t.Fatalf("page %d: status %d, %d bytes", i, res.status, len(res.body))
		}
	}
	if err := c.process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.exited
	stored := storedOrders(t, dir, siteA)
	for i := range orders {
		if _, ok := stored[fmt.Sprintf("S-%03d", i)]; !ok {
			t.Errorf("order S-%03d, whose page was served whole, is not stored", i)
		}
	}
}
