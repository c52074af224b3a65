package inject

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"net/url"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// DefaultScriptSrc is where the official plugins load the Katalys script
// from; {site_id} is replaced with the page's site id.
const DefaultScriptSrc = "https://db.revoffers.com/js/{site_id}.js"

// scriptHosts are the hosts that serve the Katalys Tracking Script. A page
// that already loads a script from one of them under /js/ is left alone.
var scriptHosts = []string{"db.revoffers.com/js/", "js.katalys.com/js/"}

// Snippet is the markup inserted into a page: the inline script that seeds
// _revoffers_track.site_id and the async script tag, exactly as the official
// Magento module prints them.
type Snippet struct {
	// HTML is the markup to insert.
	HTML []byte
	// XHTML is the same markup written as well-formed XML (async="async"),
	// for pages served as application/xhtml+xml: a browser parses those as
	// XML, where a bare attribute is an error that blanks the page.
	XHTML []byte
	// Inline is the text of the inline script element, which a CSP hash
	// source must match.
	Inline string
	// ScriptSrc is the URL of the tracking script.
	ScriptSrc string
}

// NewSnippet builds the snippet for siteID, loading the script from
// scriptSrc (with {site_id} replaced by the URL-path-escaped site id). A
// non-empty nonce is put on both script elements.
func NewSnippet(siteID, scriptSrc, nonce string) Snippet {
	return newSnippet(siteID, scriptSrc, nonce, "")
}

// NewThankYouSnippet is NewSnippet for a thank-you page that may get a
// convert call added (ConvertHTML): its inline script also carries
// convertLoader, so the one hash or nonce that allows the snippet under a
// Content-Security-Policy allows the convert call too, although the order
// is only known once the page has been read.
func NewThankYouSnippet(siteID, scriptSrc, nonce string) Snippet {
	return newSnippet(siteID, scriptSrc, nonce, convertLoader)
}

// convertLoader pushes the order of the #katalys-convert data block
// (ConvertHTML) to _revoffers_track once the tracking script has defined
// push, polling every 100 ms as Katalys' own integration guides do (the
// script loads async, so it is usually not there yet); it gives up after
// a minute, or at once when the page has finished loading without a data
// block. The block is removed when pushed, so the order is pushed once.
// It has no '<' and no '&' (nested ifs stand for &&), so that it is text
// as it is in XHTML as well as in HTML.
const convertLoader = `(function(){var n=0;function t(){var e=document.getElementById("katalys-convert"),q=window._revoffers_track;` +
	`if(e)if(q)if(typeof q.push=="function"){e.parentNode.removeChild(e);q.push(JSON.parse(e.textContent));return}` +
	`if(600>++n)if(e||document.readyState!="complete")setTimeout(t,100)}t()})();`

// ConvertHTML is the data block that convertLoader pushes: payload is the
// JSON object of the convert call. A data block, unlike an inline script,
// is not subject to CSP script-src. '<', '>' and '&' are escaped (JSON has
// them only in strings, where \u escapes mean the same), so the payload can
// never end the element, and is text as it is in XHTML too; so is every
// non-ASCII character, so that it reads the same in a page of any
// ASCII-based charset.
func ConvertHTML(payload []byte) []byte {
	var b bytes.Buffer
	b.Grow(len(payload) + 80)
	b.WriteString(`<script type="application/json" id="katalys-convert">`)
	for i := 0; i < len(payload); {
		c := payload[i]
		switch {
		case c == '<':
			b.WriteString(`\u003c`)
		case c == '>':
			b.WriteString(`\u003e`)
		case c == '&':
			b.WriteString(`\u0026`)
		case c >= utf8.RuneSelf:
			// ASCII only: the page may be in a single-byte charset
			// (windows-1252), where UTF-8 bytes would read as "MÃ¼sli".
			r, size := utf8.DecodeRune(payload[i:])
			if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
				fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
			i += size
			continue
		default:
			b.WriteByte(c)
		}
		i++
	}
	b.WriteString(`</script>`)
	return b.Bytes()
}

// NewLoaderSnippet is the snippet for a page whose policy trusts only the
// scripts that trusted scripts add (NeedsLoader): one inline script, which
// seeds the site id as NewSnippet's does and then adds the async script
// element itself; its hash, which Allow adds to the policy, is all it
// needs. thankYou adds convertLoader, as NewThankYouSnippet does.
func NewLoaderSnippet(siteID, scriptSrc string, thankYou bool) Snippet {
	s := newSnippet(siteID, scriptSrc, "", "")
	extra := ""
	if thankYou {
		extra = convertLoader
	}
	// No '<' and no '&' (jsString escapes them in the URL), so that it is
	// text as it is in XHTML as well as in HTML.
	s.Inline += `(function(){var s=document.createElement("script"),c=document.currentScript;s.async=true;s.src=` +
		jsString(s.ScriptSrc) + `;if(c)c.parentNode.insertBefore(s,c.nextSibling);else document.head.appendChild(s)})();` + extra
	s.HTML = []byte("<script>" + s.Inline + "</script>")
	s.XHTML = s.HTML
	return s
}

func newSnippet(siteID, scriptSrc, nonce, extra string) Snippet {
	if scriptSrc == "" {
		scriptSrc = DefaultScriptSrc
	}
	src := strings.ReplaceAll(scriptSrc, "{site_id}", url.PathEscape(siteID))
	inline := `window._revoffers_track=window._revoffers_track||{};_revoffers_track.site_id=` + jsString(siteID) + `;` + extra
	nonceAttr := ""
	if nonce != "" {
		nonceAttr = ` nonce="` + html.EscapeString(nonce) + `"`
	}
	var b strings.Builder
	b.Grow(len(inline) + len(src) + 80)
	b.WriteString("<script")
	b.WriteString(nonceAttr)
	b.WriteString(">")
	b.WriteString(inline)
	b.WriteString("</script><script")
	b.WriteString(nonceAttr)
	b.WriteString(` src="`)
	b.WriteString(html.EscapeString(src))
	b.WriteString(`" async></script>`)
	markup := b.String()
	xhtml := strings.TrimSuffix(markup, ` async></script>`) + ` async="async"></script>`
	return Snippet{HTML: []byte(markup), XHTML: []byte(xhtml), Inline: inline, ScriptSrc: src}
}

// Hash is the CSP hash source ('sha256-…') that allows the inline script.
func (s Snippet) Hash() string {
	sum := sha256.Sum256([]byte(s.Inline))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// Origin is the scheme://host[:port] of the script URL, or "" when the URL
// is relative (then 'self' already covers it).
func (s Snippet) Origin() string {
	u, err := url.Parse(s.ScriptSrc)
	if err != nil || u.Host == "" {
		return ""
	}
	scheme := u.Scheme
	if scheme == "" {
		scheme = "https"
	}
	return scheme + "://" + u.Host
}

// jsString quotes s as a JavaScript string literal that is also safe inside
// an HTML script element: quotes, backslashes, control characters, '<', '>'
// and '&' are escaped, so a hostile site id can neither end the string nor
// the element.
func jsString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\' || r == '<' || r == '>' || r == '&' || r == '\'' ||
			r < 0x20 || r == 0x2028 || r == 0x2029:
			b.WriteString(`\u`)
			const hex = "0123456789abcdef"
			b.WriteByte(hex[r>>12&0xF])
			b.WriteByte(hex[r>>8&0xF])
			b.WriteByte(hex[r>>4&0xF])
			b.WriteByte(hex[r&0xF])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// indexHostPath is strings.Index(s, sub) for sub a host and a path
// ("db.revoffers.com/js/"), with the host matched in either case, as URL
// hosts are, and the path as it is.
func indexHostPath(s, sub string) int {
	host := strings.IndexByte(sub, '/')
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+host], sub[:host]) && s[i+host:i+len(sub)] == sub[host:] {
			return i
		}
	}
	return -1
}

// KatalysScriptSiteID reports whether src loads the Katalys Tracking Script
// and, if so, the site id it names (the file name without .js).
func KatalysScriptSiteID(src string) (siteID string, ok bool) {
	for _, h := range scriptHosts {
		i := indexHostPath(src, h)
		if i < 0 {
			continue
		}
		name := src[i+len(h):]
		if j := strings.IndexAny(name, "?#"); j >= 0 {
			name = name[:j]
		}
		name = strings.TrimSuffix(name, ".js")
		if un, err := url.PathUnescape(name); err == nil {
			name = un
		}
		return name, true
	}
	return "", false
}
