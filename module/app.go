package module

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"golang.org/x/net/idna"

	"github.com/storeedge/caddy-katalys/attribution"
	"github.com/storeedge/caddy-katalys/capture"
	"github.com/storeedge/caddy-katalys/storage"
	"github.com/storeedge/caddy-katalys/tracking"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the katalys app: the configuration every katalys handler of a
// Caddy config shares. It knows the Tracking ID buckets and their aliases,
// and owns the embedded store of behaviour (one per process and storage
// directory, shared across reloads; see stores).
//
// Handlers find it with ctx.App("katalys"); a config whose Caddyfile has no
// katalys global option still gets one, with defaults and no buckets.
type App struct {
	// Storage is the directory of the embedded database that keeps
	// behaviour, orders and deliveries. It is opened when the app starts
	// (never by `caddy validate`), once per process: configs that share
	// the directory share the open database.
	// Default: "katalys" under Caddy's data directory
	// (for example ~/.local/share/caddy/katalys).
	Storage string `json:"storage,omitempty"`

	// Deliver is the Katalys server-to-server endpoint that captured
	// orders and their status changes are sent to, or "off". Default:
	// DefaultDeliver.
	Deliver string `json:"deliver,omitempty"`

	// DeliverTimeout bounds one delivery request. Default: 10s.
	DeliverTimeout caddy.Duration `json:"deliver_timeout,omitempty"`

	// DeliverConcurrency bounds the deliveries in flight, up to
	// MaxDeliverConcurrency. Default: 1.
	DeliverConcurrency int `json:"deliver_concurrency,omitempty"`

	// DeliverRate bounds the deliveries a second. Default: 100.
	DeliverRate int `json:"deliver_rate,omitempty"`

	// Buckets are the Tracking IDs (Katalys buckets) served by this Caddy,
	// each with the other names that map to it. A handler's site_id must
	// resolve to one of them. When none is declared, every distinct site_id
	// is its own bucket with defaults.
	Buckets []Bucket `json:"buckets,omitempty"`

	// index maps NameKey(id or alias) to the bucket id; built in Provision.
	index map[string]string
	// byID maps a bucket id to its declared options; built in Provision.
	byID   map[string]*Bucket
	logger *zap.Logger

	// key is the pool key of the store ("badger:" + absolute clean path).
	key string
	// run is the store state, made in Provision (a pointer: App is copied
	// by value in CaddyModule, atomics must not be).
	run *appRun
}

// appRun is what an app holds of the store while it runs.
type appRun struct {
	// store is the open store once Start ran, nil before and after.
	store atomic.Pointer[pooledStore]
	// held tells that this app holds one reference of stores[key]; it is
	// released exactly once, by Cleanup.
	held atomic.Bool
	// orders counts the captured orders being stored (see goStore);
	// once draining, orders are stored in the request instead.
	ordersMu sync.Mutex
	draining bool
	orders   sync.WaitGroup
	// delivery is the delivery loop, once started; requests read it
	// (wakeDelivery) while the app may still be starting.
	delivery atomic.Pointer[deliveryRun]
	// sites are the static site ids of this config's handlers: without
	// declared buckets, each is a bucket the admin API knows before the
	// store holds anything of it.
	sitesMu sync.Mutex
	sites   []string

	// opened is closed once the app holds the store; quit once it
	// stops. openMu and closed keep a late open (retryOpen) from taking
	// a reference that Cleanup already let go of.
	opened     chan struct{}
	openedOnce sync.Once
	quit       chan struct{}
	quitOnce   sync.Once
	openMu     sync.Mutex
	closed     bool
}

// noteSite records bucket, the static site id of a handler of this config.
func (a *App) noteSite(bucket string) {
	if a.run == nil {
		return
	}
	a.run.sitesMu.Lock()
	defer a.run.sitesMu.Unlock()
	if !slices.Contains(a.run.sites, bucket) {
		a.run.sites = append(a.run.sites, bucket)
	}
}

// knownBuckets are the buckets of this config: the declared ones, or,
// without declared buckets, its handlers' static site ids and the buckets
// st holds data of (placeholder site ids resolve to any name).
func (a *App) knownBuckets(st *storage.Store) ([]string, error) {
	if len(a.Buckets) > 0 {
		return a.BucketIDs(), nil
	}
	inStore, err := st.Buckets()
	if err != nil {
		return nil, err
	}
	if a.run != nil {
		a.run.sitesMu.Lock()
		for _, id := range a.run.sites {
			if !slices.ContainsFunc(inStore, func(b string) bool { return NameKey(b) == NameKey(id) }) {
				inStore = append(inStore, id)
			}
		}
		a.run.sitesMu.Unlock()
	}
	slices.Sort(inStore)
	return inStore, nil
}

// maxOrderDrain bounds how long Cleanup waits for orders being stored.
const maxOrderDrain = 30 * time.Second

// goStore runs store, the storing of a captured order while the store is
// not open yet, or its attribution, off the request. Cleanup waits for
// it, so that a clean stop or reload loses no order.
func (a *App) goStore(store func()) {
	a.run.ordersMu.Lock()
	if a.run.draining {
		// Stopping (a reload's grace period): store it in the request.
		a.run.ordersMu.Unlock()
		store()
		return
	}
	a.run.orders.Add(1)
	a.run.ordersMu.Unlock()
	go func() {
		defer a.run.orders.Done()
		store()
	}()
}

// drainOrders waits for the orders being stored, up to maxOrderDrain.
func (a *App) drainOrders() {
	a.run.ordersMu.Lock()
	a.run.draining = true
	a.run.ordersMu.Unlock()
	done := make(chan struct{})
	go func() {
		a.run.orders.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(maxOrderDrain):
	}
}

// Bucket is one Katalys Tracking ID and the names that map to it.
type Bucket struct {
	// ID is the Tracking ID, usually "KA-" followed by letters and digits.
	// It is what the injected snippet carries as site_id. Required.
	ID string `json:"id"`

	// Aliases are other names of the bucket: older KA- ids or domains
	// (shop.example.com). A handler's site_id, or the value its placeholder
	// takes at request time, may be any of them. Matched case-insensitively.
	Aliases []string `json:"aliases,omitempty"`

	// Retention is how long behaviour of the bucket is kept (a TTL on
	// every event). Default: 400 days.
	Retention caddy.Duration `json:"retention,omitempty"`

	// Privacy is "gpc" to honour Sec-GPC: 1 and DNT: 1: such visitors get
	// no cookie and none of their behaviour is stored. Default: "" (off).
	Privacy string `json:"privacy,omitempty"`

	// IP is "truncate" to store client addresses shortened to their IPv4
	// /24 or IPv6 /48. Default: "" (stored whole).
	IP string `json:"ip,omitempty"`

	// Window is how far before an order an affiliate click counts for
	// it. Default: 30 days.
	Window caddy.Duration `json:"window,omitempty"`

	// Model shares an order's credit among the clicks in the window:
	// "last_touch" (default), "first_touch" or "linear".
	Model string `json:"model,omitempty"`

	// RefundWindow is how long after an order a refund or cancellation
	// rejects its attribution. Default: 60 days.
	RefundWindow caddy.Duration `json:"refund_window,omitempty"`

	// Currency is the ISO 4217 code of the store's currency, given to the
	// orders whose page names none: a store that prints its Canadian
	// dollars as "$" would otherwise report them to Katalys as US
	// dollars (the Reporting Schema's default). Default: "" (none).
	Currency string `json:"currency,omitempty"`
}

// CheckCurrency reports why v cannot be a bucket's currency: it must be
// an ISO 4217 code, three letters.
func CheckCurrency(v string) error {
	if capture.Currency(v) == "" {
		return fmt.Errorf("currency %q: want an ISO 4217 code such as CAD or EUR", v)
	}
	return nil
}

// DefaultCurrency is the currency of bucket's orders that name none, or "".
func (a *App) DefaultCurrency(bucket string) string {
	if b := a.byID[bucket]; b != nil {
		return capture.Currency(b.Currency)
	}
	return ""
}

// DefaultDeliver is Katalys' server-to-server endpoint (DESIGN §3), and
// DeliverOff the value that turns delivery off.
const (
	DefaultDeliver = "https://db.revoffers.com/v2/_tr_offline"
	DeliverOff     = "off"
)

// CheckDeliver reports why v cannot be the deliver option: "off" or an
// absolute http(s) URL.
func CheckDeliver(v string) error {
	if v == DeliverOff {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("deliver %q: must be off or an absolute http(s) URL", v)
	}
	if strings.IndexFunc(v, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("deliver %q: white space or control character in URL", v)
	}
	if err := checkPort(u); err != nil {
		return fmt.Errorf("deliver %q: %v", v, err)
	}
	return nil
}

// checkPort reports a port in u that no connection can use, which would
// otherwise surface only when the first delivery fails.
func checkPort(u *url.URL) error {
	p := u.Port()
	if p == "" {
		if strings.HasSuffix(u.Host, ":") {
			return errors.New("empty port")
		}
		return nil
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %s: must be a number from 1 to 65535", p)
	}
	return nil
}

// MaxDeliverConcurrency bounds deliver_concurrency: more deliveries in
// flight at once than this would only meet Katalys's rate limit.
const MaxDeliverConcurrency = 256

// Attribution defaults (DESIGN §3).
const (
	DefaultWindow       = 30 * 24 * time.Hour
	DefaultRefundWindow = 60 * 24 * time.Hour
)

// CheckRetention reports why b's retention is too short: clicks must be
// kept at least as long as the attribution window, or an order would not
// find the clicks that lead to it. (A status change or a re-attribution
// after the clicks expired uses the clicks the order's attribution kept.)
func CheckRetention(b Bucket) error {
	ret, win := time.Duration(b.Retention), time.Duration(b.Window)
	if ret <= 0 {
		ret = DefaultRetention
	}
	if win <= 0 {
		win = DefaultWindow
	}
	if ret < win {
		return fmt.Errorf("retention %s is shorter than the attribution window %s: clicks would expire before the orders they lead to", days(ret), days(win))
	}
	return nil
}

// days writes d in days when it is a whole number of them ("30d"), as
// the Caddyfile does.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// CheckModel reports why v cannot be a bucket's attribution model.
func CheckModel(v string) error {
	switch attribution.Model(v) {
	case attribution.LastTouch, attribution.FirstTouch, attribution.Linear:
		return nil
	}
	return fmt.Errorf("unknown model %q (known: %s, %s, %s)", v, attribution.LastTouch, attribution.FirstTouch, attribution.Linear)
}

// DefaultRetention is how long behaviour is kept when a bucket says
// nothing.
const DefaultRetention = 400 * 24 * time.Hour

// Values of Bucket.Privacy and Bucket.IP.
const (
	PrivacyGPC = "gpc"
	IPTruncate = "truncate"
)

// CheckPrivacy reports why v cannot be a bucket's privacy option.
func CheckPrivacy(v string) error {
	if v != PrivacyGPC {
		return fmt.Errorf("unknown privacy mode %q (known: %s)", v, PrivacyGPC)
	}
	return nil
}

// CheckIP reports why v cannot be a bucket's ip option.
func CheckIP(v string) error {
	if v != IPTruncate {
		return fmt.Errorf("unknown ip mode %q (known: %s)", v, IPTruncate)
	}
	return nil
}

// stores holds the open stores of this process, keyed by "badger:" and
// the absolute clean path of their directory. Badger refuses a second open
// of a directory, even in one process, and a reload starts the new config
// before the old one stops, so the store must be shared, not reopened.
var stores = caddy.NewUsagePool()

// pooledStore is the value of stores: the open store, and the retention
// of the config that started last (the store outlives configs, so its
// retention function reads whatever the current config says).
type pooledStore struct {
	*storage.Store
	retention atomic.Pointer[map[string]time.Duration]

	// The settings of each started config that holds the store, in start
	// order: the latest applies. A config that goes (its reload done, or
	// its start failed after this app started) takes its settings with it,
	// so a failed reload leaves the running config's in force.
	mu      sync.Mutex
	configs []heldSettings

	// deliverTurn is held by the delivery loop that drains the outbox:
	// one at a time. On a reload the new config's loop waits until the
	// old one's sends have ended and been recorded; two loops on one
	// outbox would send an entry in flight in the old one again, and
	// double the rate and concurrency the operator set.
	deliverTurn chan struct{}
}

// heldSettings are what a config sets on the shared store.
type heldSettings struct {
	app       *App
	retention map[string]time.Duration
	outbox    bool
}

// hold applies the settings of app's config, the latest to start.
func (p *pooledStore) hold(h heldSettings) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.configs = append(slices.DeleteFunc(p.configs, func(c heldSettings) bool { return c.app == h.app }), h)
	p.applyLatest()
}

// letGo drops app's settings; those of the latest config still holding
// the store apply again.
func (p *pooledStore) letGo(app *App) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.configs = slices.DeleteFunc(p.configs, func(c heldSettings) bool { return c.app == app })
	p.applyLatest()
}

func (p *pooledStore) applyLatest() {
	if len(p.configs) == 0 {
		return
	}
	h := p.configs[len(p.configs)-1]
	p.retention.Store(&h.retention)
	p.SetOutbox(h.outbox)
}

// Destruct closes the store when the last config using it lets go: the
// queue is drained (committed) first.
func (p *pooledStore) Destruct() error { return p.Store.Close() }

// retentionOf is the store's Retention function.
func (p *pooledStore) retentionOf(bucket string) time.Duration {
	if m := p.retention.Load(); m != nil {
		if d, ok := (*m)[bucket]; ok {
			return d
		}
	}
	return DefaultRetention
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "katalys",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision fills in defaults and indexes the buckets by id and alias. It
// opens nothing, since `caddy validate` provisions every module too; on a
// reload it takes a reference of the store this process already has open
// (see acquireIfOpen).
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	if a.Storage == "" {
		a.Storage = filepath.Join(caddy.AppDataDir(), "katalys")
	}
	dir, err := filepath.Abs(a.Storage)
	if err != nil {
		return fmt.Errorf("storage %q: %v", a.Storage, err)
	}
	a.key = "badger:" + filepath.Clean(dir)
	a.run = &appRun{opened: make(chan struct{}), quit: make(chan struct{})}
	a.index = make(map[string]string, len(a.Buckets))
	a.byID = make(map[string]*Bucket, len(a.Buckets))
	for i, b := range a.Buckets {
		a.byID[b.ID] = &a.Buckets[i]
		a.index[NameKey(b.ID)] = b.ID
		for _, alias := range b.Aliases {
			a.index[NameKey(alias)] = b.ID
		}
	}
	return a.acquireIfOpen()
}

// Validate rejects bucket ids that are empty or contain white space, the
// same id declared twice, and a name (id or alias) claimed by two buckets:
// any of these would make a site_id resolve to the wrong bucket.
func (a *App) Validate() error {
	if a.Deliver != "" {
		if err := CheckDeliver(a.Deliver); err != nil {
			return err
		}
	}
	switch {
	case a.DeliverTimeout < 0:
		return errors.New("deliver_timeout must not be negative")
	case a.DeliverConcurrency < 0 || a.DeliverConcurrency > MaxDeliverConcurrency:
		return fmt.Errorf("deliver_concurrency %d: must be from 1 to %d (0 for the default)", a.DeliverConcurrency, MaxDeliverConcurrency)
	case a.DeliverRate < 0:
		return fmt.Errorf("deliver_rate %d: must be at least 1 a second (0 for the default)", a.DeliverRate)
	}
	owner := make(map[string]string, len(a.Buckets)) // NameKey → bucket id
	for i, b := range a.Buckets {
		if err := CheckName(b.ID); err != nil {
			return fmt.Errorf("bucket %d: id %q: %v", i, b.ID, err)
		}
		key := NameKey(b.ID)
		if prev, ok := owner[key]; ok {
			return fmt.Errorf("bucket %q declared more than once (as %q and %q)", b.ID, prev, b.ID)
		}
		owner[key] = b.ID
		if b.Retention < 0 {
			return fmt.Errorf("bucket %q: negative retention %s", b.ID, time.Duration(b.Retention))
		}
		if b.Window < 0 || b.RefundWindow < 0 {
			return fmt.Errorf("bucket %q: negative window or refund_window", b.ID)
		}
		if b.Model != "" {
			if err := CheckModel(b.Model); err != nil {
				return fmt.Errorf("bucket %q: %v", b.ID, err)
			}
		}
		if err := CheckRetention(b); err != nil {
			return fmt.Errorf("bucket %q: %v", b.ID, err)
		}
		if b.Privacy != "" {
			if err := CheckPrivacy(b.Privacy); err != nil {
				return fmt.Errorf("bucket %q: %v", b.ID, err)
			}
		}
		if b.IP != "" {
			if err := CheckIP(b.IP); err != nil {
				return fmt.Errorf("bucket %q: %v", b.ID, err)
			}
		}
		if b.Currency != "" {
			if err := CheckCurrency(b.Currency); err != nil {
				return fmt.Errorf("bucket %q: %v", b.ID, err)
			}
		}
	}
	for _, b := range a.Buckets {
		for _, alias := range b.Aliases {
			if err := CheckName(alias); err != nil {
				return fmt.Errorf("bucket %q: alias %q: %v", b.ID, alias, err)
			}
			key := NameKey(alias)
			if prev, ok := owner[key]; ok && prev != b.ID {
				return fmt.Errorf("bucket %q: alias %q is already claimed by bucket %q", b.ID, alias, prev)
			}
			owner[key] = b.ID
		}
	}
	return nil
}

// Start opens the store, or takes another reference of the one this
// process has open already for the same directory (a reload). It is the
// only place the store is opened: `caddy validate` provisions but never
// starts apps, so it never touches the directory. It then makes this
// config's retention the store's.
func (a *App) Start() error {
	if a.run == nil {
		return fmt.Errorf("katalys app started before it was provisioned")
	}
	if !a.run.held.Load() {
		if err := a.acquire(); err != nil {
			// Disk trouble must never stop pages (DESIGN §4.4): Caddy
			// starts, pages are injected, recording is skipped and
			// counted as not_ready, collect answers 503, orders are
			// logged; the store is tried again until it opens.
			metrics.storeErrors.Inc()
			a.logger.Error("cannot open the katalys store; serving pages without recording behaviour or storing orders, and trying again",
				zap.String("storage", a.Storage), zap.Error(err))
			go a.retryOpen()
			return nil
		}
	}
	a.started()
	return nil
}

// An app whose store could not be opened (a full or read-only disk, a lock
// another process holds) tries again after firstStoreRetry, then twice as
// long each time, up to maxStoreRetry.
const (
	firstStoreRetry = time.Second
	maxStoreRetry   = 10 * time.Second
)

// maxStoreWait bounds how long an order captured before the store opened
// waits for it: Caddy serves requests while its apps start.
const maxStoreWait = 15 * time.Second

// retryOpen tries to open the store until it opens or the app stops.
func (a *App) retryOpen() {
	wait := firstStoreRetry
	for {
		t := time.NewTimer(wait)
		select {
		case <-a.run.quit:
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, maxStoreRetry)
		if a.openLate() {
			return
		}
	}
}

// openLate is one try of retryOpen: it reports whether the retries are
// over. The store is taken, and this config's settings and delivery loop
// started, under openMu, so that a Cleanup that came meanwhile (a reload)
// either stops them or finds the app closed and nothing to take.
func (a *App) openLate() bool {
	a.run.openMu.Lock()
	defer a.run.openMu.Unlock()
	if a.run.closed {
		return true
	}
	if err := a.acquire(); err != nil {
		a.logger.Debug("katalys store still cannot be opened", zap.Error(err))
		return false
	}
	a.logger.Info("katalys store opened after all: recording and storing orders", zap.String("storage", a.Storage))
	a.started()
	return true
}

// waitStore returns the store, waiting up to d for an app that is still
// opening it; nil when it does not open in time.
func (a *App) waitStore(d time.Duration) *storage.Store {
	if st := a.Store(); st != nil || a.run == nil {
		return st
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-a.run.opened:
	case <-a.run.quit:
	case <-t.C:
	}
	return a.Store()
}

// started makes this config's settings the open store's and starts its
// delivery loop.
func (a *App) started() {
	p := a.run.store.Load()
	if p == nil {
		return
	}
	retention := make(map[string]time.Duration, len(a.Buckets))
	for _, b := range a.Buckets {
		retention[b.ID] = a.retention(b.ID)
	}
	p.hold(heldSettings{app: a, retention: retention, outbox: a.delivers()})
	a.startDelivery(p)
}

// acquireIfOpen takes a reference of the store when this process has it
// open already, which is the case on a reload. Apps start in random order,
// so without this the new config's http server could serve its first
// requests before this app started, with no store: page views lost and
// collect answered 503 at every reload. It opens nothing, so `caddy
// validate` (another process, where nothing is open) still never touches
// the directory.
func (a *App) acquireIfOpen() error {
	if n, ok := stores.References(a.key); !ok || n == 0 {
		return nil
	}
	return a.acquire()
}

// acquire takes one reference of the store of a.key, opening it when no
// config of this process has it open.
func (a *App) acquire() error {
	logger := a.logger
	if logger == nil {
		logger = zap.NewNop()
	}
	dir := strings.TrimPrefix(a.key, "badger:")
	v, loaded, err := stores.LoadOrNew(a.key, func() (caddy.Destructor, error) {
		p := &pooledStore{deliverTurn: make(chan struct{}, 1)}
		st, err := storage.Open(storage.Options{
			Dir:       dir,
			Retention: p.retentionOf,
			Logger:    logger,
			Outbox:    a.delivers(),
		})
		if err != nil {
			return nil, err
		}
		p.Store = st
		return p, nil
	})
	if err != nil {
		return fmt.Errorf("opening katalys storage %s: %v", dir, err)
	}
	a.run.held.Store(true)
	a.run.store.Store(v.(*pooledStore))
	a.run.openedOnce.Do(func() { close(a.run.opened) })
	if !loaded {
		logger.Info("katalys storage opened", zap.String("dir", dir))
	}
	return nil
}

// Stop stops this config's delivery loop. It keeps the store: apps stop
// in random order, and the http app's servers go on serving after this
// one stopped (shutdown_delay, then the grace period of the requests in
// flight), so a thank-you page served then must still find the store
// open, or its order would be lost. Cleanup lets go of it.
func (a *App) Stop() error {
	if a.run != nil {
		a.run.quitOnce.Do(func() { close(a.run.quit) })
	}
	a.stopDelivery()
	return nil
}

// Cleanup lets go of the store; the last config to let go closes it.
// Caddy calls it once every app of the config has stopped (and when a
// config fails to start after this app started).
func (a *App) Cleanup() error { return a.release() }

// release drops this app's reference of the store, exactly once.
func (a *App) release() error {
	if a.run == nil {
		return nil
	}
	// The store pointer stays: apps stop in random order, so the old
	// config's handlers may still serve requests (keep-alive connections
	// in the grace period) after this. The store is shared with the new
	// config then; after the last release it is closed, and a closed
	// store refuses events (Enqueue false, Write storage.ErrClosed)
	// rather than failing.
	// Under openMu until the reference is let go of: a late open either
	// happened before (and is undone here) or sees closed.
	a.run.openMu.Lock()
	defer a.run.openMu.Unlock()
	a.run.closed = true
	if !a.run.held.Swap(false) {
		return nil
	}
	if p := a.run.store.Load(); p != nil {
		p.letGo(a) // first: the orders being drained are the running config's
	}
	a.drainOrders()
	a.stopDelivery()
	if _, err := stores.Delete(a.key); err != nil {
		return fmt.Errorf("closing katalys storage: %v", err)
	}
	return nil
}

// Store is the store, or nil before the app acquired it (apps start in
// random order, so on the first start requests may come before). After the
// app stopped it is the same store, possibly closed. Handlers must cope
// with nil and with refusals.
func (a *App) Store() *storage.Store {
	if a.run == nil {
		return nil
	}
	if p := a.run.store.Load(); p != nil {
		return p.Store
	}
	return nil
}

// Policy is the tracking policy of a bucket.
func (a *App) Policy(bucket string) tracking.Policy {
	b := a.byID[bucket]
	if b == nil {
		return tracking.Policy{}
	}
	return tracking.Policy{PrivacyGPC: b.Privacy == PrivacyGPC, TruncateIP: b.IP == IPTruncate}
}

// Rules are the attribution rules of a bucket, defaults filled in.
func (a *App) Rules(bucket string) attribution.Rules {
	r := attribution.Rules{Window: DefaultWindow, Model: attribution.LastTouch, RefundWindow: DefaultRefundWindow}
	b := a.byID[bucket]
	if b == nil {
		return r
	}
	if b.Window > 0 {
		r.Window = time.Duration(b.Window)
	}
	if b.Model != "" {
		r.Model = attribution.Model(b.Model)
	}
	if b.RefundWindow > 0 {
		r.RefundWindow = time.Duration(b.RefundWindow)
	}
	return r
}

// retention is how long a bucket's behaviour is kept.
func (a *App) retention(bucket string) time.Duration {
	if b := a.byID[bucket]; b != nil && b.Retention > 0 {
		return time.Duration(b.Retention)
	}
	return DefaultRetention
}

// Resolve maps a site id (a bucket id or one of its aliases) to its bucket
// id. With no bucket declared, every non-empty name is its own bucket.
// Names are compared case-insensitively and without a trailing dot, so a
// request host matches its alias however the client spelled it.
//
// Before Provision (as in the Caddyfile adapter) it scans Buckets instead of
// the index; it never modifies a.
func (a *App) Resolve(name string) (bucket string, ok bool) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", false
	}
	if len(a.Buckets) == 0 {
		return name, true
	}
	key := NameKey(name)
	if a.index != nil {
		bucket, ok = a.index[key]
		return bucket, ok
	}
	for _, b := range a.Buckets {
		if NameKey(b.ID) == key || slices.ContainsFunc(b.Aliases, func(s string) bool { return NameKey(s) == key }) {
			return b.ID, true
		}
	}
	return "", false
}

// BucketIDs lists the declared bucket ids, in configuration order, for
// error messages.
func (a *App) BucketIDs() []string {
	ids := make([]string, len(a.Buckets))
	for i, b := range a.Buckets {
		ids[i] = b.ID
	}
	return ids
}

// UnknownSiteError is the error for a static site id that resolves to no
// declared bucket. It names the known buckets so the fix is obvious.
func (a *App) UnknownSiteError(siteID string) error {
	return fmt.Errorf("site id %q matches no declared bucket id or alias (known buckets: %s)",
		siteID, strings.Join(a.BucketIDs(), ", "))
}

// NameKey is the form in which bucket ids and aliases are compared: lower
// case, without surrounding space or a trailing dot (a fully qualified
// host name), and an internationalised domain name in its ASCII form.
func NameKey(name string) string {
	name = strings.TrimSuffix(strings.TrimSpace(name), ".")
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			// An internationalised domain: browsers send its ASCII
			// form (bücher.example is xn--bcher-kva.example), as
			// Caddy's host matcher compares it.
			if ascii, err := idna.Lookup.ToASCII(name); err == nil {
				name = ascii
			}
			break
		}
	}
	return strings.ToLower(name)
}

// CheckName reports why name cannot be a bucket id or alias: what
// CheckSiteID refuses, and placeholders, which are never replaced in them
// (a host is compared with them as written).
func CheckName(name string) error {
	if strings.ContainsAny(name, "{}") {
		return fmt.Errorf("placeholders are not replaced in bucket ids and aliases; use the Caddyfile's {$VAR} for an environment variable")
	}
	return CheckSiteID(name)
}

// CheckSiteID reports why name cannot be a site id (or, placeholders
// aside, a bucket id or alias): it is empty or holds white space or
// control characters (it ends up in a script URL), a wildcard, a slash or
// a comma, unbalanced braces, or a placeholder of no namespace Caddy
// knows.
func CheckSiteID(name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("empty name")
	}
	if strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("white space or control character in name")
	}
	if err := checkBraces(name); err != nil {
		return err
	}
	if err := checkPlaceholders(name); err != nil {
		return err
	}
	literal := outsidePlaceholders(name) // {file./etc/katalys/id} may hold a path
	switch {
	case strings.Contains(literal, "*"):
		// {host} is one host: a wildcard would never match it.
		return fmt.Errorf("no wildcards: list each host (shop.example.com, www.shop.example.com)")
	case strings.Contains(literal, "/"):
		// Not a URL, and a name is a path segment of the admin API.
		return fmt.Errorf("a name is a Tracking ID or a host, not a URL or a path: no /")
	case strings.Contains(literal, ","):
		// Caddy's site addresses take commas; names here are separated
		// by spaces, and "shop.example.com," would never match.
		return fmt.Errorf("no commas: separate names with spaces (alias shop.example.com www.shop.example.com)")
	case strings.Trim(name, ".") == "":
		return fmt.Errorf("empty name")
	}
	return nil
}

// outsidePlaceholders is name without its {…} placeholders (whose braces
// checkBraces has checked).
func outsidePlaceholders(name string) string {
	var b strings.Builder
	depth := 0
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '{':
			depth++
		case c == '}':
			depth--
		case depth == 0:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// placeholderSpaces are the namespaces of Caddy's placeholders at request
// time: the HTTP request's (the Caddyfile's shorthands, {host} among them,
// are expanded into it before a handler sees them) and the global ones.
var placeholderSpaces = []string{"http.", "env.", "system.", "time.", "file."}

// checkPlaceholders reports a placeholder in none of Caddy's namespaces: a
// typo ({hots}) that would resolve to nothing on every request, so that
// every page passed through without the script.
func checkPlaceholders(name string) error {
	for rest := name; ; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			return nil
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return nil // checkBraces has said so
		}
		ph := rest[i+1 : i+j]
		if !slices.ContainsFunc(placeholderSpaces, func(ns string) bool { return strings.HasPrefix(ph, ns) }) {
			return fmt.Errorf("unknown placeholder {%s}: it would resolve to nothing on every request (did you mean {host}?)", ph)
		}
		rest = rest[i+j+1:]
	}
}

// checkBraces reports a name whose braces do not make placeholders
// ("KA-{1", "{}"), which would never resolve.
func checkBraces(name string) error {
	open := -1
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '{':
			if open >= 0 {
				return fmt.Errorf("placeholder opened at %d not closed before another {", open)
			}
			open = i
		case '}':
			if open < 0 {
				return fmt.Errorf("} at %d closes no placeholder", i)
			}
			if i == open+1 {
				return errors.New("empty placeholder {}")
			}
			open = -1
		}
	}
	if open >= 0 {
		return fmt.Errorf("placeholder opened at %d is not closed", open)
	}
	return nil
}

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.Validator    = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
	_ caddy.Destructor   = (*pooledStore)(nil)
)
