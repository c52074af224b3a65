// Package examples holds the demo Caddyfile and storefront; this test keeps
// them working as the plugin changes.
package examples

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/storeedge/caddy-katalys"
)

// TestDemoCaddyfile adapts examples/Caddyfile with the plugin, as
// `caddy run --config examples/Caddyfile` does, and checks that it is
// `caddy fmt`-clean and wires the katalys handler and the storefront.
func TestDemoCaddyfile(t *testing.T) {
	body, err := os.ReadFile("Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	if formatted := caddyfile.Format(body); !bytes.Equal(formatted, body) {
		t.Errorf("examples/Caddyfile is not caddy fmt-clean; run: go run ./cmd/caddy fmt --overwrite examples/Caddyfile")
	}

	adapter := caddyconfig.GetAdapter("caddyfile")
	cfgJSON, warnings, err := adapter.Adapt(body, map[string]any{"filename": "examples/Caddyfile"})
	if err != nil {
		t.Fatalf("adapting examples/Caddyfile: %v", err)
	}
	for _, w := range warnings {
		t.Errorf("adapting examples/Caddyfile: warning: %s", w.String())
	}
	cfg := string(cfgJSON)
	for _, want := range []string{
		`"handler":"katalys"`,
		`"site_id":"KA-7Q2M9X4B1Z"`,
		`"script_src":"/katalys-demo.js"`,
		`"root":"examples/storefront"`,
		`"listen":["127.0.0.1:8080"]`,
		`"listen":["127.0.0.1:8081"]`,
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("adapted config lacks %s:\n%s", want, cfg)
		}
	}

	// The katalys app gets the demo bucket and its aliases.
	var parsed struct {
		Apps struct {
			Katalys struct {
				Buckets []struct {
					ID      string   `json:"id"`
					Aliases []string `json:"aliases"`
				} `json:"buckets"`
			} `json:"katalys"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(cfgJSON, &parsed); err != nil {
		t.Fatal(err)
	}
	if b := parsed.Apps.Katalys.Buckets; len(b) != 1 || b[0].ID != "KA-7Q2M9X4B1Z" || strings.Join(b[0].Aliases, " ") != "localhost 127.0.0.1" {
		t.Errorf("katalys app buckets = %+v, want KA-7Q2M9X4B1Z with aliases localhost 127.0.0.1", b)
	}
}

// TestStorefront checks the pages the README and the demo Caddyfile point
// at. The root in the Caddyfile is relative to the repository root.
func TestStorefront(t *testing.T) {
	pages := map[string][]string{
		"index.html":                              {"</body>", "/product/kyoto-sencha/", "/cart/"},
		"product/kyoto-sencha/index.html":         {"</body>", `"sku": "FH-SEN-100"`},
		"cart/index.html":                         {"</body>", "/checkout/order-received/1042/"},
		"checkout/order-received/1042/index.html": {"</body>", `event: "purchase"`, `transaction_id: "1042"`, "woocommerce-order-overview__order"},
		"katalys-demo.js":                         {"Katalys script loaded", "_revoffers_track", "site_id"},
		"assets/style.css":                        {".woocommerce-order-overview"},
		"assets/favicon.svg":                      {"<svg"},
	}
	for name, wants := range pages {
		b, err := os.ReadFile(filepath.Join("storefront", filepath.FromSlash(name)))
		if err != nil {
			t.Errorf("storefront: %v", err)
			continue
		}
		for _, want := range wants {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("storefront/%s lacks %q", name, want)
			}
		}
		if strings.HasSuffix(name, ".html") && bytes.Contains(b, []byte("revoffers.com/js/")) {
			t.Errorf("storefront/%s loads the Katalys script itself; the demo relies on the proxy to inject it", name)
		}
	}
}
