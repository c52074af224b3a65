package capture

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
)

// Page is one thank-you page, scanned once and shared by every source.
type Page struct {
	// Raw is the whole page as it was served (decoded, not decompressed
	// by the sources), in UTF-8 when it was in a single-byte charset.
	Raw []byte
	// Scripts are the page's inline script elements in document order,
	// external ones (with a src and no body) left out.
	Scripts []Script
}

// Script is one inline <script> element.
type Script struct {
	// Type is the type attribute, lower-cased and entity-decoded
	// ("application/ld+json", "text/x-magento-init"); "" when absent.
	Type string
	// ID is the id attribute ("__NEXT_DATA__"); "" when absent.
	ID string
	// Text is the script's body, verbatim.
	Text []byte
	// at is the offset of Text in the page.
	at int
}

// JS reports whether the script is JavaScript (no type, a JavaScript MIME
// type, or "module"), as opposed to a data block such as JSON.
func (s *Script) JS() bool {
	switch s.Type {
	case "", "text/javascript", "application/javascript", "module",
		// The other JavaScript MIME types of the HTML standard, which
		// browsers run as well (older templates print them).
		"text/ecmascript", "application/ecmascript", "text/jscript",
		"application/x-ecmascript", "application/x-javascript", "text/javascript1.0",
		"text/javascript1.1", "text/javascript1.2", "text/javascript1.3", "text/javascript1.4",
		"text/javascript1.5", "text/livescript", "text/x-ecmascript", "text/x-javascript":
		return true
	}
	return false
}

// inScript reports whether offset i of the page is in the text of one of
// its scripts.
func (p *Page) inScript(i int) bool {
	for k := range p.Scripts {
		if s := &p.Scripts[k]; s.at <= i && i < s.at+len(s.Text) {
			return true
		}
	}
	return false
}

// NewPage scans raw for its inline scripts.
//
// The scan finds script elements the way an HTML tokenizer does (a
// "<script" inside an HTML comment starts nothing; a script ends at the
// first "</script", whatever JavaScript string it sits in, in any case)
// but in one pass from '<' to '<', so that it costs little: a thank-you
// page is read on every view.
//
// A page in the single-byte charset its <meta> declares is decoded to
// UTF-8 first (see HeaderCharset); Raw is then the decoded copy. A page
// served with a header that declares its charset is NewPageWith's.
func NewPage(raw []byte) *Page { return NewPageWith(raw, Options{}) }

// Options are what the caller knows of a page besides its bytes.
type Options struct {
	// HeaderCharset is set when the response's Content-Type header
	// declared a charset (HeaderDeclaresCharset), UTF-8 included: the
	// page's <meta> then does not count, as in a browser, and raw is
	// read as it is (decoded by the caller with HeaderCharset when the
	// charset is a single-byte one). Unset, a page that is not UTF-8 is
	// decoded by the single-byte charset its <meta> declares.
	HeaderCharset bool
	// Scripts are the page's inline script elements before offset
	// ScannedTo that another reader of the page has found already (the
	// injector finds them as it streams the page): only raw[ScannedTo:]
	// is scanned. ScannedTo must not be inside a script, a tag or a
	// comment. A page decoded by its <meta> is scanned whole: its
	// scripts are no longer where they were found.
	Scripts   []ScriptAt
	ScannedTo int
}

// ScriptAt is an inline script element that another reader of the page
// has found already: its start tag ("<script …>") and its body,
// raw[Start:End].
type ScriptAt struct {
	Tag        []byte
	Start, End int
}

// NewPageWith is NewPage for a page of which the caller knows more (see
// Options).
func NewPageWith(raw []byte, opt Options) *Page {
	if dec, ok := decodeRaw(raw, opt.HeaderCharset); ok {
		p := &Page{Raw: dec}
		p.scan(0)
		return p
	}
	p := &Page{Raw: raw}
	from := min(max(opt.ScannedTo, 0), len(raw))
	prevEnd := 0
	for _, s := range opt.Scripts {
		if s.Start < prevEnd || s.Start > s.End || s.End > len(raw) || len(s.Tag) < len("<script") {
			// Beyond what was kept of the page, or a start tag too long
			// to have been kept: scan on from the last good one.
			from = min(from, prevEnd)
			break
		}
		sc := scriptTag(s.Tag)
		sc.Text, sc.at = raw[s.Start:s.End], s.Start
		if len(bytes.TrimSpace(sc.Text)) > 0 {
			p.Scripts = append(p.Scripts, sc)
		}
		prevEnd = s.End
	}
	p.scan(from)
	return p
}

// scan adds the script elements of p.Raw from offset i on.
func (p *Page) scan(i int) {
	raw := p.Raw
	for i < len(raw) {
		j := bytes.IndexByte(raw[i:], '<')
		if j < 0 {
			return
		}
		i += j
		rest := raw[i+1:]
		switch {
		case len(rest) >= 3 && rest[0] == '!' && rest[1] == '-' && rest[2] == '-':
			end := bytes.Index(rest[3:], []byte("-->"))
			if end < 0 {
				return // an unclosed comment runs to the end
			}
			i += 1 + 3 + end + 3
		case len(rest) >= 7 && (rest[0]|0x20) == 's' && isTagEnd(rest[6]) && asciiEqualFold(rest[:6], "script"):
			i = p.addScript(raw, i)
		default:
			i++
		}
	}
}

// addScript reads the script element whose start tag begins at raw[open]
// and returns the index just past its body (at its end tag, or the end of
// raw). A script with no end tag is a page kept only up to the capture
// limit, cut inside the script: its text is kept up to the list the cut
// went through, if any, and then up to the last ',', ';' or bracket
// (cutText), so that what was printed whole before it (an order id, a
// total before a long items list) is still read, and neither a value cut
// in the middle ("value:12" of 1234.56) nor a list cut short (items
// without their last lines) is.
func (p *Page) addScript(raw []byte, open int) int {
	tagEnd := endOfTag(raw, open+len("<script"))
	if tagEnd < 0 {
		return len(raw)
	}
	bodyEnd := -1
	for k := tagEnd; k < len(raw); {
		j := bytes.IndexByte(raw[k:], '<')
		if j < 0 {
			break
		}
		k += j
		if k+8 <= len(raw) && raw[k+1] == '/' && asciiEqualFold(raw[k+2:k+8], "script") {
			bodyEnd = k
			break
		}
		k++
	}
	s := scriptTag(raw[open:tagEnd])
	s.at = tagEnd
	if bodyEnd < 0 {
		bodyEnd = len(raw)
		s.Text = cutText(raw[tagEnd:])
	} else {
		s.Text = raw[tagEnd:bodyEnd]
	}
	if len(bytes.TrimSpace(s.Text)) > 0 {
		p.Scripts = append(p.Scripts, s)
	}
	return bodyEnd
}

// cutText is the part of a script's text cut off by the end of the page
// that can be trusted: up to the innermost list still open at the cut (a
// list read in part, the order's items, would pass for the whole one; the
// order itself may sit in a list further out, as in a classic GTM
// dataLayer = [{…}]), then up to its last separator. Quotes are followed so
// that brackets in strings do not count; comments and regular expressions
// are not (an apostrophe in a comment may keep a cut list open).
func cutText(text []byte) []byte {
	var open []int // offsets of the brackets still open
	var quote byte
	quoteAt := 0 // where the open quote started
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case quote != 0:
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote, quoteAt = c, i
		case c == '[' || c == '{':
			open = append(open, i)
		case (c == ']' || c == '}') && len(open) > 0:
			open = open[:len(open)-1]
		}
	}
	if quote != 0 {
		text = text[:quoteAt] // cut inside a string
	}
	for i := len(open) - 1; i >= 0; i-- {
		if open[i] >= len(text) {
			continue
		}
		if text[open[i]] == '[' {
			text = text[:open[i]]
			break
		}
	}
	return text[:bytes.LastIndexAny(text, ",;{}[]")+1]
}

func isTagEnd(c byte) bool {
	return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

// endOfTag returns the index just past the '>' that ends the start tag
// whose attributes begin at i, honouring quoted attribute values.
func endOfTag(raw []byte, i int) int {
	var quote byte
	for ; i < len(raw); i++ {
		c := raw[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i + 1
		}
	}
	return -1
}

// scriptTag reads the type and id attributes of a script start tag
// ("<script" and its attributes, up to and including the '>').
func scriptTag(tag []byte) Script {
	var s Script
	attrs(tag[len("<script"):], func(k, v []byte) {
		switch {
		case asciiEqualFold(k, "type"):
			s.Type = strings.ToLower(strings.TrimSpace(unescape(v)))
		case asciiEqualFold(k, "id"):
			s.ID = unescape(v)
		}
	})
	return s
}

// attrs calls fn for each attribute of a start tag's attribute text, as
// the HTML tokenizer splits them: names end at white space, '=', '/' or
// '>'; values are quoted with either quote or run to white space.
func attrs(b []byte, fn func(k, v []byte)) {
	i := 0
	for i < len(b) {
		for i < len(b) && (isTagSpace(b[i]) || b[i] == '/') {
			i++
		}
		if i >= len(b) || b[i] == '>' {
			return
		}
		k0 := i
		for i < len(b) && !isTagSpace(b[i]) && b[i] != '=' && b[i] != '>' && (b[i] != '/' || i == k0) {
			i++
		}
		k := b[k0:i]
		for i < len(b) && isTagSpace(b[i]) {
			i++
		}
		var v []byte
		if i < len(b) && b[i] == '=' {
			i++
			for i < len(b) && isTagSpace(b[i]) {
				i++
			}
			if i < len(b) && (b[i] == '"' || b[i] == '\'') {
				q := b[i]
				end := bytes.IndexByte(b[i+1:], q)
				if end < 0 {
					end = len(b) - i - 1
				}
				v = b[i+1 : i+1+end]
				i += end + 2
			} else {
				v0 := i
				for i < len(b) && !isTagSpace(b[i]) && b[i] != '>' {
					i++
				}
				v = b[v0:i]
			}
		}
		fn(k, v)
	}
}

func isTagSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

// asciiEqualFold reports whether b is s (ASCII lower case) in any case,
// without allocating.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		if b[i]|0x20 != s[i] {
			return false
		}
	}
	return true
}

func unescape(v []byte) string {
	if bytes.IndexByte(v, '&') >= 0 {
		return html.UnescapeString(string(v))
	}
	return string(v)
}
