package inject

import (
	"bytes"
	"io"

	"golang.org/x/net/html"
)

// Place tells where a Writer put the snippet.
type Place uint8

// Where the snippet went.
const (
	// NotInjected: the page was left as it was (it already loads the
	// Katalys script, it ended unfinished, or the Writer was closed by an
	// error path).
	NotInjected Place = iota
	// BeforeBody: before the real closing </body> tag.
	BeforeBody
	// BeforeHTML: before </html>, on a page with no </body>.
	BeforeHTML
	// AtEnd: appended, on a page with neither.
	AtEnd
)

// Result is what a Writer did to a page.
type Result struct {
	// Place is where the snippet went.
	Place Place
	// Existing is true when the page already loads the Katalys script;
	// ExistingSiteID is the site id its URL names.
	Existing       bool
	ExistingSiteID string
	// Unfinished is true when the page ended inside a tag, a comment or
	// raw text with no closing tag found before: the snippet was left out,
	// since appended there it would not run (see Close).
	Unfinished bool
}

// maxTag bounds the bytes of a <script> start tag kept to read its src.
const maxTag = 4096

// Writer copies an HTML page to an underlying writer, inserting a snippet
// immediately before the closing </body> tag (else before </html>, else at
// the end), unless the page already loads the Katalys script.
//
// It lexes just enough HTML to tell a real end tag from the same bytes in a
// comment, a script, a style, a textarea, a title or an attribute value, and
// it streams: every byte it is given is written on before Write returns,
// except the few bytes of what may be the start of "</body" (at most 6),
// which wait for the next Write or Close.
//
// A Writer is for one page; it is not safe for concurrent use.
type Writer struct {
	dst     io.Writer
	snippet []byte

	st        state
	name      [9]byte // lower-cased tag name read so far
	nameLen   int     // may exceed len(name): the name is longer than any we look for
	endTag    bool    // the tag being read is an end tag
	raw       string  // the raw-text element we are in ("script", "style", …)
	rawPos    int     // bytes of raw matched after "</"
	dashes    int     // trailing '-' seen in a comment, capped at 2
	bang      bool    // "--!" seen in a comment
	opening   bool    // nothing but '-' read since "<!--": a '>' ends "<!-->" and "<!--->"
	xml       bool    // read as XML (ReadAsXML)
	esc       uint8   // in a script: escNone, escEscaped ("<!--" seen) or escDouble
	tag       []byte  // the <script …> start tag being read, to find its src
	capturing bool    // tag is being filled
	pending   []byte  // held bytes that may start "</body" or "</html"
	done      bool    // injected or left alone: the rest passes through
	closed    bool
	res       Result

	// After, when set, is called once, when the snippet goes into the
	// page; what it returns is written right after the snippet. It lets
	// the caller add markup that depends on the page read so far (the
	// order of a thank-you page) at the snippet's place.
	After func() []byte

	// Script spans, kept when RecordScripts was called (see Scripts).
	recording bool
	spans     []ScriptSpan
	base      int64  // bytes of the page before the current Write's p
	tagEnd    int64  // offset just past the '>' of the tag being ended
	open      int64  // body offset of the script being read; -1: none
	openTag   []byte // its start tag
	lexedTo   int64  // where lexing stopped, once done
}

// ScriptSpan is an inline script element the Writer read: its start tag
// (up to maxTag bytes) and where its body lies, as offsets in the page
// (everything given to Write), End excluded.
type ScriptSpan struct {
	Tag        []byte
	Start, End int64
}

// RecordScripts makes the Writer keep the script elements it reads, for
// Scripts. Call it before the first Write. A caller that reads the page
// too (the order of a thank-you page) then needs no second scan for them:
// the Writer tells script bodies from markup anyway.
func (w *Writer) RecordScripts() { w.recording = true }

// ReadAsXML makes the Writer read the page as an XML parser does, for a
// page served as application/xhtml+xml: no element holds raw text (a
// <script> or a <style> is markup like any other, and may be
// self-closing), and a CDATA section runs to "]]>". Call it before the
// first Write.
func (w *Writer) ReadAsXML() { w.xml = true }

// Scripts returns the script elements read so far, in page order, and the
// offset up to which the page was read: the Writer stops reading where the
// snippet goes (or after a Katalys script tag, on a page it leaves alone),
// so scripts after that point are not among them. A script still open (a
// page cut short inside one) is not among them either: upTo is then where
// the last complete one ended, for the reader to scan on from there. A
// span whose start tag was too long to keep has a nil Tag.
func (w *Writer) Scripts() (spans []ScriptSpan, upTo int64) {
	if w.xml {
		return nil, 0 // read as XML, a script is markup: none were kept
	}
	upTo = w.base
	if w.done {
		upTo = w.lexedTo
	}
	if w.open >= 0 {
		upTo = 0
		if len(w.spans) > 0 {
			upTo = w.spans[len(w.spans)-1].End
		}
	}
	return w.spans, upTo
}

// NewWriter returns a Writer that writes the page to dst with snippet
// inserted.
func NewWriter(dst io.Writer, snippet []byte) *Writer {
	return &Writer{dst: dst, snippet: snippet, pending: make([]byte, 0, 8), open: -1}
}

// Result reports what was done to the page so far; it is final after Close.
func (w *Writer) Result() Result { return w.res }

// Write scans p and writes it on, with the snippet where it belongs. It
// returns len(p) unless the underlying writer fails.
func (w *Writer) Write(p []byte) (int, error) {
	if w.done {
		return w.dst.Write(p)
	}
	n := len(p)
	lt := -1 // index in p of the '<' that may start a marker; -1: in pending or none
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch w.st {
		case sText:
			i = skipOrdinary(p, i)
			if i == len(p) {
				continue
			}
			if k := w.startTagFast(p, i); k > 0 {
				i = k - 1 // the tag's inside starts at p[k]
				continue
			}
			lt = i
			w.st = sTagOpen
		case sTagOpen:
			switch {
			case c == '/':
				w.st = sEndTagOpen
			case c == '!':
				w.st = sMarkupDecl
			case c == '?':
				w.st = sBogus
			case isLetter(c):
				w.startName(c, false)
			default:
				w.st = sText
				i-- // reconsider c as text ("<<" or "< ")
			}
			if w.st != sEndTagOpen {
				if err := w.release(&lt); err != nil {
					return 0, err
				}
			}
		case sEndTagOpen:
			switch {
			case isLetter(c):
				w.startName(c, true)
				if !w.mayBeMarker() {
					if err := w.release(&lt); err != nil {
						return 0, err
					}
				}
			case c == '>':
				w.st = sText // "</>" is ignored
				if err := w.release(&lt); err != nil {
					return 0, err
				}
			default:
				w.st = sBogus
				if err := w.release(&lt); err != nil {
					return 0, err
				}
			}
		case sTagName:
			if !isMarkerDelim(c) {
				w.addName(c)
				if w.endTag && !w.mayBeMarker() {
					if err := w.release(&lt); err != nil {
						return 0, err
					}
				}
				continue
			}
			// The name ends here.
			if w.endTag && w.mayBeMarker() {
				if w.nameLen == 4 {
					place := BeforeBody
					if w.nameIs("html") {
						place = BeforeHTML
					}
					return n, w.inject(p, lt, place)
				}
				if err := w.release(&lt); err != nil {
					return 0, err
				}
			}
			if !w.endTag && w.nameIs("script") {
				w.capturing = true
				w.tag = append(w.tag[:0], "<script"...)
			}
			w.st = sBeforeAttr
			i-- // reconsider c inside the tag
		case sBeforeAttr, sAttrName, sAfterAttrName, sBeforeValue, sValueUnquoted, sValueDQ, sValueSQ:
			j, ended := w.scanTag(p[i:])
			w.captureTag(p[i : i+j]...)
			i += j - 1
			w.tagEnd = w.base + int64(i) + 1
			if ended && w.endOfTag() {
				w.lexedTo = w.tagEnd
				return n, w.passRest(p)
			}
		case sMarkupDecl:
			switch {
			case c == '-':
				w.st = sMarkupDecl1
			case c == '[' && w.xml:
				w.st, w.rawPos = sCDATAOpen, 0
			default:
				w.st = sBogus
				i--
			}
		case sCDATAOpen:
			if c != cdataOpen[w.rawPos] {
				w.st = sBogus
				i--
				continue
			}
			if w.rawPos++; w.rawPos == len(cdataOpen) {
				w.st, w.dashes = sCDATA, 0
			}
		case sCDATA:
			i += w.scanCDATA(p[i:]) - 1
		case sMarkupDecl1:
			if c == '-' {
				w.st = sComment
				w.dashes, w.bang, w.opening = 0, false, true
			} else {
				w.st = sBogus
				i--
			}
		case sComment:
			i += w.scanComment(p[i:]) - 1
		case sBogus:
			j := bytes.IndexByte(p[i:], '>')
			if j < 0 {
				i = len(p)
				continue
			}
			i += j
			w.st = sText
		case sRaw:
			if w.raw == "plaintext" {
				i = len(p) // no end tag ends it: the rest of the page is text
				continue
			}
			if w.esc != escNone {
				i += w.scanEscaped(p[i:]) - 1
				continue
			}
			j := bytes.IndexByte(p[i:], '<')
			if j < 0 {
				i = len(p)
				continue
			}
			i += j
			w.st = sRawLt
		case sRawLt:
			switch {
			case c == '/':
				w.st = sRawEnd
				w.rawPos = 0
			case c == '!' && w.raw == "script" && w.esc == escNone:
				w.st, w.rawPos = sScriptBang, 0
			case isLetter(c) && w.esc == escEscaped:
				w.st, w.rawPos = sScriptDouble, 0
				i--
			default:
				w.st = sRaw
				i--
			}
		case sScriptBang:
			// "<!--" in script data: the script is escaped (HTML §13.2.5.20 on).
			if c != '-' {
				w.st = sRaw
				i--
				continue
			}
			if w.rawPos++; w.rawPos == 2 {
				w.st, w.esc, w.dashes = sRaw, escEscaped, 2
			}
		case sScriptDouble:
			// "<script" in an escaped script: until "</script", an end
			// tag of its own does not end the element.
			if w.rawPos == len("script") {
				if isMarkerDelim(c) {
					w.esc = escDouble
				}
				w.st, w.dashes = sRaw, 0
				i--
				continue
			}
			if c|0x20 != "script"[w.rawPos] {
				w.st, w.dashes = sRaw, 0
				i--
				continue
			}
			w.rawPos++
		case sRawEnd:
			if w.rawPos == len(w.raw) {
				if isMarkerDelim(c) && w.esc == escDouble {
					w.st, w.esc, w.dashes = sRaw, escEscaped, 0 // the inner script's end
					i--
					continue
				}
				if isMarkerDelim(c) {
					w.esc = escNone
					if w.open >= 0 {
						w.endScript(w.base + int64(i) - int64(2+len(w.raw)))
					}
					w.raw = ""
					w.st = sBeforeAttr // the rest of the end tag, up to '>'
					w.endTag = true
					w.nameLen = 0
					i--
					continue
				}
				w.st = sRaw
				i--
				continue
			}
			if c|0x20 == w.raw[w.rawPos] {
				w.rawPos++
				continue
			}
			w.st = sRaw
			i--
		}
	}
	w.base += int64(n)
	// End of p: keep what may start a marker, write the rest.
	if w.holding() {
		if lt < 0 {
			w.pending = append(w.pending, p...)
			return n, nil
		}
		w.pending = append(w.pending, p[lt:]...)
		p = p[:lt]
	}
	if len(p) > 0 {
		if _, err := w.dst.Write(p); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// endScript records the script being read, whose body ends at end.
func (w *Writer) endScript(end int64) {
	w.spans = append(w.spans, ScriptSpan{Tag: w.openTag, Start: w.open, End: end})
	w.open, w.openTag = -1, nil
}

// Close ends the page: if no closing tag took the snippet, it goes at the
// end, unless the page ends inside a tag, a comment or raw text (a page cut
// short, or one that ends in <plaintext>). There the snippet would not be a
// script element: it would show as text, end up in an attribute or a
// comment, or change the page's last script, so the page is left as it
// came (NotInjected, Unfinished). Close does not close the underlying
// writer.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if w.done {
		return nil
	}
	w.done = true
	w.lexedTo = w.base
	if len(w.pending) > 0 {
		if _, err := w.dst.Write(w.pending); err != nil {
			return err
		}
		w.pending = w.pending[:0]
	}
	// In data, or after a lone '<' (text, when a '<' follows it), the
	// snippet appended is read as the script element it is.
	if w.st != sText && w.st != sTagOpen {
		w.res.Unfinished = true
		return nil
	}
	w.res.Place = AtEnd
	return w.writeSnippet()
}

// writeSnippet writes the snippet and what After adds to it.
func (w *Writer) writeSnippet() error {
	if _, err := w.dst.Write(w.snippet); err != nil {
		return err
	}
	if w.After == nil {
		return nil
	}
	extra := w.After()
	if len(extra) == 0 {
		return nil
	}
	_, err := w.dst.Write(extra)
	return err
}

// Abandon ends the page without injecting: held bytes are written and
// nothing is added. Use it when the response is cut short by an error.
func (w *Writer) Abandon() error {
	if !w.done {
		w.lexedTo = w.base
	}
	w.closed, w.done = true, true
	if len(w.pending) == 0 {
		return nil
	}
	_, err := w.dst.Write(w.pending)
	w.pending = w.pending[:0]
	return err
}

// inject writes the snippet before the marker that starts at p[lt] (or in
// pending when lt < 0), then everything after it.
func (w *Writer) inject(p []byte, lt int, place Place) error {
	w.done = true
	if lt >= 0 {
		w.lexedTo = w.base + int64(lt)
	} else {
		w.lexedTo = w.base - int64(len(w.pending))
	}
	w.res.Place = place
	if lt >= 0 {
		if _, err := w.dst.Write(p[:lt]); err != nil {
			return err
		}
		p = p[lt:]
	}
	if err := w.writeSnippet(); err != nil {
		return err
	}
	if len(w.pending) > 0 {
		if _, err := w.dst.Write(w.pending); err != nil {
			return err
		}
		w.pending = w.pending[:0]
	}
	_, err := w.dst.Write(p)
	return err
}

// passRest writes everything not yet written, for a page left alone.
func (w *Writer) passRest(p []byte) error {
	w.done = true
	if len(w.pending) > 0 {
		if _, err := w.dst.Write(w.pending); err != nil {
			return err
		}
		w.pending = w.pending[:0]
	}
	_, err := w.dst.Write(p)
	return err
}

// release gives up on a possible marker: held bytes are written out.
// Held bytes always precede everything of the current p, none of which has
// been written yet, so writing them now keeps the order.
func (w *Writer) release(lt *int) error {
	*lt = -1
	if len(w.pending) == 0 {
		return nil
	}
	_, err := w.dst.Write(w.pending)
	w.pending = w.pending[:0]
	return err
}

// holding reports whether the bytes since the last '<' may still turn out
// to be a marker.
func (w *Writer) holding() bool {
	switch w.st {
	case sTagOpen, sEndTagOpen:
		return true
	case sTagName:
		return w.endTag && w.mayBeMarker()
	}
	return false
}

// startTagFast reads the name of a start tag that begins at p[lt] when the
// whole name is in p, the common case, without a trip through the state
// machine for each byte. It returns the index just past the name, or 0
// when the slow path must handle it (an end tag, a comment, a name cut by
// the end of p, …).
func (w *Writer) startTagFast(p []byte, lt int) int {
	k := lt + 1
	if k >= len(p) || !isLetter(p[k]) {
		return 0
	}
	for k < len(p) && !isMarkerDelim(p[k]) {
		k++
	}
	if k == len(p) {
		return 0
	}
	w.endTag = false
	name := p[lt+1 : k]
	w.nameLen = len(name)
	for i := 0; i < len(name) && i < len(w.name); i++ {
		w.name[i] = name[i] | 0x20
	}
	if w.nameIs("script") {
		w.capturing = true
		w.tag = append(w.tag[:0], "<script"...)
	}
	w.st = sBeforeAttr
	return k
}

func (w *Writer) startName(c byte, end bool) {
	w.st = sTagName
	w.endTag = end
	w.nameLen = 0
	w.addName(c)
}

func (w *Writer) addName(c byte) {
	if w.nameLen < len(w.name) {
		w.name[w.nameLen] = c | 0x20
	}
	w.nameLen++
}

// nameIs reports whether the tag name read so far is s (lower case).
func (w *Writer) nameIs(s string) bool {
	return w.nameLen == len(s) && isPrefix(w.name[:w.nameLen], s)
}

// rawTextName returns the name of the raw-text element whose start tag was
// just read, or "": such an element's content is text up to its own end
// tag, as the HTML tokenizer treats it.
func (w *Writer) rawTextName() string {
	if w.nameLen > len(w.name) || !mayBeRawText(w.name[:w.nameLen]) {
		return "" // nearly every tag: div, a, li, span, img …
	}
	for _, n := range rawTextElements {
		if w.nameIs(n) {
			return n
		}
	}
	return ""
}

var rawTextElements = []string{"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext"}

// mayBeRawText reports whether a tag name has the first letter and the
// length of one of rawTextElements: a cheap filter before comparing.
func mayBeRawText(name []byte) bool {
	switch name[0] | 0x20 {
	case 's', 't':
		return len(name) == 5 || len(name) == 6 || len(name) == 8
	case 'x':
		return len(name) == 3
	case 'i':
		return len(name) == 6
	case 'n':
		return len(name) == 7 || len(name) == 8
	case 'p':
		return len(name) == 9
	}
	return false
}

// mayBeMarker reports whether the end tag name read so far is a prefix of
// "body" or "html".
func (w *Writer) mayBeMarker() bool {
	if w.nameLen > 4 {
		return false
	}
	return isPrefix(w.name[:w.nameLen], "body") || isPrefix(w.name[:w.nameLen], "html")
}

// endOfTag handles the '>' that ends a tag. It reports true when the page
// turns out to load the Katalys script already.
func (w *Writer) endOfTag() bool {
	w.st = sText
	if w.endTag {
		return false
	}
	if w.capturing {
		w.capturing = false
		if id, ok := scriptSrc(w.tag); ok {
			w.res.Existing, w.res.ExistingSiteID = true, id
			return true
		}
	}
	if raw := w.rawTextName(); raw != "" && !w.xml {
		w.raw = raw
		w.st = sRaw
		if w.recording && raw == "script" {
			w.open, w.openTag = w.tagEnd, nil
			if len(w.tag) < maxTag { // else cut: the reader rescans it
				w.openTag = append([]byte(nil), w.tag...)
			}
		}
	}
	return false
}

// captureTag keeps b when a <script> start tag is being read; a tag longer
// than maxTag is not kept whole and so never counts as the Katalys script.
func (w *Writer) captureTag(b ...byte) {
	if !w.capturing {
		return
	}
	if len(w.tag)+len(b) > maxTag {
		w.tag = append(w.tag[:0], make([]byte, maxTag)...)
		return
	}
	w.tag = append(w.tag, b...)
}

// scriptSrc reads the src of a captured <script …> start tag and reports
// whether it loads the Katalys script.
func scriptSrc(tag []byte) (string, bool) {
	if len(tag) >= maxTag || !mentionsScriptHost(tag) {
		return "", false // most script tags: no tokenizer needed
	}
	z := html.NewTokenizer(bytes.NewReader(tag))
	if tt := z.Next(); tt != html.StartTagToken && tt != html.SelfClosingTagToken {
		return "", false // <script … /> is a start tag in HTML: the '/' is ignored
	}
	for {
		key, val, more := z.TagAttr()
		if string(key) == "src" {
			return KatalysScriptSiteID(string(val))
		}
		if !more {
			return "", false
		}
	}
}

// mentionsScriptHost reports whether tag names a Katalys script host at
// all, case-insensitively (attribute values may be in any case).
func mentionsScriptHost(tag []byte) bool {
	for i := 0; i+len("/js/") <= len(tag); i++ {
		j := bytes.Index(tag[i:], []byte("/js/"))
		if j < 0 {
			return false
		}
		i += j
		for _, h := range scriptHosts {
			host := h[:len(h)-len("/js/")]
			if i >= len(host) && bytes.EqualFold(tag[i-len(host):i], []byte(host)) {
				return true
			}
		}
	}
	return false
}

// isMarkerDelim reports whether c may follow an end tag's name.
func isMarkerDelim(c byte) bool {
	switch c {
	case '>', '/', ' ', '\t', '\n', '\r', '\f':
		return true
	}
	return false
}

func isLetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

func isPrefix(b []byte, of string) bool {
	if len(b) > len(of) {
		return false
	}
	for i, c := range b {
		if c != of[i] {
			return false
		}
	}
	return true
}

// state is where the lexer is in the HTML syntax.
type state uint8

const (
	sText          state = iota // data
	sTagOpen                    // after '<'
	sEndTagOpen                 // after "</"
	sTagName                    // in a tag name
	sBeforeAttr                 // in a tag, between attributes
	sAttrName                   // in an attribute name
	sAfterAttrName              // after an attribute name, before '=' or the next name
	sBeforeValue                // after '='
	sValueDQ                    // in a "…" value
	sValueSQ                    // in a '…' value
	sValueUnquoted              // in an unquoted value
	sMarkupDecl                 // after "<!"
	sMarkupDecl1                // after "<!-"
	sComment                    // in a comment
	sBogus                      // in a bogus comment or doctype, up to '>'
	sRaw                        // in raw text (script, style, textarea …)
	sRawLt                      // after '<' in raw text
	sRawEnd                     // after "</" in raw text, matching the element name
	sScriptBang                 // after "<!" in script data, matching "--"
	sScriptDouble               // after '<' and a letter in an escaped script, matching "script"
	sCDATAOpen                  // after "<![" in XML, matching "CDATA["
	sCDATA                      // in an XML CDATA section, up to "]]>"
)

// byteClass sorts the bytes that matter inside a tag; 0 is any other byte.
var byteClass = func() (t [256]uint8) {
	for _, c := range []byte{' ', '\t', '\n', '\r', '\f'} {
		t[c] = 1
	}
	t['/'], t['='], t['>'], t['"'], t['\''] = 2, 3, 4, 5, 6
	return t
}()

// scanTag reads the inside of a tag (attributes and values) from the start
// of b. It returns how many bytes it consumed and whether they end with the
// tag's closing '>'. Runs of ordinary bytes and quoted values are skipped
// in tight loops: this is where most of a page's bytes are.
func (w *Writer) scanTag(b []byte) (int, bool) {
	n, ended, st := scanAttrs(b, w.st)
	w.st = st
	return n, ended
}

// scanAttrs is scanTag without the Writer: it starts in state st and
// returns the bytes consumed, whether they end the tag, and the state then.
func scanAttrs(b []byte, st state) (int, bool, state) {
	i := 0
	for i < len(b) {
		switch st {
		case sValueDQ, sValueSQ:
			q := byte('"')
			if st == sValueSQ {
				q = '\''
			}
			j := bytes.IndexByte(b[i:], q)
			if j < 0 {
				return len(b), false, st
			}
			i += j + 1
			st = sBeforeAttr // after a quoted value: the next attribute
			continue
		case sAttrName, sValueUnquoted:
			for i < len(b) && byteClass[b[i]] == 0 {
				i++
			}
			if i == len(b) {
				return i, false, st
			}
		}
		c := b[i]
		i++
		if c == '>' && st != sValueDQ && st != sValueSQ {
			return i, true, sText
		}
		st = attrStep(st, c)
	}
	return i, false, st
}

// skipOrdinary lexes, from p[i] in text, the run of text and ordinary
// tags that lies wholly in p: start tags of elements other than the
// raw-text ones (script, style …), and end tags other than </body> and
// </html>. It keeps nothing, so it runs on locals alone, and it returns
// the index of the '<' the state machine must take from (in sText), or
// len(p). Most of a page goes through here.
func skipOrdinary(p []byte, i int) int {
	for {
		j := indexByte(p[i:], '<')
		if j < 0 {
			return len(p)
		}
		lt := i + j
		k := lt + 1
		if k+1 >= len(p) {
			return lt
		}
		end := false
		if p[k] == '/' {
			end = true
			k++
		}
		if !isLetter(p[k]) {
			return lt // comments, doctypes, "</>" …: the state machine
		}
		start := k
		for k < len(p) && !isMarkerDelim(p[k]) {
			k++
		}
		if k == len(p) {
			return lt
		}
		name := p[start:k]
		if end && len(name) == 4 && (name[0]|0x20 == 'b' || name[0]|0x20 == 'h') || !end && mayBeRawText(name) {
			return lt // maybe </body>, </html>, <script>, <style> …
		}
		e := skipAttrs(p, k)
		if e < 0 {
			return lt
		}
		i = e
	}
}

// Byte classes of skipAttrs: where a run of attribute bytes stops.
var (
	stopAttr = [256]bool{'>': true, '=': true}
	stopBare = [256]bool{'>': true, ' ': true, '\t': true, '\n': true, '\r': true, '\f': true}
)

// skipAttrs skips the attributes of a tag from p[k] (just after its name)
// and returns the index just past its '>', or -1 when the tag runs past p
// or is not written in the plain form it knows: name="v", name='v',
// name=v, bare names, white space and '/'. It jumps from '=' to '=' rather
// than stepping through states, and hands anything unusual (white space
// around '=', '=' after a quote …) back to the state machine, so that the
// two always agree on where a tag ends.
func skipAttrs(p []byte, k int) int {
	for {
		for k < len(p) && !stopAttr[p[k]] {
			k++
		}
		if k == len(p) {
			return -1
		}
		if p[k] == '>' {
			return k + 1
		}
		// '=': it starts a value only right after an attribute name.
		if byteClass[p[k-1]] != 0 || k+1 == len(p) {
			return -1
		}
		k++
		switch c := p[k]; {
		case c == '"' || c == '\'':
			e := indexByte(p[k+1:], c)
			if e < 0 {
				return -1
			}
			k += e + 2
		case byteClass[c] == 0:
			for k < len(p) && !stopBare[p[k]] {
				k++
			}
			if k == len(p) {
				return -1
			}
			if p[k] == '>' {
				return k + 1
			}
		default:
			return -1
		}
	}
}

// scanComment reads comment text from the start of b up to and including
// the '>' that ends the comment ("-->" or "--!>"), and returns how many
// bytes it consumed. Only the bytes just before a '>' matter, so it jumps
// from '>' to '>'.
func (w *Writer) scanComment(b []byte) int {
	i := 0
	for {
		j := bytes.IndexByte(b[i:], '>')
		if j < 0 {
			w.commentTail(b[i:])
			return len(b)
		}
		w.commentTail(b[i : i+j])
		i += j + 1
		if w.dashes >= 2 || w.bang || w.opening {
			w.st = sText
			return i
		}
		w.dashes, w.bang, w.opening = 0, false, false
	}
}

// How a script's text is escaped, as the HTML tokenizer tracks it: after
// "<!--" (escaped) a "<script" starts a nested one (double escaped), whose
// "</script" only ends the nesting; "-->" ends both.
const (
	escNone uint8 = iota
	escEscaped
	escDouble
)

// scanEscaped reads escaped script text from the start of b up to a '<'
// (left for sRawLt) or through a "-->" that ends the escaping, and returns
// how many bytes it consumed.
func (w *Writer) scanEscaped(b []byte) int {
	n, end := w.scanToClose(b, '-', true)
	switch end {
	case '>':
		w.esc = escNone
	case '<':
		w.st = sRawLt
	}
	return n
}

// scanToClose reads b up to and including the first '>' after two marks
// ("-->", "]]>"), or the first '<' when lt, and returns how many bytes it
// consumed and which of the two ended it (0: neither, b ran out).
// w.dashes counts the marks just before, across writes.
func (w *Writer) scanToClose(b []byte, mark byte, lt bool) (int, byte) {
	for i, c := range b {
		switch {
		case c == mark:
			w.dashes = min(w.dashes+1, 2)
		case c == '>' && w.dashes == 2, c == '<' && lt:
			w.dashes = 0
			return i + 1, c
		default:
			w.dashes = 0
		}
	}
	return len(b), 0
}

// cdataOpen is what follows "<![" to open a CDATA section.
const cdataOpen = "CDATA["

// scanCDATA reads CDATA text from the start of b up to and including the
// "]]>" that ends the section, and returns how many bytes it consumed.
func (w *Writer) scanCDATA(b []byte) int {
	n, end := w.scanToClose(b, ']', false)
	if end == '>' {
		w.st = sText
	}
	return n
}

// commentTail updates the comment-end state with seg, text with no '>'.
// Only its last three bytes can matter, unless it is shorter and the state
// carried from before still does.
func (w *Writer) commentTail(seg []byte) {
	if w.opening && len(bytes.Trim(seg, "-")) > 0 {
		w.opening = false
	}
	if len(seg) >= 3 {
		w.dashes, w.bang = 0, false
		seg = seg[len(seg)-3:]
	}
	for _, c := range seg {
		switch {
		case c == '-':
			w.dashes = min(w.dashes+1, 2)
			w.bang = false
		case c == '!' && w.dashes >= 2:
			w.bang, w.dashes = true, 0
		default:
			w.dashes, w.bang = 0, false
		}
	}
}

// attrStep moves through a tag's attributes as the HTML tokenizer does, so
// that a quote opens a value only after '='.
func attrStep(s state, c byte) state {
	ws := c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
	switch s {
	case sBeforeAttr:
		if ws || c == '/' {
			return sBeforeAttr
		}
		return sAttrName
	case sAttrName:
		switch {
		case ws:
			return sAfterAttrName
		case c == '/':
			return sBeforeAttr
		case c == '=':
			return sBeforeValue
		}
		return sAttrName
	case sAfterAttrName:
		switch {
		case ws:
			return sAfterAttrName
		case c == '/':
			return sBeforeAttr
		case c == '=':
			return sBeforeValue
		}
		return sAttrName
	case sBeforeValue:
		switch {
		case ws:
			return sBeforeValue
		case c == '"':
			return sValueDQ
		case c == '\'':
			return sValueSQ
		}
		return sValueUnquoted
	case sValueUnquoted:
		if ws {
			return sBeforeAttr
		}
		return sValueUnquoted
	}
	return s
}
