package module

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/storeedge/caddy-katalys/attribution"
	"github.com/storeedge/caddy-katalys/delivery"
	"github.com/storeedge/caddy-katalys/storage"
)

// Delivery defaults.
const (
	DefaultDeliverTimeout     = 10 * time.Second
	DefaultDeliverConcurrency = 1
	// DefaultDeliverRate bounds deliveries per second: a backlog (Katalys
	// down for an hour) drains steadily without taking the CPU that pages
	// need (see docs/benchmarks.md); live traffic never comes near it.
	DefaultDeliverRate = 100
)

// deliveryRun is an app's delivery loop, draining the store's outbox to
// the deliver endpoint while the app runs.
type deliveryRun struct {
	cancel context.CancelFunc
	done   chan struct{}
	wake   chan struct{}
	store  *storage.Store
	// counted is when the outbox gauge was last updated (unix nanos).
	counted atomic.Int64
}

// deliverEndpoint is where orders are delivered, or "off".
func (a *App) deliverEndpoint() string {
	if a.Deliver == "" {
		return DefaultDeliver
	}
	return a.Deliver
}

// delivers reports whether orders are delivered at all.
func (a *App) delivers() bool { return a.Deliver != DeliverOff }

// startDelivery starts the delivery loop on p's outbox. It runs once the
// store's delivery turn is free: on a reload, once the old config's loop
// has stopped (Stop) and recorded what its last sends got.
func (a *App) startDelivery(p *pooledStore) {
	st := p.Store
	if !a.delivers() || a.run.delivery.Load() != nil {
		return
	}
	endpoint := a.deliverEndpoint()
	timeout := time.Duration(a.DeliverTimeout)
	if timeout <= 0 {
		timeout = DefaultDeliverTimeout
	}
	conc := a.DeliverConcurrency
	if conc <= 0 {
		conc = DefaultDeliverConcurrency
	}
	loop := &delivery.Loop{
		Outbox:      st,
		Payloads:    pacedPayloads{Payloads: storePayloads{st: st, rules: a.Rules}, limiter: rate.NewLimiter(rate.Limit(a.deliverRate()), 1)},
		Sender:      &delivery.Sender{Endpoint: endpoint, Timeout: timeout},
		Concurrency: conc,
		OnResult:    a.deliveryResult,
		OnError: func(err error) {
			if errors.Is(err, storage.ErrLowDisk) || errors.Is(err, storage.ErrDirGone) {
				return // deliveries wait; the store's disk watch said why, once
			}
			a.logger.Error("reading or updating the delivery outbox", zap.Error(err))
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &deliveryRun{cancel: cancel, done: make(chan struct{}), wake: make(chan struct{}, 1), store: st}
	run.countOutbox()
	a.run.delivery.Store(run)
	go func() {
		defer close(run.done)
		select {
		case p.deliverTurn <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-p.deliverTurn }()
		loop.Run(ctx, run.wake)
	}()
}

// stopDelivery stops the loop, waiting for the sends in flight.
func (a *App) stopDelivery() {
	if a.run == nil {
		return
	}
	if run := a.run.delivery.Load(); run != nil {
		run.cancel()
		<-run.done
	}
}

// wakeDelivery tells the loop that an entry was added.
func (a *App) wakeDelivery() {
	if a.run == nil {
		return
	}
	if run := a.run.delivery.Load(); run != nil {
		select {
		case run.wake <- struct{}{}:
		default:
		}
	}
}

// outboxCountEvery is how often, at most, the outbox gauge is updated.
const outboxCountEvery = 10 * time.Second

// countOutbox sets the outbox gauge, at most every outboxCountEvery: counting
// walks the outbox's keys.
func (r *deliveryRun) countOutbox() {
	now := time.Now().UnixNano()
	last := r.counted.Load()
	if now-last < int64(outboxCountEvery) || !r.counted.CompareAndSwap(last, now) {
		return
	}
	pending, dead := r.store.OutboxCounts()
	metrics.outbox.WithLabelValues("pending").Set(float64(pending))
	metrics.outbox.WithLabelValues("dead").Set(float64(dead))
}

// deliveryResult counts and logs the outcome of one attempt.
func (a *App) deliveryResult(e delivery.Entry, o delivery.Outcome) {
	if run := a.run.delivery.Load(); run != nil {
		defer run.countOutbox()
	}
	switch {
	case o.Delivered:
		metrics.deliveries.WithLabelValues("delivered").Inc()
	case o.Retry:
		metrics.deliveries.WithLabelValues("retried").Inc()
		a.logger.Warn("order delivery failed; will retry", zap.String("bucket", e.Bucket),
			zap.String("order_id", e.OrderID), zap.String("kind", e.Kind), zap.Int("attempt", e.Attempts+1), zap.String("reason", o.Reason()))
	default:
		metrics.deliveries.WithLabelValues("dead").Inc()
		a.logger.Error("order delivery refused; kept in the dead letters", zap.String("bucket", e.Bucket),
			zap.String("order_id", e.OrderID), zap.String("kind", e.Kind), zap.Int("http_status", o.HTTPStatus), zap.String("body", o.Body))
	}
}

// deliverRate is the most deliveries a second.
func (a *App) deliverRate() int {
	if a.DeliverRate > 0 {
		return a.DeliverRate
	}
	return DefaultDeliverRate
}

// pacedPayloads paces deliveries: a payload is built right before its
// send, so waiting for the limiter here spaces the sends.
type pacedPayloads struct {
	delivery.Payloads
	limiter *rate.Limiter
}

func (p pacedPayloads) Payload(e delivery.Entry) (map[string]any, error) {
	if err := p.limiter.Wait(context.Background()); err != nil {
		return nil, err
	}
	return p.Payloads.Payload(e)
}

// storePayloads builds delivery payloads from what the store holds of an
// order: the order and its current attribution. An order is stored (with
// its outbox entry) before it is attributed, so its first delivery can
// come in between, or after a crash in between; an order found with no
// attribution yet is attributed then, under rules, so that its conversion
// never goes out without the transaction_id it has earned. Likewise a
// status change found decided before it is decided again first.
type storePayloads struct {
	st    *storage.Store
	rules func(bucket string) attribution.Rules
}

func (p storePayloads) Payload(e delivery.Entry) (map[string]any, error) {
	o, ok, err := p.st.GetOrder(e.Bucket, e.OrderID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, storage.ErrNotFound
	}
	var res *attribution.Result
	if rec, ok, err := p.st.GetAttribution(e.Bucket, e.OrderID); err != nil {
		return nil, err
	} else if ok && (p.rules == nil || !stale(e, rec.Current, o)) {
		res = &rec.Current
	} else if p.rules != nil {
		decided, err := attributeOrder(p.st, p.rules(e.Bucket), o, time.Now())
		if err != nil {
			return nil, err
		}
		res = &decided
	}
	// A status change reports the order's status now, not the one its
	// entry was made for: a dead "paid" retried after a delivered
	// "refunded" must not tell Katalys the order was paid after all.
	return delivery.OrderPayload(e.Bucket, deliveryFacts(o), res, e.Kind, ""), nil
}

// stale reports whether the stored decision res may predate what entry e
// reports, so that its payload must decide again: a status change is
// stored (with its outbox entry) before the order is decided again, and a
// refund sent with the decision before it would still credit the click;
// an update is stored before the reload that brought it decides again
// with the visitor it learnt.
func stale(e delivery.Entry, res attribution.Result, o storage.Order) bool {
	switch e.Kind {
	case delivery.KindUpdate:
		return true
	case delivery.KindStatus:
		return res.DecidedAt.Before(o.StatusTime)
	}
	return false
}

// deliveryFacts is what a delivery payload says of a stored order.
func deliveryFacts(o storage.Order) delivery.OrderFacts {
	f := delivery.OrderFacts{
		ID: o.ID, Total: o.Total, Subtotal: o.Subtotal, Currency: o.Currency, Email: o.Email,
		Time: o.Time, ClientIP: o.ClientIP, UserAgent: o.UserAgent, Status: o.Status,
	}
	if f.Status == "" {
		f.Status = o.Order.Status // as the page printed it
	}
	for _, d := range o.Discounts {
		f.Discounts = append(f.Discounts, delivery.OrderDiscount{Code: d.Code, Amount: d.Amount})
	}
	for _, it := range o.Items {
		f.Items = append(f.Items, delivery.OrderItem{SKU: it.SKU, Name: it.Name, Quantity: it.Quantity, Price: it.Price})
	}
	return f
}
