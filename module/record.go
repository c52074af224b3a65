package module

import (
	"net"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/storeedge/caddy-katalys/storage"
	"github.com/storeedge/caddy-katalys/tracking"
)

// Event types as recorded from page requests.
const (
	typePageview = "pageview"
	typeClick    = "click"
)

// Why a page was not recorded: values of the reason label of
// pages_not_recorded_total besides tracking's Skip reasons (bot, prefetch,
// not_navigation, privacy).
const (
	skipNotReady = "not_ready" // the katalys app has not started: no store yet
	skipPosted   = "posted"    // a thank-you page a form posted back to (see postedPage)
	skipOther    = "other"     // a Skip reason this module does not know
)

// Why an event was dropped: values of the reason label of
// events_dropped_total.
const (
	dropQueueFull = "queue_full" // the store's queue was full
	dropNotReady  = "not_ready"  // no store
	dropClosed    = "closed"     // the store was closing (a reload that moved storage)
	dropLowDisk   = "low_disk"   // the store's disk is nearly full, or its directory gone
)

// pageVisit is a page request's visit, worked out before the response
// started, and when.
type pageVisit struct {
	tracking.Visit
	at       time.Time
	notReady bool // no store when the request came: nothing observed
}

// observe works out the visit of a page request: its visitor and session
// and the cookies that go with a page; thankYou says r is on a thank-you
// path. Without a store (the app has not started) nothing is observed and
// no cookie set.
func (h *Handler) observe(r *http.Request, bucket string, thankYou bool) *pageVisit {
	if h.app.Store() == nil {
		return &pageVisit{notReady: true}
	}
	now := time.Now()
	return &pageVisit{Visit: tracking.Observe(r, clientIP(r), now, h.app.Policy(bucket), thankYou), at: now}
}

// record queues the page view of a page that was served (and, for a
// landing with click parameters, the click). It never waits: a full queue
// drops the events, counted.
func (h *Handler) record(r *http.Request, bucket string, pv *pageVisit) {
	switch {
	case pv.notReady:
		metrics.notRecorded.WithLabelValues(skipNotReady).Inc()
		return
	case !pv.Record:
		metrics.notRecorded.WithLabelValues(skipLabel(pv.Skip)).Inc()
		return
	}
	st := h.app.Store()
	if st == nil {
		metrics.dropped.WithLabelValues(typePageview, dropNotReady).Inc()
		return
	}
	fields := make(map[string]string, 4)
	fields["url"] = requestURI(r)
	setNonEmpty(fields, "referrer", r.Referer())
	setNonEmpty(fields, "user_agent", r.UserAgent())
	setNonEmpty(fields, "client_ip", pv.ClientIP)
	enqueue(st, storage.Event{
		Bucket:  bucket,
		Time:    pv.at,
		Type:    typePageview,
		Visitor: pv.Visitor,
		Session: pv.Session,
		Fields:  fields,
	})
	if pv.Click != nil {
		enqueue(st, storage.Event{
			Bucket:  bucket,
			Time:    pv.at,
			Type:    typeClick,
			Visitor: pv.Visitor,
			Session: pv.Session,
			Fields:  pv.Click,
		})
	}
}

// enqueue hands ev to the store's writer without waiting, counting the
// outcome.
func enqueue(st *storage.Store, ev storage.Event) {
	switch {
	case st.LowDisk():
		// It would be dropped when its batch is refused; say why here.
		metrics.dropped.WithLabelValues(typeLabel(ev.Type), dropLowDisk).Inc()
	case st.Enqueue(ev):
		metrics.recorded.WithLabelValues(typeLabel(ev.Type)).Inc()
	case st.Closing():
		metrics.dropped.WithLabelValues(typeLabel(ev.Type), dropClosed).Inc()
	default:
		metrics.dropped.WithLabelValues(typeLabel(ev.Type), dropQueueFull).Inc()
	}
}

// clientIP is Caddy's client_ip of r (trusted proxies applied), else the
// host of its remote address.
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// requestURI is the path and query the client asked for, before any
// rewrite in the route (handle_path, uri strip_prefix …).
func requestURI(r *http.Request) string {
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		return orig.URL.RequestURI()
	}
	return r.URL.RequestURI()
}

func setNonEmpty(m map[string]string, key, value string) {
	if value != "" {
		m[key] = value
	}
}

// typeLabel bounds the type label of the event metrics: custom actions
// posted to the collect endpoint are named by clients.
func typeLabel(t string) string {
	switch t {
	case typePageview, typeClick:
		return t
	}
	return "custom"
}

// skipLabel bounds the reason label of pages_not_recorded_total.
func skipLabel(skip string) string {
	switch skip {
	case tracking.SkipBot, tracking.SkipPrefetch, tracking.SkipNotNavigation, tracking.SkipPrivacy, skipPosted:
		return skip
	}
	return skipOther
}
