package capture

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
)

// Page is one thank-you page, scanned once and shared by every source.
type Page struct {
	// Raw is the whole page as it was served (decoded, not decompressed
	// by the sources).
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
}

// JS reports whether the script is JavaScript (no type, a JavaScript MIME
// type, or "module"), as opposed to a data block such as JSON.
func (s *Script) JS() bool {
	switch s.Type {
	case "", "text/javascript", "application/javascript", "module",
		"text/ecmascript", "application/ecmascript", "text/jscript":
		return true
	}
	return false
}

// NewPage scans raw for its inline scripts.
//
// The scan finds script elements the way an HTML tokenizer does (a
// "<script" inside an HTML comment starts nothing; a script ends at the
// first "</script", whatever JavaScript string it sits in) but with
// substring searches, so that pages that carry no order cost little: a
// thank-you page is read on every view.
func NewPage(raw []byte) *Page {
	p := &Page{Raw: raw}
	// Upper-case tags are rare: look for them only past the last one seen.
	upper, upperEnd := 0, 0
	for i := 0; i < len(raw); {
		open := indexFold(raw[i:], "<script", &upper, i)
		if open < 0 {
			break
		}
		open += i
		if c := bytes.Index(raw[i:open], []byte("<!--")); c >= 0 {
			// A comment opens before the script tag: skip it whole.
			end := bytes.Index(raw[i+c+4:], []byte("-->"))
			if end < 0 {
				break
			}
			i += c + 4 + end + 3
			continue
		}
		after := open + len("<script")
		if after < len(raw) && !isTagEnd(raw[after]) {
			i = after // <scripts>, <script-foo>: not a script element
			continue
		}
		tagEnd := endOfTag(raw, after)
		if tagEnd < 0 {
			break
		}
		bodyEnd := indexFold(raw[tagEnd:], "</script", &upperEnd, tagEnd)
		if bodyEnd < 0 {
			bodyEnd = len(raw) - tagEnd
		}
		s := scriptTag(raw[open:tagEnd])
		s.Text = raw[tagEnd : tagEnd+bodyEnd]
		if len(bytes.TrimSpace(s.Text)) > 0 {
			p.Scripts = append(p.Scripts, s)
		}
		i = tagEnd + bodyEnd
	}
	return p
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

func asciiEqualFold(b []byte, s string) bool {
	return len(b) == len(s) && strings.EqualFold(string(b), s)
}

func unescape(v []byte) string {
	if bytes.IndexByte(v, '&') >= 0 {
		return html.UnescapeString(string(v))
	}
	return string(v)
}

// indexFold is bytes.Index for an ASCII lower-case needle, matching any
// case in b, which starts at offset base of the page. The common
// all-lower-case spelling is found with the fast substring search; other
// spellings only where the needle's first letter is upper case. upperFrom
// remembers across calls the page offset before which no such spelling
// starts, so that a page without any is searched for one only once.
func indexFold(b []byte, needle string, upperFrom *int, base int) int {
	i := bytes.Index(b, []byte(needle))
	// The needle up to its first letter, that letter upper-cased.
	k := strings.IndexFunc(needle, func(r rune) bool { return r >= 'a' && r <= 'z' })
	upper := []byte(strings.ToUpper(needle[:k+1]))
	from := max(*upperFrom-base, 0)
	for from <= len(b) {
		j := bytes.Index(b[from:], upper)
		if j < 0 {
			*upperFrom = base + len(b) + 1
			return i
		}
		j += from
		*upperFrom = base + j
		if i >= 0 && j > i {
			return i
		}
		if j+len(needle) <= len(b) && bytes.EqualFold(b[j:j+len(needle)], []byte(needle)) {
			return j
		}
		from = j + 1
	}
	return i
}
