package caddyfile

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/storeedge/caddy-katalys/module"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("katalys", parseGlobalOption)
	httpcaddyfile.RegisterDirective("katalys", parseDirectiveRoute)
	// Inside encode, so encode compresses the page with the snippet in it;
	// outside handle, route and the proxies, so it wraps proxies that sit
	// inside handle blocks. Users need no `order` option.
	httpcaddyfile.RegisterDirectiveOrder("katalys", httpcaddyfile.After, "encode")
}

// parseGlobalOption sets up the katalys app from the global option:
//
//	katalys {
//		storage <path>
//		bucket <id> {
//			alias <name...>
//			retention <duration>
//			privacy gpc
//			ip truncate
//		}
//	}
//
// bucket is repeatable; alias is repeatable and takes one or more names.
// retention (default 400d) takes a Caddy duration such as 400d or 720h.
// Ids and aliases are checked here, with the file and line of the
// offending token: an id declared twice or a name claimed by two buckets
// is an error.
func parseGlobalOption(d *caddyfile.Dispenser, existing any) (any, error) {
	d.Next() // the option name
	if existing != nil {
		return nil, d.Err("the katalys global option may appear only once")
	}
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	app := new(module.App)
	owners := make(map[string]string) // module.NameKey(id or alias) → bucket id
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "storage":
			if app.Storage != "" {
				return nil, d.Err("storage already specified")
			}
			if !d.AllArgs(&app.Storage) {
				return nil, d.ArgErr()
			}
			if strings.TrimSpace(app.Storage) == "" {
				return nil, d.Err("storage: empty directory; leave the line out for the default")
			}
			if strings.ContainsAny(app.Storage, "{}") {
				return nil, d.Errf("storage %q: placeholders are not replaced in the path; use the Caddyfile's {$VAR} for an environment variable", app.Storage)
			}
		case "bucket":
			b, err := parseBucket(d, owners)
			if err != nil {
				return nil, err
			}
			app.Buckets = append(app.Buckets, b)
		case "deliver":
			if err := parseDeliver(d, app); err != nil {
				return nil, err
			}
		default:
			return nil, d.Errf("unrecognized subdirective '%s'", d.Val())
		}
	}
	return httpcaddyfile.App{Name: "katalys", Value: caddyconfig.JSON(app, nil)}, nil
}

// parseDeliver parses `deliver <url>|off [{ timeout <duration>;
// concurrency <n>; rate <n> }]`.
func parseDeliver(d *caddyfile.Dispenser, app *module.App) error {
	if app.Deliver != "" {
		return d.Err("deliver already specified")
	}
	if !d.AllArgs(&app.Deliver) {
		return d.ArgErr()
	}
	if err := module.CheckDeliver(app.Deliver); err != nil {
		return d.Err(err.Error())
	}
	seen := make(map[string]bool)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if app.Deliver == module.DeliverOff {
			return d.Errf("deliver off: '%s' has no effect when nothing is delivered", d.Val())
		}
		if seen[d.Val()] {
			return d.Errf("deliver %s already specified", d.Val())
		}
		seen[d.Val()] = true
		switch d.Val() {
		case "timeout":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil || dur <= 0 {
				return d.Errf("deliver timeout %q: must be a positive duration", v)
			}
			app.DeliverTimeout = caddy.Duration(dur)
		case "concurrency":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > module.MaxDeliverConcurrency {
				return d.Errf("deliver concurrency %q: must be a number from 1 to 256", v)
			}
			app.DeliverConcurrency = n
		case "rate":
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return d.Errf("deliver rate %q: must be a number of deliveries a second, at least 1", v)
			}
			app.DeliverRate = n
		default:
			return d.Errf("unrecognized subdirective '%s'", d.Val())
		}
	}
	return nil
}

// parseBucket parses `bucket <id> { alias <name...> }`, the dispenser on
// "bucket". owners holds the names claimed so far.
func parseBucket(d *caddyfile.Dispenser, owners map[string]string) (module.Bucket, error) {
	var b module.Bucket
	if !d.AllArgs(&b.ID) {
		return b, d.ArgErr()
	}
	if err := claim(d, owners, b.ID, b.ID, true); err != nil {
		return b, err
	}
	// Where retention and window were given: a retention shorter than the
	// window is reported at its own line, not at the end of the block.
	var durLines = map[string]caddyfile.Token{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "alias":
			names := d.RemainingArgs()
			if len(names) == 0 {
				return b, d.ArgErr()
			}
			for _, name := range names {
				if err := claim(d, owners, b.ID, name, false); err != nil {
					return b, err
				}
			}
			b.Aliases = append(b.Aliases, names...)
		case "retention", "window", "refund_window":
			durLines[d.Val()] = d.Token()
			if err := parseBucketDuration(d, &b); err != nil {
				return b, err
			}
		case "model":
			if b.Model != "" {
				return b, d.Errf("bucket %q: model already specified", b.ID)
			}
			if !d.AllArgs(&b.Model) {
				return b, d.ArgErr()
			}
			if err := module.CheckModel(b.Model); err != nil {
				return b, d.Errf("bucket %q: %v", b.ID, err)
			}
		case "privacy":
			if b.Privacy != "" {
				return b, d.Errf("bucket %q: privacy already specified", b.ID)
			}
			if !d.AllArgs(&b.Privacy) {
				return b, d.ArgErr()
			}
			if err := module.CheckPrivacy(b.Privacy); err != nil {
				return b, d.Errf("bucket %q: %v", b.ID, err)
			}
		case "ip":
			if b.IP != "" {
				return b, d.Errf("bucket %q: ip already specified", b.ID)
			}
			if !d.AllArgs(&b.IP) {
				return b, d.ArgErr()
			}
			if err := module.CheckIP(b.IP); err != nil {
				return b, d.Errf("bucket %q: %v", b.ID, err)
			}
		case "currency":
			if b.Currency != "" {
				return b, d.Errf("bucket %q: currency already specified", b.ID)
			}
			if !d.AllArgs(&b.Currency) {
				return b, d.ArgErr()
			}
			if err := module.CheckCurrency(b.Currency); err != nil {
				return b, d.Errf("bucket %q: %v", b.ID, err)
			}
			b.Currency = strings.ToUpper(b.Currency)
		default:
			return b, d.Errf("unrecognized subdirective '%s'", d.Val())
		}
	}
	if err := module.CheckRetention(b); err != nil {
		tok, ok := durLines["retention"]
		if !ok {
			tok, ok = durLines["window"]
		}
		if !ok {
			return b, d.Errf("bucket %q: %v", b.ID, err)
		}
		return b, fmt.Errorf("bucket %q: %v, at %s:%d", b.ID, err, tok.File, tok.Line)
	}
	return b, nil
}

// parseBucketDuration parses one of a bucket's durations (retention,
// window, refund_window): one value, greater than zero, given once.
func parseBucketDuration(d *caddyfile.Dispenser, b *module.Bucket) error {
	name := d.Val()
	dst := map[string]*caddy.Duration{"retention": &b.Retention, "window": &b.Window, "refund_window": &b.RefundWindow}[name]
	if *dst != 0 {
		return d.Errf("bucket %q: %s already specified", b.ID, name)
	}
	var v string
	if !d.AllArgs(&v) {
		return d.ArgErr()
	}
	dur, err := caddy.ParseDuration(v)
	if err != nil {
		// Not Caddy's message: it reads "30days" after rewriting days
		// into hours, and quotes "720hays".
		return d.Errf("bucket %q: %s %q: not a duration; write it as a number and a unit: 30d, 720h, 90m", b.ID, name, v)
	}
	if dur <= 0 {
		return d.Errf("bucket %q: %s %q: must be positive", b.ID, name, v)
	}
	*dst = caddy.Duration(dur)
	return nil
}

// claim records name (the bucket's id when isID, else an alias) as
// belonging to bucket, or reports why it cannot.
func claim(d *caddyfile.Dispenser, owners map[string]string, bucket, name string, isID bool) error {
	if err := module.CheckName(name); err != nil {
		return d.Errf("bucket %q: %q: %v", bucket, name, err)
	}
	key := module.NameKey(name)
	prev, taken := owners[key]
	switch {
	case !taken:
		owners[key] = bucket
		return nil
	case isID && module.NameKey(prev) == key:
		return d.Errf("bucket %q declared more than once", bucket)
	case isID:
		return d.Errf("bucket %q is already an alias of bucket %q", bucket, prev)
	case prev == bucket:
		return d.Errf("bucket %q: alias %q given twice (or is its own id)", bucket, name)
	default:
		return d.Errf("bucket %q: alias %q already claimed by bucket %q", bucket, name, prev)
	}
}

// parseDirectiveRoute is what RegisterHandlerDirective would do, except
// that the handler learns whether the directive had a matcher of its own
// (Handler.Scoped) and, when it shares its block with another katalys, the
// block (Handler.Block): `katalys /uk/* KA-UK` beside `katalys KA-MAIN` in
// one block must keep the /uk/ requests, though Caddy puts it first, while
// a katalys in a handle block under it still takes that block's requests.
func parseDirectiveRoute(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	if !h.Next() {
		return nil, h.ArgErr()
	}
	matcherSet, err := h.ExtractMatcherSet()
	if err != nil {
		return nil, err
	}
	mh, err := parseDirective(h)
	if err != nil {
		return nil, err
	}
	handler := mh.(*module.Handler)
	handler.Scoped = matcherSet != nil
	vals := h.NewRoute(matcherSet, handler)
	if len(vals) == 1 {
		if route, ok := vals[0].Value.(caddyhttp.Route); ok && len(route.HandlersRaw) == 1 {
			if err := noteSibling(h, handler, route.HandlersRaw); err != nil {
				return nil, err
			}
		}
	}
	return vals, nil
}

// blockKatalys are the katalys handlers of one Caddyfile block, kept in
// the block's BlockState, which Caddy shares among sibling directives and
// copies into nested blocks (of tells the copy from the original), with
// the JSON of each in its route.
type blockKatalys struct {
	of       uintptr
	id       int
	handlers []*module.Handler
	raws     [][]json.RawMessage
}

// noteSibling records handler, whose JSON is raw[0], in its block and,
// once the block holds two katalys of which one has a matcher, gives them
// all the block's id, writing the JSON of the earlier ones again. Blocks
// with one katalys leave Block zero.
func noteSibling(h httpcaddyfile.Helper, handler *module.Handler, raw []json.RawMessage) error {
	if h.BlockState == nil || h.State == nil {
		return nil
	}
	const key, counter = "katalys.block", "katalys.blocks"
	of := reflect.ValueOf(h.BlockState).Pointer()
	b, ok := h.BlockState[key].(*blockKatalys)
	if !ok || b.of != of {
		n, _ := h.State[counter].(int)
		n++
		h.State[counter] = n
		id := n
		if h.IsNamedRoute() {
			// Named routes are adapted with a State of their own, whose
			// count starts again: their blocks count down instead.
			id = -n
		}
		b = &blockKatalys{of: of, id: id}
		h.BlockState[key] = b
	}
	b.handlers, b.raws = append(b.handlers, handler), append(b.raws, raw)
	if len(b.handlers) < 2 || !slices.ContainsFunc(b.handlers, func(k *module.Handler) bool { return k.Scoped }) {
		return nil
	}
	for i, k := range b.handlers {
		k.Block = b.id
		var warnings []caddyconfig.Warning
		b.raws[i][0] = caddyconfig.JSONModuleObject(k, "handler", "katalys", &warnings)
		if len(warnings) > 0 {
			return h.Errf("writing the katalys handler: %s", warnings[0].Message)
		}
	}
	return nil
}

// parseDirective sets up the katalys handler:
//
//	katalys [<matcher>] <site_id> {
//		script_src <url>
//		endpoint <path>
//		thank_you <pattern...>
//		order_prefix <prefix>
//		convert auto|off
//		capture_limit <size>
//	}
//
// site_id is a bucket id, an alias or a placeholder such as {host}. A
// static site_id must match a bucket of the katalys global option when it
// declares any. script_src is an absolute http(s) URL or an absolute path
// and may contain {site_id}. endpoint (default /_katalys) is the path
// prefix of the first-party endpoints: events are posted to {endpoint}/e.
// thank_you adds path patterns (repeatable) to the built-in thank-you
// paths; order_prefix is put in front of captured order ids that lack it;
// convert auto (the default) adds the Katalys convert call to thank-you
// pages that have none; capture_limit (default 2MiB) bounds the bytes of a
// thank-you page read for its order.
func parseDirective(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	handler := new(module.Handler)
	h.Next() // the directive name; the matcher is already gone
	if !h.NextArg() {
		return nil, h.Err("missing site id: katalys <site_id> (a bucket id, an alias or a placeholder such as {host})")
	}
	handler.SiteID = h.Val()
	if err := checkSiteID(h, handler.SiteID); err != nil {
		return nil, err
	}
	if h.NextArg() {
		return nil, h.ArgErr()
	}
	for nesting := h.Nesting(); h.NextBlock(nesting); {
		switch h.Val() {
		case "script_src":
			if handler.ScriptSrc != "" {
				return nil, h.Err("script_src already specified")
			}
			if !h.AllArgs(&handler.ScriptSrc) {
				return nil, h.ArgErr()
			}
			if handler.ScriptSrc == "" {
				return nil, h.Err("script_src: empty URL; leave the line out for the Katalys script")
			}
			if err := module.CheckScriptSrc(handler.ScriptSrc); err != nil {
				return nil, h.Errf("script_src %q: %v", handler.ScriptSrc, err)
			}
		case "endpoint":
			if handler.Endpoint != "" {
				return nil, h.Err("endpoint already specified")
			}
			if !h.AllArgs(&handler.Endpoint) {
				return nil, h.ArgErr()
			}
			if handler.Endpoint == "" {
				return nil, h.Err("endpoint: empty path")
			}
			if err := module.CheckEndpoint(handler.Endpoint); err != nil {
				return nil, h.Errf("endpoint %q: %v", handler.Endpoint, err)
			}
		case "thank_you", "order_prefix", "convert", "capture_limit":
			if err := parseOrderOption(h, handler); err != nil {
				return nil, err
			}
		default:
			return nil, h.Errf("unrecognized subdirective '%s'", h.Val())
		}
	}
	return handler, nil
}

// parseOrderOption parses the order capture subdirectives of the handler.
func parseOrderOption(h httpcaddyfile.Helper, handler *module.Handler) error {
	name := h.Val()
	args := h.RemainingArgs()
	if len(args) == 0 || (name != "thank_you" && len(args) != 1) {
		return h.ArgErr()
	}
	switch name {
	case "thank_you":
		for _, p := range args {
			if err := module.CheckThankYou(p); err != nil {
				return h.Errf("thank_you %q: %v", p, err)
			}
			if strings.ContainsAny(p, "{}") {
				return h.Errf("thank_you %q: placeholders are not replaced in thank-you paths", p)
			}
		}
		handler.ThankYou = append(handler.ThankYou, args...)
	case "order_prefix":
		if handler.OrderPrefix != "" {
			return h.Err("order_prefix already specified")
		}
		switch {
		case args[0] == "":
			return h.Err("order_prefix: empty prefix; leave the line out for none")
		case strings.ContainsAny(args[0], "{}"):
			return h.Errf("order_prefix %q: placeholders are not replaced in the prefix", args[0])
		}
		handler.OrderPrefix = args[0]
	case "convert":
		if handler.Convert != "" {
			return h.Err("convert already specified")
		}
		if args[0] == "" {
			return h.Errf("convert %q: must be %s or %s", args[0], module.ConvertAuto, module.ConvertOff)
		}
		if err := module.CheckConvert(args[0]); err != nil {
			return h.Err(err.Error())
		}
		handler.Convert = args[0]
	case "capture_limit":
		if handler.CaptureLimit != 0 {
			return h.Err("capture_limit already specified")
		}
		size, err := humanize.ParseBytes(args[0])
		if err != nil || size == 0 || size > module.MaxCaptureLimit {
			return h.Errf("capture_limit %q: must be a size between 1B and 1GiB, such as 2MiB", args[0])
		}
		handler.CaptureLimit = int(size)
	}
	return nil
}

// checkSiteID fails when a static site id resolves to none of the buckets
// of the global option, naming them; the dispenser is on the site id, so
// the error points at its line. Placeholders resolve per request.
func checkSiteID(h httpcaddyfile.Helper, siteID string) error {
	if err := module.CheckSiteID(siteID); err != nil {
		return h.Errf("site id %q: %v", siteID, err)
	}
	if strings.ContainsRune(siteID, '{') {
		return nil
	}
	app, err := globalApp(h)
	if err != nil {
		return h.WrapErr(err)
	}
	if _, ok := app.Resolve(siteID); !ok {
		return h.WrapErr(app.UnknownSiteError(siteID))
	}
	return nil
}

// globalApp is the katalys app of the global option, or an empty one.
func globalApp(h httpcaddyfile.Helper) (*module.App, error) {
	app := new(module.App)
	opt, ok := h.Option("katalys").(httpcaddyfile.App)
	if !ok {
		return app, nil
	}
	if err := json.Unmarshal(opt.Value, app); err != nil {
		return nil, fmt.Errorf("reading the katalys global option: %v", err)
	}
	return app, nil
}
