package module

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"unicode"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/storeedge/caddy-katalys/inject"
	"github.com/storeedge/caddy-katalys/tracking"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler inserts the Katalys Tracking Script into the HTML pages that the
// rest of the route (reverse_proxy, php_fastcgi, file_server …) serves,
// as they stream past: the page is never buffered whole and upstream
// flushes reach the client, so time to first byte does not change.
//
// Only responses to page requests are looked at: GET requests that do not
// ask for a protocol upgrade, whose Accept header (if any) admits HTML and
// not an event stream, and whose Sec-Fetch-Dest is absent (old browsers,
// curl, crawlers) or document, iframe or frame. Other destinations
// (script, style, image … and "empty", which is what fetch() and
// XMLHttpRequest send) are not pages: an HTML fragment fetched by a script
// must not get a second copy of the tracking script.
//
// For page requests the upstream is asked for an uncompressed page
// (Accept-Encoding: identity, on a copy of the request, so access logs keep
// the original): the page then needs no decoding here, the upstream does
// not spend time compressing it, and its Content-Length lets reverse_proxy
// copy it without flushing after every read. Put `encode` in the same
// route to compress the result for the client; the katalys directive
// orders itself after encode so that encode wraps it. A body that comes
// compressed anyway (an upstream that ignores Accept-Encoding) is decoded
// here when it is gzip, deflate, br or zstd, and passed through untouched
// when it does not decode.
//
// Of those responses, the snippet goes into a final 200 with Content-Type
// text/html or application/xhtml+xml, unless it is a download
// (Content-Disposition: attachment), it carries Cache-Control: no-transform
// (honoured per RFC 9110 §7.7: an intermediary must not change the
// content), its charset is UTF-16 or UTF-32, or its Content-Encoding is one
// the handler cannot decode. Everything else is passed through byte for
// byte, headers included.
type Handler struct {
	// SiteID is the Katalys site id of the pages: a bucket id (KA-…), one
	// of its aliases, or a placeholder resolved per request, such as
	// {http.request.host}. It resolves through the katalys app's buckets
	// to the bucket id that the snippet carries. A static value must
	// resolve when the config loads; a placeholder that resolves to no
	// bucket at request time leaves the page untouched (logged once per
	// host, counted in caddy_katalys_unresolved_site_total). Required.
	SiteID string `json:"site_id,omitempty"`

	// Scoped is set when the handler has a request matcher of its own, as
	// `katalys /uk/* KA-UK` does in a Caddyfile, and Block, when it shares
	// its Caddyfile block with another katalys, names that block (any
	// number, the same for the block's katalys handlers). A request that
	// two katalys handlers see belongs to the last one, nearest the
	// upstream (a katalys inside a handle block takes the block's requests
	// from one around it), unless the one further out is scoped and in the
	// same block: beside a site-wide `katalys KA-MAIN`, which Caddy puts
	// after it, `katalys /uk/* KA-UK` keeps the requests it matched.
	Scoped bool `json:"scoped,omitempty"`
	Block  int  `json:"block,omitempty"`

	// ScriptSrc is the URL of the Katalys Tracking Script, an absolute
	// http(s) URL or an absolute path; {site_id} in it is replaced with the
	// bucket id. Default: https://db.revoffers.com/js/{site_id}.js
	ScriptSrc string `json:"script_src,omitempty"`

	// Endpoint is the path prefix of the first-party endpoints; events are
	// posted to {endpoint}/e and answered here, never passed on to the
	// rest of the route. An absolute path. Default: /_katalys
	Endpoint string `json:"endpoint,omitempty"`

	// ThankYou are more thank-you paths (Caddy path matcher patterns) on
	// top of the built-in ones of the common platforms (ThankYouPaths).
	// The order a thank-you page prints is read as the page streams past
	// and stored in its bucket, once per order id.
	ThankYou []string `json:"thank_you,omitempty"`

	// OrderPrefix is put in front of captured order ids that lack it, so
	// that stores sharing a bucket never report the same id.
	OrderPrefix string `json:"order_prefix,omitempty"`

	// Convert is "auto" (the default) to add the Katalys convert call,
	// built from the captured order, to a thank-you page that has none,
	// or "off".
	Convert string `json:"convert,omitempty"`

	// CaptureLimit bounds the bytes of a thank-you page read for its
	// order; the page is served whole regardless. Default: 2 MiB.
	CaptureLimit int `json:"capture_limit,omitempty"`

	app      *App
	thankYou pathPatterns
	orders   *seenOrders
	collect  string        // Endpoint + "/e"
	inflight chan struct{} // bounds the collect requests served at once
	logger   *zap.Logger
	static   *site         // the site when SiteID has no placeholder
	snippets *snippetCache // per bucket, for placeholder site ids
	// unresolved and conflicts bound the warnings: one per host (or per
	// host and pair of ids), at most maxLogKeys of each.
	unresolved *onceSet
	conflicts  *onceSet
	nested     *onceSet // one warning per outer site id
	truncated  *onceSet // one warning per host: thank-you pages past capture_limit with no order read
}

// ownerVar is the request variable that holds the *requestOwner of a
// request. A request has one owner: two handlers on it (a katalys in a
// handle block under a site-wide one, or two in one block) would each
// record it, capture its order and deliver it, into two buckets.
const ownerVar = "katalys.owner"

// requestOwner is the katalys handler that handles a request: the last one
// it reaches, nearest the upstream, so the most specific (the handle /uk/*
// block's katalys, not the site-wide one around it), unless a scoped one
// further out shares its block (see Handler.Scoped). A handler that is not
// the owner when the response starts passes it through untouched.
type requestOwner struct{ h *Handler }

// site is what a request needs to know about its bucket.
type site struct {
	bucket  string
	snippet inject.Snippet // without nonce
}

// maxLogKeys bounds the sets that keep a warning to once per host: hosts
// come from requests, so the sets must not grow without limit.
const maxLogKeys = 1024

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.katalys",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision gets the katalys app (creating one with defaults when the
// config has none), resolves a static site id and builds its snippet once.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	appModule, err := ctx.App("katalys")
	if err != nil {
		return fmt.Errorf("getting katalys app: %v", err)
	}
	h.app = appModule.(*App)
	if err := CheckScriptSrc(h.ScriptSrc); err != nil {
		return fmt.Errorf("script_src %q: %v", h.ScriptSrc, err)
	}
	if err := CheckEndpoint(h.Endpoint); err != nil {
		return fmt.Errorf("endpoint %q: %v", h.Endpoint, err)
	}
	endpoint := h.Endpoint
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	h.collect = strings.TrimSuffix(endpoint, "/") + "/e"
	h.inflight = make(chan struct{}, maxCollectInFlight)
	h.snippets = newSnippetCache(h.ScriptSrc)
	h.unresolved = newOnceSet(maxLogKeys)
	h.conflicts = newOnceSet(maxLogKeys)
	h.nested = newOnceSet(maxLogKeys)
	h.truncated = newOnceSet(maxLogKeys)
	h.orders = new(seenOrders)
	h.thankYou = compilePaths(append(append([]string{}, ThankYouPaths...), h.ThankYou...))
	if h.CaptureLimit == 0 {
		h.CaptureLimit = DefaultCaptureLimit
	}
	if h.SiteID != "" && !hasPlaceholder(h.SiteID) {
		bucket, ok := h.app.Resolve(h.SiteID)
		if !ok {
			return h.app.UnknownSiteError(h.SiteID)
		}
		h.static = &site{bucket: bucket, snippet: h.snippets.get(bucket)}
		h.app.noteSite(bucket)
	}
	return registerMetrics(ctx.GetMetricsRegistry())
}

// Validate checks that a site id is set and, when static, is a name.
func (h *Handler) Validate() error {
	if strings.TrimSpace(h.SiteID) == "" {
		return errors.New("site_id is required")
	}
	if err := CheckSiteID(h.SiteID); err != nil {
		return fmt.Errorf("site_id %q: %v", h.SiteID, err)
	}
	if err := CheckConvert(h.Convert); err != nil {
		return err
	}
	for _, p := range h.ThankYou {
		if err := CheckThankYou(p); err != nil {
			return fmt.Errorf("thank_you %q: %v", p, err)
		}
	}
	if h.CaptureLimit < 0 || h.CaptureLimit > MaxCaptureLimit {
		return fmt.Errorf("capture_limit %d: must be from 1 byte to 1 GiB (0 for the default)", h.CaptureLimit)
	}
	return nil
}

// CheckConvert reports why v cannot be the convert option.
func CheckConvert(v string) error {
	switch v {
	case "", ConvertAuto, ConvertOff:
		return nil
	}
	return fmt.Errorf("convert %q: must be %s or %s", v, ConvertAuto, ConvertOff)
}

// CheckThankYou reports why p cannot be a thank_you path pattern: it must
// be a path (starting with / or *) that path.Match accepts.
func CheckThankYou(p string) error {
	if p == "" || (p[0] != '/' && p[0] != '*') {
		return errors.New("must be a path pattern starting with / or *")
	}
	if strings.IndexFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return errors.New("white space or control character in pattern")
	}
	if _, err := path.Match(p, "/"); err != nil {
		return fmt.Errorf("bad pattern: %v", err)
	}
	return nil
}

// ServeHTTP answers the collect endpoint itself, wraps the response of a
// page request in a writer that inserts the snippet (and records the page
// view), and lets other requests go on untouched.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if r.URL.Path == h.collect {
		h.serveCollect(w, r)
		return nil
	}
	posted := false
	if !mayBePage(r) {
		switch {
		case fetchedPage(r) && h.isThankYou(r):
			return h.readOrder(w, r, next)
		case postedPage(r) && h.isThankYou(r):
			posted = true
		default:
			return next.ServeHTTP(w, r)
		}
	}
	st, ok := h.siteFor(r)
	if !ok {
		return next.ServeHTTP(w, r)
	}
	// Only a handler that resolves its site takes the request: one that
	// does not leaves it to a katalys further out.
	owner := h.own(r)
	// The visit is worked out before the response starts: its cookies go
	// out with the header, and only if the response turns out to be a page
	// (see responseWriter.commit). It is recorded once the page is done.
	thankYou := posted || h.isThankYou(r)
	pv := h.observe(r, st.bucket, thankYou)
	if posted && !pv.notReady && pv.Skip != tracking.SkipBot && pv.Skip != tracking.SkipPrivacy {
		pv.Visit = postedVisit(pv.Visit)
	}
	orig := r
	r = askIdentity(r)
	rw := newResponseWriter(w, h, st, r.Host)
	rw.owner = owner
	rw.visit = pv
	switch {
	case !thankYou:
	case pv.Skip == tracking.SkipBot:
		// A crawler, a link preview or a monitor: the customer's own
		// view is the conversion. Stored from this one, the order would
		// go to Katalys as organic, with the bot's user agent, before the
		// customer's view could credit its click.
		metrics.thankYouPages.WithLabelValues("bot").Inc()
	default:
		rw.order = newOrderCapture(h.CaptureLimit)
		// On every way out, also an error or a panic (a client gone):
		// an order read is stored.
		defer h.takeOrder(orig, st.bucket, pv, rw)
	}
	// On a panic (http.ErrAbortHandler from reverse_proxy) stop a decoder
	// goroutine without writing anything more; the panic goes on.
	defer rw.stop()
	if err := next.ServeHTTP(rw, r); err != nil {
		// Write nothing of our own: the error routes own the response
		// (replace-response PR #21).
		rw.abandon()
		return err
	}
	rw.finish()
	rw.finished = true
	if rw.paged && pv != nil {
		h.record(orig, st.bucket, pv)
	}
	return nil
}

// own makes h the owner of r, taking it over from a katalys handler
// further out, which then steps aside (and which h names in a warning,
// once per outer site id).
func (h *Handler) own(r *http.Request) *requestOwner {
	o, ok := caddyhttp.GetVar(r.Context(), ownerVar).(*requestOwner)
	if !ok {
		o = &requestOwner{h: h}
		caddyhttp.SetVar(r.Context(), ownerVar, o)
		return o
	}
	outer := o.h
	metrics.nested.Inc()
	if outer.Scoped && outer.Block != 0 && outer.Block == h.Block {
		// `katalys /uk/* KA-UK` keeps what it matched from the katalys
		// Caddy put after it in the same block.
		if h.nested.first(outer.SiteID) {
			h.logger.Warn("a katalys with its own matcher keeps the requests it matches: this one, further in, steps aside for them",
				zap.String("site_id", h.SiteID), zap.String("scoped_site_id", outer.SiteID))
		}
		return o
	}
	o.h = h
	if h.nested.first(outer.SiteID) {
		h.logger.Warn("a katalys inside another takes over its requests: the outer one steps aside for them; give each katalys its own handle block",
			zap.String("site_id", h.SiteID), zap.String("outer_site_id", outer.SiteID))
	}
	return o
}

// ownedBy reports whether h still owns the request of o: a nil o (a
// request without Caddy's variables, in tests) has no other owner.
func (o *requestOwner) ownedBy(h *Handler) bool { return o == nil || o.h == h }

// siteFor resolves the site id of r, with the request's own replacer (the
// provisioning context has no request placeholders).
func (h *Handler) siteFor(r *http.Request) (site, bool) {
	if h.static != nil {
		return *h.static, true
	}
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if repl == nil {
		repl = caddy.NewReplacer()
	}
	name := repl.ReplaceAll(h.SiteID, "")
	bucket, ok := h.app.Resolve(name)
	if !ok {
		metrics.unresolvedSite.Inc()
		if h.unresolved.first(r.Host) {
			h.logger.Warn("site id resolves to no bucket; pages of this host are passed through untouched",
				zap.String("host", r.Host),
				zap.String("site_id", h.SiteID),
				zap.String("resolved", name),
				zap.Strings("buckets", h.app.BucketIDs()))
		}
		return site{}, false
	}
	return site{bucket: bucket, snippet: h.snippets.get(bucket)}, true
}

// noteExisting handles a page that already loads the Katalys script: that
// is fine when its site id is of our bucket, else a conflict, counted and
// logged once per host and pair of ids.
func (h *Handler) noteExisting(host, bucket, pageSiteID string) {
	if pb, ok := h.app.Resolve(pageSiteID); ok && NameKey(pb) == NameKey(bucket) {
		return
	}
	metrics.conflicts.Inc()
	if h.conflicts.first(host + "\x00" + bucket + "\x00" + pageSiteID) {
		h.logger.Warn("page already loads the Katalys script with the site id of another bucket; left unchanged",
			zap.String("host", host),
			zap.String("bucket", bucket),
			zap.String("page_site_id", pageSiteID))
	}
}

// mayBePage reports, from the request alone, whether the response may be a
// page to inject into. It must be cheap: it runs on every request.
//
// HEAD is left alone (no body to change, and its headers then match what
// the upstream says); upgrades and event streams are never pages, nor are
// requests whose Accept header rules HTML out (API clients asking for
// JSON: leaving them alone keeps their responses compressed end to end).
// The Sec-Fetch-Dest request header tells a navigation (document, iframe,
// frame) from everything else; fetch() and XMLHttpRequest send "empty",
// and the HTML they load is a fragment or data, not a page.
func mayBePage(r *http.Request) bool {
	if r.Method != http.MethodGet || r.Header.Get("Upgrade") != "" {
		return false
	}
	if accept := r.Header["Accept"]; len(accept) > 0 && !acceptsHTML(accept) {
		return false
	}
	switch dest := r.Header.Get("Sec-Fetch-Dest"); {
	case dest == "", strings.EqualFold(dest, "document"),
		strings.EqualFold(dest, "iframe"), strings.EqualFold(dest, "frame"):
		return true
	case strings.EqualFold(dest, "empty"):
		// A navigation a service worker forwarded with
		// fetch(event.request) (PWA themes): the browser shows the page.
		return strings.EqualFold(r.Header.Get("Sec-Fetch-Mode"), "navigate")
	}
	return false
}

// postedVisit is the visit of a thank-you page a form posted the customer
// back to: a page view neither recorded nor given cookies. A POST from
// another site (a payment provider's) carries none of the visitor's
// SameSite=Lax cookies, and new ones would replace theirs; one from the
// store itself carries them, and its visitor and session are kept.
func postedVisit(v tracking.Visit) tracking.Visit {
	posted := tracking.Visit{Skip: skipPosted, ClientIP: v.ClientIP}
	if !v.NewVisitor {
		posted.Visitor = v.Visitor
		if !v.NewSession {
			posted.Session = v.Session
		}
	}
	return posted
}

// postedPage reports whether r is a form POST navigation whose answer the
// browser shows as a page, as payment providers send the customer back to
// some stores' thank-you page (PayPal Standard's return with rm=2).
func postedPage(r *http.Request) bool {
	if r.Method != http.MethodPost || r.Header.Get("Upgrade") != "" {
		return false
	}
	mode, dest := r.Header.Get("Sec-Fetch-Mode"), r.Header.Get("Sec-Fetch-Dest")
	if mode == "" {
		// A browser without Fetch Metadata still asks for HTML by name;
		// a payment provider's server calling the same URL does not.
		return dest == "" && asksForHTML(r.Header["Accept"])
	}
	return strings.EqualFold(mode, "navigate") && (dest == "" || strings.EqualFold(dest, "document")) &&
		(len(r.Header["Accept"]) == 0 || acceptsHTML(r.Header["Accept"]))
}

// asksForHTML reports whether an Accept header names text/html itself, as
// browsers' navigations do (*/* alone does not).
func asksForHTML(accept []string) bool {
	for _, v := range accept {
		if strings.Contains(strings.ToLower(v), "text/html") {
			return true
		}
	}
	return false
}

// fetchedPage reports whether r fetches a whole page with fetch() rather
// than navigating to it: a GET that asks for HTML with Sec-Fetch-Dest
// empty, as Turbo (Hotwire) and other single-page navigators load the
// next page. Such a page is not a page view and gets no snippet, but a
// thank-you page fetched this way still confirms its order.
func fetchedPage(r *http.Request) bool {
	// The cheap tests first: this runs for every asset request.
	if r.Method != http.MethodGet || !strings.EqualFold(r.Header.Get("Sec-Fetch-Dest"), "empty") || r.Header.Get("Upgrade") != "" {
		return false
	}
	accept := r.Header["Accept"]
	return len(accept) > 0 && acceptsHTML(accept)
}

// readOrder serves a fetched thank-you page (see fetchedPage) exactly as
// the next handler writes it, and reads its order on the way: an
// uncompressed 200 HTML response is kept for capture.Extract, as a page
// would be. A bot's fetch is not read.
func (h *Handler) readOrder(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	st, ok := h.siteFor(r)
	if !ok {
		return next.ServeHTTP(w, r)
	}
	owner := h.own(r)
	pv := h.observe(r, st.bucket, true)
	if pv.Skip == tracking.SkipBot {
		metrics.thankYouPages.WithLabelValues("bot").Inc()
		return next.ServeHTTP(w, r)
	}
	rw := newResponseWriter(w, h, st, r.Host)
	rw.owner = owner
	rw.readOnly = true
	rw.order = newOrderCapture(h.CaptureLimit)
	defer h.takeOrder(r, st.bucket, pv, rw)
	if err := next.ServeHTTP(rw, askIdentity(r)); err != nil {
		return err
	}
	rw.finished = true
	return nil
}

// askIdentity returns a shallow copy of r whose header map is a copy
// asking for an uncompressed response, so that the page needs no
// decoding. The original request (access logs, placeholders) keeps its
// header.
func askIdentity(r *http.Request) *http.Request {
	if ae := r.Header["Accept-Encoding"]; len(ae) == 1 && ae[0] == "identity" {
		return r
	}
	r2 := r.WithContext(r.Context())
	r2.Header = r.Header.Clone()
	r2.Header.Set("Accept-Encoding", "identity")
	return r2
}

// CheckScriptSrc reports why src cannot be a script_src: it must be empty
// (the default), an absolute http or https URL, or an absolute path (served
// by the site itself), and may contain the {site_id} placeholder but no
// other.
func CheckScriptSrc(src string) error {
	if src == "" {
		return nil
	}
	if strings.IndexFunc(src, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return errors.New("white space or control character in URL")
	}
	s := strings.ReplaceAll(src, "{site_id}", "x")
	if strings.ContainsAny(s, "{}") {
		return errors.New("only the {site_id} placeholder is supported")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("invalid URL: %v", err)
	}
	if strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") {
		return nil
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("must be an absolute http(s) URL or a path starting with /")
	}
	return checkPort(u)
}

// hasPlaceholder reports whether a site id is resolved per request.
func hasPlaceholder(s string) bool {
	return strings.ContainsRune(s, '{')
}

// acceptsHTML reports whether Accept header values admit an HTML page and
// do not ask for an event stream.
func acceptsHTML(values []string) bool {
	html := false
	for _, v := range values {
		if containsFold(v, "text/event-stream") {
			return false
		}
		html = html || containsFold(v, "html") || containsFold(v, "*/*") || containsFold(v, "text/*")
	}
	return html
}

// containsFold reports whether s contains substr, ignoring ASCII case,
// without allocating.
func containsFold(s, substr string) bool {
	for i := 0; i+len(substr) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(substr)], substr) {
			return true
		}
	}
	return false
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
