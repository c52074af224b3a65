package module

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
)

func TestAppProvisionDefaults(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", "/tmp/xdg-test")
	a := new(App)
	if err := a.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("/tmp/xdg-test", "caddy", "katalys"); a.Storage != want {
		t.Errorf("storage %q, want %q", a.Storage, want)
	}
	b := &App{Storage: "/srv/katalys"}
	if err := b.Provision(caddy.Context{}); err != nil || b.Storage != "/srv/katalys" {
		t.Errorf("storage %q, %v", b.Storage, err)
	}
}

func TestAppValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		buckets []Bucket
		err     string
	}{
		{"none", nil, ""},
		{"fine", []Bucket{{ID: "KA-1", Aliases: []string{"a.example.com", "KA-OLD"}}, {ID: "KA-2"}}, ""},
		{"own id as alias", []Bucket{{ID: "KA-1", Aliases: []string{"ka-1"}}}, ""},
		{"empty id", []Bucket{{ID: ""}}, "empty name"},
		{"blank id", []Bucket{{ID: "  "}}, "empty name"},
		{"space in id", []Bucket{{ID: "KA 1"}}, "white space"},
		{"duplicate id", []Bucket{{ID: "KA-1"}, {ID: "ka-1"}}, `bucket "ka-1" declared more than once`},
		{"alias of two", []Bucket{{ID: "KA-1", Aliases: []string{"a.example.com"}}, {ID: "KA-2", Aliases: []string{"A.example.com."}}},
			`alias "A.example.com." is already claimed by bucket "KA-1"`},
		{"alias is another id", []Bucket{{ID: "KA-1", Aliases: []string{"KA-2"}}, {ID: "KA-2"}},
			`alias "KA-2" is already claimed by bucket "KA-2"`},
		{"empty alias", []Bucket{{ID: "KA-1", Aliases: []string{""}}}, `alias "": empty name`},
		{"currency", []Bucket{{ID: "KA-1", Currency: "cad"}}, ""},
		{"currency symbol", []Bucket{{ID: "KA-1", Currency: "C$"}}, `currency "C$": want an ISO 4217 code`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &App{Buckets: tc.buckets}
			if err := a.Provision(caddy.Context{}); err != nil {
				t.Fatal(err)
			}
			err := a.Validate()
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestAppResolve(t *testing.T) {
	declared := &App{Buckets: testApp.Buckets}
	unprovisioned := &App{Buckets: testApp.Buckets}
	if err := declared.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	none := new(App)
	// An internationalised domain is declared as people write it; browsers
	// send its ASCII form, which {host} resolves.
	idn := &App{Buckets: []Bucket{{ID: "KA-9", Aliases: []string{"bücher.example"}}}}
	if err := idn.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		app    *App
		name   string
		bucket string
		ok     bool
	}{
		{declared, "KA-1", "KA-1", true},
		{declared, "ka-1", "KA-1", true},
		{declared, "shop.example.com", "KA-1", true},
		{declared, "Shop.Example.COM.", "KA-1", true},
		{declared, "KA-OLD", "KA-1", true},
		{declared, "other.example.com", "KA-2", true},
		{declared, "unknown.example.com", "", false},
		{declared, "", "", false},
		{unprovisioned, "shop.example.com", "KA-1", true},
		{unprovisioned, "KA-3", "", false},
		{none, "KA-ANY", "KA-ANY", true},
		{none, "store.example.org", "store.example.org", true},
		{none, " ", "", false},
		{idn, "xn--bcher-kva.example", "KA-9", true},
		{idn, "XN--BCHER-KVA.EXAMPLE", "KA-9", true},
		{idn, "bücher.example", "KA-9", true},
	} {
		bucket, ok := tc.app.Resolve(tc.name)
		if bucket != tc.bucket || ok != tc.ok {
			t.Errorf("Resolve(%q) = %q, %v; want %q, %v", tc.name, bucket, ok, tc.bucket, tc.ok)
		}
	}
}

func TestHandlerProvision(t *testing.T) {
	for _, tc := range []struct {
		name      string
		app       *App
		siteID    string
		scriptSrc string
		err       string
	}{
		{name: "declared bucket", app: testApp, siteID: "KA-2"},
		{name: "alias", app: testApp, siteID: "other.example.com"},
		{name: "placeholder", app: testApp, siteID: "{http.request.host}"},
		{name: "no app configured", siteID: "KA-ANY"},
		{name: "path script", app: testApp, siteID: "KA-1", scriptSrc: "/_katalys/{site_id}.js"},
		{name: "unknown static site", app: testApp, siteID: "KA-9",
			err: `site id "KA-9" matches no declared bucket id or alias (known buckets: KA-1, KA-2)`},
		{name: "missing site", app: testApp, err: "site_id is required"},
		{name: "bad script", app: testApp, siteID: "KA-1", scriptSrc: "javascript:alert(1)", err: "must be an absolute http(s) URL"},
		{name: "bad app", app: &App{Buckets: []Bucket{{ID: "KA-1"}, {ID: "KA-1"}}}, siteID: "KA-1", err: "declared more than once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tryProvision(tc.app, tc.siteID, tc.scriptSrc)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestCheckScriptSrc(t *testing.T) {
	for src, ok := range map[string]bool{
		"": true,
		"https://db.revoffers.com/js/{site_id}.js": true,
		"http://127.0.0.1:8080/k/{site_id}.js":     true,
		"HTTPS://js.katalys.com/js/KA-1.js":        true,
		"/_katalys/{site_id}.js":                   true,
		"/static/katalys.js?v=2":                   true,
		"//db.revoffers.com/js/{site_id}.js":       false,
		"js/{site_id}.js":                          false,
		"ftp://example.com/x.js":                   false,
		"https:///x.js":                            false,
		"https://db.revoffers.com/js/{host}.js":    false,
		"https://db.revoffers.com/js/ x.js":        false,
		"data:text/javascript,alert(1)":            false,
	} {
		if err := CheckScriptSrc(src); (err == nil) != ok {
			t.Errorf("CheckScriptSrc(%q) = %v", src, err)
		}
	}
}

// TestMetricsSurviveReload: the same collectors go into every config's
// registry, so counts carry over a reload, and registering twice in one
// registry (two handlers) is fine.
func TestMetricsSurviveReload(t *testing.T) {
	first, second := prometheus.NewPedanticRegistry(), prometheus.NewPedanticRegistry()
	for _, reg := range []*prometheus.Registry{first, first, second} {
		if err := registerMetrics(reg); err != nil {
			t.Fatal(err)
		}
	}
	if err := registerMetrics(nil); err != nil {
		t.Fatal(err)
	}
	metrics.conflicts.Inc()
	families, err := second.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range families {
		if f.GetName() == "caddy_katalys_script_conflicts_total" {
			found = f.GetMetric()[0].GetCounter().GetValue() >= 1
		}
	}
	if !found {
		t.Error("caddy_katalys_script_conflicts_total missing from the second registry")
	}
}

func TestMayBePage(t *testing.T) {
	for _, tc := range []struct {
		method string
		hdr    []string
		want   bool
	}{
		{"GET", nil, true},
		{"GET", []string{"Sec-Fetch-Dest", "document"}, true},
		{"GET", []string{"Sec-Fetch-Dest", "iframe"}, true},
		{"GET", []string{"Sec-Fetch-Dest", "frame"}, true},
		{"GET", []string{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}, true},
		{"GET", []string{"Sec-Fetch-Dest", "empty"}, false},
		{"GET", []string{"Sec-Fetch-Dest", "empty", "Sec-Fetch-Mode", "cors"}, false},
		// A navigation a service worker forwarded with fetch(event.request).
		{"GET", []string{"Sec-Fetch-Dest", "empty", "Sec-Fetch-Mode", "navigate"}, true},
		{"GET", []string{"Sec-Fetch-Dest", "image"}, false},
		{"GET", []string{"Accept", "*/*"}, true},
		{"GET", []string{"Accept", "text/*"}, true},
		{"GET", []string{"Accept", "Text/Event-Stream"}, false},
		{"GET", []string{"Accept", "application/json"}, false},
		{"GET", []string{"Accept", "image/avif,image/webp"}, false},
		{"GET", []string{"Upgrade", "websocket"}, false},
		{"HEAD", nil, false},
		{"POST", nil, false},
		{"CONNECT", nil, false},
	} {
		r := request(tc.method, "http://shop.example.com/", header(tc.hdr...))
		if got := mayBePage(r); got != tc.want {
			t.Errorf("%s %v: %v, want %v", tc.method, tc.hdr, got, tc.want)
		}
	}
}

// TestJSONMatchesTheCaddyfile: a JSON config is held to the bounds the
// Caddyfile enforces, with errors that name the field.
func TestJSONMatchesTheCaddyfile(t *testing.T) {
	for _, tc := range []struct {
		name string
		app  App
		err  string
	}{
		{"concurrency too high", App{DeliverConcurrency: 100000}, "deliver_concurrency 100000: must be from 1 to 256"},
		{"negative rate", App{DeliverRate: -1}, "deliver_rate -1: must be at least 1"},
		{"negative timeout", App{DeliverTimeout: -1}, "deliver_timeout must not be negative"},
		{"wildcard alias", App{Buckets: []Bucket{{ID: "KA-1", Aliases: []string{"*.example.com"}}}}, "no wildcards"},
	} {
		a := tc.app
		if err := a.Provision(caddy.Context{}); err != nil {
			t.Fatal(err)
		}
		if err := a.Validate(); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.err)
		}
	}
	for _, tc := range []struct {
		name string
		h    Handler
		err  string
	}{
		{"capture limit too high", Handler{SiteID: "KA-1", CaptureLimit: 99999999999}, "capture_limit 99999999999: must be from 1 byte to 1 GiB"},
		{"space in a placeholder site id", Handler{SiteID: "{http.request.host} x"}, "white space"},
		{"wildcard outside a placeholder", Handler{SiteID: "{http.request.host}*"}, "no wildcards"},
	} {
		h := tc.h
		if err := h.Validate(); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.err)
		}
	}
}

// TestPlaceholderWithAPath: a placeholder may hold a path ({file.…}, Caddy
// 2.11): the checks for / and * look outside placeholders only.
func TestPlaceholderWithAPath(t *testing.T) {
	h := Handler{SiteID: "{file./etc/katalys/site_id}"}
	if err := h.Validate(); err != nil {
		t.Errorf("site_id %q: %v", h.SiteID, err)
	}
}
