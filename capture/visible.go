package capture

import (
	"bytes"
	"slices"
	"strings"
)

// fromVisibleEmail finds the customer's email address where a thank-you
// page prints it in its text ("We've emailed your receipt to
// <strong>rosa@example.com</strong>"), the last resort for the email. It
// skips the addresses a page shows besides the customer's: those inside
// tags (input placeholders, data attributes), scripts and styles, the
// text of mailto links (the store's contact address), addresses at the
// domain of a mailto link, role addresses (help@, orders@, …) and those in
// the page's footer, navigation and sidebars (<footer>, <nav>, <aside>),
// where a store prints its own contact address. It gives an email only, so
// it never makes an order by itself.
func fromVisibleEmail(p *Page) *Order {
	raw := p.Raw
	if bytes.IndexByte(raw, '@') < 0 {
		return nil
	}
	var store []string // domains of mailto: links
	for i := 0; ; {
		j := bytes.Index(raw[i:], []byte("mailto:"))
		if j < 0 {
			break
		}
		i += j + len("mailto:")
		if len(store) == maxAtSigns {
			break
		}
		if e := emailAt(raw, i+bytes.IndexByte(raw[i:min(len(raw), i+256)], '@')); e != "" {
			store = append(store, strings.ToLower(e[strings.IndexByte(e, '@')+1:]))
		}
	}
	var chrome [][2]int // found when a first address needs them
	chromeFound := false
	for i, tries := 0, 0; i < len(raw) && tries < maxAtSigns; tries++ {
		j := bytes.IndexByte(raw[i:], '@')
		if j < 0 {
			break
		}
		at := i + j
		i = at + 1
		e := emailAt(raw, at)
		if e == "" || !inText(raw, at) || roleAddress(e) {
			continue
		}
		domain := strings.ToLower(e[strings.IndexByte(e, '@')+1:])
		if slices.Contains(store, domain) {
			continue
		}
		if !chromeFound {
			chrome, chromeFound = chromeSpans(raw), true
		}
		if slices.ContainsFunc(chrome, func(r [2]int) bool { return r[0] <= at && at < r[1] }) {
			continue
		}
		return &Order{Email: e, Source: "text"}
	}
	return nil
}

// chromeElements are the elements in which a page prints the store's own
// details rather than the order's.
var chromeElements = [...]string{"footer", "nav", "aside"}

// maxChromeSpans bounds the spans chromeSpans keeps.
const maxChromeSpans = 64

// chromeSpans returns the byte spans of the page's chromeElements, each from
// its start tag to its first end tag (or the end of the page), in one
// forward search per element name.
func chromeSpans(raw []byte) [][2]int {
	var spans [][2]int
	for _, name := range chromeElements {
		open, end := "<"+name, "</"+name
		for i := 0; i < len(raw) && len(spans) < maxChromeSpans; {
			j := indexStr(raw[i:], open)
			if j < 0 {
				break
			}
			start, k := i+j, i+j+len(open)
			if k < len(raw) && !isSpaceByte(raw[k]) && raw[k] != '>' && raw[k] != '/' {
				i = k // <navbar>, <asides>: another element
				continue
			}
			stop := len(raw)
			if e := indexStr(raw[k:], end); e >= 0 {
				stop = k + e
			}
			spans = append(spans, [2]int{start, stop})
			i = stop
		}
	}
	return spans
}

// maxAtSigns bounds the '@' looked at, and lookBack how far before one
// its context is read: together they keep the cost linear on any page.
const (
	maxAtSigns = 256
	lookBack   = 4096
)

// emailAt returns the email address around the '@' at raw[at], or "".
func emailAt(raw []byte, at int) string {
	if at <= 0 || at >= len(raw) || raw[at] != '@' {
		return ""
	}
	start := at
	for start > 0 && start > at-64 && isLocalChar(raw[start-1]) {
		start--
	}
	end := at + 1
	for end < len(raw) && end < at+255 && isDomainChar(raw[end]) {
		end++
	}
	for end > at+1 && raw[end-1] == '.' {
		end-- // the full stop ending a sentence
	}
	return Email(string(raw[start:end]))
}

func isLocalChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".!#$%&'*+/=?^_`{|}~-", c) >= 0
}

func isDomainChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
}

// inText reports whether raw[at] is in the text of an element other than
// a script, a style or a mailto link, and not inside a tag or a comment,
// judging from the lookBack bytes before it.
func inText(raw []byte, at int) bool {
	if at > lookBack {
		raw, at = raw[at-lookBack:], lookBack
	}
	lt := bytes.LastIndexByte(raw[:at], '<')
	gt := bytes.LastIndexByte(raw[:at], '>')
	if lt < 0 || lt > gt {
		return false // inside a tag (an attribute value), or before any tag
	}
	// In a comment? Comments end at the first "-->": look back from the
	// tag before the address to its comment opener, if any.
	if c := lastCommentOpen(raw[:lt+1]); c >= 0 && !bytes.Contains(raw[c:at], []byte("-->")) {
		return false
	}
	tag := raw[lt:gt]
	for _, name := range []string{"<script", "<style", "<textarea", "<title"} {
		if len(tag) >= len(name) && bytes.EqualFold(tag[:len(name)], []byte(name)) {
			return false
		}
	}
	return !bytes.Contains(tag, []byte("mailto:"))
}

// lastCommentOpen returns the index of the last "<!--" in b, looking at
// its '<' bytes from the end (bytes.LastIndex hashes the whole prefix).
func lastCommentOpen(b []byte) int {
	for i := len(b); ; {
		j := bytes.LastIndexByte(b[:i], '<')
		if j < 0 {
			return -1
		}
		if bytes.HasPrefix(b[j:], []byte("<!--")) {
			return j
		}
		i = j
	}
}

// roleAddress reports whether e is a role address a store prints for
// itself rather than a customer's.
func roleAddress(e string) bool {
	local := strings.ToLower(e[:strings.IndexByte(e, '@')])
	switch local {
	case "help", "support", "info", "contact", "hello", "orders", "order", "sales", "service",
		"customerservice", "care", "shop", "store", "admin", "webmaster", "privacy", "billing",
		"noreply", "no-reply", "donotreply", "do-not-reply", "you", "your", "name", "email", "example":
		return true
	}
	return false
}
