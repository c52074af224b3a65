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
// domain of a mailto link, and role addresses (help@, orders@, …). It
// gives an email only, so it never makes an order by itself.
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
		if e := emailAt(raw, i+bytes.IndexByte(raw[i:min(len(raw), i+256)], '@')); e != "" {
			store = append(store, strings.ToLower(e[strings.IndexByte(e, '@')+1:]))
		}
	}
	for i := 0; i < len(raw); {
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
		return &Order{Email: e, Source: "text"}
	}
	return nil
}

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
// a script, a style or a mailto link, and not inside a tag or a comment.
func inText(raw []byte, at int) bool {
	lt := bytes.LastIndexByte(raw[:at], '<')
	gt := bytes.LastIndexByte(raw[:at], '>')
	if lt < 0 || lt > gt {
		return false // inside a tag (an attribute value), or before any tag
	}
	if c := bytes.LastIndex(raw[:at], []byte("<!--")); c >= 0 && bytes.Index(raw[c:at], []byte("-->")) < 0 {
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
