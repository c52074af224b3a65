package delivery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ErrGone is wrapped by the error of a Payloads that has nothing left to
// send for an entry (its order was erased): the loop moves such an entry
// to the dead letters, with HTTP status 0 and the error as the body. Any
// other Payloads error is taken as passing and the entry is retried.
var ErrGone = errors.New("delivery: the entry's order is gone")

// Defaults of a Loop.
const (
	DefaultConcurrency = 4
	DefaultPoll        = 30 * time.Second
	DefaultErrorDelay  = time.Second
)

// Loop drains an Outbox: it takes the entries that are due, builds their
// payloads, sends them with bounded concurrency and records the outcome
// (Delivered only after a 2xx, Retry with Backoff, Dead on a refusal).
//
// An order's entries go one at a time and in order: the Outbox hands out
// only the first undelivered entry of each order, and the loop never has
// two entries of one order in flight.
//
// Outbox, Payloads and Sender are required; the other fields have
// defaults. A Loop runs once at a time.
type Loop struct {
	Outbox      Outbox
	Payloads    Payloads
	Sender      *Sender
	Concurrency int              // sends in flight at most; 0 is DefaultConcurrency
	Now         func() time.Time // nil is time.Now
	// OnResult, when set, is told the outcome of every attempt. It is
	// called from the sending goroutines, concurrently.
	OnResult func(Entry, Outcome)

	// OnError, when set, is told of the Outbox failing (Due, Delivered,
	// Retry or Dead returning an error). It is called concurrently too.
	OnError func(error)
	// Rand is Backoff's jitter; nil is math/rand/v2.
	Rand func() float64
	// After waits: nil is time.After. Tests give a fake that moves a fake
	// clock instead of sleeping.
	After func(time.Duration) <-chan time.Time
	// Poll is how often the outbox is looked at when nothing is known to
	// become due (entries added without a wake signal, or by another
	// process); 0 is DefaultPoll, negative never.
	Poll time.Duration
	// ErrorDelay is how long the loop waits before looking at the outbox
	// again after it failed; 0 is DefaultErrorDelay.
	ErrorDelay time.Duration
}

// MaxLoopHold bounds how long one Retry-After holds every delivery: the
// entry it answered waits as long as it asks (up to MaxRetryAfter), but a
// day-long answer from a proxy in maintenance must not stop every
// conversion for a day; the others try again after this (up to
// Concurrency at once), and a new Retry-After holds them again.
const MaxLoopHold = 5 * time.Minute

// done is what a send reports back to Run.
type done struct {
	id, order string
	delivered bool      // Katalys took it
	retried   bool      // it is to be tried again
	holdUntil time.Time // the answer's Retry-After, for every send; zero for none
	failed    bool      // the Outbox failed recording the outcome
}

// outage tells when Katalys comes back from being unreachable, so that
// what waited for it goes at once (Outbox.Resume) instead of on each
// entry's backoff (up to BackoffCap, so a backlog took up to an hour to go
// after an outage). Katalys was out when two different entries failed in
// a row; it is back when one then goes through. One entry that keeps
// failing on its own (a payload Katalys chokes on) is not an outage and
// keeps its backoff.
type outage struct {
	failing []string // the entries that failed since the last delivery, at most two
	// assumed is set when the loop starts on an outbox with entries
	// waiting for a retry: an earlier run (before a reload or restart,
	// maybe one that fixed the deliver URL) saw Katalys fail them.
	assumed bool
}

// settle notes the outcome of one send and reports whether it ends an
// outage.
func (o *outage) settle(r done) (over bool) {
	switch {
	case r.delivered:
		over = o.down()
		o.failing, o.assumed = o.failing[:0], false
	case r.retried && len(o.failing) < 2 && !slices.Contains(o.failing, r.id):
		o.failing = append(o.failing, r.id)
	}
	return over
}

// down reports whether Katalys looks out: two entries failed in a row, or
// the loop started with entries waiting for a retry.
func (o *outage) down() bool { return o.assumed || len(o.failing) >= 2 }

// Run drains the outbox until ctx ends. It looks at the outbox when it
// starts, whenever a send ends, when the next waiting entry becomes due
// (an earlier run's retries included), on
// every wake signal (send one, without blocking, after adding entries)
// and every Poll. When ctx ends it starts nothing new, waits for the sends
// in flight (each bounded by the Sender's timeout, and not cut short by
// ctx, so that what Katalys accepted is recorded as delivered) and
// returns.
func (l *Loop) Run(ctx context.Context, wake <-chan struct{}) {
	conc := l.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	sendCtx := context.WithoutCancel(ctx)
	results := make(chan done, conc)
	inflight := make(map[string]bool, conc) // entry ids
	orders := make(map[string]bool, conc)   // order keys
	var nextDue time.Time                   // when the next entry Due stepped over becomes due
	var pauseUntil time.Time                // after an Outbox failure
	var out outage
	var lastResume time.Time // when the waiting entries were last made due
	resumeOwed := false      // Katalys came back within MinResumeGap of that
	var wg sync.WaitGroup
	defer wg.Wait()
	// What a loop before this one (a reload, a restart) left: entries
	// waiting for a retry mean Katalys was failing them, and a Retry-After
	// hold holds this loop too, for what is left of it.
	if waiting, hold, err := l.Outbox.Waiting(l.now()); err != nil {
		l.fail(fmt.Errorf("reading the waiting deliveries: %w", err))
	} else {
		out.assumed, pauseUntil = waiting, hold
	}

	settle := func(r done) {
		delete(inflight, r.id)
		delete(orders, r.order)
		switch {
		case out.settle(r):
			resumeOwed = true
		case out.down():
			resumeOwed = false // out again: the next return resumes
		}
		if until := l.now().Add(l.errorDelay()); r.failed && until.After(pauseUntil) {
			pauseUntil = until
		}
		// A Retry-After is Katalys asking the sender to wait, not this
		// entry alone: nothing is sent until then.
		if r.holdUntil.After(pauseUntil) {
			pauseUntil = r.holdUntil
		}
	}

	for {
		if ctx.Err() != nil {
			return
		}
		now := l.now()
		if resumeOwed && (lastResume.IsZero() || now.Sub(lastResume) >= MinResumeGap) {
			l.resume(now)
			lastResume, resumeOwed = now, false
		}
		if free := conc - len(inflight); free > 0 && !now.Before(pauseUntil) {
			entries, next, err := l.Outbox.Due(now, free+len(inflight))
			nextDue = next
			if err != nil {
				l.fail(fmt.Errorf("listing due deliveries: %w", err))
				pauseUntil = now.Add(l.errorDelay())
			}
			for _, e := range entries {
				if free == 0 {
					break
				}
				key := orderKey(e)
				if inflight[e.ID] || orders[key] {
					continue
				}
				inflight[e.ID], orders[key] = true, true
				free--
				wg.Add(1)
				go func() {
					defer wg.Done()
					results <- l.deliver(sendCtx, e, key)
				}()
			}
		}

		// Sleep until something can change: a send ends, an entry
		// becomes due, a wake signal, the poll, the end of a pause.
		var next time.Time
		if nextDue.After(now) {
			next = nextDue
		}
		if now.Before(pauseUntil) && (next.IsZero() || pauseUntil.Before(next)) {
			next = pauseUntil
		}
		if owed := lastResume.Add(MinResumeGap); resumeOwed && (next.IsZero() || owed.Before(next)) {
			next = owed
		}
		if poll := l.poll(); poll >= 0 && (next.IsZero() || now.Add(poll).Before(next)) {
			next = now.Add(poll)
		}
		var timer <-chan time.Time
		if !next.IsZero() && len(inflight) < conc {
			timer = l.after(next.Sub(now))
		}

		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-timer:
		case r := <-results:
			settle(r)
		drain:
			for {
				select {
				case r := <-results:
					settle(r)
				default:
					break drain
				}
			}
		}
	}
}

// MinResumeGap is how long after making the waiting entries due
// (Outbox.Resume) the loop does it again at the soonest: a Katalys that
// comes and goes must not have the whole backlog sent at every return. A
// return within the gap is caught up when it ends.
const MinResumeGap = 5 * time.Minute

// resume makes the waiting entries due now that Katalys is back. Entries
// that fail again get a fresh backoff.
func (l *Loop) resume(now time.Time) {
	if _, err := l.Outbox.Resume(now); err != nil {
		l.fail(fmt.Errorf("making the waiting deliveries due: %w", err))
	}
}

// deliver makes one attempt at e and records its outcome in the Outbox.
func (l *Loop) deliver(ctx context.Context, e Entry, key string) done {
	d := done{id: e.ID, order: key}
	var o Outcome
	payload, err := l.Payloads.Payload(e)
	switch {
	case errors.Is(err, ErrGone):
		o = Outcome{Err: fmt.Errorf("building the payload of %s: %w", e.ID, err)}
	case err != nil:
		o = Outcome{Retry: true, Err: fmt.Errorf("building the payload of %s: %w", e.ID, err)}
	default:
		o = l.Sender.Send(ctx, payload)
	}
	now := l.now()
	switch {
	case o.Delivered:
		d.delivered = true
		err = l.Outbox.Delivered(e.ID)
	case o.Retry:
		d.retried = true
		attempts := e.Attempts + 1
		retryAt := now.Add(Backoff(attempts, o.RetryAfter, l.Rand))
		var notBefore time.Time
		if o.RetryAfter > 0 {
			d.holdUntil = now.Add(min(o.RetryAfter, MaxLoopHold))
			notBefore = now.Add(o.RetryAfter)
		}
		err = l.Outbox.Retry(e.ID, attempts, retryAt, o.Reason(), notBefore, d.holdUntil)
	default:
		body := o.Body
		if o.HTTPStatus == 0 && o.Err != nil {
			body = o.Err.Error()
		}
		err = l.Outbox.Dead(e.ID, o.HTTPStatus, body, now)
	}
	if err != nil {
		d.failed = true
		l.fail(fmt.Errorf("recording the outcome of delivery %s: %w", e.ID, err))
	}
	if l.OnResult != nil {
		l.OnResult(e, o)
	}
	return d
}

func (l *Loop) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Loop) after(d time.Duration) <-chan time.Time {
	if l.After != nil {
		return l.After(d)
	}
	return time.After(d)
}

func (l *Loop) poll() time.Duration {
	if l.Poll == 0 {
		return DefaultPoll
	}
	return l.Poll
}

func (l *Loop) errorDelay() time.Duration {
	if l.ErrorDelay <= 0 {
		return DefaultErrorDelay
	}
	return l.ErrorDelay
}

func (l *Loop) fail(err error) {
	if l.OnError != nil {
		l.OnError(err)
	}
}

// orderKey names the order an entry belongs to.
func orderKey(e Entry) string { return e.Bucket + "\x00" + e.OrderID }
