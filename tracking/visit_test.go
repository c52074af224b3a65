package tracking

import (
	"crypto/tls"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	chromeUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	vid      = "0123456789abcdef0123456789abcdef"
	sid      = "fedcba9876543210fedcba9876543210"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// page returns a browser navigation to target carrying the given cookies.
func page(target string, cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Header.Set("User-Agent", chromeUA)
	r.Header.Set("Sec-Fetch-Mode", "navigate")
	r.Header.Set("Sec-Fetch-Dest", "document")
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

func visitorCookie(v string) *http.Cookie { return &http.Cookie{Name: VisitorCookie, Value: v} }

func sessionCookie(id string, seen time.Time) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: id + "." + strconv.FormatInt(seen.Unix(), 10)}
}

func TestObserveSessions(t *testing.T) {
	tests := []struct {
		name        string
		req         *http.Request
		newVisitor  bool
		newSession  bool
		wantVisitor string // "" when a new one is expected
		wantSession string
	}{
		{
			name:       "new visitor",
			req:        page("/"),
			newVisitor: true, newSession: true,
		},
		{
			name:       "new visitor with a stale session cookie",
			req:        page("/", sessionCookie(sid, now.Add(-time.Minute))),
			newVisitor: true, newSession: true,
		},
		{
			name:        "returning within 30 minutes",
			req:         page("/cart", visitorCookie(vid), sessionCookie(sid, now.Add(-29*time.Minute))),
			wantVisitor: vid, wantSession: sid,
		},
		{
			name:        "returning exactly 30 minutes later",
			req:         page("/cart", visitorCookie(vid), sessionCookie(sid, now.Add(-30*time.Minute))),
			wantVisitor: vid, wantSession: sid,
		},
		{
			name:        "returning after 31 minutes",
			req:         page("/cart", visitorCookie(vid), sessionCookie(sid, now.Add(-31*time.Minute))),
			wantVisitor: vid, newSession: true,
		},
		{
			name:        "returning without a session cookie",
			req:         page("/cart", visitorCookie(vid)),
			wantVisitor: vid, newSession: true,
		},
		{
			name:        "landing with utm parameters resets the session",
			req:         page("/?utm_source=Katalys", visitorCookie(vid), sessionCookie(sid, now.Add(-time.Minute))),
			wantVisitor: vid, newSession: true,
		},
		{
			name:        "landing with a click id resets the session",
			req:         page("/p?transaction_id=abc123&offer_id=7", visitorCookie(vid), sessionCookie(sid, now)),
			wantVisitor: vid, newSession: true,
		},
		{
			name:        "unrelated query keeps the session",
			req:         page("/p?page=2&utm_source=", visitorCookie(vid), sessionCookie(sid, now)),
			wantVisitor: vid, wantSession: sid,
		},
		{
			name:        "last seen slightly ahead of the clock",
			req:         page("/", visitorCookie(vid), sessionCookie(sid, now.Add(59*time.Second))),
			wantVisitor: vid, wantSession: sid,
		},
		{
			name:        "last seen far in the future",
			req:         page("/", visitorCookie(vid), sessionCookie(sid, now.Add(2*time.Minute))),
			wantVisitor: vid, newSession: true,
		},
		{
			name:       "malformed visitor cookie",
			req:        page("/", visitorCookie("not-an-id"), sessionCookie(sid, now)),
			newVisitor: true, newSession: true,
		},
		{
			name:       "upper-case visitor cookie",
			req:        page("/", visitorCookie(strings.ToUpper(vid)), sessionCookie(sid, now)),
			newVisitor: true, newSession: true,
		},
		{
			name:       "visitor cookie too long",
			req:        page("/", visitorCookie(vid+"0"), sessionCookie(sid, now)),
			newVisitor: true, newSession: true,
		},
		{
			name:        "first of two visitor cookies malformed",
			req:         page("/", visitorCookie("x"), visitorCookie(vid), sessionCookie(sid, now)),
			wantVisitor: vid, wantSession: sid,
		},
		{
			name:        "session cookie without a time",
			req:         page("/", visitorCookie(vid), &http.Cookie{Name: SessionCookie, Value: sid}),
			wantVisitor: vid, newSession: true,
		},
		{
			name:        "session cookie with a bad time",
			req:         page("/", visitorCookie(vid), &http.Cookie{Name: SessionCookie, Value: sid + ".12x"}),
			wantVisitor: vid, newSession: true,
		},
		{
			name:        "session cookie with a zero time",
			req:         page("/", visitorCookie(vid), &http.Cookie{Name: SessionCookie, Value: sid + ".0"}),
			wantVisitor: vid, newSession: true,
		},
		{
			name:        "session cookie with a bad id",
			req:         page("/", visitorCookie(vid), &http.Cookie{Name: SessionCookie, Value: "abc." + strconv.FormatInt(now.Unix(), 10)}),
			wantVisitor: vid, newSession: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Observe(tt.req, "203.0.113.7", now, Policy{}, false)
			if !v.Record || v.Skip != "" {
				t.Fatalf("Record=%v Skip=%q, want a counted page", v.Record, v.Skip)
			}
			if v.NewVisitor != tt.newVisitor || v.NewSession != tt.newSession {
				t.Errorf("NewVisitor=%v NewSession=%v, want %v %v", v.NewVisitor, v.NewSession, tt.newVisitor, tt.newSession)
			}
			checkID(t, "visitor", v.Visitor, tt.wantVisitor)
			checkID(t, "session", v.Session, tt.wantSession)
			if tt.wantVisitor == "" && v.Visitor == vid {
				t.Errorf("visitor id %s reused from a cookie that should be ignored", vid)
			}
			if tt.wantSession == "" && v.Session == sid {
				t.Errorf("session id %s reused from a cookie that should be ignored", sid)
			}
			if v.Visitor == v.Session {
				t.Errorf("visitor and session ids are both %s", v.Visitor)
			}
			if v.ClientIP != "203.0.113.7" {
				t.Errorf("ClientIP = %q", v.ClientIP)
			}
		})
	}
}

// checkID checks that got is want, or a fresh id when want is "".
func checkID(t *testing.T, what, got, want string) {
	t.Helper()
	if want != "" && got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
	if !isID(got) {
		t.Errorf("%s = %q, not 32 lower-case hex digits", what, got)
	}
}

func TestNewIDsDiffer(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		id := newID()
		if !isID(id) || seen[id] {
			t.Fatalf("newID() = %q (seen before: %v)", id, seen[id])
		}
		seen[id] = true
	}
}

func TestObserveCookies(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run("tls="+strconv.FormatBool(tlsOn), func(t *testing.T) {
			// A returning visitor whose session has ended: a new session,
			// both cookies.
			r := page("/", visitorCookie(vid), sessionCookie(sid, now.Add(-40*time.Minute)))
			if tlsOn {
				r.TLS = &tls.ConnectionState{}
			}
			v := Observe(r, "", now, Policy{}, false)
			if len(v.Cookies) != 2 || !v.NewSession {
				t.Fatalf("got %d cookies (new session %v), want 2", len(v.Cookies), v.NewSession)
			}
			want := []struct {
				name, value string
				maxAge      int
			}{
				{VisitorCookie, vid, 400 * 24 * 3600},
				{SessionCookie, v.Session + "." + strconv.FormatInt(now.Unix(), 10), 30 * 60},
			}
			for i, c := range v.Cookies {
				w := want[i]
				if c.Name != w.name || c.Value != w.value || c.MaxAge != w.maxAge {
					t.Errorf("cookie %d = %s=%s Max-Age %d, want %s=%s Max-Age %d", i, c.Name, c.Value, c.MaxAge, w.name, w.value, w.maxAge)
				}
				if c.Path != "/" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != tlsOn || c.Domain != "" {
					t.Errorf("cookie %s attributes: %s", c.Name, c)
				}
				if err := c.Valid(); err != nil {
					t.Errorf("cookie %s invalid: %v", c.Name, err)
				}
			}
			line := v.Cookies[0].String()
			for _, attr := range []string{"Path=/", "Max-Age=34560000", "HttpOnly", "SameSite=Lax"} {
				if !strings.Contains(line, attr) {
					t.Errorf("Set-Cookie %q lacks %s", line, attr)
				}
			}
			if strings.Contains(line, "Secure") != tlsOn {
				t.Errorf("Set-Cookie %q: Secure should be %v", line, tlsOn)
			}
		})
	}
}

// TestObserveRenewsCookiesSparingly: within a session, a page sets no
// cookie until the session cookie is sessionRenew old, then renews that
// one alone; a Set-Cookie on every page kept the store's no-store pages
// out of the browser's back/forward cache.
func TestObserveRenewsCookiesSparingly(t *testing.T) {
	for _, tc := range []struct {
		name  string
		seen  time.Duration // how long ago the session cookie was set
		names []string
	}{
		{"a minute into the session", time.Minute, nil},
		{"just under the renewal age", sessionRenew - time.Second, nil},
		{"at the renewal age", sessionRenew, []string{SessionCookie}},
		{"ten minutes on", 10 * time.Minute, []string{SessionCookie}},
		{"session over", 31 * time.Minute, []string{VisitorCookie, SessionCookie}},
	} {
		v := Observe(page("/next", visitorCookie(vid), sessionCookie(sid, now.Add(-tc.seen))), "", now, Policy{}, false)
		var names []string
		for _, c := range v.Cookies {
			names = append(names, c.Name)
		}
		if !slices.Equal(names, tc.names) {
			t.Errorf("%s: cookies %q, want %q", tc.name, names, tc.names)
		}
	}
}

// TestObserveRoundTrip follows a visitor through pages: the cookies set by
// one page are kept by the browser and sent back on the next, and the
// session lasts while the visitor stays active.
func TestObserveRoundTrip(t *testing.T) {
	at := now
	first := Observe(page("/"), "", at, Policy{}, false)
	if !first.NewVisitor || !first.NewSession {
		t.Fatalf("first page: %+v", first)
	}
	jar := map[string]*http.Cookie{}
	keep := func(cs []*http.Cookie) []*http.Cookie {
		for _, c := range cs {
			jar[c.Name] = c
		}
		var all []*http.Cookie
		for _, c := range jar {
			all = append(all, c)
		}
		return all
	}
	cookies := keep(first.Cookies)
	for _, step := range []time.Duration{2 * time.Minute, 20 * time.Minute, 25 * time.Minute, time.Minute} {
		at = at.Add(step)
		v := Observe(page("/next", cookies...), "", at, Policy{}, false)
		if v.NewVisitor || v.NewSession || v.Visitor != first.Visitor || v.Session != first.Session {
			t.Fatalf("after %v: %+v, want the first page's visitor and session", step, v)
		}
		cookies = keep(v.Cookies)
	}
	at = at.Add(31 * time.Minute)
	v := Observe(page("/later", cookies...), "", at, Policy{}, false)
	if v.NewVisitor || !v.NewSession || v.Visitor != first.Visitor {
		t.Fatalf("after 31 idle minutes: %+v, want the same visitor in a new session", v)
	}
}

func TestObserveNotCounted(t *testing.T) {
	withHeader := func(r *http.Request, kv ...string) *http.Request {
		for i := 0; i < len(kv); i += 2 {
			r.Header.Set(kv[i], kv[i+1])
		}
		return r
	}
	live := func() *http.Request {
		return page("/?utm_source=x", visitorCookie(vid), sessionCookie(sid, now.Add(-time.Minute)))
	}
	tests := []struct {
		name       string
		req        *http.Request
		policy     Policy
		skip       string
		ids        bool // the cookie ids are reported
		wantClient string
	}{
		{"bot", withHeader(live(), "User-Agent", "Googlebot/2.1 (+http://www.google.com/bot.html)"), Policy{}, SkipBot, true, "203.0.113.7"},
		{"empty user agent", withHeader(live(), "User-Agent", ""), Policy{}, SkipBot, true, "203.0.113.7"},
		{"prefetch", withHeader(live(), "Sec-Purpose", "prefetch"), Policy{}, SkipPrefetch, true, "203.0.113.7"},
		{"prerender", withHeader(live(), "Sec-Purpose", "prefetch;prerender"), Policy{}, SkipPrefetch, true, "203.0.113.7"},
		{"fetch", withHeader(live(), "Sec-Fetch-Mode", "cors", "Sec-Fetch-Dest", "empty"), Policy{TruncateIP: true}, SkipNotNavigation, true, "203.0.113.0"},
		{"image", withHeader(live(), "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Dest", "image"), Policy{}, SkipNotNavigation, true, "203.0.113.7"},
		{"gpc", withHeader(live(), "Sec-GPC", "1"), Policy{PrivacyGPC: true}, SkipPrivacy, false, ""},
		{"dnt", withHeader(live(), "DNT", "1"), Policy{PrivacyGPC: true}, SkipPrivacy, false, ""},
		{"privacy before bot", withHeader(live(), "DNT", "1", "User-Agent", ""), Policy{PrivacyGPC: true}, SkipPrivacy, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Observe(tt.req, "203.0.113.7", now, tt.policy, false)
			if v.Record || v.Skip != tt.skip {
				t.Fatalf("Record=%v Skip=%q, want not counted for %q", v.Record, v.Skip, tt.skip)
			}
			if v.Cookies != nil || v.Click != nil || v.NewVisitor || v.NewSession {
				t.Errorf("not counted yet got cookies %v, click %v, new %v/%v", v.Cookies, v.Click, v.NewVisitor, v.NewSession)
			}
			wantV, wantS := "", ""
			if tt.ids {
				wantV, wantS = vid, sid
			}
			if v.Visitor != wantV || v.Session != wantS || v.ClientIP != tt.wantClient {
				t.Errorf("Visitor=%q Session=%q ClientIP=%q, want %q %q %q", v.Visitor, v.Session, v.ClientIP, wantV, wantS, tt.wantClient)
			}
		})
	}
}

func TestObserveNotCountedExpiredSession(t *testing.T) {
	r := page("/", visitorCookie(vid), sessionCookie(sid, now.Add(-time.Hour)))
	r.Header.Set("Sec-Fetch-Mode", "cors")
	v := Observe(r, "", now, Policy{}, false)
	if v.Visitor != vid || v.Session != "" {
		t.Errorf("Visitor=%q Session=%q, want %q and no session", v.Visitor, v.Session, vid)
	}
}

func TestObservePolicy(t *testing.T) {
	r := page("/?transaction_id=abc&utm_campaign=fall", visitorCookie(vid))
	r.Header.Set("Sec-GPC", "1")
	// Opting out means nothing without `privacy gpc`.
	v := Observe(r, "2001:db8:1234:5678::1", now, Policy{TruncateIP: true}, false)
	if !v.Record || v.ClientIP != "2001:db8:1234::" {
		t.Errorf("Record=%v ClientIP=%q, want counted with 2001:db8:1234::", v.Record, v.ClientIP)
	}
	want := map[string]string{"transaction_id": "abc", "utm_campaign": "fall"}
	if !maps.Equal(v.Click, want) {
		t.Errorf("Click = %v, want %v", v.Click, want)
	}
}

// TestObserveNoLanding: click parameters on a navigation within the store,
// or on a thank-you page, are no click and start no session; the same URL
// from another site, or from a browser that sends no fetch metadata, is a
// landing.
func TestObserveNoLanding(t *testing.T) {
	for _, tc := range []struct {
		name      string
		site      string // Sec-Fetch-Site; "" for none
		orderPage bool
		landing   bool
	}{
		{"from another site", "cross-site", false, true},
		{"typed or bookmarked", "none", false, true},
		{"from a sibling subdomain", "same-site", false, true},
		{"no fetch metadata", "", false, true},
		{"the store's own link", "same-origin", false, false},
		{"the store's own link, odd case", " Same-Origin ", false, false},
		{"forwarded by the store's service worker", "same-origin+sw", false, true},
		{"a gateway's return to the thank-you page", "cross-site", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := page("/product?offer_id=bundle-3&transaction_id=4411902&utm_source=menu",
				visitorCookie(vid), sessionCookie(sid, now.Add(-time.Minute)))
			if site, sw := strings.CutSuffix(tc.site, "+sw"); sw {
				r.Header.Set("Sec-Fetch-Site", site)
				r.Header.Set("Sec-Fetch-Dest", "empty")
			} else if tc.site != "" {
				r.Header.Set("Sec-Fetch-Site", tc.site)
			}
			v := Observe(r, "", now, Policy{}, tc.orderPage)
			if !v.Record {
				t.Fatalf("not counted: %q", v.Skip)
			}
			if got := v.Click != nil; got != tc.landing {
				t.Errorf("click %v, want a click: %v", v.Click, tc.landing)
			}
			if v.NewSession != tc.landing || (v.Session == sid) == tc.landing {
				t.Errorf("session %s (new %v), want a new one: %v", v.Session, v.NewSession, tc.landing)
			}
		})
	}
}
