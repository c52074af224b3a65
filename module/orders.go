package module

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
	"unicode"

	"go.uber.org/zap"

	"github.com/storeedge/caddy-katalys/capture"
	"github.com/storeedge/caddy-katalys/inject"
	"github.com/storeedge/caddy-katalys/storage"
	"github.com/storeedge/caddy-katalys/tracking"
)

// ThankYouPaths are the built-in thank-you paths (Caddy path matcher
// patterns, matched case-insensitively) of the platforms whose pages
// capture reads. The thank_you option adds to them.
var ThankYouPaths = []string{
	"*/order-received/*",         // WooCommerce (any checkout page slug)
	"/checkout/onepage/success*", // Magento 2 / Adobe Commerce
	"/multishipping/checkout/success*",
	"*order-confirmation*",  // PrestaShop (friendly URLs), BigCommerce
	"/checkout/finish*",     // Shopware 6
	"/orders/*",             // Spree / Solidus order page after checkout
	"/checkout/*/complete*", // Spree 5
	"/checkout/success*",    // OpenCart (SEO URLs)
	"*/order/thank-you*",    // Sylius (/{locale}/order/thank-you)
}

// thankYouQueries are built-in thank-you pages named by a query parameter
// rather than the path.
var thankYouQueries = []struct{ key, value string }{
	{"route", "checkout/success"},        // OpenCart
	{"controller", "order-confirmation"}, // PrestaShop without friendly URLs
}

// Values of Handler.Convert.
const (
	ConvertAuto = "auto"
	ConvertOff  = "off"
)

// DefaultCaptureLimit bounds the bytes of a thank-you page read for its
// order.
const DefaultCaptureLimit = 2 << 20

// MaxCaptureLimit bounds capture_limit: a thank-you page's copy is held in
// memory while the page streams.
const MaxCaptureLimit = 1 << 30

// isThankYou reports whether r asks for a thank-you page.
func (h *Handler) isThankYou(r *http.Request) bool {
	if h.thankYou.match(r.URL.Path) {
		return true
	}
	raw := r.URL.RawQuery
	if !containsFold(raw, "checkout") && !containsFold(raw, "order-confirmation") {
		return false // most requests: no query to parse
	}
	q := r.URL.Query()
	for _, tq := range thankYouQueries {
		if strings.EqualFold(q.Get(tq.key), tq.value) {
			return true
		}
	}
	return false
}

// pathPatterns are thank-you path patterns with the semantics of Caddy's
// path matcher (case-insensitive; "*" at the start, the end or both makes
// a suffix, prefix or substring match; a "*" elsewhere is a path.Match
// glob), compiled once. caddyhttp.MatchPath would expand placeholders in
// every pattern on every request, which this check, run on every page
// request of every site, cannot afford; thank_you patterns take no
// placeholders.
type pathPatterns []pathPattern

type pathPattern struct {
	kind byte   // '=' exact, '^' prefix, '$' suffix, '~' substring, 'g' glob
	s    string // lower case, without the leading/trailing '*'
}

func compilePaths(patterns []string) pathPatterns {
	out := make(pathPatterns, 0, len(patterns))
	for _, p := range patterns {
		p = strings.ToLower(p)
		inner := strings.Trim(p, "*")
		k := byte('=')
		switch {
		case strings.Contains(inner, "*"):
			k, inner = 'g', p
		case strings.HasPrefix(p, "*") && strings.HasSuffix(p, "*") && len(p) > 1:
			k = '~'
		case strings.HasPrefix(p, "*"):
			k = '$'
		case strings.HasSuffix(p, "*"):
			k = '^'
		}
		out = append(out, pathPattern{kind: k, s: inner})
	}
	return out
}

// match reports whether the URL path p matches one of the patterns.
func (pp pathPatterns) match(p string) bool {
	if strings.IndexFunc(p, unicode.IsUpper) >= 0 {
		p = strings.ToLower(p)
	}
	for _, pat := range pp {
		var ok bool
		switch pat.kind {
		case '=':
			ok = p == pat.s
		case '^':
			ok = strings.HasPrefix(p, pat.s)
		case '$':
			ok = strings.HasSuffix(p, pat.s)
		case '~':
			ok = strings.Contains(p, pat.s)
		default:
			ok, _ = path.Match(pat.s, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// orderCapture is the per-request state of a thank-you page: the page as
// it streams to the client (decoded), kept up to a limit, and the order
// read from it.
type orderCapture struct {
	inj       *inject.Writer // the page's injector, which finds its scripts
	buf       *[]byte
	limit     int
	truncated bool
	// mark is len(buf) when the snippet went in and the order was read
	// for the convert call; -1 before.
	mark  int
	order capture.Order
	found bool
	// headerCharset is set when the page's Content-Type header declares
	// a charset: its <meta> does not count then (capture.Options).
	headerCharset bool
}

// captureBufs are the thank-you pages' buffers.
var captureBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, 256<<10)
	return &b
}}

func newOrderCapture(limit int) *orderCapture {
	return &orderCapture{buf: captureBufs.Get().(*[]byte), limit: limit, mark: -1}
}

// add keeps p, up to the limit.
func (c *orderCapture) add(p []byte) {
	if c.truncated || c.buf == nil {
		return
	}
	b := *c.buf
	if room := c.limit - len(b); len(p) > room {
		p, c.truncated = p[:room], true
	}
	*c.buf = append(b, p...)
}

// readNow reads the order from what was kept so far. The script elements
// the injector has read are handed over, so that only the rest of the
// page is scanned for them.
func (c *orderCapture) readNow() {
	buf := *c.buf
	c.mark = len(buf)
	opt := capture.Options{HeaderCharset: c.headerCharset}
	if c.inj != nil {
		spans, upTo := c.inj.Scripts()
		opt.Scripts = make([]capture.ScriptAt, len(spans))
		for i, s := range spans {
			opt.Scripts[i] = capture.ScriptAt{Tag: s.Tag, Start: int(s.Start), End: int(s.End)}
		}
		opt.ScannedTo = int(upTo)
	}
	c.order, c.found = capture.NewPageWith(buf, opt).Order()
}

// result reads the order from the whole page, unless it was read when the
// snippet went in and nothing but closing tags came after.
func (c *orderCapture) result() (capture.Order, bool) {
	if c.mark < 0 || !onlyClosingTags((*c.buf)[c.mark:]) {
		c.readNow()
	}
	return c.order, c.found
}

// release gives the buffer back.
func (c *orderCapture) release() {
	if c.buf != nil && cap(*c.buf) <= 4<<20 {
		*c.buf = (*c.buf)[:0]
		captureBufs.Put(c.buf)
	}
	c.buf = nil
}

// onlyClosingTags reports whether tail holds nothing but white space and
// the closing </body> and </html> tags, in any case.
func onlyClosingTags(tail []byte) bool {
	for {
		tail = bytes.TrimSpace(tail)
		if len(tail) == 0 {
			return true
		}
		switch {
		case len(tail) >= 7 && bytes.EqualFold(tail[:7], []byte("</body>")):
			tail = tail[7:]
		case len(tail) >= 7 && bytes.EqualFold(tail[:7], []byte("</html>")):
			tail = tail[7:]
		default:
			return false
		}
	}
}

// ownOrder is o as the store keeps it in bucket: the handler's
// order_prefix applied to an id that lacks it, so that stores sharing a
// bucket never collide, and the bucket's currency given to an order whose
// page names none.
func (h *Handler) ownOrder(bucket string, o capture.Order) capture.Order {
	if h.OrderPrefix != "" && o.ID != "" && !strings.HasPrefix(o.ID, h.OrderPrefix) {
		o.ID = h.OrderPrefix + o.ID
	}
	if o.Currency == "" || o.CurrencyAssumed() {
		if c := h.app.DefaultCurrency(bucket); c != "" {
			o.Currency = c
		}
	}
	return o
}

// convertCall is the injector's After hook on a thank-you page with
// convert auto: it reads the order from the page so far and returns the
// data block of the convert call, unless the page has no order or carries
// a Katalys conversion of its own.
func (w *responseWriter) convertCall() []byte {
	c := w.order
	c.readNow()
	if !c.found || c.order.Convert {
		return nil
	}
	o := w.h.ownOrder(w.site.bucket, c.order)
	if w.h.oldOrder(w.site.bucket, o.ID) {
		return nil
	}
	payload, err := json.Marshal(o.ConvertCall())
	if err != nil {
		return nil
	}
	return inject.ConvertHTML(payload)
}

// convertFor is how long after an order its thank-you page still gets the
// convert call: Katalys's WooCommerce plugin reports an order in the page
// only while it is less than 5 days old (katalys.md §2.2). A customer who
// opens the order's link from an email weeks later, after another
// affiliate's click, does not convert again.
const convertFor = 5 * 24 * time.Hour

// oldOrder reports whether the order id of bucket was placed more than
// convertFor ago, as far as the orders seen in memory tell: the snippet is
// decided before the page's order is read, and never waits on a disk read
// (DESIGN §4.4). An order not in memory (the first view after a restart or
// a config reload, or past the cache's bound) is not old this time;
// storing that view (storeOrder, as the page ends) puts the stored order's
// time in memory for the next one. The convert call errs
// towards being sent, and Katalys dedupes conversions by order id.
func (h *Handler) oldOrder(bucket, id string) bool {
	if at, ok := h.orders.placed(bucket + "\x00" + id); ok {
		return time.Since(at) > convertFor
	}
	return false
}

// takeOrder ends the capture of a thank-you page: the order read from
// the page served whole, or, on a page cut short (the client went away),
// the order read when the snippet went in, is stored (storeOrder) before
// the request ends, or off it while the store is not open yet. A page
// with no order stores nothing.
func (h *Handler) takeOrder(r *http.Request, bucket string, pv *pageVisit, w *responseWriter) {
	c := w.order
	defer c.release()
	var o capture.Order
	var ok bool
	switch {
	case !w.paged && !w.tee:
		return
	case w.finished || w.tee:
		o, ok = c.result() // a no-transform page cut short: what came of it
	case c.mark >= 0:
		o, ok = c.order, c.found
	default:
		return
	}
	switch {
	case c.truncated:
		// Past the limit: counted as such whether or not what was kept
		// held the order, since the order may be in the part not read.
		metrics.thankYouPages.WithLabelValues("truncated").Inc()
		if !ok {
			if h.truncated.first(r.Host) {
				h.logger.Warn("thank-you page longer than capture_limit, and no order in the part read: raise capture_limit",
					zap.String("host", r.Host), zap.String("path", r.URL.Path), zap.Int("capture_limit", c.limit))
			}
			return
		}
	case !ok:
		metrics.thankYouPages.WithLabelValues("no_order").Inc()
		return
	default:
		metrics.thankYouPages.WithLabelValues("order").Inc()
	}
	so := h.visitOrder(r, bucket, pv, o)
	key := bucket + "\x00" + so.ID
	if h.orders.nothingNew(key, so) {
		metrics.orders.WithLabelValues("repeat").Inc()
		return
	}
	if h.app.Store() == nil {
		// Starting (the store opens as Caddy serves its first requests),
		// or the store could not open: wait for it off the request. The
		// order is logged in full now, should Caddy die before it is
		// stored.
		h.logger.Warn("order captured before the store is open: it waits for the store", zap.Any("order", so))
		h.app.goStore(func() { h.storeOrder(key, so) })
		return
	}
	// In the request: the end of the page goes out once its order is on
	// disk, so a page the browser got whole is an order stored, even when
	// Caddy is killed right after.
	h.storeOrder(key, so)
}

// visitOrder is the order o of a thank-you page with the visit it came
// from.
func (h *Handler) visitOrder(r *http.Request, bucket string, pv *pageVisit, o capture.Order) storage.Order {
	so := storage.Order{
		Order:     h.ownOrder(bucket, o),
		Bucket:    bucket,
		Time:      time.Now(),
		UserAgent: r.UserAgent(),
		URL:       requestURI(r),
	}
	if pv != nil {
		so.Visitor, so.Session, so.ClientIP = pv.Visitor, pv.Session, pv.ClientIP
		if !pv.at.IsZero() {
			so.Time = pv.at
		}
	}
	if so.ClientIP == "" {
		so.ClientIP = clientIP(r)
		if h.app.Policy(bucket).TruncateIP {
			so.ClientIP = tracking.TruncateIP(so.ClientIP)
		}
	}
	return so
}

// storeOrder stores a captured order: a reload of its page finds it stored
// and only fills what it lacked. A store that cannot take the order gets
// it logged in full, so it is not lost; one that is still opening is
// waited for, up to maxStoreWait. A new order is attributed at once, off
// the request.
func (h *Handler) storeOrder(key string, so storage.Order) {
	st := h.app.waitStore(maxStoreWait)
	if st == nil {
		st = runningStore(h.app) // this config was reloaded away meanwhile
	}
	if st == nil {
		metrics.orders.WithLabelValues("store_error").Inc()
		h.logger.Error("order captured but not stored: the store is not open", zap.Any("order", so))
		return
	}
	stored, created, err := st.PutOrder(so)
	if errors.Is(err, storage.ErrClosed) {
		// A reload moved the store (another storage path) while the page
		// was served, and the old one is closed: the running config's
		// store takes the order. It is open: Caddy starts the new config
		// before it stops the old one.
		if cur := runningStore(h.app); cur != nil {
			st = cur
			stored, created, err = st.PutOrder(so)
		}
	}
	switch {
	case err != nil:
		metrics.orders.WithLabelValues("store_error").Inc()
		h.logger.Error("order captured but not stored", zap.Any("order", so), zap.Error(err))
	case created:
		h.orders.remember(key, stored)
		metrics.orders.WithLabelValues("new").Inc()
		h.logger.Info("order captured",
			zap.String("bucket", stored.Bucket),
			zap.String("order_id", stored.ID),
			zap.Float64p("total", stored.Total),
			zap.String("currency", stored.Currency),
			zap.Int("items", len(stored.Items)),
			zap.String("source", stored.Source),
			zap.String("visitor", stored.Visitor),
			zap.String("url", so.URL))
		h.app.goStore(func() {
			h.attribute(st, stored)
			h.app.wakeDelivery()
		})
	default:
		h.orders.remember(key, stored)
		metrics.orders.WithLabelValues("repeat").Inc()
		h.app.goStore(func() {
			if stored.Visitor != "" && stored.Visitor == so.Visitor {
				// A reload may have brought the visitor the first view
				// lacked: decide again, with its clicks.
				h.attribute(st, stored)
			}
			// What it filled in goes to Katalys as an update (PutOrder
			// queued it, if anything was).
			h.app.wakeDelivery()
		})
	}
}

// runningStore is the store of the running config's katalys app when that
// app is not app (a reload replaced app's config), else nil.
func runningStore(app *App) *storage.Store {
	cur, err := activeApp()
	if err != nil || cur == app {
		return nil
	}
	return cur.Store()
}

// attribute decides and stores the attribution of a captured order,
// logging (not failing) when it cannot.
func (h *Handler) attribute(st *storage.Store, o storage.Order) {
	res, err := attributeOrder(st, h.app.Rules(o.Bucket), o, time.Now())
	if err != nil {
		h.logger.Error("attributing order", zap.String("bucket", o.Bucket), zap.String("order_id", o.ID), zap.Error(err))
		return
	}
	h.logger.Debug("order attributed", zap.String("bucket", o.Bucket), zap.String("order_id", o.ID),
		zap.String("status", string(res.Status)), zap.String("publisher_id", res.PublisherID), zap.String("rule", res.Why.Rule))
}

// maxSeenOrders bounds the orders seenOrders remembers.
const maxSeenOrders = 4096

// seenOrders remembers, for the orders this handler stored recently,
// which fields the stored order lacks, so that a reload of a thank-you
// page that can add nothing to its order is not read back from the store
// and written again. It is shared by the handler's requests.
type seenOrders struct {
	mu sync.Mutex
	m  map[string]storedGaps
}

// storedGaps is what a stored order lacks, and when it was placed.
type storedGaps struct {
	missing          capture.Field
	visitor, session bool
	placed           time.Time
}

// nothingNew reports whether o can add nothing to the stored order of key.
func (s *seenOrders) nothingNew(key string, o storage.Order) bool {
	s.mu.Lock()
	g, ok := s.m[key]
	s.mu.Unlock()
	return ok && ^o.Missing()&g.missing == 0 && (o.Visitor == "" || g.visitor) && (o.Session == "" || g.session)
}

// remember notes what the stored order of key lacks.
func (s *seenOrders) remember(key string, stored storage.Order) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil || len(s.m) >= maxSeenOrders {
		s.m = make(map[string]storedGaps) // start over: a cache, not a record
	}
	s.m[key] = storedGaps{missing: stored.Missing(), visitor: stored.Visitor != "", session: stored.Session != "", placed: stored.Time}
}

// placed returns when the stored order of key was placed, if it is known.
func (s *seenOrders) placed(key string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.m[key]
	return g.placed, ok && !g.placed.IsZero()
}
