package module

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the katalys app: the configuration every katalys handler of a
// Caddy config shares. It knows the Tracking ID buckets and their aliases,
// and (in later versions) owns the embedded store of behaviour and orders.
//
// Handlers find it with ctx.App("katalys"); a config whose Caddyfile has no
// katalys global option still gets one, with defaults and no buckets.
type App struct {
	// Storage is the directory of the embedded database that keeps
	// behaviour, orders and deliveries. It is not opened yet.
	// Default: "katalys" under Caddy's data directory
	// (for example ~/.local/share/caddy/katalys).
	Storage string `json:"storage,omitempty"`

	// Buckets are the Tracking IDs (Katalys buckets) served by this Caddy,
	// each with the other names that map to it. A handler's site_id must
	// resolve to one of them. When none is declared, every distinct site_id
	// is its own bucket with defaults.
	Buckets []Bucket `json:"buckets,omitempty"`

	// index maps NameKey(id or alias) to the bucket id; built in Provision.
	index  map[string]string
	logger *zap.Logger
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
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "katalys",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision fills in defaults and indexes the buckets by id and alias. It
// does no I/O, since `caddy validate` provisions every module too.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger = ctx.Logger()
	if a.Storage == "" {
		a.Storage = filepath.Join(caddy.AppDataDir(), "katalys")
	}
	a.index = make(map[string]string, len(a.Buckets))
	for _, b := range a.Buckets {
		a.index[NameKey(b.ID)] = b.ID
		for _, alias := range b.Aliases {
			a.index[NameKey(alias)] = b.ID
		}
	}
	return nil
}

// Validate rejects bucket ids that are empty or contain white space, the
// same id declared twice, and a name (id or alias) claimed by two buckets:
// any of these would make a site_id resolve to the wrong bucket.
func (a *App) Validate() error {
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

// Start does nothing yet; the store will be opened here (never in
// Provision, see Provision).
func (a *App) Start() error { return nil }

// Stop does nothing yet.
func (a *App) Stop() error { return nil }

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
// host name).
func NameKey(name string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
}

// CheckName reports why name cannot be a bucket id or alias: it is empty or
// holds white space or control characters (it ends up in a script URL).
func CheckName(name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("empty name")
	}
	if strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
		return fmt.Errorf("white space or control character in name")
	}
	return nil
}

// Interface guards
var (
	_ caddy.App         = (*App)(nil)
	_ caddy.Provisioner = (*App)(nil)
	_ caddy.Validator   = (*App)(nil)
)
