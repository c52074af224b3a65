package module

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/storeedge/caddy-katalys/attribution"
	"github.com/storeedge/caddy-katalys/capture"
	"github.com/storeedge/caddy-katalys/delivery"
	"github.com/storeedge/caddy-katalys/report"
	"github.com/storeedge/caddy-katalys/storage"
)

func init() {
	caddy.RegisterModule(AdminAPI{})
}

// AdminAPI is the admin.api.katalys module: the /katalys/ routes of Caddy's
// admin endpoint (DESIGN §4.7), through which a store owner reads the
// buckets, orders, attributions, report and events of the running katalys
// app, reports order statuses, re-attributes a bucket and erases a visitor.
//
// Caddy provisions admin routers with every config it loads, before that
// config's apps, and keeps the admin endpoint of a config that failed to
// load. So the router does not hold on to an app: it looks up, per request,
// the katalys app of the config that is running (see activeApp).
type AdminAPI struct {
	// app returns the running katalys app; tests hand in their own.
	app    func() (*App, error)
	now    func() time.Time
	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (AdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.katalys",
		New: func() caddy.Module { return new(AdminAPI) },
	}
}

// Provision sets the router up to serve the running katalys app.
func (a *AdminAPI) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger(a)
	a.app = activeApp
	a.now = time.Now
	return nil
}

// Routes returns the admin routes: everything under /katalys/.
func (a *AdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: adminPrefix, Handler: caddy.AdminHandlerFunc(a.serve)}}
}

const adminPrefix = "/katalys/"

// errNoApp is the error when the running config has no katalys app.
var errNoApp = errors.New("the running config has no katalys app")

// activeApp is the katalys app of the config that is running. It is found
// in caddy.ActiveContext() rather than in the context the router was
// provisioned with: that one's apps have not started yet when the router is
// provisioned, and belong to a config that never ran if the load failed.
// AppIfConfigured finds the app also when the config has no katalys global
// option and only the handlers loaded it, and never loads one itself.
func activeApp() (*App, error) {
	v, err := caddy.ActiveContext().AppIfConfigured("katalys")
	if err != nil {
		return nil, errNoApp
	}
	app, ok := v.(*App)
	if !ok {
		return nil, errNoApp
	}
	return app, nil
}

// adminCall is one request to a route, resolved: the app, its store, the
// bucket named in the path (by id or alias) and the path's other
// parameters (an order id, a visitor id).
type adminCall struct {
	app    *App
	store  *storage.Store
	bucket string
	params []string
	now    time.Time
}

// adminRoute is one route: a method and a path under /katalys/ whose "*"
// segments are parameters (the first one, after "buckets", the bucket).
type adminRoute struct {
	method string
	path   []string
	serve  func(a *AdminAPI, w http.ResponseWriter, r *http.Request, c adminCall) error
}

// adminRoutes are the routes of DESIGN §4.7.
var adminRoutes = []adminRoute{
	{http.MethodGet, []string{"buckets"}, (*AdminAPI).buckets},
	{http.MethodGet, []string{"buckets", "*", "orders"}, (*AdminAPI).orders},
	{http.MethodGet, []string{"buckets", "*", "attribution"}, (*AdminAPI).attribution},
	{http.MethodGet, []string{"buckets", "*", "report"}, (*AdminAPI).report},
	{http.MethodPost, []string{"buckets", "*", "orders", "*", "status"}, (*AdminAPI).status},
	{http.MethodPost, []string{"buckets", "*", "reattribute"}, (*AdminAPI).reattribute},
	{http.MethodGet, []string{"buckets", "*", "events"}, (*AdminAPI).events},
	{http.MethodDelete, []string{"buckets", "*", "visitors", "*"}, (*AdminAPI).erase},
	{http.MethodGet, []string{"deliveries"}, (*AdminAPI).deliveries},
	{http.MethodPost, []string{"deliveries", "*", "retry"}, (*AdminAPI).retryDelivery},
}

// serve routes a request. The path is split in its escaped form, so an
// order id may hold a '/' (sent as %2F); each segment is then unescaped.
func (a *AdminAPI) serve(w http.ResponseWriter, r *http.Request) error {
	segs, err := pathSegments(r.URL.EscapedPath())
	if err != nil {
		return apiError(http.StatusBadRequest, err)
	}
	route, params, err := match(r.Method, segs)
	if allow, ok := err.(methodError); ok {
		w.Header().Set("Allow", string(allow))
		return apiError(http.StatusMethodNotAllowed, err)
	}
	if err != nil {
		return err
	}
	c, err := a.resolve(route, params)
	if err != nil {
		return err
	}
	if err := route.serve(a, w, r, c); err != nil {
		return storeError(err)
	}
	return nil
}

// pathSegments splits the escaped path after /katalys/ and unescapes each
// segment.
func pathSegments(escaped string) ([]string, error) {
	segs := strings.Split(strings.TrimPrefix(escaped, adminPrefix), "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, fmt.Errorf("bad path segment %q: %v", s, err)
		}
		segs[i] = u
	}
	return segs, nil
}

// methodError is the 405 error of a path served for other methods; its
// value is the Allow header.
type methodError string

func (m methodError) Error() string { return "method not allowed; allowed: " + string(m) }

// match finds the route of method and segs and returns it with the values
// of its "*" segments; a path served for other methods only is a
// methodError.
func match(method string, segs []string) (adminRoute, []string, error) {
	var allowed []string
	for _, rt := range adminRoutes {
		params, ok := matchPath(rt.path, segs)
		if !ok {
			continue
		}
		if rt.method == method {
			return rt, params, nil
		}
		allowed = append(allowed, rt.method)
	}
	if len(allowed) > 0 {
		return adminRoute{}, nil, methodError(strings.Join(allowed, ", "))
	}
	return adminRoute{}, nil, apiError(http.StatusNotFound,
		fmt.Errorf("no katalys admin route %s%s", adminPrefix, strings.Join(segs, "/")))
}

func matchPath(pattern, segs []string) ([]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	var params []string
	for i, p := range pattern {
		switch {
		case p == "*" && segs[i] != "":
			params = append(params, segs[i])
		case p != segs[i]:
			return nil, false
		}
	}
	return params, true
}

// resolve finds the running app, its store and the bucket of the path.
func (a *AdminAPI) resolve(rt adminRoute, params []string) (adminCall, error) {
	app, err := a.app()
	if err != nil {
		return adminCall{}, apiError(http.StatusServiceUnavailable, err)
	}
	c := adminCall{app: app, params: params, now: a.now()}
	if c.store = app.Store(); c.store == nil {
		return adminCall{}, apiError(http.StatusServiceUnavailable,
			errors.New("the katalys store is not open (see Caddy's log)"))
	}
	if len(params) > 0 && rt.path[0] == "buckets" {
		bucket, err := resolveBucket(app, c.store, params[0])
		if err != nil {
			return adminCall{}, err
		}
		c.bucket, c.params = bucket, params[1:]
	}
	return c, nil
}

// resolveBucket finds the bucket name names. With declared buckets it is
// one of them or an alias; without, every site id is its own bucket, so
// it is a static site id of the config or one the store holds data of, in
// any case: a typo gets a 404, not an empty bucket.
func resolveBucket(app *App, st *storage.Store, name string) (string, error) {
	if len(app.Buckets) > 0 {
		bucket, ok := app.Resolve(name)
		if !ok {
			return "", apiError(http.StatusNotFound, fmt.Errorf("unknown bucket %q (known buckets: %s)",
				name, strings.Join(app.BucketIDs(), ", ")))
		}
		return bucket, nil
	}
	known, err := app.knownBuckets(st)
	if err != nil {
		return "", storeError(err)
	}
	// The name as written first: {host} makes Shop.example.com and
	// shop.example.com two buckets when no bucket is declared.
	if slices.Contains(known, name) {
		return name, nil
	}
	for _, b := range known {
		if NameKey(b) == NameKey(name) {
			return b, nil
		}
	}
	return "", apiError(http.StatusNotFound, fmt.Errorf("unknown bucket %q: no bucket is declared, no site uses it and the store holds nothing of it (known buckets: %s)",
		name, strings.Join(known, ", ")))
}

// apiError is an error with its status. Caddy's admin endpoint writes it
// as {"error": "message"}.
func apiError(status int, err error) error {
	return caddy.APIError{HTTPStatus: status, Err: err}
}

// storeError gives a handler's error its status: a closed store is 503,
// anything unmarked is 500.
func storeError(err error) error {
	var apiErr caddy.APIError
	switch {
	case errors.As(err, &apiErr):
		return err
	case errors.Is(err, storage.ErrClosed):
		return apiError(http.StatusServiceUnavailable, err)
	}
	return apiError(http.StatusInternalServerError, err)
}

// apiBucket is an element of GET /katalys/buckets.
type apiBucket struct {
	ID      string   `json:"id"`
	Aliases []string `json:"aliases"`
	Events  int      `json:"events"`
	Orders  int      `json:"orders"`
}

// buckets serves GET /katalys/buckets: the declared buckets with their
// aliases and how many events and orders the store holds of each; without
// declared buckets, the ones the store holds data of.
func (a *AdminAPI) buckets(w http.ResponseWriter, _ *http.Request, c adminCall) error {
	declared := c.app.Buckets
	if len(declared) == 0 {
		known, err := c.app.knownBuckets(c.store)
		if err != nil {
			return err
		}
		for _, id := range known {
			declared = append(declared, Bucket{ID: id})
		}
	}
	list := make([]apiBucket, 0, len(declared))
	for _, b := range declared {
		events, orders, err := c.store.BucketCounts(b.ID)
		if err != nil {
			return fmt.Errorf("counting bucket %s: %w", b.ID, err)
		}
		list = append(list, apiBucket{ID: b.ID, Aliases: append([]string{}, b.Aliases...), Events: events, Orders: orders})
	}
	return writeJSON(w, map[string]any{"buckets": list})
}

// apiOrder is an order as the admin API shows it (DESIGN §4.7): money in
// major units, absent values null.
type apiOrder struct {
	Bucket    string        `json:"bucket"`
	OrderID   string        `json:"order_id"`
	Total     *float64      `json:"total"`
	Subtotal  *float64      `json:"subtotal"`
	Currency  *string       `json:"currency"`
	Discounts []apiDiscount `json:"discounts"`
	Items     []apiItem     `json:"items"`
	Email     *string       `json:"email"`
	Status    *string       `json:"status"`
	Time      *time.Time    `json:"time"`
	Visitor   *string       `json:"visitor"`
	Session   *string       `json:"session"`
	Source    *string       `json:"source"`
}

func newAPIOrder(o storage.Order) apiOrder {
	return apiOrder{
		Bucket:    o.Bucket,
		OrderID:   o.ID,
		Total:     o.Total,
		Subtotal:  o.Subtotal,
		Currency:  nullable(o.Currency),
		Discounts: apiDiscounts(o.Discounts),
		Items:     apiItems(o.Items),
		Email:     nullable(o.Email),
		Status:    nullable(o.Status),
		Time:      nullableTime(o.Time),
		Visitor:   nullable(o.Visitor),
		Session:   nullable(o.Session),
		Source:    nullable(o.Source),
	}
}

// apiDiscount and apiItem are an order's discounts and items with absent
// values as null, as DESIGN §4.7 writes them.
type apiDiscount struct {
	Code   *string  `json:"code"`
	Amount *float64 `json:"amount"`
}

type apiItem struct {
	SKU      *string  `json:"sku"`
	Name     *string  `json:"name"`
	Quantity int      `json:"quantity"`
	Price    *float64 `json:"price"`
}

func apiDiscounts(ds []capture.Discount) []apiDiscount {
	out := make([]apiDiscount, len(ds))
	for i, d := range ds {
		out[i] = apiDiscount{Code: nullable(d.Code), Amount: d.Amount}
	}
	return out
}

func apiItems(its []capture.Item) []apiItem {
	out := make([]apiItem, len(its))
	for i, it := range its {
		out[i] = apiItem{SKU: nullable(it.SKU), Name: nullable(it.Name), Quantity: it.Quantity, Price: it.Price}
	}
	return out
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullableTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// orders serves GET /katalys/buckets/{id}/orders, streamed in order id
// order.
func (a *AdminAPI) orders(w http.ResponseWriter, _ *http.Request, c adminCall) error {
	l := a.newList(w, "orders")
	err := c.store.Orders(c.bucket, func(o storage.Order) error { return l.add(newAPIOrder(o)) })
	return l.close(err)
}

// attribution serves GET /katalys/buckets/{id}/attribution: the current
// attribution of every order placed in [from, to), as JSON or CSV.
func (a *AdminAPI) attribution(w http.ResponseWriter, r *http.Request, c adminCall) error {
	q := r.URL.Query()
	from, to, err := timeRange(q)
	if err != nil {
		return err
	}
	switch q.Get("format") {
	case "", "json":
		return a.attributionJSON(w, c, from, to)
	case "csv":
		return attributionCSV(w, c, from, to)
	}
	return apiError(http.StatusBadRequest, fmt.Errorf("unknown format %q (want json or csv)", q.Get("format")))
}

func (a *AdminAPI) attributionJSON(w http.ResponseWriter, c adminCall, from, to time.Time) error {
	var placed map[string]orderFacts
	if !from.IsZero() || !to.IsZero() {
		var err error
		if placed, err = ordersIn(c, from, to); err != nil {
			return err
		}
	}
	l := a.newList(w, "attributions")
	err := c.store.Attributions(c.bucket, func(rec storage.AttributionRecord) error {
		if _, ok := placed[rec.OrderID]; placed != nil && !ok {
			return nil
		}
		return l.add(attributionJSON{Result: rec.Current, History: rec.History})
	})
	return l.close(err)
}

// attributionJSON is an attribution as /attribution lists it: the
// current decision, and the previous ones it replaced (re-attribution
// after a change of window or model, a status change), most recent first.
type attributionJSON struct {
	attribution.Result
	History []attribution.Result `json:"history,omitempty"`
}

func attributionCSV(w http.ResponseWriter, c adminCall, from, to time.Time) error {
	rows, err := reportRows(c, from, to, false)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.CSV(&buf, rows); err != nil {
		return fmt.Errorf("writing the attribution CSV of %s: %w", c.bucket, err)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment",
		map[string]string{"filename": c.bucket + "-attribution.csv"}))
	_, err = w.Write(buf.Bytes())
	return err
}

// report serves GET /katalys/buckets/{id}/report: the HTML report of the
// orders placed in [from, to) (every order without from and to). Its
// revenue is in the bucket's currency when the bucket names one, else in
// the currency most orders use.
func (a *AdminAPI) report(w http.ResponseWriter, r *http.Request, c adminCall) error {
	from, to, err := timeRange(r.URL.Query())
	if err != nil {
		return err
	}
	rows, err := reportRows(c, from, to, true)
	if err != nil {
		return err
	}
	slices.Reverse(rows) // newest first
	rules := c.app.Rules(c.bucket)
	data := report.Data{Bucket: c.bucket, Generated: c.now, From: from, To: to,
		Currency: c.app.DefaultCurrency(c.bucket), Model: rules.Model, Window: rules.Window,
		Orders: rows}
	var buf bytes.Buffer
	if err := report.Render(&buf, data); err != nil {
		return fmt.Errorf("rendering the report of %s: %w", c.bucket, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, err = w.Write(buf.Bytes())
	return err
}

// orderFacts is what the attribution table needs of an order.
type orderFacts struct {
	time     time.Time
	total    *float64
	currency string
}

// ordersIn reads the orders of c.bucket placed in [from, to) (a zero bound
// is open).
func ordersIn(c adminCall, from, to time.Time) (map[string]orderFacts, error) {
	placed := make(map[string]orderFacts)
	err := c.store.Orders(c.bucket, func(o storage.Order) error {
		if o.Time.Before(from) || (!to.IsZero() && !o.Time.Before(to)) {
			return nil
		}
		placed[o.ID] = orderFacts{time: o.Time, total: o.Total, currency: o.Currency}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the orders of %s: %w", c.bucket, err)
	}
	return placed, nil
}

// reportRows joins the orders of c.bucket placed in [from, to) with their
// current attribution, oldest first; orders not attributed yet are rows
// without a decision when all is true, and left out otherwise.
func reportRows(c adminCall, from, to time.Time, all bool) ([]report.Row, error) {
	placed, err := ordersIn(c, from, to)
	if err != nil {
		return nil, err
	}
	rows := make([]report.Row, 0, len(placed))
	err = c.store.Attributions(c.bucket, func(rec storage.AttributionRecord) error {
		o, ok := placed[rec.OrderID]
		if !ok {
			return nil
		}
		delete(placed, rec.OrderID)
		rows = append(rows, reportRow(rec.OrderID, o, &rec.Current))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the attributions of %s: %w", c.bucket, err)
	}
	if all {
		for id, o := range placed {
			rows = append(rows, reportRow(id, o, nil))
		}
	}
	slices.SortFunc(rows, func(a, b report.Row) int {
		if n := a.Time.Compare(b.Time); n != 0 {
			return n
		}
		return strings.Compare(a.OrderID, b.OrderID)
	})
	return rows, nil
}

// notAttributed is the Why of an order without an attribution (captured
// before attribution existed): a re-attribution decides it.
const notAttributed = "not attributed yet (a re-attribution of the bucket decides it)"

func reportRow(id string, o orderFacts, res *attribution.Result) report.Row {
	row := report.Row{OrderID: id, Why: notAttributed}
	if res != nil {
		row = report.ResultRow(*res)
	}
	row.Time, row.Total, row.Currency = o.time, o.total, o.currency
	return row
}

// statusRequest is the body of POST …/orders/{order}/status.
type statusRequest struct {
	Status string `json:"status"`
}

// maxStatusBody bounds the body of a status change.
const maxStatusBody = 64 << 10

// status serves POST /katalys/buckets/{id}/orders/{order}/status: it stores
// the order's new status, decides its attribution again and returns both.
func (a *AdminAPI) status(w http.ResponseWriter, r *http.Request, c adminCall) error {
	status, err := readStatus(r.Body)
	if err != nil {
		return apiError(http.StatusBadRequest, err)
	}
	id := c.params[0]
	o, err := c.store.SetOrderStatus(c.bucket, id, status, c.now)
	if errors.Is(err, storage.ErrNotFound) {
		return apiError(http.StatusNotFound, fmt.Errorf("bucket %s has no order %q", c.bucket, id))
	}
	if err != nil {
		return err
	}
	// Decide again before delivery is woken for the status change in the
	// outbox: its payload carries the current decision, and sent with the
	// one before it a refund would still credit the click (and a payment
	// after a refund would not).
	res, err := attributeOrder(c.store, c.app.Rules(c.bucket), o, c.now)
	c.app.wakeDelivery()
	if err != nil {
		return fmt.Errorf("attributing order %q of %s: %w", id, c.bucket, err)
	}
	a.logger.Info("order status set",
		zap.String("bucket", c.bucket), zap.String("order_id", id), zap.String("status", status),
		zap.String("attribution", string(res.Status)))
	return writeJSON(w, map[string]any{"order": newAPIOrder(o), "attribution": res})
}

// readStatus reads and checks the body {"status": "…"}.
func readStatus(body io.Reader) (string, error) {
	dec := json.NewDecoder(io.LimitReader(body, maxStatusBody))
	dec.DisallowUnknownFields()
	var req statusRequest
	if err := dec.Decode(&req); err != nil {
		return "", fmt.Errorf(`the body must be {"status": "…"}: %v`, err)
	}
	status := strings.ToLower(strings.TrimSpace(req.Status))
	if !slices.Contains(storage.OrderStatuses(), status) {
		return "", fmt.Errorf("unknown order status %q (want one of %s)", req.Status, strings.Join(storage.OrderStatuses(), ", "))
	}
	return status, nil
}

// reattribute serves POST /katalys/buckets/{id}/reattribute: every order
// of the bucket is decided again under the bucket's current rules.
func (a *AdminAPI) reattribute(w http.ResponseWriter, _ *http.Request, c adminCall) error {
	rules := c.app.Rules(c.bucket)
	n, err := c.store.Reattribute(c.bucket, rules, c.now)
	if err != nil {
		return fmt.Errorf("re-attributing %s: %w", c.bucket, err)
	}
	a.logger.Info("bucket re-attributed", zap.String("bucket", c.bucket), zap.Int("orders", n),
		zap.String("model", string(rules.Model)), zap.Duration("window", rules.Window))
	return writeJSON(w, map[string]int{"reattributed": n})
}

// events serves GET /katalys/buckets/{id}/events: the bucket's events in
// [from, to), one JSON object a line, streamed.
func (a *AdminAPI) events(w http.ResponseWriter, r *http.Request, c adminCall) error {
	from, to, err := timeRange(r.URL.Query())
	if err != nil {
		return err
	}
	s := a.newStream(w, "application/x-ndjson")
	err = c.store.Events(c.bucket, from, to, func(ev storage.Event) error {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		return s.write(append(b, '\n'))
	})
	return s.close(err)
}

// erase serves DELETE /katalys/buckets/{id}/visitors/{vid}: the visitor's
// events in the bucket are deleted.
func (a *AdminAPI) erase(w http.ResponseWriter, _ *http.Request, c adminCall) error {
	vid := c.params[0]
	n, err := c.store.EraseVisitor(c.bucket, vid)
	if err != nil {
		return fmt.Errorf("erasing visitor %s of %s: %w", vid, c.bucket, err)
	}
	a.logger.Info("visitor erased", zap.String("bucket", c.bucket), zap.String("visitor", vid), zap.Int("erased", n))
	return writeJSON(w, map[string]int{"erased": n})
}

// timeRange reads the from and to query parameters: RFC 3339 times or
// YYYY-MM-DD dates (UTC). A date as to includes that whole day.
func timeRange(q url.Values) (from, to time.Time, err error) {
	if from, err = parseTime(q.Get("from"), false); err != nil {
		return from, to, apiError(http.StatusBadRequest, fmt.Errorf("from: %v", err))
	}
	if to, err = parseTime(q.Get("to"), true); err != nil {
		return from, to, apiError(http.StatusBadRequest, fmt.Errorf("to: %v", err))
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return from, to, apiError(http.StatusBadRequest, fmt.Errorf("from %s is not before to %s",
			from.Format(time.RFC3339), to.Format(time.RFC3339)))
	}
	return from, to, nil
}

const dateLayout = "2006-01-02"

// parseTime parses s ("" is the zero time); a date is its midnight UTC, or
// the next day's when it ends a range.
func parseTime(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a YYYY-MM-DD date", s)
	}
	if end {
		t = t.AddDate(0, 0, 1)
	}
	return t, nil
}

// writeJSON writes v as the JSON response.
func writeJSON(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding the response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(append(b, '\n'))
	return err
}

// stream writes a response whose body is produced while the store is read.
// Nothing is sent before the first write, so an error before it is still
// an ordinary JSON error; an error after it aborts the connection, so
// the client sees a broken response rather than a short one.
type stream struct {
	w           http.ResponseWriter
	bw          *bufio.Writer
	contentType string
	logger      *zap.Logger
	writeErr    error
}

func (a *AdminAPI) newStream(w http.ResponseWriter, contentType string) *stream {
	return &stream{w: w, contentType: contentType, logger: a.logger}
}

// write sends p, after the headers on the first call.
func (s *stream) write(p []byte) error {
	if s.bw == nil {
		s.w.Header().Set("Content-Type", s.contentType)
		s.bw = bufio.NewWriterSize(s.w, 32<<10)
	}
	if _, err := s.bw.Write(p); err != nil {
		s.writeErr = err
		return err
	}
	return nil
}

// started reports whether anything was sent.
func (s *stream) started() bool { return s.bw != nil }

// close ends the response after the store was read with result err.
func (s *stream) close(err error) error {
	if err == nil && !s.started() {
		s.w.Header().Set("Content-Type", s.contentType)
		return nil
	}
	if err == nil {
		return s.bw.Flush()
	}
	if !s.started() || s.writeErr != nil {
		return err // nothing sent yet, or the client is gone
	}
	s.logger.Error("katalys admin response broken off", zap.Error(err))
	panic(http.ErrAbortHandler)
}

// list streams {"<key>":[v, v, …]}.
type list struct {
	s   *stream
	key string
	n   int
}

func (a *AdminAPI) newList(w http.ResponseWriter, key string) *list {
	return &list{s: a.newStream(w, "application/json"), key: key}
}

func (l *list) add(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	sep := ","
	if l.n == 0 {
		sep = `{"` + l.key + `":[`
	}
	l.n++
	return l.s.write(append([]byte(sep), b...))
}

func (l *list) close(err error) error {
	if err == nil {
		if l.n == 0 {
			err = l.s.write([]byte(`{"` + l.key + `":[`))
		}
		if err == nil {
			err = l.s.write([]byte("]}\n"))
		}
	}
	return l.s.close(err)
}

// deliveries serves GET /katalys/deliveries: the outbox (orders and status
// changes waiting to be delivered, with their attempts and last error) and
// the dead letters (refused by Katalys, with its answer).
func (a *AdminAPI) deliveries(w http.ResponseWriter, _ *http.Request, c adminCall) error {
	out := struct {
		Deliver string                `json:"deliver"`
		Pending []delivery.Entry      `json:"pending"`
		Dead    []delivery.DeadLetter `json:"dead"`
	}{Deliver: c.app.deliverEndpoint(), Pending: []delivery.Entry{}, Dead: []delivery.DeadLetter{}}
	if err := c.store.OutboxEntries(func(e delivery.Entry) error {
		out.Pending = append(out.Pending, e)
		return nil
	}); err != nil {
		return err
	}
	if err := c.store.DeadLetters(func(d delivery.DeadLetter) error {
		out.Dead = append(out.Dead, d)
		return nil
	}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(out)
}

// retryDelivery serves POST /katalys/deliveries/{id}/retry: a dead letter
// goes back to the outbox, to be sent again now. The id "all" (never an
// entry's: those are 16 hex digits) sends every dead letter again, as
// after fixing a deliver URL that made Katalys refuse them all.
func (a *AdminAPI) retryDelivery(w http.ResponseWriter, _ *http.Request, c adminCall) error {
	id := c.params[0]
	if id == "all" {
		return retryAllDeliveries(w, c)
	}
	err := c.store.RetryDead(id)
	if errors.Is(err, storage.ErrNotFound) {
		return apiError(http.StatusNotFound, fmt.Errorf("no dead letter %q", id))
	}
	if err != nil {
		return err
	}
	c.app.wakeDelivery()
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string]string{"retried": id})
}

// retryAllDeliveries sends every dead letter again, and every entry
// waiting for its next try now (after fixing a deliver URL that refused
// connections, for one); it answers {"retried": [ids], "resumed": n}.
func retryAllDeliveries(w http.ResponseWriter, c adminCall) error {
	var ids []string
	if err := c.store.DeadLetters(func(d delivery.DeadLetter) error {
		ids = append(ids, d.ID)
		return nil
	}); err != nil {
		return err
	}
	retried := make([]string, 0, len(ids))
	defer c.app.wakeDelivery() // those moved back go, even if one failed
	for _, id := range ids {
		err := c.store.RetryDead(id)
		if errors.Is(err, storage.ErrNotFound) {
			continue // retried meanwhile
		}
		if err != nil {
			return fmt.Errorf("after %d of %d dead letters back in the outbox (%s): %w",
				len(retried), len(ids), strings.Join(retried, ", "), err)
		}
		retried = append(retried, id)
	}
	resumed, err := c.store.Resume(c.now)
	if err != nil {
		return fmt.Errorf("after %d dead letters back in the outbox: %w", len(retried), err)
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(map[string]any{"retried": retried, "resumed": resumed})
}

// Interface guards
var (
	_ caddy.AdminRouter = (*AdminAPI)(nil)
	_ caddy.Provisioner = (*AdminAPI)(nil)
)
