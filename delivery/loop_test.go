package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storeedge/caddy-katalys/attribution"
)

// fakeClock is the loop's clock in tests: waiting on it moves it forward
// at once instead of sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(max(d, 0))
	ch := make(chan time.Time, 1)
	ch <- c.t
	return ch
}

// payloadFunc is a Payloads made of a function.
type payloadFunc func(Entry) (map[string]any, error)

func (f payloadFunc) Payload(e Entry) (map[string]any, error) { return f(e) }

// simplePayloads sends what the entry says.
var simplePayloads = payloadFunc(func(e Entry) (map[string]any, error) {
	action := ActionConvert
	if e.Kind == KindStatus {
		action = ActionStatus
	}
	p := map[string]any{"site_id": e.Bucket, "order_id": e.OrderID, "action": action, "entry": e.ID}
	if e.Status != "" {
		p["order_status"] = e.Status
	}
	return p, nil
})

type result struct {
	Entry   Entry
	Outcome Outcome
}

// running is a Loop running in the background of a test.
type running struct {
	loop    *Loop
	clock   *fakeClock
	results chan result
	errs    chan error
	wake    chan struct{}
	cancel  context.CancelFunc
	stopped chan struct{}
}

// run starts l (with a fake clock, no polling and a fixed jitter unless
// set) on out, sending to c.
func run(t *testing.T, l *Loop, out *memOutbox, c *collector) *running {
	t.Helper()
	r := &running{loop: l, clock: newFakeClock(), results: make(chan result, 1000), errs: make(chan error, 1000),
		wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	l.Outbox = out
	if l.Payloads == nil {
		l.Payloads = simplePayloads
	}
	if l.Sender == nil {
		l.Sender = &Sender{Endpoint: c.URL}
	}
	if l.Now == nil {
		l.Now, l.After = r.clock.Now, r.clock.After
		l.Sender.Now = r.clock.Now
	}
	if l.Poll == 0 {
		l.Poll = -1
	}
	if l.Rand == nil {
		l.Rand = func() float64 { return 0.5 }
	}
	l.OnResult = func(e Entry, o Outcome) { r.results <- result{e, o} }
	l.OnError = func(err error) { r.errs <- err }
	ctx, cancel := context.WithCancel(t.Context())
	r.cancel = cancel
	go func() {
		defer close(r.stopped)
		l.Run(ctx, r.wake)
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
	r.cancel()
	<-r.stopped
}

// until collects results until n entries are settled (delivered or dead).
func (r *running) until(n int) []result {
	var all []result
	for settled := 0; settled < n; {
		res := <-r.results
		all = append(all, res)
		if !res.Outcome.Retry {
			settled++
		}
	}
	return all
}

func orderEntry(id, order string) Entry {
	return Entry{ID: id, Bucket: "KA-4F7Q2Z", OrderID: order, Kind: KindOrder}
}

func statusEntry(id, order, status string) Entry {
	return Entry{ID: id, Bucket: "KA-4F7Q2Z", OrderID: order, Kind: KindStatus, Status: status}
}

// TestLoopDeliversOrderPayload sends a real captured order and an
// organic one through the loop to a collector and reads what arrived,
// field by field.
func TestLoopDeliversOrderPayload(t *testing.T) {
	c := newCollector(t, nil)
	organic := anOrder()
	organic.ID, organic.Currency, organic.Discounts, organic.Items = "100046", "", nil, nil
	orders := map[string]OrderFacts{"100045": anOrder(), "100046": organic}
	results := map[string]*attribution.Result{"100045": approved(), "100046": {Status: attribution.Organic}}
	out := &memOutbox{}
	out.add(orderEntry("001", "100045"), orderEntry("002", "100046"))
	r := run(t, &Loop{Payloads: payloadFunc(func(e Entry) (map[string]any, error) {
		return OrderPayload(e.Bucket, orders[e.OrderID], results[e.OrderID], e.Kind, e.Status), nil
	})}, out, c)
	r.until(2)

	got := map[string]map[string]any{}
	for _, rq := range c.received() {
		got[rq.Payload["order_id"].(string)] = rq.Payload
	}
	p := got["100045"]
	want := map[string]any{
		"site_id": "KA-4F7Q2Z", "action": "convert", "action_type": "online-sale", "type": "offline_conv", "order_id": "100045",
		"sale_amount": 118.4, "subtotal_amount": 129.9, "currency": "EUR", "email_address": "Jane.Doe@example.com",
		"discount_1_code": "KATALYS_INFLUENCER", "discount_1_amount": 10.0, "discount_2_amount": 1.5,
		"line_item_1_sku": "TSHIRT-M-BLU", "line_item_1_title": "T-shirt, blue, M", "line_item_1_price": 24.95, "line_item_1_qty": 2.0,
		"line_item_2_title": "Gift wrap", "line_item_2_price": 0.0, "line_item_2_qty": 1.0,
		"line_item_3_sku": "MUG-01", "line_item_3_title": "Mug", "line_item_3_price": 80.0, "line_item_3_qty": 1.0,
		"order_status": "paid", "order_time": 1741944413.0,
		"client_ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/136.0",
		"transaction_id": "102a9f3c4d5e6f708192a3b4c5d6e7", "publisher_id": "1605", "aff_id": "1605", "offer_id": "72",
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("100045 %s = %#v, want %#v", k, p[k], v)
		}
	}
	for k := range p {
		if _, ok := want[k]; !ok {
			t.Errorf("100045 has an unexpected %s = %#v", k, p[k])
		}
	}
	o := got["100046"]
	if o["currency"] != "USD" || o["client_ip"] != "203.0.113.7" || o["user_agent"] == nil {
		t.Errorf("organic order = %v, want USD, client_ip and user_agent", o)
	}
	for _, k := range []string{"transaction_id", "publisher_id", "offer_id", "discount_1_code", "line_item_1_sku"} {
		if v, ok := o[k]; ok {
			t.Errorf("organic order has %s = %v, want none", k, v)
		}
	}
	if out.pending() != 0 || len(out.delivered) != 2 {
		t.Errorf("outbox: %d pending, delivered %v; want all delivered", out.pending(), out.delivered)
	}
}

// TestLoopRetriesUntilDelivered: a collector that answers 503 three times,
// then 200, receives the order four times and it is delivered once.
func TestLoopRetriesUntilDelivered(t *testing.T) {
	c := newCollector(t, func(n int, _ map[string]any, w http.ResponseWriter, _ *http.Request) {
		if n < 3 {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	out := &memOutbox{}
	out.add(orderEntry("001", "A"))
	r := run(t, &Loop{}, out, c)
	res := r.until(1)
	r.stop()

	if len(res) != 4 || !res[3].Outcome.Delivered {
		t.Fatalf("outcomes = %+v, want 3 retries then delivered", res)
	}
	if n := len(c.received()); n != 4 {
		t.Errorf("collector got %d requests, want 4", n)
	}
	if !slices.Equal(out.delivered, []string{"001"}) {
		t.Errorf("delivered = %v, want [001] once", out.delivered)
	}
	start := newFakeClock().Now()
	wantNext := []time.Duration{500 * time.Millisecond, 1500 * time.Millisecond, 3500 * time.Millisecond} // 0.5·(1 s, 2 s, 4 s), cumulated
	for i, rc := range out.retries {
		if rc.Attempts != i+1 {
			t.Errorf("retry %d recorded attempts %d, want %d", i, rc.Attempts, i+1)
		}
		if !strings.Contains(rc.Reason, "HTTP 503") || !strings.Contains(rc.Reason, "down for maintenance") {
			t.Errorf("retry %d reason %q, want the status and the body", i, rc.Reason)
		}
		if got := rc.Next.Sub(start); got != wantNext[i] {
			t.Errorf("retry %d next try at +%s, want +%s", i, got, wantNext[i])
		}
	}
	if len(out.retries) != 3 {
		t.Errorf("%d retries recorded, want 3", len(out.retries))
	}
}

// retryAfterRun runs a loop of concurrency 1 on a fake clock over out,
// against a collector that answers its first request with status and
// Retry-After: after, and every later one with 200, noting each request
// with the clock's time.
func retryAfterRun(t *testing.T, out *memOutbox, status int, after string) (*running, *collector, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	c := newCollector(t, nil)
	c.answer = func(n int, _ map[string]any, w http.ResponseWriter, _ *http.Request) {
		c.note(n, clock.Now())
		if n == 0 {
			w.Header().Set("Retry-After", after)
			http.Error(w, "wait", status)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}
	l := &Loop{Now: clock.Now, After: clock.After, Concurrency: 1}
	l.Sender = &Sender{Endpoint: c.URL, Now: clock.Now}
	return run(t, l, out, c), c, clock
}

// TestLoopHonoursRetryAfter: a 429 with Retry-After: 120 holds the entry
// back two minutes (of the fake clock), longer than the backoff would.
func TestLoopHonoursRetryAfter(t *testing.T) {
	out := &memOutbox{}
	out.add(orderEntry("001", "A"))
	r, c, _ := retryAfterRun(t, out, http.StatusTooManyRequests, "120")
	res := r.until(1)

	if len(res) != 2 || res[0].Outcome.RetryAfter != 2*time.Minute || !res[1].Outcome.Delivered {
		t.Fatalf("outcomes = %+v, want a retry after 2m then delivered", res)
	}
	// From the 429 on (the loop's clock may move before this test reads it).
	answered := c.received()[0].Note.(time.Time)
	if len(out.retries) != 1 || out.retries[0].Next.Sub(answered) != 2*time.Minute {
		t.Fatalf("retries = %+v, want one, due 2m after the 429", out.retries)
	}
	got := c.received()
	if second := got[1].Note.(time.Time); second.Sub(got[0].Note.(time.Time)) < 2*time.Minute {
		t.Errorf("second attempt %s after the first, want at least 2m", second.Sub(got[0].Note.(time.Time)))
	}
}

// TestLoopRetryAfterHoldsEverySend: a Retry-After asks the sender to
// wait, so the other orders' entries wait too rather than each getting a
// 429 of its own.
func TestLoopRetryAfterHoldsEverySend(t *testing.T) {
	out := &memOutbox{}
	out.add(orderEntry("001", "A"), orderEntry("002", "B"), orderEntry("003", "C"))
	r, c, _ := retryAfterRun(t, out, http.StatusTooManyRequests, "120")
	if res := r.until(3); len(res) != 4 {
		t.Fatalf("outcomes = %+v, want the 429 and three deliveries", res)
	}
	got := c.received()
	first := got[0].Note.(time.Time)
	for _, g := range got[1:] {
		if at := g.Note.(time.Time); at.Sub(first) < 2*time.Minute {
			t.Errorf("a send %s after the 429, want none before its Retry-After (2m)", at.Sub(first))
		}
	}
}

// TestLoopHoldIsBounded: an hour's Retry-After holds the other orders'
// entries for MaxLoopHold only; the entry it answered waits the hour.
func TestLoopHoldIsBounded(t *testing.T) {
	out := &memOutbox{}
	out.add(orderEntry("001", "A"), orderEntry("002", "B"))
	r, c, _ := retryAfterRun(t, out, http.StatusServiceUnavailable, "3600")
	r.until(2)
	got := c.received()
	first := got[0].Note.(time.Time)
	if b := got[1].Note.(time.Time).Sub(first); b != MaxLoopHold {
		t.Errorf("order B sent %s after the Retry-After, want %s", b, MaxLoopHold)
	}
	if a := got[2].Note.(time.Time).Sub(first); a < time.Hour {
		t.Errorf("order A sent again %s after its Retry-After of 1h", a)
	}
}

// TestLoopDeadLetters: a 400 is not retried; the entry lands in the dead
// letters with the status and the body.
func TestLoopDeadLetters(t *testing.T) {
	c := newCollector(t, func(_ int, _ map[string]any, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":"unknown site_id KA-4F7Q2Z"}`, http.StatusBadRequest)
	})
	out := &memOutbox{}
	out.add(orderEntry("001", "A"), statusEntry("002", "A", "paid"))
	r := run(t, &Loop{}, out, c)
	res := r.until(2)

	if len(res) != 2 || !res[0].Outcome.Dead() || !res[1].Outcome.Dead() {
		t.Fatalf("outcomes = %+v, want both dead", res)
	}
	if len(out.dead) != 2 || len(out.retries) != 0 || len(c.received()) != 2 {
		t.Fatalf("dead %v, retries %v, %d requests; want 2 dead, no retry, 2 requests", out.dead, out.retries, len(c.received()))
	}
	d := out.dead[0]
	if d.ID != "001" || d.HTTPStatus != 400 || d.Body != `{"error":"unknown site_id KA-4F7Q2Z"}` || !d.Died.Equal(newFakeClock().Now()) {
		t.Errorf("dead letter = %+v, want 001, HTTP 400, the body, died now", d)
	}
}

// TestLoopTimesOutHangingCollector: the first attempt hangs until the
// sender's timeout, is retried, and the second is delivered.
func TestLoopTimesOutHangingCollector(t *testing.T) {
	c := newCollector(t, func(n int, _ map[string]any, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			<-r.Context().Done() // hang until the client gives up
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	out := &memOutbox{}
	out.add(orderEntry("001", "A"))
	l := &Loop{}
	l.Sender = &Sender{Endpoint: c.URL, Timeout: 50 * time.Millisecond}
	r := run(t, l, out, c)
	res := r.until(1)

	if len(res) != 2 || !res[0].Outcome.Retry || !res[1].Outcome.Delivered {
		t.Fatalf("outcomes = %+v, want a timeout then delivered", res)
	}
	if len(out.retries) != 1 || !strings.Contains(out.retries[0].Reason, "timed out after 50ms") {
		t.Errorf("retries = %+v, want one that timed out", out.retries)
	}
}

// TestLoopStatusAfterOrder: an order's status change is not sent before
// its conversion was accepted, even while the conversion is being retried
// and other orders go meanwhile.
func TestLoopStatusAfterOrder(t *testing.T) {
	out := &memOutbox{}
	out.add(orderEntry("001", "A"), orderEntry("002", "B"), statusEntry("003", "A", "paid"),
		statusEntry("004", "B", "paid"), statusEntry("005", "A", "fulfilled"), orderEntry("006", "C"))
	attemptsA := 0
	var mu sync.Mutex
	c := newCollector(t, nil)
	c.answer = func(n int, p map[string]any, w http.ResponseWriter, _ *http.Request) {
		entry := p["entry"].(string)
		// What had been delivered when this arrived.
		c.note(n, slices.Collect(func(yield func(string) bool) {
			for _, id := range []string{"001", "002", "003", "004", "005", "006"} {
				if out.isDelivered(id) && !yield(id) {
					return
				}
			}
		}))
		mu.Lock()
		fail := entry == "001" && attemptsA < 3
		if entry == "001" {
			attemptsA++
		}
		mu.Unlock()
		if fail {
			http.Error(w, "busy", http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}
	r := run(t, &Loop{Concurrency: 4}, out, c)
	r.until(6)

	before := map[string]string{"003": "001", "005": "003", "004": "002"}
	for _, rq := range c.received() {
		entry := rq.Payload["entry"].(string)
		if prev, ok := before[entry]; ok && !slices.Contains(rq.Note.([]string), prev) {
			t.Errorf("%s (%s) arrived before %s was delivered (delivered then: %v)", entry, rq.Payload["order_status"], prev, rq.Note)
		}
	}
	if got := len(c.received()); got != 9 {
		t.Errorf("collector got %d requests, want 9 (6 entries, 3 failed attempts)", got)
	}
	if out.pending() != 0 {
		t.Errorf("%d entries left", out.pending())
	}
}

// TestLoopDrainsOnStop: stopping waits for the send in flight, records it
// as delivered, and starts nothing new.
func TestLoopDrainsOnStop(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	c := newCollector(t, func(n int, _ map[string]any, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			close(arrived)
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	})
	out := &memOutbox{}
	out.add(orderEntry("001", "A"), orderEntry("002", "B"))
	r := run(t, &Loop{Concurrency: 1}, out, c)
	<-arrived
	r.cancel()
	select {
	case <-r.stopped:
		t.Fatal("Run returned while a send was in flight")
	default:
	}
	close(release)
	<-r.stopped

	if !slices.Equal(out.delivered, []string{"001"}) {
		t.Errorf("delivered = %v, want [001]: the send in flight completes and counts", out.delivered)
	}
	if n := len(c.received()); n != 1 {
		t.Errorf("collector got %d requests, want 1: nothing new after the stop", n)
	}
	if out.pending() != 1 {
		t.Errorf("%d entries pending, want 002 left for the next run", out.pending())
	}
}

// TestLoopStopsWhenIdle: an idle loop returns as soon as it is stopped.
func TestLoopStopsWhenIdle(t *testing.T) {
	r := run(t, &Loop{}, &memOutbox{}, newCollector(t, nil))
	r.stop()
}

// TestLoopWakes: an entry added while the loop sleeps goes on the wake
// signal (polling is off).
func TestLoopWakes(t *testing.T) {
	c := newCollector(t, nil)
	out := &memOutbox{}
	r := run(t, &Loop{}, out, c)
	out.add(orderEntry("001", "A"))
	r.wake <- struct{}{}
	if res := r.until(1); !res[0].Outcome.Delivered {
		t.Fatalf("outcome = %+v, want delivered", res[0])
	}
}

// TestLoopPolls: without a wake signal, the poll finds new entries.
func TestLoopPolls(t *testing.T) {
	c := newCollector(t, nil)
	out := &memOutbox{}
	out.add(Entry{ID: "001", Bucket: "b", OrderID: "A", Kind: KindOrder, NextTry: newFakeClock().Now().Add(time.Hour)})
	r := run(t, &Loop{Poll: time.Minute}, out, c)
	if res := r.until(1); !res[0].Outcome.Delivered {
		t.Fatalf("outcome = %+v, want delivered", res[0])
	}
	if got := r.clock.Now().Sub(newFakeClock().Now()); got < time.Hour {
		t.Errorf("delivered at +%s, want not before its NextTry (+1h)", got)
	}
}

// TestLoopWakesForAnEarlierRunsRetry: after a restart the loop knows no
// retry times of its own; an entry an earlier run set to be retried in 5
// seconds goes then, not at the next poll.
func TestLoopWakesForAnEarlierRunsRetry(t *testing.T) {
	c := newCollector(t, nil)
	out := &memOutbox{}
	start := newFakeClock().Now()
	out.add(Entry{ID: "001", Bucket: "b", OrderID: "A", Kind: KindOrder, Attempts: 3, NextTry: start.Add(5 * time.Second)})
	r := run(t, &Loop{Poll: -1}, out, c) // never polls: the clock stops once nothing is due
	select {
	case res := <-r.results:
		if !res.Outcome.Delivered {
			t.Fatalf("outcome = %+v, want delivered", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the entry was not sent when it became due")
	}
	if got := r.clock.Now().Sub(start); got != 5*time.Second {
		t.Errorf("delivered at +%s, want +5s (its NextTry)", got)
	}
}

// TestLoopCatchesUpAfterAnOutage: Katalys answers 503 to everything for a
// while, so each waiting entry is put off on its own backoff (here 1, 2,
// 4, 8 and 16 minutes). The first one to go through once it is back ends
// the outage: the others go then, not each at the end of its backoff.
func TestLoopCatchesUpAfterAnOutage(t *testing.T) {
	// With a short Retry-After on the outage's answers too: the entries'
	// own backoff still sets when they go, so the resume moves them.
	for _, retryAfter := range []string{"", "1"} {
		t.Run("Retry-After "+retryAfter, func(t *testing.T) { catchUpAfterOutage(t, retryAfter) })
	}
}

func catchUpAfterOutage(t *testing.T, retryAfter string) {
	c := newCollector(t, func(n int, _ map[string]any, w http.ResponseWriter, _ *http.Request) {
		if n < 5 {
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(http.StatusServiceUnavailable) // the outage: every entry's first attempt
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	out := &memOutbox{}
	for i := range 5 {
		e := orderEntry(fmt.Sprintf("%03d", i+1), fmt.Sprintf("O-%d", i))
		e.Attempts = 6 + i // the next backoff: 2^(6+i) s × Rand
		out.add(e)
	}
	r := run(t, &Loop{Poll: -1, Concurrency: 1, Rand: func() float64 { return 0.99 }}, out, c)
	start := newFakeClock().Now()
	var firstOK time.Time
	for delivered := 0; delivered < 5; {
		select {
		case res := <-r.results:
			if res.Outcome.Delivered {
				delivered++
				if firstOK.IsZero() {
					firstOK = r.clock.Now()
				}
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of 5 delivered", delivered)
		}
	}
	if got := r.clock.Now().Sub(start); got != firstOK.Sub(start) || got > 2*time.Minute {
		t.Errorf("the backlog went at +%s, the first delivery after the outage at +%s; want all at once, at about +1m3s",
			got, firstOK.Sub(start))
	}
}

// sendTimes is a Payloads that notes when, on clock, each order was sent
// (its payload built), past start.
func sendTimes(clock *fakeClock, start time.Time) (Payloads, func() map[string]time.Duration) {
	var mu sync.Mutex
	sent := map[string]time.Duration{}
	p := payloadFunc(func(e Entry) (map[string]any, error) {
		mu.Lock()
		sent[e.OrderID] = clock.Now().Sub(start)
		mu.Unlock()
		return simplePayloads(e)
	})
	return p, func() map[string]time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(sent)
	}
}

// TestLoopStartsFromWhatWasLeft: a loop that starts (a reload, a
// restart) takes over what the loop before it left in the outbox: entry A,
// which Katalys failed, and B, a new order.
func TestLoopStartsFromWhatWasLeft(t *testing.T) {
	const none = time.Duration(0)
	for _, tc := range []struct {
		name                       string
		attempts                   int
		next, notBefore, holdUntil time.Duration // of A, from the start; none: unset
		wantB, wantA               time.Duration // when each is sent
	}{
		// Katalys answered Retry-After 2 minutes: every send waits.
		{"a Retry-After hold", 1, 10 * time.Minute, 2 * time.Minute, 2 * time.Minute, 2 * time.Minute, 2 * time.Minute},
		// A day-long Retry-After answered hours ago: its hold on the other
		// sends ended 5 minutes after the answer; A waits as asked.
		{"an old hold", 1, 21 * time.Hour, 21 * time.Hour, -3 * time.Hour, 0, 21 * time.Hour},
		// Katalys was failing A: the first delivery resumes it.
		{"an entry on its backoff", 8, 30 * time.Minute, none, none, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newFakeClock()
			start := clock.Now()
			at := func(d time.Duration) time.Time {
				if d == none {
					return time.Time{}
				}
				return start.Add(d)
			}
			out := &memOutbox{}
			out.add(Entry{ID: "001", Bucket: "b", OrderID: "A", Kind: KindOrder, Attempts: tc.attempts,
				NextTry: at(tc.next), NotBefore: at(tc.notBefore), HoldUntil: at(tc.holdUntil)}, orderEntry("002", "B"))
			payloads, sent := sendTimes(clock, start)
			// One at a time and no poll, so that the fake clock moves only
			// when the loop has nothing to do but wait.
			r := run(t, &Loop{Poll: -1, Concurrency: 1, Now: clock.Now, After: clock.After, Payloads: payloads}, out, newCollector(t, nil))
			r.until(2)
			if got := sent(); got["B"] != tc.wantB || got["A"] != tc.wantA {
				t.Errorf("sent B at +%s and A at +%s, want +%s and +%s", got["B"], got["A"], tc.wantB, tc.wantA)
			}
		})
	}
}

// TestLoopStartsFromWhatWasLeftBehindDueEntries: the entries the new loop
// finds due fill its first batch; one waiting behind them is still seen,
// and resumed by the first delivery.
func TestLoopStartsFromWhatWasLeftBehindDueEntries(t *testing.T) {
	clock := newFakeClock()
	start := clock.Now()
	out := &memOutbox{}
	out.add(Entry{ID: "001", Bucket: "b", OrderID: "A", Kind: KindOrder, Attempts: 3, NextTry: start},
		Entry{ID: "002", Bucket: "b", OrderID: "C", Kind: KindOrder, Attempts: 8, NextTry: start.Add(30 * time.Minute)})
	payloads, sent := sendTimes(clock, start)
	r := run(t, &Loop{Poll: -1, Concurrency: 1, Now: clock.Now, After: clock.After, Payloads: payloads}, out, newCollector(t, nil))
	r.until(2)
	if got := sent(); got["C"] != 0 {
		t.Errorf("the waiting entry went at +%s, want at once after the first delivery", got["C"])
	}
}

// TestLoopResumeDoesNotSpin: an entry that still fails once Katalys is
// back (it refuses that one payload) gets a fresh backoff after the resume
// and is not sent again and again, and the other entries go.
func TestLoopResumeDoesNotSpin(t *testing.T) {
	c := newCollector(t, func(n int, p map[string]any, w http.ResponseWriter, _ *http.Request) {
		if n < 4 || p["order_id"] == "POISON" {
			w.WriteHeader(http.StatusServiceUnavailable) // the outage, then POISON alone
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	out := &memOutbox{}
	p := orderEntry("001", "POISON")
	p.Attempts = 9 // its next backoff is past the outage's end
	out.add(p)
	for i := range 3 {
		e := orderEntry(fmt.Sprintf("%03d", i+2), fmt.Sprintf("O-%d", i))
		e.Attempts = 6 + i
		out.add(e)
	}
	r := run(t, &Loop{Poll: -1, Concurrency: 1, Rand: func() float64 { return 0.99 }}, out, c)
	poison := 0
	for delivered := 0; delivered < 3; {
		select {
		case res := <-r.results:
			if res.Entry.OrderID == "POISON" {
				poison++
			} else if res.Outcome.Delivered {
				delivered++
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of 3 delivered; the refused entry was sent %d times", delivered, poison)
		}
	}
	// Once in the outage, once when the resume made it due; then its
	// fresh backoff (about 17 minutes) holds it.
	if poison > 2 {
		t.Errorf("the refused entry was sent %d times while the others went, want 2", poison)
	}
	if out.resumes != 1 {
		t.Errorf("%d resumes, want 1", out.resumes)
	}
}

// TestLoopResumesAtMostEveryGap: Katalys goes out, comes back (the
// waiting entries are made due at once), goes out again for two requests
// and comes back within MinResumeGap: the entries of the second blip are
// made due when the gap ends, not again at once, and not only at the end
// of their own (longer) backoff.
func TestLoopResumesAtMostEveryGap(t *testing.T) {
	c := newCollector(t, func(n int, _ map[string]any, w http.ResponseWriter, _ *http.Request) {
		switch n {
		case 0, 1, 3, 4: // E1 and E2, twice: two outages
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	out := &memOutbox{}
	for i := range 5 {
		e := orderEntry(fmt.Sprintf("%03d", i+1), fmt.Sprintf("E%d", i+1))
		if i < 2 {
			e.Attempts = 9 // their backoff is past the gap
		}
		out.add(e)
	}
	r := run(t, &Loop{Poll: -1, Concurrency: 1, Rand: func() float64 { return 0.99 }}, out, c)
	start := newFakeClock().Now()
	deliveredAt := map[string]time.Duration{}
	for len(deliveredAt) < 5 {
		select {
		case res := <-r.results:
			if res.Outcome.Delivered {
				deliveredAt[res.Entry.OrderID] = r.clock.Now().Sub(start)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("delivered %v of 5", deliveredAt)
		}
	}
	for _, id := range []string{"E1", "E2"} {
		if got := deliveredAt[id]; got != MinResumeGap {
			t.Errorf("%s delivered at +%s, want +%s (the end of the gap after the first resume)", id, got, MinResumeGap)
		}
	}
	if out.resumes != 2 {
		t.Errorf("%d resumes, want 2", out.resumes)
	}
}

// TestLoopPoisonEntryKeepsItsBackoff: one entry Katalys keeps refusing
// with a 5xx, among entries it takes, is no outage: nothing catches up,
// so it is never sent before its backoff has passed.
func TestLoopPoisonEntryKeepsItsBackoff(t *testing.T) {
	c := newCollector(t, func(n int, p map[string]any, w http.ResponseWriter, _ *http.Request) {
		if p["order_id"] == "POISON" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	out := &memOutbox{}
	out.add(orderEntry("001", "POISON"))
	r := run(t, &Loop{Poll: -1, Concurrency: 1, Rand: func() float64 { return 0.99 }}, out, c)
	attempts := 0
	for i := range 6 {
		out.add(orderEntry(fmt.Sprintf("%03d", 10+i), fmt.Sprintf("O-%d", i)))
		r.wake <- struct{}{}
		for done := false; !done; {
			select {
			case res := <-r.results:
				if res.Entry.OrderID != "POISON" {
					done = res.Outcome.Delivered
					continue
				}
				attempts++
				// The loop's clock only moves when it waits, so an
				// attempt before NextTry is one pulled forward.
				if now := r.clock.Now(); res.Entry.NextTry.After(now) {
					t.Errorf("attempt %d of the refused entry at %s, before its next try %s", attempts, now, res.Entry.NextTry)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("an order was not delivered")
			}
		}
	}
	if attempts == 0 {
		t.Error("the refused entry was never tried")
	}
}

// TestLoopPayloadErrors: an erased order goes to the dead letters; a
// payload that cannot be built for now is retried.
func TestLoopPayloadErrors(t *testing.T) {
	c := newCollector(t, nil)
	out := &memOutbox{}
	out.add(orderEntry("001", "A"), orderEntry("002", "B"))
	var mu sync.Mutex
	failed := false
	r := run(t, &Loop{Payloads: payloadFunc(func(e Entry) (map[string]any, error) {
		if e.OrderID == "A" {
			return nil, fmt.Errorf("order %s: %w", e.OrderID, ErrGone)
		}
		mu.Lock()
		defer mu.Unlock()
		if !failed {
			failed = true
			return nil, errors.New("store busy")
		}
		return simplePayloads(e)
	})}, out, c)
	r.until(2)

	if len(out.dead) != 1 || out.dead[0].ID != "001" || out.dead[0].HTTPStatus != 0 || !strings.Contains(out.dead[0].Body, "gone") {
		t.Errorf("dead = %+v, want 001 with status 0 and the reason", out.dead)
	}
	if len(out.retries) != 1 || out.retries[0].ID != "002" || !strings.Contains(out.retries[0].Reason, "store busy") {
		t.Errorf("retries = %+v, want 002 once", out.retries)
	}
	if !slices.Equal(out.delivered, []string{"002"}) || len(c.received()) != 1 {
		t.Errorf("delivered %v with %d requests, want 002 with 1", out.delivered, len(c.received()))
	}
}

// TestLoopOutboxErrors: a failing Due is reported and tried again.
func TestLoopOutboxErrors(t *testing.T) {
	c := newCollector(t, nil)
	out := &memOutbox{dueErrs: 2}
	out.add(orderEntry("001", "A"))
	r := run(t, &Loop{ErrorDelay: 5 * time.Second}, out, c)
	if res := r.until(1); !res[0].Outcome.Delivered {
		t.Fatalf("outcome = %+v, want delivered", res[0])
	}
	if n := len(r.errs); n != 2 {
		t.Errorf("%d errors reported, want 2", n)
	}
	if err := <-r.errs; !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("error = %v, want the outbox's", err)
	}
	if got := r.clock.Now().Sub(newFakeClock().Now()); got < 10*time.Second {
		t.Errorf("delivered at +%s, want after two error delays (+10s)", got)
	}
}
