package tracking

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	// VisitorCookie holds the visitor id: 128 random bits in lower-case hex.
	VisitorCookie = "_katalys_vid"
	// SessionCookie holds "<session id>.<last seen, unix seconds>". The
	// last-seen time lives in the cookie so that idle sessions can be ended
	// without any server-side session state.
	SessionCookie = "_katalys_sid"
)

const (
	// visitorMaxAge is 400 days, the longest lifetime Chromium keeps; the
	// cookie is renewed on every counted page, so an active visitor keeps
	// their id indefinitely.
	visitorMaxAge = 400 * 24 * time.Hour
	// sessionIdle ends a session after 30 minutes without a counted page,
	// the usual web analytics definition.
	sessionIdle = 30 * time.Minute
	// clockSkew tolerates a last-seen time slightly ahead of now, as happens
	// when several Caddy instances with imperfect clocks serve one visitor.
	clockSkew = time.Minute
	// sessionRenew is how old the session cookie's last-seen time gets
	// before a page renews it. Setting cookies on every page would keep
	// the store's Cache-Control: no-store pages out of the browser's
	// back/forward cache (Chromium restores them only if no HttpOnly
	// cookie changed meanwhile); the price is that a session ends after
	// 25 to 30 idle minutes instead of exactly 30.
	sessionRenew = 5 * time.Minute
)

// Reasons a request is not counted, as found in Visit.Skip.
const (
	SkipBot           = "bot"
	SkipPrefetch      = "prefetch"
	SkipNotNavigation = "not_navigation"
	SkipPrivacy       = "privacy"
)

// Policy is the per-bucket privacy configuration.
type Policy struct {
	// PrivacyGPC honours Sec-GPC and DNT: such visitors get no cookie and
	// nothing of theirs is recorded (Caddyfile `privacy gpc`).
	PrivacyGPC bool
	// TruncateIP keeps only the network part of client addresses: IPv4 /24
	// and IPv6 /48 (Caddyfile `ip truncate`).
	TruncateIP bool
}

// Visit is what Observe makes of a page request.
type Visit struct {
	// Record reports whether the request counts as a page view.
	Record bool
	// Skip says why a request is not counted: one of the Skip* constants.
	// It is empty when Record is true.
	Skip string

	// Visitor is the visitor id. On a counted request it is always set;
	// otherwise it is the id the visitor cookie carries, or empty.
	Visitor    string
	NewVisitor bool
	// Session is the session id. On a counted request it is always set;
	// otherwise it is the id of a session cookie that is still live, or
	// empty.
	Session    string
	NewSession bool

	// Click holds the click and utm parameters of a counted landing; nil
	// when it has none.
	Click map[string]string
	// ClientIP is the client address, truncated under Policy.TruncateIP.
	ClientIP string
	// Cookies are to be set on the response: both on the first page of a
	// session, the session cookie again once it is sessionRenew old, none
	// otherwise. Only counted requests get cookies, so bots and
	// prefetches never mint visitors.
	Cookies []*http.Cookie
}

// Observe classifies a page request and works out the visitor and session
// from its cookies at time now. clientIP is the client address the caller
// trusts (Caddy's client_ip). orderPage marks a thank-you page, which is
// never a landing (see IsLanding).
//
// An opted-out visitor under Policy.PrivacyGPC gets a Visit with only Skip
// set: no ids, no address, no cookies. Other requests that do not count
// still report the ids their cookies carry, so that collect requests (which
// are fetches, not navigations) can be tied to their visitor and session.
func Observe(r *http.Request, clientIP string, now time.Time, p Policy, orderPage bool) Visit {
	if p.PrivacyGPC && OptedOut(r.Header) {
		return Visit{Skip: SkipPrivacy}
	}
	v := Visit{ClientIP: clientIP}
	if p.TruncateIP {
		v.ClientIP = TruncateIP(clientIP)
	}
	v.Visitor = visitorFromCookie(r)
	sid, seen, ok := sessionFromCookie(r)
	if ok && sessionLive(seen, now) {
		v.Session = sid
	}
	switch {
	case IsBot(r.UserAgent()):
		v.Skip = SkipBot
	case IsPrefetch(r.Header):
		v.Skip = SkipPrefetch
	case !IsNavigation(r):
		v.Skip = SkipNotNavigation
	}
	if v.Skip != "" {
		return v
	}
	v.Record = true
	if r.URL.RawQuery != "" && !orderPage && IsLanding(r) {
		v.Click = ClickParams(r.URL.Query())
	}
	if v.Visitor == "" {
		v.Visitor, v.NewVisitor = newID(), true
	}
	if v.NewVisitor || v.Session == "" || v.Click != nil {
		v.Session, v.NewSession = newID(), true
	}
	secure := r.TLS != nil
	if v.NewSession {
		// Each visit renews the visitor cookie for another 400 days.
		v.Cookies = append(v.Cookies, newCookie(VisitorCookie, v.Visitor, visitorMaxAge, secure))
	}
	if v.NewSession || now.Sub(seen) >= sessionRenew {
		v.Cookies = append(v.Cookies, newCookie(SessionCookie, v.Session+"."+strconv.FormatInt(now.Unix(), 10), sessionIdle, secure))
	}
	return v
}

// sessionLive reports whether a session last seen at seen may go on at now.
// A last-seen time far in the future is as suspect as a malformed one.
func sessionLive(seen, now time.Time) bool {
	return now.Sub(seen) <= sessionIdle && seen.Sub(now) <= clockSkew
}

// visitorFromCookie returns the first well-formed visitor id among the
// request's visitor cookies (a stale cookie for another path may come
// first), or "".
func visitorFromCookie(r *http.Request) string {
	for _, c := range r.CookiesNamed(VisitorCookie) {
		if isID(c.Value) {
			return c.Value
		}
	}
	return ""
}

// sessionFromCookie returns the first well-formed session cookie's id and
// last-seen time.
func sessionFromCookie(r *http.Request) (id string, seen time.Time, ok bool) {
	for _, c := range r.CookiesNamed(SessionCookie) {
		id, ts, found := strings.Cut(c.Value, ".")
		if !found || !isID(id) {
			continue
		}
		secs, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || secs <= 0 {
			continue
		}
		return id, time.Unix(secs, 0), true
	}
	return "", time.Time{}, false
}

// newID returns 128 random bits in lower-case hex.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails; crypto/rand crashes the program instead
	return hex.EncodeToString(b[:])
}

// isID reports whether s is an id as newID makes them. Only lower-case is
// accepted so that one visitor cannot be recorded under two spellings.
func isID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// newCookie makes a first-party cookie that scripts cannot read (HttpOnly)
// and that cross-site subrequests do not carry (SameSite=Lax), while
// top-level navigations from affiliate links still do.
func newCookie(name, value string, maxAge time.Duration, secure bool) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   int(maxAge / time.Second),
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	}
}
