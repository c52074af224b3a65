package module

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons a page request's response was passed through without the
// snippet: the values of the reason label of pages_passed_total. The set is
// closed, so the label stays bounded.
const (
	passStatus      = "status"       // final status other than 200 (304, 206, 404 …)
	passContentType = "content_type" // not text/html or application/xhtml+xml
	passCharset     = "charset"      // an ASCII-incompatible charset (UTF-16/32)
	passAttachment  = "attachment"   // Content-Disposition: attachment
	passNoTransform = "no_transform" // Cache-Control: no-transform
	passEncoding    = "encoding"     // a Content-Encoding this module does not decode
	passUndecodable = "undecodable"  // labelled gzip/br/… but does not decode
	passExisting    = "existing"     // the page already loads the Katalys script
	passUnfinished  = "unfinished"   // it ended inside a tag, a comment or raw text (cut short, <plaintext>)
	passError       = "error"        // the next handler failed; nothing was added
)

// Where the snippet went: the values of the place label of
// pages_injected_total.
const (
	placeBeforeBody = "before_body"
	placeBeforeHTML = "before_html"
	placeAtEnd      = "at_end"
)

// metrics are the module's Prometheus collectors. They are created once
// per process and registered again on every config load (see
// registerMetrics), so their values survive reloads.
var metrics = struct {
	injected        *prometheus.CounterVec
	passed          *prometheus.CounterVec
	conflicts       prometheus.Counter
	unknownEncoding prometheus.Counter
	unresolvedSite  prometheus.Counter
	nested          prometheus.Counter
	recorded        *prometheus.CounterVec
	dropped         *prometheus.CounterVec
	notRecorded     *prometheus.CounterVec
	collect         *prometheus.CounterVec
	storeErrors     prometheus.Counter
	orders          *prometheus.CounterVec
	thankYouPages   *prometheus.CounterVec
	attributions    *prometheus.CounterVec
	deliveries      *prometheus.CounterVec
	outbox          *prometheus.GaugeVec
}{
	injected: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "katalys",
		Name:      "pages_injected_total",
		Help:      "HTML pages the Katalys snippet was inserted into, by where it went.",
	}, []string{"place"}),
	passed: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "katalys",
		Name:      "pages_passed_total",
		Help:      "Responses to page requests passed through without the snippet, by reason.",
	}, []string{"reason"}),
	conflicts: prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "katalys",
		Name:      "script_conflicts_total",
		Help:      "Pages that already load the Katalys script with a site id of another bucket.",
	}),
	unknownEncoding: prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "katalys",
		Name:      "unknown_encoding_total",
		Help:      "HTML responses passed through because of a Content-Encoding the module cannot decode.",
	}),
	unresolvedSite: prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "katalys",
		Name:      "unresolved_site_total",
		Help:      "Page requests passed through because the site_id placeholder resolved to no bucket.",
	}),
	nested: prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "katalys",
		Name:      "nested_handler_total",
		Help:      "Requests a katalys handler nearer the upstream took over from one further out.",
	}),
	recorded: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "katalys",
		Name:      "events_recorded_total",
		Help:      "Behaviour events handed to the store (page views and clicks queued, collect events committed), by type (pageview, click, custom).",
	}, []string{"type"}),
	dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "katalys",
		Name:      "events_dropped_total",
		Help:      "Behaviour events not stored, by type and reason (queue_full, not_ready, write_error).",
	}, []string{"type", "reason"}),
	notRecorded: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "katalys",
		Name:      "pages_not_recorded_total",
		Help:      "Pages served but not counted as page views, by reason (bot, prefetch, not_navigation, privacy, not_ready).",
	}, []string{"reason"}),
	collect: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "katalys",
		Name:      "collect_responses_total",
		Help:      "Responses of the collect endpoint, by status code.",
	}, []string{"status"}),
	storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "katalys",
		Name:      "store_open_errors_total",
		Help:      "Times the store could not be opened when the katalys app started; pages are then served without recording.",
	}),
	orders: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "katalys",
		Name:      "orders_captured_total",
		Help:      "Orders read from thank-you pages, by outcome (new, repeat: a reload of a stored order, store_error: not stored).",
	}, []string{"outcome"}),
	thankYouPages: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "katalys",
		Name:      "thank_you_pages_total",
		Help:      "Thank-you pages read for an order, by result (order, no_order, truncated: larger than capture_limit, read up to it; bot: a crawler's or link preview's view, not read).",
	}, []string{"result"}),
	attributions: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "katalys",
		Name:      "attributions_total",
		Help:      "Attribution decisions stored (at capture, on a status change, on re-attribution), by status (approved, pending, rejected, organic).",
	}, []string{"status"}),
	deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "katalys",
		Name:      "deliveries_total",
		Help:      "Attempts to deliver orders and status changes to Katalys, by result (delivered, retried, dead).",
	}, []string{"result"}),
	outbox: prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "caddy",
		Subsystem: "katalys",
		Name:      "outbox",
		Help:      "Deliveries in the outbox, by state (pending: waiting to be delivered or retried; dead: refused by Katalys). Updated at most every 10 seconds while deliveries happen.",
	}, []string{"state"}),
}

// registerMetrics registers the module's collectors with a config's
// registry. Since Caddy 2.9 every config load has a fresh registry, and
// several handlers of one config register the same collectors, so
// AlreadyRegisteredError is expected and ignored. A nil registry (unit
// tests with a bare caddy.Context) registers nothing.
func registerMetrics(reg *prometheus.Registry) error {
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{
		metrics.injected,
		metrics.passed,
		metrics.conflicts,
		metrics.unknownEncoding,
		metrics.unresolvedSite,
		metrics.nested,
		metrics.recorded,
		metrics.dropped,
		metrics.notRecorded,
		metrics.collect,
		metrics.storeErrors,
		metrics.orders,
		metrics.thankYouPages,
		metrics.attributions,
		metrics.deliveries,
		metrics.outbox,
	} {
		var are prometheus.AlreadyRegisteredError
		if err := reg.Register(c); err != nil && !errors.As(err, &are) {
			return fmt.Errorf("registering katalys metrics: %v", err)
		}
	}
	return nil
}
