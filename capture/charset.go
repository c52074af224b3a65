package capture

import (
	"bytes"
	"mime"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
)

// Pages in a legacy single-byte charset (ISO-8859-1, Windows-1252 and the
// other code pages of the Encoding Standard) are read as UTF-8, decoded
// the way a browser decodes them: a euro sign printed as the byte 0x80
// gives the euro, "M\xfcsli" gives "Müsli". The charset comes, as in a
// browser, from the Content-Type header first (the caller decodes what it
// keeps with HeaderCharset, and tells NewPageWith that the header declared
// a charset, HeaderDeclaresCharset) and else from the page's own <meta
// charset> or <meta http-equiv="Content-Type">, which NewPage reads. The
// page as served is never changed: only the copy the sources read is
// decoded.
//
// Multi-byte legacy charsets (Shift_JIS, GBK, Big5, EUC-*) are not
// decoded: their amounts and ids are ASCII, only names come out garbled.

// metaScanLimit bounds the bytes of a page looked through for a <meta>
// declaring its charset: the head of any storefront, where browsers honour
// the declaration (the Encoding Standard's prescan reads 1024 bytes, but
// browsers reload a page whose later <meta> in the head says otherwise).
const metaScanLimit = 16 << 10

// Charset decodes a page in a single-byte charset to UTF-8, chunk by
// chunk (a single-byte charset has no state across chunks).
type Charset struct {
	cm   *charmap.Charmap
	name string
	buf  []byte
	seen bool // the first bytes came
	off  bool // the page starts with a UTF-8 byte order mark: UTF-8 whatever the header says
}

// HeaderCharset returns a decoder for the single-byte charset a
// Content-Type header value declares ("text/html; charset=ISO-8859-1"),
// or nil when it declares none, UTF-8 or a multi-byte one. The caller
// decodes with it the bytes it keeps for NewPage; NewPage does not decode
// a page twice (what the decoder gives is UTF-8).
func HeaderCharset(contentType string) *Charset {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil
	}
	return singleByte(params["charset"])
}

// HeaderDeclaresCharset reports whether a Content-Type header value
// declares a charset a browser knows (any: UTF-8, a single-byte or a
// multi-byte one). A browser then decodes the page by the header, whatever
// the page's <meta> says; a label it does not know is ignored, and the
// <meta> counts. The caller passes the answer to NewPageWith
// (Options.HeaderCharset).
func HeaderDeclaresCharset(contentType string) bool {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	label := strings.TrimSpace(params["charset"])
	if label == "" {
		return false
	}
	_, err = htmlindex.Get(label)
	return err == nil
}

// Decode returns p decoded to UTF-8, valid until the next call: p itself
// when it is ASCII, or when the page starts with a UTF-8 byte order mark
// (which a browser obeys over the header).
func (c *Charset) Decode(p []byte) []byte {
	if !c.seen && len(p) > 0 {
		c.seen = true
		c.off = bytes.HasPrefix(p, []byte("\xef\xbb\xbf"))
	}
	if c.off || isASCII(p) {
		return p
	}
	c.buf = c.appendDecoded(c.buf[:0], p)
	return c.buf
}

func (c *Charset) appendDecoded(dst, p []byte) []byte {
	for _, b := range p {
		if b < utf8.RuneSelf {
			dst = append(dst, b)
			continue
		}
		dst = utf8.AppendRune(dst, c.cm.DecodeByte(b))
	}
	return dst
}

// singleByte returns a decoder for the charset labelled label when it is a
// single-byte one, else nil.
func singleByte(label string) *Charset {
	label = strings.TrimSpace(label)
	if label == "" {
		return nil
	}
	e, err := htmlindex.Get(label)
	if err != nil {
		return nil
	}
	cm, ok := e.(*charmap.Charmap)
	if !ok {
		return nil
	}
	name, _ := htmlindex.Name(e)
	return &Charset{cm: cm, name: name}
}

func isASCII(p []byte) bool {
	for _, b := range p {
		if b >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// decodeRaw returns raw as UTF-8 and true when raw is a page in the
// single-byte charset its <meta> declares, or raw and false. The <meta>
// counts only when the response's header declared no charset (header is
// false): the header wins over the meta in a browser, and the caller has
// decoded what the header declared (HeaderCharset) or kept it as it came
// (UTF-8, where a stray byte that is not UTF-8 is only that, or a
// multi-byte charset). A page that is valid UTF-8 is kept too: UTF-8 with
// a stale declaration (a template carried over from a Latin-1 store). A
// page that starts with a UTF-8 byte order mark is UTF-8.
func decodeRaw(raw []byte, header bool) ([]byte, bool) {
	if header || utf8.Valid(cutRune(raw)) || bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) {
		return raw, false
	}
	c := metaCharset(raw[:min(len(raw), metaScanLimit)])
	if c == nil {
		return raw, false
	}
	return c.appendDecoded(make([]byte, 0, len(raw)+len(raw)/8), raw), true
}

// cutRune is b without the UTF-8 sequence its end cuts short (a page
// kept up to the capture limit).
func cutRune(b []byte) []byte {
	for k := 1; k <= utf8.UTFMax && k <= len(b); k++ {
		if utf8.RuneStart(b[len(b)-k]) {
			if !utf8.FullRune(b[len(b)-k:]) {
				return b[:len(b)-k]
			}
			break
		}
	}
	return b
}

// metaCharset reads the charset the page's first <meta charset> or
// <meta http-equiv="Content-Type" content="…; charset=…"> in head declares,
// when it is a single-byte one.
func metaCharset(head []byte) *Charset {
	z := html.NewTokenizer(bytes.NewReader(head))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return nil
		case html.StartTagToken, html.SelfClosingTagToken:
			name, more := z.TagName()
			if string(name) == "body" {
				return nil
			}
			if string(name) != "meta" {
				continue
			}
			var label string
			pragma, fromContent := false, false
			for more {
				var k, v []byte
				k, v, more = z.TagAttr()
				switch string(k) {
				case "charset":
					if label == "" || fromContent {
						label, fromContent = string(v), false
					}
				case "http-equiv":
					pragma = strings.EqualFold(strings.TrimSpace(string(v)), "content-type")
				case "content":
					if label == "" {
						label, fromContent = contentCharset(string(v)), true
					}
				}
			}
			if label == "" || (fromContent && !pragma) {
				continue
			}
			// The first declaration counts, whatever it says.
			return singleByte(label)
		}
	}
}

// contentCharset is the charset of a <meta http-equiv> content value
// ("text/html; charset=iso-8859-1"), as the Encoding Standard reads it.
func contentCharset(s string) string {
	for {
		i := strings.Index(strings.ToLower(s), "charset")
		if i < 0 {
			return ""
		}
		s = strings.TrimLeft(s[i+len("charset"):], " \t\n\f\r")
		if !strings.HasPrefix(s, "=") {
			continue
		}
		s = strings.TrimLeft(s[1:], " \t\n\f\r")
		if s == "" {
			return ""
		}
		if q := s[0]; q == '"' || q == '\'' {
			end := strings.IndexByte(s[1:], q)
			if end < 0 {
				return ""
			}
			return s[1 : 1+end]
		}
		if end := strings.IndexAny(s, "; \t\n\f\r"); end >= 0 {
			return s[:end]
		}
		return s
	}
}
