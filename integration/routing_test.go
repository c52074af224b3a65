package integration

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/storeedge/caddy-katalys/tracking"
)

// TestPerDomainSites: two site blocks on one port, one per domain, each with
// its own site_id; every page carries its own site's id.
func TestPerDomainSites(t *testing.T) {
	product := storePage(t)
	up := startUpstream(t, fixedPage{header: map[string]string{"Content-Type": "text/html; charset=utf-8", "ETag": `"p1"`}, body: []byte(product)})
	port := freePort(t)
	// No bucket blocks: each distinct site_id is its own bucket.
	startCaddy(t, fmt.Sprintf(`http://a.test:%[1]d {
	katalys %[2]s
	reverse_proxy %[4]s
}

http://b.test:%[1]d {
	katalys %[3]s
	reverse_proxy %[4]s
}
`, port, siteA, siteB, hostPort(up)))

	for _, c := range []struct{ host, site string }{{"a.test", siteA}, {"b.test", siteB}, {"a.test", siteA}} {
		host := fmt.Sprintf("%s:%d", c.host, port)
		res := fetch(t, newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/products/trailhead", port), "Host", host))
		if res.status != 200 {
			t.Fatalf("%s: status %d", host, res.status)
		}
		if ids := snippetSiteIDs(res.body); !slices.Equal(ids, []string{c.site}) {
			t.Errorf("%s: snippet site ids %q, want exactly [%s]", host, ids, c.site)
		}
		checkInjected(t, host, res.body, wantInjected(t, product, wantSnippet(c.site, "")))
	}
}

// TestHostPlaceholderSite: one site with `katalys {host}` and buckets that
// list the domains as aliases; each host gets its own bucket's snippet, and
// a host that resolves to no bucket passes through untouched.
func TestHostPlaceholderSite(t *testing.T) {
	product := storePage(t)
	page := fixedPage{header: map[string]string{"Content-Type": "text/html; charset=utf-8", "ETag": `"p1"`, "Accept-Ranges": "bytes"}, body: []byte(product)}
	up := startUpstream(t, page)
	port := freePort(t)
	startCaddy(t, fmt.Sprintf(`{
	katalys {
		bucket %[2]s {
			alias a.test
		}
		bucket %[3]s {
			alias b.test
		}
	}
}

http://:%[1]d {
	katalys {host}
	reverse_proxy %[4]s
}
`, port, siteA, siteB, hostPort(up)))

	for _, c := range []struct{ host, bucket string }{{"a.test", siteA}, {"b.test", siteB}} {
		host := fmt.Sprintf("%s:%d", c.host, port)
		res := fetch(t, newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/", port), "Host", host))
		if res.status != 200 {
			t.Fatalf("%s: status %d", host, res.status)
		}
		// The snippet carries the Tracking ID of the bucket the host is an
		// alias of, not the host name.
		if ids := snippetSiteIDs(res.body); !slices.Equal(ids, []string{c.bucket}) {
			t.Errorf("%s: snippet site ids %q, want exactly [%s] (the bucket of alias %s)", host, ids, c.bucket, c.host)
		}
		checkInjected(t, host, res.body, wantInjected(t, product, wantSnippet(c.bucket, "")))
	}

	t.Run("host with no bucket passes through", func(t *testing.T) {
		host := fmt.Sprintf("c.test:%d", port)
		direct := fetch(t, newRequest(t, "GET", up.URL+"/"))
		via := fetch(t, newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/", port), "Host", host))
		checkSameAsUpstream(t, via, direct)
	})
}

// TestReloadUnderTraffic: while four clients fetch pages without pause, the
// config is reloaded five times, switching the site's site_id between two
// buckets. Every response is a 200 with exactly one snippet naming one of
// the two, no request fails, and each reload takes effect.
func TestReloadUnderTraffic(t *testing.T) {
	product := storePage(t)
	up := startUpstream(t, fixedPage{header: map[string]string{"Content-Type": "text/html; charset=utf-8", "ETag": `"p1"`}, body: []byte(product)})
	port := freePort(t)
	config := func(site string) string { return globalBuckets + katalysSite(port, site, "", hostPort(up)) }
	c := startCaddy(t, config(siteA))
	url := fmt.Sprintf("http://127.0.0.1:%d/products/trailhead", port)

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		problems []string
		counts   = map[string]int{}
		total    int
		stop     = make(chan struct{})
		stopOnce sync.Once
	)
	halt := func() {
		stopOnce.Do(func() { close(stop) })
		wg.Wait()
	}
	defer halt() // also when a reload fails the test
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", url, nil)
				for _, h := range browserHeaders {
					req.Header.Set(h[0], h[1])
				}
				res, err := tryFetch(req)
				if err != nil && (errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)) {
					// The old server closed this connection as the
					// request went out on it (its grace period), with a
					// reset or a plain close before any response: a
					// browser sends the request again, on a new
					// connection, and so does this client, once.
					res, err = tryFetch(req)
				}
				if err != nil {
					report("client %d request %d: %v", g, i, err)
					continue
				}
				ids := snippetSiteIDs(res.body)
				switch {
				case res.status != 200:
					report("client %d request %d: status %d", g, i, res.status)
				case len(ids) != 1:
					report("client %d request %d: %d snippets %q", g, i, len(ids), ids)
				case ids[0] != siteA && ids[0] != siteB:
					report("client %d request %d: site id %q", g, i, ids[0])
				case !strings.HasSuffix(strings.TrimSpace(string(res.body)), "</html>"):
					report("client %d request %d: truncated page (%d bytes)", g, i, len(res.body))
				}
				mu.Lock()
				total++
				if len(ids) == 1 {
					counts[ids[0]]++
				}
				mu.Unlock()
			}
		}()
	}

	current := siteA
	for i := range 5 {
		time.Sleep(150 * time.Millisecond) // let traffic flow on this config
		if current == siteA {
			current = siteB
		} else {
			current = siteA
		}
		c.reload(t, config(current))
		// The reload is done when `caddy reload` returns: new requests see it.
		res := fetch(t, newRequest(t, "GET", url))
		if ids := snippetSiteIDs(res.body); !slices.Equal(ids, []string{current}) {
			t.Errorf("after reload %d to %s: snippet site ids %q", i+1, current, ids)
		}
	}
	time.Sleep(150 * time.Millisecond)
	halt()

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	t.Logf("%d responses during 5 reloads: %v", total, counts)
	if counts[siteA] == 0 || counts[siteB] == 0 {
		t.Errorf("clients never saw both site ids: %v", counts)
	}
}

// TestNestedHandlersOneOwner: two katalys handlers on the /uk/ pages, as
// a katalys in a handle block under a site-wide one, or as `katalys /uk/*`
// beside a site-wide katalys in one block (Caddy puts the one with the
// matcher first). A request has one owner, the /uk/ one: the page gets its
// snippet alone and one visitor cookie, and the order is stored in its
// bucket only, where two handlers would store and deliver it twice, in two
// buckets. The other pages keep the site-wide one. The handover is logged.
func TestNestedHandlersOneOwner(t *testing.T) {
	for _, tc := range []struct {
		name, site, warning string
	}{
		{"katalys in a handle block", `
	katalys %[3]s
	handle /uk/* {
		katalys %[4]s
		reverse_proxy %[5]s
	}
	handle {
		reverse_proxy %[5]s
	}`, `"outer_site_id":"` + siteA + `"`},
		{"site-wide katalys with a matcher, and one in a handle block", `
	katalys /* %[3]s
	handle /uk/* {
		katalys %[4]s
		reverse_proxy %[5]s
	}
	handle {
		reverse_proxy %[5]s
	}`, `"outer_site_id":"` + siteA + `"`},
		{"katalys with a matcher beside one without", `
	katalys %[3]s
	katalys /uk/* %[4]s
	reverse_proxy %[5]s`, `"scoped_site_id":"` + siteB + `"`},
	} {
		t.Run(tc.name, func(t *testing.T) { checkOneOwner(t, tc.site, tc.warning) })
	}
}

func checkOneOwner(t *testing.T, site, warning string) {
	dir := t.TempDir()
	pages := map[string]string{
		"/uk/checkout/order-received/10482/": readFixture(t, "08_woocommerce_classic_markup_only_gbp.html"),
		"/checkout/order-received/10483/":    strings.ReplaceAll(readFixture(t, "08_woocommerce_classic_markup_only_gbp.html"), "GC-10482", "GC-10483"),
	}
	upstream := thankYouUpstream(t, pages, nil)
	port := freePort(t)
	c := startCaddy(t, fmt.Sprintf(`{
	katalys {
		storage %[1]s
		bucket %[3]s
		bucket %[4]s
	}
}

http://127.0.0.1:%[2]d {`+site+`
}
`, dir, port, siteA, siteB, upstream))
	for path, want := range map[string]string{"/uk/checkout/order-received/10482/": siteB, "/checkout/order-received/10483/": siteA} {
		res := fetch(t, newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d%s", port, path),
			"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/132.0", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Dest", "document"))
		if res.status != 200 {
			t.Fatalf("%s: status %d", path, res.status)
		}
		if ids := snippetSiteIDs(res.body); !slices.Equal(ids, []string{want}) {
			t.Errorf("%s: snippet site ids %q, want exactly [%s]", path, ids, want)
		}
		servedThankYou(t, path, pages[path], res.body)
		var visitorCookies int
		for _, ck := range (&http.Response{Header: res.header}).Cookies() {
			if ck.Name == tracking.VisitorCookie {
				visitorCookies++
			}
		}
		if visitorCookies != 1 {
			t.Errorf("%s: %d visitor cookies set, want 1: %q", path, visitorCookies, res.header.Values("Set-Cookie"))
		}
	}
	stopCaddy(t, c)
	if got := c.output.String(); !strings.Contains(got, warning) {
		t.Errorf("no warning with %s logged for the two handlers", warning)
	}
	if o := storedOrders(t, dir, siteA); len(o) != 1 || o["GC-10483"].ID == "" {
		t.Errorf("orders of %s: %v, want GC-10483 alone", siteA, o)
	}
	if o := storedOrders(t, dir, siteB); len(o) != 1 || o["GC-10482"].ID == "" {
		t.Errorf("orders of %s: %v, want GC-10482 alone", siteB, o)
	}
}
