package storage

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/dgraph-io/badger/v4"

	"github.com/storeedge/caddy-katalys/delivery"
)

// entryNames describes entries as "bucket/order:kind[:status]".
func entryNames(es []delivery.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Bucket + "/" + e.OrderID + ":" + e.Kind
		if e.Status != "" {
			out[i] += ":" + e.Status
		}
	}
	return out
}

func outboxEntries(t *testing.T, s *Store) []delivery.Entry {
	t.Helper()
	var es []delivery.Entry
	if err := s.OutboxEntries(func(e delivery.Entry) error { es = append(es, e); return nil }); err != nil {
		t.Fatalf("OutboxEntries: %v", err)
	}
	return es
}

func deadLetters(t *testing.T, s *Store) []delivery.DeadLetter {
	t.Helper()
	var ds []delivery.DeadLetter
	if err := s.DeadLetters(func(d delivery.DeadLetter) error { ds = append(ds, d); return nil }); err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	return ds
}

func due(t *testing.T, s *Store, now time.Time, limit int) []delivery.Entry {
	t.Helper()
	es, _, err := s.Due(now, limit)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	return es
}

func putOrders(t *testing.T, s *Store, orders ...Order) {
	t.Helper()
	for _, o := range orders {
		if _, _, err := s.PutOrder(o); err != nil {
			t.Fatalf("PutOrder(%s/%q): %v", o.Bucket, o.ID, err)
		}
	}
}

func setStatus(t *testing.T, s *Store, bucket, id, status string) {
	t.Helper()
	if _, err := s.SetOrderStatus(bucket, id, status, time.Time{}); err != nil {
		t.Fatalf("SetOrderStatus(%s/%s, %s): %v", bucket, id, status, err)
	}
}

func reopen(t *testing.T, s *Store, opts Options) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	opts.Dir = s.dir
	return openTest(t, opts)
}

func TestOutboxOrderEntryWithOrder(t *testing.T) {
	opts := Options{Outbox: true}
	s := openTest(t, opts)
	before := time.Now()
	putOrders(t, s, order("KA-1", "7", 10))
	s = reopen(t, s, opts)
	if _, ok, err := s.GetOrder("KA-1", "7"); err != nil || !ok {
		t.Fatalf("GetOrder after reopen: %v, %v", ok, err)
	}
	es := outboxEntries(t, s)
	if got := entryNames(es); !slices.Equal(got, []string{"KA-1/7:order"}) {
		t.Fatalf("entries after reopen = %q", got)
	}
	e := es[0]
	if e.Attempts != 0 || e.LastErr != "" || e.Created.Before(before) || !e.NextTry.Equal(e.Created) || len(e.ID) != 16 {
		t.Errorf("entry = %+v", e)
	}
	if p, d := s.OutboxCounts(); p != 1 || d != 0 {
		t.Errorf("OutboxCounts = %d, %d; want 1, 0", p, d)
	}
}

// A failing outbox write fails the order with it: they share a transaction.
func TestOutboxEntryAndOrderAtomic(t *testing.T) {
	s := openTest(t, Options{Outbox: true})
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(outboxSeqKey, []byte("bad")) }); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutOrder(order("KA-1", "7", 10)); err == nil || !strings.Contains(err.Error(), "outbox sequence") {
		t.Fatalf("PutOrder with a broken sequence: %v", err)
	}
	if _, ok, err := s.GetOrder("KA-1", "7"); err != nil || ok {
		t.Errorf("order stored without its entry: %v, %v", ok, err)
	}
	if es := outboxEntries(t, s); len(es) != 0 {
		t.Errorf("entries = %q", entryNames(es))
	}
}

// TestOutboxNoEntryForRepeats: a reload that adds nothing, or nothing
// Katalys is sent, adds no entry; one that fills a gap adds an update.
func TestOutboxNoEntryForRepeats(t *testing.T) {
	s := openTest(t, Options{Outbox: true})
	first := order("KA-1", "7", 10)
	reload := order("KA-1", "7", 10)
	reload.Email = "j@example.org" // fills a gap: the order is not new, but Katalys hears of it once
	putOrders(t, s, first, first, reload, reload)
	setStatus(t, s, "KA-1", "7", "paid")
	setStatus(t, s, "KA-1", "7", "paid")
	putOrders(t, s, reload)
	session := reload
	session.Session = "s-2" // fields the delivery does not carry: no entry
	session.Order.Time = "14 March 2025"
	putOrders(t, s, session)
	want := []string{"KA-1/7:order", "KA-1/7:update", "KA-1/7:status:paid"}
	if got := entryNames(outboxEntries(t, s)); !slices.Equal(got, want) {
		t.Errorf("entries = %q, want %q", got, want)
	}
}

func TestOutboxStatusAfterOrder(t *testing.T) {
	s := openTest(t, Options{Outbox: true})
	putOrders(t, s, order("KA-1", "7", 10))
	setStatus(t, s, "KA-1", "7", "paid")
	setStatus(t, s, "KA-1", "7", "refunded")
	es := outboxEntries(t, s)
	want := []string{"KA-1/7:order", "KA-1/7:status:paid", "KA-1/7:status:refunded"}
	if got := entryNames(es); !slices.Equal(got, want) {
		t.Fatalf("entries = %q, want %q", got, want)
	}
	if !slices.IsSortedFunc(es, func(a, b delivery.Entry) int { return strings.Compare(a.ID, b.ID) }) {
		t.Errorf("entry ids not in creation order: %v", es)
	}
	now := time.Now()
	for _, w := range want {
		got := due(t, s, now, 10)
		if names := entryNames(got); !slices.Equal(names, []string{w}) {
			t.Fatalf("Due = %q, want only %q", names, w)
		}
		if err := s.Delivered(got[0].ID); err != nil {
			t.Fatalf("Delivered: %v", err)
		}
	}
	if got := due(t, s, now, 10); len(got) != 0 {
		t.Errorf("Due after delivering all = %q", entryNames(got))
	}
	if p, d := s.OutboxCounts(); p != 0 || d != 0 {
		t.Errorf("OutboxCounts = %d, %d", p, d)
	}
	raw := rawKeys(t, s, "xo/")
	if len(raw) != 0 {
		t.Errorf("index keys left: %q", raw)
	}
}

func rawKeys(t *testing.T, s *Store, prefix string) []string {
	t.Helper()
	var keys []string
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, string(it.Item().KeyCopy(nil)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestOutboxDue(t *testing.T) {
	s := openTest(t, Options{Outbox: true})
	// Order "a\x00b" shares a prefix with order "a"'s index keys; neither
	// may hold back the other.
	putOrders(t, s, order("KA-1", "a", 1), order("KA-1", "a\x00b", 2), order("KA-10", "a", 3))
	setStatus(t, s, "KA-1", "a", "paid")
	putOrders(t, s, order("KA-1", "c", 4))
	setStatus(t, s, "KA-1", "a\x00b", "paid")
	setStatus(t, s, "KA-1", "c", "paid")
	now := time.Now()
	all := []string{"KA-1/a:order", "KA-1/a\x00b:order", "KA-10/a:order", "KA-1/c:order"}
	entries := outboxEntries(t, s)
	byName := map[string]string{}
	for i, n := range entryNames(entries) {
		byName[n] = entries[i].ID
	}

	tests := []struct {
		name  string
		now   time.Time
		limit int
		want  []string
	}{
		{"oldest first, one per order", now, 100, all},
		{"limit", now, 2, all[:2]},
		{"zero limit", now, 0, nil},
		{"nothing due before the entries were made", now.Add(-time.Hour), 100, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := entryNames(due(t, s, tt.now, tt.limit)); !slices.Equal(got, tt.want) {
				t.Errorf("Due = %q, want %q", got, tt.want)
			}
		})
	}

	// An order whose conversion waits for a retry holds back its status
	// change, and nothing else.
	later := now.Add(time.Hour)
	if err := s.Retry(byName["KA-1/a:order"], 1, later, "503 Service Unavailable", time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got, want := entryNames(due(t, s, now, 100)), all[1:]; !slices.Equal(got, want) {
		t.Errorf("Due while KA-1/a waits = %q, want %q", got, want)
	}
	// Delivering the conversion of c lets its status go.
	if err := s.Delivered(byName["KA-1/c:order"]); err != nil {
		t.Fatal(err)
	}
	want := []string{"KA-1/a\x00b:order", "KA-10/a:order", "KA-1/c:status:paid"}
	if got := entryNames(due(t, s, now, 100)); !slices.Equal(got, want) {
		t.Errorf("Due after delivering c = %q, want %q", got, want)
	}
	// Once its time has come, the retried entry is due again, first, with
	// its attempts and reason.
	got := due(t, s, later, 1)
	if len(got) != 1 || got[0].ID != byName["KA-1/a:order"] || got[0].Attempts != 1 ||
		got[0].LastErr != "503 Service Unavailable" || !got[0].NextTry.Equal(later) {
		t.Errorf("Due at the retry time = %+v", got)
	}
}

func TestOutboxDeadAndRetryDead(t *testing.T) {
	s := openTest(t, Options{Outbox: true})
	putOrders(t, s, order("KA-1", "7", 10))
	setStatus(t, s, "KA-1", "7", "paid")
	now := time.Now()
	first := due(t, s, now, 10)
	if len(first) != 1 || first[0].Kind != delivery.KindOrder {
		t.Fatalf("Due = %q", entryNames(first))
	}
	id := first[0].ID
	if err := s.Retry(id, 3, now, "timeout", time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	died := now.Add(time.Minute)
	if err := s.Dead(id, 400, `{"error":"bad site_id"}`, died); err != nil {
		t.Fatalf("Dead: %v", err)
	}
	// The dead conversion still holds back the status change: sent
	// first, it would reach Katalys for an order Katalys does not know.
	if got := entryNames(due(t, s, now, 10)); len(got) != 0 {
		t.Errorf("Due after Dead = %q, want nothing until the conversion is retried", got)
	}
	ds := deadLetters(t, s)
	if len(ds) != 1 {
		t.Fatalf("dead letters = %+v", ds)
	}
	if d := ds[0]; d.ID != id || d.HTTPStatus != 400 || d.Body != `{"error":"bad site_id"}` || !d.Died.Equal(died) ||
		d.Attempts != 3 || d.LastErr != "timeout" || d.Kind != delivery.KindOrder || d.OrderID != "7" {
		t.Errorf("dead letter = %+v", d)
	}
	if p, d := s.OutboxCounts(); p != 1 || d != 1 {
		t.Errorf("OutboxCounts = %d, %d; want 1, 1", p, d)
	}

	// Retried, it goes back under its ID, due now with no attempts, ahead
	// of the status change again.
	if err := s.RetryDead(id); err != nil {
		t.Fatalf("RetryDead: %v", err)
	}
	got := due(t, s, time.Now(), 10)
	if len(got) != 1 || got[0].ID != id || got[0].Attempts != 0 || got[0].NextTry.Before(now) {
		t.Errorf("Due after RetryDead = %+v", got)
	}
	if ds := deadLetters(t, s); len(ds) != 0 {
		t.Errorf("dead letters after RetryDead = %+v", ds)
	}
	if p, d := s.OutboxCounts(); p != 2 || d != 0 {
		t.Errorf("OutboxCounts = %d, %d; want 2, 0", p, d)
	}
	// Delivered, it lets the status change go; a dead status change then
	// holds back nothing.
	if err := s.Delivered(id); err != nil {
		t.Fatal(err)
	}
	setStatus(t, s, "KA-1", "7", "refunded")
	got = due(t, s, time.Now(), 10)
	if names := entryNames(got); !slices.Equal(names, []string{"KA-1/7:status:paid"}) {
		t.Fatalf("Due after the conversion = %q", names)
	}
	if err := s.Dead(got[0].ID, 400, "no", time.Now()); err != nil {
		t.Fatal(err)
	}
	if names := entryNames(due(t, s, time.Now(), 10)); !slices.Equal(names, []string{"KA-1/7:status:refunded"}) {
		t.Errorf("Due after a dead status change = %q, want the next one", names)
	}
}

func TestOutboxDeadBodyExcerpt(t *testing.T) {
	s := openTest(t, Options{Outbox: true})
	putOrders(t, s, order("KA-1", "7", 10))
	id := due(t, s, time.Now(), 1)[0].ID
	body := strings.Repeat("é", maxOutboxText) // 2 bytes a rune: cut in the middle of one
	if err := s.Dead(id, 422, body, time.Now()); err != nil {
		t.Fatal(err)
	}
	d := deadLetters(t, s)[0]
	if len(d.Body) > maxOutboxText+utf8.UTFMax || !utf8.ValidString(d.Body) || !strings.HasPrefix(body, strings.TrimSuffix(d.Body, "\uFFFD")) {
		t.Errorf("body excerpt of %d bytes, valid %v", len(d.Body), utf8.ValidString(d.Body))
	}
}

func TestOutboxSurvivesReopen(t *testing.T) {
	opts := Options{Outbox: true}
	s := openTest(t, opts)
	putOrders(t, s, order("KA-1", "7", 10), order("KA-1", "8", 20))
	setStatus(t, s, "KA-1", "7", "paid")
	now := time.Now()
	es := outboxEntries(t, s)
	later := now.Add(time.Hour)
	if err := s.Retry(es[0].ID, 2, later, "503", time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Dead(es[1].ID, 404, "no", now); err != nil {
		t.Fatal(err)
	}

	s = reopen(t, s, opts)
	if got := outboxEntries(t, s); len(got) != 2 || got[0].ID != es[0].ID || got[0].Attempts != 2 ||
		!got[0].NextTry.Equal(later) || got[0].LastErr != "503" || got[1].ID != es[2].ID {
		t.Errorf("entries after reopen = %+v", got)
	}
	if ds := deadLetters(t, s); len(ds) != 1 || ds[0].ID != es[1].ID || ds[0].HTTPStatus != 404 {
		t.Errorf("dead letters after reopen = %+v", ds)
	}
	// The status change still waits for its conversion, and Due says
	// when that becomes due, so a restarted loop need not wait for a poll.
	if got, next, err := s.Due(now, 10); err != nil || len(got) != 0 || !next.Equal(later) {
		t.Errorf("Due after reopen = %q, next %v, %v; want none, next %v", entryNames(got), next, err, later)
	}
	if got := entryNames(due(t, s, later, 10)); !slices.Equal(got, []string{"KA-1/7:order"}) {
		t.Errorf("Due at the retry time = %q", got)
	}
	// New entries sort after the old ones.
	putOrders(t, s, order("KA-1", "9", 30))
	got := outboxEntries(t, s)
	if last := got[len(got)-1]; last.OrderID != "9" || last.ID <= es[2].ID {
		t.Errorf("new entry %+v does not sort after %s", last, es[2].ID)
	}
}

func TestOutboxOff(t *testing.T) {
	s := openTest(t, Options{})
	putOrders(t, s, order("KA-1", "7", 10))
	setStatus(t, s, "KA-1", "7", "paid")
	for _, prefix := range []string{"x", "meta/outbox"} {
		if keys := rawKeys(t, s, prefix); len(keys) != 0 {
			t.Errorf("outbox off wrote %q", keys)
		}
	}
	if p, d := s.OutboxCounts(); p != 0 || d != 0 {
		t.Errorf("OutboxCounts = %d, %d", p, d)
	}
}

func TestOutboxErrors(t *testing.T) {
	s := openTest(t, Options{Outbox: true})
	putOrders(t, s, order("KA-1", "7", 10))
	missing := entryID(99)
	tests := []struct {
		name string
		err  error
	}{
		{"Retry of a missing entry", s.Retry(missing, 1, time.Now(), "x", time.Time{}, time.Time{})},
		{"Dead of a missing entry", s.Dead(missing, 400, "", time.Now())},
		{"RetryDead of a missing letter", s.RetryDead(missing)},
		{"Retry of a malformed id", s.Retry("7", 1, time.Now(), "x", time.Time{}, time.Time{})},
		{"RetryDead of a malformed id", s.RetryDead("zzzzzzzzzzzzzzzz")},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", tt.name, tt.err)
		}
	}
	if err := s.Delivered(missing); err != nil {
		t.Errorf("Delivered of a missing entry: %v", err)
	}
	if got := outboxEntries(t, s); len(got) != 1 {
		t.Errorf("entries = %q", entryNames(got))
	}

	id := firstID(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	closed := []struct {
		name string
		err  error
	}{
		{"Due", func() error { _, _, err := s.Due(time.Now(), 1); return err }()},
		{"Delivered", s.Delivered(id)},
		{"Retry", s.Retry(id, 1, time.Now(), "", time.Time{}, time.Time{})},
		{"Dead", s.Dead(id, 400, "", time.Now())},
		{"RetryDead", s.RetryDead(id)},
		{"OutboxEntries", s.OutboxEntries(func(delivery.Entry) error { return nil })},
		{"DeadLetters", s.DeadLetters(func(delivery.DeadLetter) error { return nil })},
	}
	for _, c := range closed {
		if !errors.Is(c.err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", c.name, c.err)
		}
	}
	if p, d := s.OutboxCounts(); p != 0 || d != 0 {
		t.Errorf("OutboxCounts after Close = %d, %d", p, d)
	}
}

func firstID(t *testing.T, s *Store) string {
	t.Helper()
	return outboxEntries(t, s)[0].ID
}

func TestOutboxCallbackErrorStops(t *testing.T) {
	s := openTest(t, Options{Outbox: true})
	putOrders(t, s, order("KA-1", "7", 10), order("KA-1", "8", 10))
	stop := errors.New("stop")
	n := 0
	if err := s.OutboxEntries(func(delivery.Entry) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("OutboxEntries = %v after %d calls", err, n)
	}
}

// TestOutboxDueReadsTheRealNextTry: Due reads a waiting entry's next try
// without decoding it; an order id that spells out a next_try member
// must not fool it.
func TestOutboxDueReadsTheRealNextTry(t *testing.T) {
	s := openTest(t, Options{Outbox: true})
	tricky := `x","next_try":"2000-01-01T00:00:00Z`
	putOrders(t, s, order("KA-1", tricky, 1))
	es := outboxEntries(t, s)
	later := time.Now().Add(time.Hour).Truncate(time.Second)
	if err := s.Retry(es[0].ID, 1, later, "503", time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got, next, err := s.Due(time.Now(), 10); err != nil || len(got) != 0 || !next.Equal(later) {
		t.Errorf("Due = %q, next %v, %v; want none, next %v", entryNames(got), next, err, later)
	}
	if got := due(t, s, later, 10); len(got) != 1 || got[0].OrderID != tricky {
		t.Errorf("Due at its next try = %q", entryNames(got))
	}
}

// TestOutboxNoUpdateForAnOrderNeverQueued: an order stored under `deliver
// off` is never sent, not even as an update or a status change once
// delivery is on.
func TestOutboxNoUpdateForAnOrderNeverQueued(t *testing.T) {
	s := openTest(t, Options{Outbox: false})
	putOrders(t, s, order("KA-1", "7", 10))
	s.SetOutbox(true)
	reload := order("KA-1", "7", 10)
	reload.Email = "j@example.org"
	putOrders(t, s, reload, order("KA-1", "8", 20))
	setStatus(t, s, "KA-1", "7", "refunded")
	if got, want := entryNames(outboxEntries(t, s)), []string{"KA-1/8:order"}; !slices.Equal(got, want) {
		t.Errorf("entries = %q, want %q", got, want)
	}
}

// TestOutboxResume: once Katalys is back, the entries waiting on their own
// backoff are due at once; one that Katalys asked to wait (Retry-After)
// still waits, and every entry keeps its attempts.
func TestOutboxResume(t *testing.T) {
	s := openTest(t, Options{Outbox: true})
	putOrders(t, s, order("KA-1", "a", 1), order("KA-1", "b", 2), order("KA-1", "c", 3))
	es := outboxEntries(t, s)
	now := time.Now()
	if err := s.Retry(es[0].ID, 4, now.Add(30*time.Minute), "503", time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	// b: Katalys asked for 10 minutes, its backoff made it 30.
	if err := s.Retry(es[1].ID, 1, now.Add(30*time.Minute), "429", now.Add(10*time.Minute), time.Time{}); err != nil {
		t.Fatal(err)
	}
	n, err := s.Resume(now)
	if err != nil || n != 2 {
		t.Fatalf("Resume = %d, %v; want 2 entries moved", n, err)
	}
	got := due(t, s, now, 10)
	if names := entryNames(got); !slices.Equal(names, []string{"KA-1/a:order", "KA-1/c:order"}) {
		t.Errorf("due after Resume: %q, want a (resumed) and c; b waits for its Retry-After", names)
	}
	if got[0].Attempts != 4 {
		t.Errorf("resumed entry %+v, want its 4 attempts kept", got[0])
	}
	if got := entryNames(due(t, s, now.Add(10*time.Minute), 10)); !slices.Contains(got, "KA-1/b:order") {
		t.Errorf("due when its Retry-After ends: %q, want b among them", got)
	}
}

// TestOutboxWaiting: whether entries wait for a retry, and the latest
// Retry-After hold on every delivery they carry.
func TestOutboxWaiting(t *testing.T) {
	s := openTest(t, Options{Outbox: true})
	putOrders(t, s, order("KA-1", "a", 1), order("KA-1", "b", 2), order("KA-1", "c", 3))
	es := outboxEntries(t, s)
	now := time.Now().Add(time.Second).Truncate(time.Second) // after the entries were made
	if waiting, hold, err := s.Waiting(now); err != nil || waiting || !hold.IsZero() {
		t.Fatalf("Waiting with every entry due = %v, %v, %v", waiting, hold, err)
	}
	if err := s.Retry(es[2].ID, 3, now.Add(time.Hour), "503", time.Time{}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if waiting, hold, err := s.Waiting(now); err != nil || !waiting || !hold.IsZero() {
		t.Errorf("Waiting with one entry on its backoff = %v, %v, %v; want waiting, no hold", waiting, hold, err)
	}
	for i, held := range []time.Duration{time.Minute, 3 * time.Minute} {
		if err := s.Retry(es[i].ID, 1, now.Add(time.Hour), "429", now.Add(held), now.Add(held)); err != nil {
			t.Fatal(err)
		}
	}
	if waiting, hold, err := s.Waiting(now); err != nil || !waiting || !hold.Equal(now.Add(3*time.Minute)) {
		t.Errorf("Waiting = %v, %v, %v; want waiting, hold until %v", waiting, hold, err, now.Add(3*time.Minute))
	}
	if _, hold, _ := s.Waiting(now.Add(4 * time.Minute)); !hold.IsZero() {
		t.Errorf("hold after every hold ended = %v, want zero", hold)
	}
}
