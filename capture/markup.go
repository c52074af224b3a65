package capture

import (
	"bytes"
	"math"
	"strings"
	"unsafe"
)

// This file holds the visible-markup source: the order as each platform's
// own thank-you template prints it in HTML (WooCommerce, Shopify's legacy
// order status page, Magento, PrestaShop, Shopware, Sylius, Solidus/Spree,
// OpenCart, BigCommerce), plus a generic reader of a "Subtotal" totals row.
//
// Markup is the least trusted source but the only one on some pages. It is
// read in two steps that keep the cost low on large pages:
//
//   - one scan of the page finds the platforms' distinctive class names.
//     The scan looks for a rare byte of each marker with bytes.IndexByte
//     (a few passes over the page in all, one per anchor byte), not for each
//     marker in turn;
//   - the region of the platform found is read with a small allocation-free
//     HTML lexer (markupLexer) over a bounded window, never the whole page.

// markupWindow bounds the bytes read after a marker: enough for the order
// table of a large order (400 WooCommerce lines with variation data run
// to 220 KB), still a quarter of what a thank-you page may be read to.
const markupWindow = 512 << 10

// Indexes of markupNeedles.
const (
	mkWooThanks     = iota // woocommerce-thankyou-order-{details,received,failed}
	mkWooBlocks            // wc-block-order-confirmation-*
	mkMagento              // div.checkout-success (OpenCart 3: body.checkout-success)
	mkPrestaShop           // section#content-hook_order_confirmation
	mkBigCommerce          // window.checkoutConfig
	mkOpenCart             // route=checkout/success links
	mkShopify              // span.os-order-number
	mkShopware             // p.finish-ordernumber
	mkSubtotal             // "Subtotal" / "subtotal" label text
	mkSolidus              // fieldset#order_summary
	mkSylius               // #sylius-thank-you
	mkSousTotal            // "Sous-total"
	mkZwischensumme        // "Zwischensumme"
	mkCount
)

// markupNeedles are the markers, each with the index of the byte the scan
// anchors on: a byte that is rare in HTML ('k', 'b', 'y', upper case), so
// that IndexByte skips most of the page, and shared by several markers, so
// that one pass finds them all.
var markupNeedles = [mkCount]needle{
	mkWooThanks:     {"thankyou-order-", 4},             // k
	mkWooBlocks:     {"wc-block-order-confirmation", 7}, // k
	mkMagento:       {"checkout-success", 4},            // k
	mkPrestaShop:    {"hook_order_confirmation", 3},     // k
	mkBigCommerce:   {"checkoutConfig", 4},              // k
	mkOpenCart:      {"checkout/success", 4},            // k
	mkShopify:       {"os-order-number", 12},            // b
	mkShopware:      {"finish-ordernumber", 15},         // b
	mkSubtotal:      {"ubtotal", 1},                     // b
	mkSolidus:       {"order_summary", 12},              // y
	mkSylius:        {"sylius-thank-you", 1},            // y
	mkSousTotal:     {"Sous-total", 0},                  // S
	mkZwischensumme: {"Zwischensumme", 0},               // Z
}

// needle is a marker and the index of its anchor byte.
type needle struct {
	s  string
	at int
}

// markupPasses groups the needles by anchor byte, in the order the passes
// run: the platform markers first, the totals labels last (they are only
// needed when no platform matched).
var markupPasses = groupNeedles(markupNeedles[:])

type needlePass struct {
	anchor byte
	idx    []int
}

func groupNeedles(ns []needle) []needlePass {
	var passes []needlePass
	for i, n := range ns {
		c := n.s[n.at]
		k := -1
		for j := range passes {
			if passes[j].anchor == c {
				k = j
			}
		}
		if k < 0 {
			passes = append(passes, needlePass{anchor: c})
			k = len(passes) - 1
		}
		passes[k].idx = append(passes[k].idx, i)
	}
	return passes
}

// markupPassOf is the index in markupPasses of each needle's pass.
var markupPassOf = func() (pass [mkCount]int) {
	for k, p := range markupPasses {
		for _, i := range p.idx {
			pass[i] = k
		}
	}
	return pass
}()

// needleScan finds the first index of each marker in b lazily: a pass
// (one anchor byte) advances only as far as the marker asked for, and
// resumes from there when another marker of the pass is asked for, so a
// platform whose marker sits early in a large page is read without
// scanning the rest. The positions it gives are those a whole pass gives.
type needleScan struct {
	b   []byte
	pos [mkCount]int // -2: not yet known; -1: absent
	at  [8]int       // per pass: where the anchor search resumes; -1 when done
}

func newNeedleScan(b []byte) needleScan {
	s := needleScan{b: b}
	for i := range s.pos {
		s.pos[i] = -2
	}
	return s
}

// get returns the first index of markupNeedles[i] in s.b, or -1.
func (s *needleScan) get(i int) int {
	if s.pos[i] != -2 {
		return s.pos[i]
	}
	k := markupPassOf[i]
	pass := &markupPasses[k]
	b := s.b
	for at := s.at[k]; at >= 0; {
		j := bytes.IndexByte(b[at:], pass.anchor)
		if j < 0 {
			break
		}
		j += at
		at = j + 1
		for _, n := range pass.idx {
			nd := &markupNeedles[n]
			st := j - nd.at
			if s.pos[n] != -2 || st < 0 || st+len(nd.s) > len(b) || b[st] != nd.s[0] {
				continue
			}
			if string(b[st:st+len(nd.s)]) == nd.s {
				s.pos[n] = st
			}
		}
		if s.pos[i] != -2 {
			s.at[k] = at
			return s.pos[i]
		}
	}
	s.at[k] = -1
	for _, n := range pass.idx {
		if s.pos[n] == -2 {
			s.pos[n] = -1
		}
	}
	return -1
}

// markupPlatform reads one platform's markup; at is the position of its
// marker in p.Raw.
type markupPlatform struct {
	marker int
	name   string
	read   func(p *Page, at int) *Order
}

// markupPlatforms are tried in this order; the first that finds an order
// wins.
var markupPlatforms = []markupPlatform{
	{mkWooThanks, "woocommerce", readWooCommerce},
	{mkWooBlocks, "woocommerce", readWooBlocks},
	{mkShopify, "shopify", readShopifyDOM},
	{mkMagento, "magento", readMagento},
	{mkPrestaShop, "prestashop", readPrestaShop},
	{mkShopware, "shopware", readShopware},
	{mkSylius, "sylius", readSylius},
	{mkSolidus, "spree", readSpree},
	{mkBigCommerce, "bigcommerce", readBigCommerce},
	{mkOpenCart, "opencart", readOpenCart},
}

// noMarkupOrder is what a platform reader returns when the page is its
// platform's page that says there is no order (a failed payment notice):
// nothing else, not even the generic totals reader, is tried.
var noMarkupOrder = &Order{}

// fromMarkup reads the order from the visible markup of the platform whose
// thank-you template the page carries. When no platform's markup gives an
// order, it returns the page's "Subtotal" row alone (Source
// "markup/totals", no id: it never makes an order by itself), or nil.
func fromMarkup(p *Page) *Order {
	s := newNeedleScan(p.Raw)
	// Platform markers first, by anchor byte; a pass over the page goes
	// no further than the marker asked for, so a page of the platforms
	// anchored on 'k' (WooCommerce, Magento, PrestaShop) whose marker
	// comes early costs a fraction of one pass.
	for pass := range 3 {
		for _, pl := range markupPlatforms {
			if markupPassOf[pl.marker] != pass {
				continue
			}
			at := s.get(pl.marker)
			if at < 0 {
				continue
			}
			o := pl.read(p, at)
			if o == noMarkupOrder {
				return nil
			}
			if o != nil {
				o.Source = "markup/" + pl.name
				return o
			}
		}
	}
	if sub := readTotalsSubtotal(p.Raw, &s); sub != nil {
		return &Order{Subtotal: sub, Source: "markup/totals"}
	}
	return nil
}

// ---------------------------------------------------------------------------
// A small HTML lexer over a byte window. It knows tags, attributes, text,
// comments and raw-text elements, which is all a template's markup needs; it
// does not build a tree or allocate.

type tokKind uint8

const (
	tokText tokKind = iota + 1
	tokStart
	tokEnd
)

type mtoken struct {
	kind  tokKind
	name  []byte // tag name as written
	attrs []byte // start tag: the bytes between the name and '>'
	text  []byte // text token: raw text, entities not decoded
	start int    // offset of the token in the window
	end   int    // offset just past the token
}

func (t *mtoken) is(name string) bool { return eqFoldASCII(t.name, name) }

// selfClosing reports whether a start tag has no content (void element or
// "/>").
func (t *mtoken) selfClosing() bool {
	if n := len(t.attrs); n > 0 && t.attrs[n-1] == '/' {
		return true
	}
	var buf [16]byte
	switch lowerName(&buf, t.name) {
	case "br", "img", "input", "meta", "link", "hr", "wbr", "source", "area", "base", "col", "embed", "param", "track":
		return true
	}
	return false
}

type markupLexer struct {
	b []byte
	i int
}

func newLexer(b []byte) markupLexer { return markupLexer{b: b} }

// next returns the next token; ok is false at the end of the window.
func (l *markupLexer) next() (t mtoken, ok bool) {
	b := l.b
	for l.i < len(b) {
		i := l.i
		if b[i] != '<' || i+1 >= len(b) {
			return l.text(i), true
		}
		c := b[i+1]
		switch {
		case c == '!' && bytes.HasPrefix(b[i:], []byte("<!--")):
			e := bytes.Index(b[i+4:], []byte("-->"))
			if e < 0 {
				l.i = len(b)
			} else {
				l.i = i + 4 + e + 3
			}
			continue
		case c == '!' || c == '?':
			e := bytes.IndexByte(b[i:], '>')
			if e < 0 {
				l.i = len(b)
			} else {
				l.i = i + e + 1
			}
			continue
		case c == '/':
			n := i + 2
			for n < len(b) && isNameByte(b[n]) {
				n++
			}
			if n == i+2 {
				return l.text(i), true
			}
			e := bytes.IndexByte(b[n:], '>')
			end := len(b)
			if e >= 0 {
				end = n + e + 1
			}
			l.i = end
			return mtoken{kind: tokEnd, name: b[i+2 : n], start: i, end: end}, true
		case isLetter(c):
			n := i + 1
			for n < len(b) && isNameByte(b[n]) {
				n++
			}
			end := tagEnd(b, n)
			attrs := b[n:]
			if end < 0 {
				end = len(b) // a tag cut by the window's end
			} else {
				attrs = b[n : end-1]
			}
			t = mtoken{kind: tokStart, name: b[i+1 : n], attrs: bytes.TrimSpace(attrs), start: i, end: end}
			l.i = end
			if rawTextTag(t.name) {
				// Raw text: skip to the end tag, which next returns.
				e := indexEndTag(b[end:], t.name)
				if e < 0 {
					l.i = len(b)
				} else {
					l.i = end + e
				}
			}
			return t, true
		default:
			return l.text(i), true
		}
	}
	return mtoken{}, false
}

// rawTextTag reports whether a start tag named name holds raw text
// (script, style, textarea, title).
func rawTextTag(name []byte) bool {
	switch len(name) {
	case 5:
		return eqFoldASCII(name, "style") || eqFoldASCII(name, "title")
	case 6:
		return eqFoldASCII(name, "script")
	case 8:
		return eqFoldASCII(name, "textarea")
	}
	return false
}

// tagEnd is endOfTag (the index just past the '>' that ends the start tag
// whose attributes begin at i, quoted values honoured, or -1) jumping
// from quote to quote with bytes.IndexByte instead of reading each byte.
func tagEnd(b []byte, i int) int {
	for i < len(b) {
		r := b[i:]
		gt := bytes.IndexByte(r, '>')
		seg := r
		if gt >= 0 {
			seg = r[:gt]
		}
		q := bytes.IndexByte(seg, '"')
		if q2 := bytes.IndexByte(seg, '\''); q2 >= 0 && (q < 0 || q2 < q) {
			q = q2
		}
		if q < 0 {
			if gt < 0 {
				return -1
			}
			return i + gt + 1
		}
		c := bytes.IndexByte(r[q+1:], r[q])
		if c < 0 {
			return -1
		}
		i += q + 1 + c + 1
	}
	return -1
}

// text reads a text token starting at i.
func (l *markupLexer) text(i int) mtoken {
	b := l.b
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '<')
		if k < 0 {
			j = len(b)
			break
		}
		j += k
		if j+1 < len(b) && (isLetter(b[j+1]) || b[j+1] == '/' || b[j+1] == '!' || b[j+1] == '?') {
			break
		}
		j++
	}
	l.i = j
	return mtoken{kind: tokText, text: b[i:j], start: i, end: j}
}

// lowerName lower-cases a tag name into buf without allocating; names
// longer than buf come back empty.
func lowerName(buf *[16]byte, name []byte) string {
	if len(name) > len(buf) {
		return ""
	}
	n := copy(buf[:], name)
	for i := 0; i < n; i++ {
		if c := buf[i]; c >= 'A' && c <= 'Z' {
			buf[i] = c + 'a' - 'A'
		}
	}
	return string(buf[:n])
}

// indexEndTag returns the index of the end tag "</name" in b, any case, or
// -1.
func indexEndTag(b []byte, name []byte) int {
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte("</"))
		if j < 0 {
			return -1
		}
		j += i
		if j+2+len(name) <= len(b) && bytes.EqualFold(b[j+2:j+2+len(name)], name) {
			return j
		}
		i = j + 2
	}
}

func isLetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

func isNameByte(c byte) bool {
	return isLetter(c) || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == ':'
}

func eqFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// inner returns the content of the element whose start tag t was just
// read, and moves the lexer past its end tag. Nesting is counted on
// elements of the same name only, so unclosed <p>, <li> or <td> inside do
// not confuse it; an element left open runs to the end of the window.
func (l *markupLexer) inner(t mtoken) []byte { return l.innerEach(t, nil) }

// innerEach is inner that also hands each token of the content to each
// (when not nil), in the same pass.
func (l *markupLexer) innerEach(t mtoken, each func(mtoken)) []byte {
	if t.selfClosing() {
		return nil
	}
	depth := 0
	for {
		u, ok := l.next()
		if !ok {
			return l.b[t.end:]
		}
		if u.kind == tokStart && eqFoldBytes(u.name, t.name) && !u.selfClosing() {
			depth++
		} else if u.kind == tokEnd && eqFoldBytes(u.name, t.name) {
			if depth == 0 {
				return l.b[t.end:u.start]
			}
			depth--
		}
		if each != nil {
			each(u)
		}
	}
}

// eqFoldBytes compares two tag names (ASCII name bytes) in any case.
func eqFoldBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		c, d := a[i], b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if d >= 'A' && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// find returns the next start tag for which match is true.
func (l *markupLexer) find(match func(mtoken) bool) (mtoken, bool) {
	for {
		t, ok := l.next()
		if !ok {
			return t, false
		}
		if t.kind == tokStart && match(t) {
			return t, true
		}
	}
}

// findElem returns the inner content of the first element in b matched by
// match, and its start tag.
func findElem(b []byte, match func(mtoken) bool) (inner []byte, t mtoken, ok bool) {
	l := newLexer(b)
	t, ok = l.find(match)
	if !ok {
		return nil, t, false
	}
	return l.inner(t), t, true
}

// seekElem is findElem for elements whose start tag holds needle (a class
// name, an attribute name, "<bdo"): it jumps from one occurrence of needle
// to the next with bytes.Index instead of lexing everything in between.
func seekElem(b []byte, needle string, match func(mtoken) bool) (inner []byte, t mtoken, ok bool) {
	l, t, ok := findStart(b, needle, match)
	if !ok {
		return nil, t, false
	}
	return l.inner(t), t, true
}

// findStart finds the first start tag that holds needle (in its name or
// attributes) and satisfies match; the lexer returned stands just after it.
func findStart(b []byte, needle string, match func(mtoken) bool) (l markupLexer, t mtoken, ok bool) {
	for from := 0; from < len(b); {
		i := indexStr(b[from:], needle)
		if i < 0 {
			return l, t, false
		}
		i += from
		from = i + len(needle)
		st := i
		if needle[0] != '<' {
			st = bytes.LastIndexByte(b[:i], '<')
			if st < 0 {
				continue
			}
		}
		l = markupLexer{b: b, i: st}
		t, ok = l.next()
		if ok && t.kind == tokStart && t.end > i && match(t) {
			return l, t, true
		}
	}
	return l, t, false
}

// seekEach is eachElem with seekElem's jumps.
func seekEach(b []byte, needle string, match func(mtoken) bool, fn func(t mtoken, inner []byte) bool) {
	for len(b) > 0 {
		in, t, ok := seekElem(b, needle, match)
		if !ok || !fn(t, in) {
			return
		}
		// Continue after the element: in is a subslice of b.
		end := t.end
		if in != nil {
			end = cap(b) - cap(in[len(in):]) // where the element's content ends
		}
		if end <= 0 || end > len(b) {
			return
		}
		b = b[end:]
	}
}

// eachElem calls fn for each element of b matched by match, in order, not
// looking inside matched elements. fn returns false to stop.
func eachElem(b []byte, match func(mtoken) bool, fn func(t mtoken, inner []byte) bool) {
	l := newLexer(b)
	for {
		t, ok := l.find(match)
		if !ok {
			return
		}
		if !fn(t, l.inner(t)) {
			return
		}
	}
}

// byClass matches start tags whose class attribute has cls.
func byClass(cls string) func(mtoken) bool {
	return func(t mtoken) bool { return hasClass(t.attrs, cls) }
}

// byTag matches start tags named name.
func byTag(name string) func(mtoken) bool {
	return func(t mtoken) bool { return t.is(name) }
}

// byTagClass matches start tags named name whose class has cls.
func byTagClass(name, cls string) func(mtoken) bool {
	return func(t mtoken) bool { return t.is(name) && hasClass(t.attrs, cls) }
}

// byAttr matches start tags that have the attribute name.
func byAttr(name string) func(mtoken) bool {
	return func(t mtoken) bool { _, ok := attr(t.attrs, name); return ok }
}

// attr returns the raw value of the attribute name in the attribute bytes
// of a start tag (entities not decoded).
func attr(attrs []byte, name string) ([]byte, bool) {
	b := attrs
	for i := 0; i < len(b); {
		for i < len(b) && (isSpaceByte(b[i]) || b[i] == '/') {
			i++
		}
		n := i
		for i < len(b) && !isSpaceByte(b[i]) && b[i] != '=' && b[i] != '>' && b[i] != '/' {
			i++
		}
		key := b[n:i]
		for i < len(b) && isSpaceByte(b[i]) {
			i++
		}
		var val []byte
		if i < len(b) && b[i] == '=' {
			i++
			for i < len(b) && isSpaceByte(b[i]) {
				i++
			}
			if i < len(b) && (b[i] == '"' || b[i] == '\'') {
				q := b[i]
				e := bytes.IndexByte(b[i+1:], q)
				if e < 0 {
					val, i = b[i+1:], len(b)
				} else {
					val, i = b[i+1:i+1+e], i+e+2
				}
			} else {
				v := i
				for i < len(b) && !isSpaceByte(b[i]) {
					i++
				}
				val = b[v:i]
			}
		}
		if len(key) == 0 {
			i++
			continue
		}
		if eqFoldASCII(key, name) {
			return val, true
		}
	}
	return nil, false
}

// attrText returns the entity-decoded, trimmed value of an attribute.
func attrText(attrs []byte, name string) string {
	v, ok := attr(attrs, name)
	if !ok {
		return ""
	}
	return Text(string(v))
}

// indexStr is bytes.Index(b, []byte(s)) without converting s.
func indexStr(b []byte, s string) int {
	return strings.Index(unsafe.String(unsafe.SliceData(b), len(b)), s)
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// hasClass reports whether the class attribute in attrs has cls among its
// classes.
func hasClass(attrs []byte, cls string) bool {
	if indexStr(attrs, cls) < 0 {
		return false
	}
	v, ok := attr(attrs, "class")
	if !ok {
		return false
	}
	for len(v) > 0 {
		i := indexStr(v, cls)
		if i < 0 {
			return false
		}
		e := i + len(cls)
		if (i == 0 || isSpaceByte(v[i-1])) && (e == len(v) || isSpaceByte(v[e])) {
			return true
		}
		v = v[e:]
	}
	return false
}

// inlineTags are elements whose boundaries do not separate words.
func inlineTag(name []byte) bool {
	var buf [16]byte
	switch lowerName(&buf, name) {
	case "a", "abbr", "b", "bdi", "bdo", "data", "em", "i", "ins", "mark", "q", "s",
		"small", "span", "strong", "sub", "sup", "time", "u", "del", "font", "label", "code":
		return true
	}
	return false
}

// textOf returns the text content of an HTML fragment, entities decoded and
// white space collapsed. Elements matched by skip are left out with their
// content. Block boundaries separate words; inline ones (Spree's split money
// spans) do not.
func textOf(b []byte, skip func(mtoken) bool) string {
	var sb []byte
	l := newLexer(b)
	for {
		t, ok := l.next()
		if !ok {
			break
		}
		if t.kind == tokStart && skip != nil && skip(t) {
			l.inner(t)
			sb = append(sb, ' ')
			continue
		}
		sb = appendTokenText(sb, &t)
	}
	return cleanText(sb)
}

// appendTokenText appends what t adds to the text of its fragment: its
// text, or a space where a block element starts or ends (textOf).
func appendTokenText(sb []byte, t *mtoken) []byte {
	switch t.kind {
	case tokText:
		return append(sb, t.text...)
	case tokStart, tokEnd:
		if !inlineTag(t.name) {
			return append(sb, ' ')
		}
	}
	return sb
}

// skipMoneyNotes leaves out what sits beside an amount but is not it: tax
// notes (<small class="includes_tax">), struck-out prices, hidden labels.
func skipMoneyNotes(t mtoken) bool {
	return t.is("small") || t.is("del") || t.is("s") || hasClass(t.attrs, "screen-reader-text") ||
		hasClass(t.attrs, "visually-hidden") || hasClass(t.attrs, "sr-only")
}

// moneyOf reads the amount an HTML fragment prints, and its currency when
// the fragment names one unambiguously.
func moneyOf(b []byte) (v float64, currency string, ok bool) {
	v, currency, ok = TextMoney(textOf(b, skipMoneyNotes))
	if !ok {
		return 0, "", false
	}
	return v, currency, true
}

// quantityOf reads an item quantity from text such as "× 2", "Qty: 3",
// quantityIn is the quantity printed in b's first element of class, or 1
// when there is none (a line without a quantity is one item).
func quantityIn(b []byte, class string) int {
	if q, _, ok := findElem(b, byClass(class)); ok {
		if n := quantityOf(textOf(q, nil)); n > 0 {
			return n
		}
	}
	return 1
}

// amountIn is the amount printed in b's first element of class.
func amountIn(b []byte, class string) (v float64, ok bool) {
	if pr, _, found := findElem(b, byClass(class)); found {
		v, _, ok = moneyOf(pr)
	}
	return v, ok
}

// "&#10005;2": the last integer in s.
func quantityOf(s string) int {
	q, seen := 0, false
	for i := 0; i < len(s); {
		if s[i] < '0' || s[i] > '9' {
			i++
			continue
		}
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			n = n*10 + int(s[i]-'0')
			i++
			if n > 1e6 {
				return 0
			}
		}
		if i < len(s) && (s[i] == '.' || s[i] == ',') && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			return 0 // a decimal number, not a quantity
		}
		q, seen = n, true
	}
	if !seen {
		return 0
	}
	return q
}

// unitPrice divides a line total by its quantity.
func unitPrice(line float64, qty int) *float64 {
	if qty <= 0 {
		return nil
	}
	return Money(line / float64(qty))
}

// orderNumber cleans a printed order number: "Order #SL1289" → "SL1289",
// "#10045" → "10045", "Order number: 1001" → "1001". It returns "" when what
// is left does not look like an id.
func orderNumber(s string) string {
	s = Text(s)
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		s = s[i+1:]
	} else if i := strings.LastIndexAny(s, ":："); i >= 0 {
		s = s[i+1:]
	} else if f := strings.Fields(s); len(f) > 1 {
		s = f[len(f)-1]
	}
	s = strings.TrimSpace(s)
	s = strings.TrimRight(s, ".")
	if s == "" || len(s) > 64 {
		return ""
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_' || r == '/' || r == '.') {
			return ""
		}
	}
	return s
}

// byID matches start tags whose id is id.
func byID(id string) func(mtoken) bool {
	return func(t mtoken) bool {
		v, ok := attr(t.attrs, "id")
		return ok && string(v) == id
	}
}

// markerTag returns the start of the tag whose attributes hold the marker
// found at at, looking at later occurrences of the marker when one sits in
// text (a stylesheet, a script: a theme's `if (a<b) $('.marker')` looks
// like a tag), or -1.
func markerTag(p *Page, at int, marker string) int {
	raw := p.Raw
	for n := 0; at >= 0 && n < 16; n++ {
		lt := bytes.LastIndexByte(raw[:at], '<')
		gt := bytes.LastIndexByte(raw[:at], '>')
		if lt >= 0 && lt > gt && lt+1 < len(raw) && isLetter(raw[lt+1]) && !p.inScript(at) {
			return lt
		}
		next := indexStr(raw[at+1:], marker)
		if next < 0 {
			return -1
		}
		at += 1 + next
	}
	return -1
}

// totalsRows calls fn for each row of a totals block: table rows (label in
// the first cell, amount in the last) and dt/dd pairs. kind is
// totalsLabel(label).
func totalsRows(b []byte, fn func(kind, label string, value []byte)) {
	l := newLexer(b)
	var label string
	for {
		t, ok := l.next()
		if !ok {
			return
		}
		if t.kind != tokStart {
			continue
		}
		switch {
		case t.is("tr"):
			row := l.inner(t)
			var cells [][]byte
			eachElem(row, func(u mtoken) bool { return u.is("td") || u.is("th") }, func(_ mtoken, in []byte) bool {
				cells = append(cells, in)
				return true
			})
			if len(cells) >= 2 {
				lb := textOf(cells[0], nil)
				fn(totalsLabel(lb), lb, cells[len(cells)-1])
			}
		case t.is("dt"):
			label = textOf(l.inner(t), nil)
		case t.is("dd"):
			in := l.inner(t)
			if label != "" {
				fn(totalsLabel(label), label, in)
			}
			label = ""
		}
	}
}

// addTotal records one totals row in o: the subtotal, the total (first one
// wins), a discount without code.
func addTotal(o *Order, kind string, value []byte) {
	v, cur, ok := moneyOf(value)
	if !ok {
		return
	}
	addMoney(o, kind, v, cur)
}

// addMoney records the amount v (currency cur) of one totals row of kind.
func addMoney(o *Order, kind string, v float64, cur string) {
	switch kind {
	case "subtotal":
		if o.Subtotal == nil {
			o.Subtotal = Money(math.Abs(v))
		}
	case "total":
		if o.Total == nil {
			o.Total = Money(v)
		}
	case "discount":
		if v != 0 {
			o.Discounts = append(o.Discounts, Discount{Amount: Money(math.Abs(v))})
		}
	default:
		return
	}
	if o.Currency == "" {
		o.Currency = cur
	}
}

// emailIn returns the first customer-looking email address in text.
func emailIn(s string) string {
	for f := range strings.FieldsFuncSeq(s, func(r rune) bool {
		return r == ' ' || r == '(' || r == ')' || r == '<' || r == '>' || r == ',' || r == ';' || r == '"' || r == '\''
	}) {
		if strings.IndexByte(f, '@') < 0 {
			continue
		}
		f = strings.TrimRight(f, ".:!?")
		if e := Email(f); e != "" {
			return e
		}
	}
	return ""
}

// window returns p.Raw from the start of the tag enclosing at, bounded to
// markupWindow bytes.
func window(raw []byte, at int) []byte {
	st := bytes.LastIndexByte(raw[:at], '<')
	if st < 0 {
		st = 0
	}
	end := min(len(raw), st+markupWindow)
	return raw[st:end]
}

// ---------------------------------------------------------------------------
// Totals rows.

// totalsLabel classifies the label of a totals row: "subtotal", "total",
// "discount", "shipping", "tax" or "".
func totalsLabel(label string) string {
	s := strings.ToLower(Text(label))
	s = strings.TrimRight(s, ": ：")
	switch s {
	case "subtotal", "sub-total", "sub total", "cart subtotal", "order subtotal", "items subtotal",
		"products subtotal", "sous-total", "sous total", "zwischensumme", "subtotaal", "subtotale",
		"total products", "total produits", "produkte", "summe artikel":
		return "subtotal"
	case "total", "order total", "grand total", "total ttc", "gesamtsumme", "gesamt", "totaal",
		"totale", "total price", "total paid", "montant total", "total (tax incl.)", "total (ttc)":
		return "total"
	}
	switch {
	case strings.HasPrefix(s, "discount"), strings.HasPrefix(s, "coupon"), strings.HasPrefix(s, "remise"),
		strings.HasPrefix(s, "rabatt"), strings.HasPrefix(s, "réduction"), strings.HasPrefix(s, "promotion"),
		strings.HasPrefix(s, "gutschein"), strings.HasPrefix(s, "descuento"):
		return "discount"
	case strings.HasPrefix(s, "shipping"), strings.HasPrefix(s, "livraison"), strings.HasPrefix(s, "versand"):
		return "shipping"
	case strings.HasPrefix(s, "tax"), strings.HasPrefix(s, "vat"), strings.HasPrefix(s, "tva"),
		strings.HasPrefix(s, "mwst"), strings.HasPrefix(s, "gst"), strings.HasPrefix(s, "hst"):
		return "tax"
	}
	return ""
}

// readTotalsSubtotal finds "Subtotal" rows anywhere on the page: a text
// node that is exactly a subtotal label, followed by the element that
// holds the amount (<th>Subtotal</th><td>…</td>, <dt>…</dt><dd>…</dd>,
// <span>…</span><span>…</span>). Zero rows (an empty mini-cart) are
// ignored; rows that disagree make it give up.
func readTotalsSubtotal(raw []byte, s *needleScan) *float64 {
	var found *float64
	for _, k := range [...]int{mkSubtotal, mkSousTotal, mkZwischensumme} {
		at := s.get(k)
		for n := 0; at >= 0 && n < 8; n++ {
			v, ok := subtotalAt(raw, at)
			if ok && v != 0 {
				if found != nil && *found != v {
					return nil
				}
				if found == nil {
					found = Money(v)
				}
			}
			next := bytes.Index(raw[at+1:], []byte(markupNeedles[k].s))
			if next < 0 {
				break
			}
			at += 1 + next
		}
	}
	return found
}

// subtotalAt reads the amount of the totals row whose label text contains
// the byte at, or ok false when at is not in such a label.
func subtotalAt(raw []byte, at int) (float64, bool) {
	lt := bytes.LastIndexByte(raw[:at], '<')
	gt := bytes.LastIndexByte(raw[:at], '>')
	if gt < 0 || gt < lt {
		return 0, false // inside a tag
	}
	end := bytes.IndexByte(raw[at:], '<')
	if end < 0 {
		return 0, false
	}
	end += at
	if end-gt > 80 || totalsLabel(string(raw[gt+1:end])) != "subtotal" { // a label is short
		return 0, false
	}
	// The label's text ends at end; the amount is in the next element
	// that starts after it, within the same row.
	w := raw[end:min(len(raw), end+2048)]
	l := newLexer(w)
	climbed := 0
	for {
		t, ok := l.next()
		if !ok {
			return 0, false
		}
		switch t.kind {
		case tokText:
			if len(bytes.TrimSpace(t.text)) > 0 && climbed > 0 {
				return 0, false
			}
		case tokEnd:
			climbed++
			if climbed > 3 || rowBoundary(t.name) {
				return 0, false
			}
		case tokStart:
			if t.selfClosing() {
				continue
			}
			inner := l.inner(t)
			v, _, ok := moneyOf(inner)
			if !ok {
				return 0, false
			}
			return math.Abs(v), true
		}
	}
}

// rowBoundary reports whether closing name ends a totals row or list.
func rowBoundary(name []byte) bool {
	var buf [16]byte
	switch lowerName(&buf, name) {
	case "tr", "table", "tbody", "tfoot", "thead", "dl", "ul", "ol", "li", "section", "form", "body", "main", "article", "aside":
		return true
	}
	return false
}
