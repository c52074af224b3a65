package module

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// chain runs handler h with next after it, as Caddy's route does.
type chain struct {
	h    *Handler
	next caddyhttp.Handler
}

func (c chain) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	return c.h.ServeHTTP(w, r, c.next)
}

// withVars gives r the request variables Caddy's server sets up.
func withVars(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{}))
}

// TestNestedHandlers: of two katalys handlers on one request the inner one
// (nearest the upstream) handles it and the outer one passes its response
// through, unless the outer one is scoped (has a matcher of its own); an
// inner one whose site id resolves to no bucket leaves the request to the
// outer one.
func TestNestedHandlers(t *testing.T) {
	page := "<html><head></head><body><p>hello</p></body></html>"
	for _, tc := range []struct {
		name, inner, host, want, notWant string
		scoped                           bool // the outer one has a matcher of its own, beside the inner one
	}{
		{"inner owns", "KA-2", "shop.example.com", `"KA-2"`, `"KA-1"`, false},
		{"unresolved inner", "{http.request.host}", "unknown.example.org", `"KA-1"`, `"KA-2"`, false},
		{"scoped sibling keeps", "KA-2", "shop.example.com", `"KA-1"`, `"KA-2"`, true},
	} {
		outer := provision(t, testApp, "KA-1", "")
		outer.Scoped = tc.scoped
		inner := provision(t, testApp, tc.inner, "")
		if tc.scoped {
			outer.Block, inner.Block = 1, 1 // siblings in one Caddyfile block
		}
		req := withVars(request("GET", "http://"+tc.host+"/uk/", nil))
		rec := httptest.NewRecorder()
		if err := outer.ServeHTTP(rec, req, chain{inner, upstream{status: 200, header: htmlHeader, body: []byte(page)}}); err != nil {
			t.Fatal(err)
		}
		body := rec.Body.String()
		if strings.Count(body, tc.want) != 1 || strings.Contains(body, tc.notWant) || strings.Count(body, "_revoffers_track.site_id") != 1 {
			t.Errorf("%s: body %q, want the snippet of %s once and none of %s", tc.name, body, tc.want, tc.notWant)
		}
	}
}
