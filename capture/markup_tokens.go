package capture

import (
	"bytes"
	"sync"
	"unicode/utf8"
)

// Token lists: a region (the WooCommerce order table, the overview list)
// is lexed once into a slice of tokens, and rows, cells and their text are
// then read by walking index ranges of that slice instead of lexing the
// same bytes again for each nested element. Lexing a sub-slice that starts
// and ends on token boundaries gives exactly the tokens of the whole in
// that range, so the results are those of the byte helpers (inner,
// eachElem, findElem, textOf), with one exception the callers guard
// against: the body of a raw-text element (script, style, textarea,
// title) is not tokenized in the list, so a region holding one is read
// with the byte helpers instead.

// tokList is the tokens of one region.
type tokList struct {
	t   []mtoken
	raw bool // the region holds a raw-text element
}

// seekTokens is seekElem that also lexes the content of the element it
// finds into buf: the tokens lexTokens gives on that content, read in the
// same pass that finds its end.
func seekTokens(b []byte, needle string, match func(mtoken) bool, buf []mtoken) (tl tokList, inner []byte, t mtoken, ok bool) {
	tl.t = buf[:0]
	l, t, ok := findStart(b, needle, match)
	if !ok {
		return tl, nil, t, false
	}
	// The body of a raw-text element is not tokenized.
	tl.raw = rawTextTag(t.name) && !t.selfClosing()
	inner = l.innerEach(t, func(u mtoken) {
		if u.kind == tokStart && rawTextTag(u.name) {
			tl.raw = true
		}
		tl.t = append(tl.t, u)
	})
	return tl, inner, t, true
}

// inner is markupLexer.inner over tokens: for the start tag at k, the
// range of its content in [k+1, hi) and the index just past its end tag.
func (tl *tokList) inner(k, hi int) (lo, end, next int) {
	t := &tl.t[k]
	if t.selfClosing() {
		return k + 1, k + 1, k + 1
	}
	depth := 0
	for i := k + 1; i < hi; i++ {
		u := &tl.t[i]
		if u.kind == tokStart && eqFoldBytes(u.name, t.name) && !u.selfClosing() {
			depth++
		} else if u.kind == tokEnd && eqFoldBytes(u.name, t.name) {
			if depth == 0 {
				return k + 1, i, i + 1
			}
			depth--
		}
	}
	return k + 1, hi, hi
}

// find is findElem over tokens: the first start tag in [lo, hi) matched
// by match, and its content range; ok false when none.
func (tl *tokList) find(lo, hi int, match func(*mtoken) bool) (k, clo, chi int, ok bool) {
	for i := lo; i < hi; i++ {
		if t := &tl.t[i]; t.kind == tokStart && match(t) {
			clo, chi, _ = tl.inner(i, hi)
			return i, clo, chi, true
		}
	}
	return 0, 0, 0, false
}

// each is eachElem over tokens.
func (tl *tokList) each(lo, hi int, match func(*mtoken) bool, fn func(k, clo, chi int) bool) {
	for i := lo; i < hi; {
		t := &tl.t[i]
		if t.kind != tokStart || !match(t) {
			i++
			continue
		}
		clo, chi, next := tl.inner(i, hi)
		if !fn(i, clo, chi) {
			return
		}
		i = next
	}
}

// text is textOf over the tokens [lo, hi).
func (tl *tokList) text(lo, hi int, skip func(*mtoken) bool) string {
	var arr [256]byte
	sb := arr[:0]
	for i := lo; i < hi; {
		t := &tl.t[i]
		i++
		if t.kind == tokStart && skip != nil && skip(t) {
			_, _, i = tl.inner(i-1, hi)
			sb = append(sb, ' ')
			continue
		}
		sb = appendTokenText(sb, t)
	}
	return cleanText(sb)
}

// cleanText is Text(string(b)) with one allocation: entities decoded,
// runs of white space collapsed to one space, the ends trimmed.
func cleanText(b []byte) string {
	if bytes.IndexByte(b, '&') >= 0 {
		return Text(string(b))
	}
	var arr [256]byte
	out := arr[:0]
	pending := false
	for i := 0; i < len(b); {
		c := b[i]
		n := 1
		var space bool
		if c < utf8.RuneSelf {
			space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
		} else {
			var r rune
			r, n = utf8.DecodeRune(b[i:])
			space = isSpace(r)
		}
		if space {
			pending = true
		} else {
			if pending && len(out) > 0 {
				out = append(out, ' ')
			}
			pending = false
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return string(out)
}

// money is moneyOf over the tokens [lo, hi).
func (tl *tokList) money(lo, hi int) (v float64, currency string, ok bool) {
	s := tl.text(lo, hi, func(t *mtoken) bool { return skipMoneyNotes(*t) })
	v, currency, ok = TextMoney(s)
	if !ok {
		return 0, "", false
	}
	return v, currency, true
}

// totalsRows is totalsRows over the tokens [lo, hi).
func (tl *tokList) totalsRows(lo, hi int, fn func(kind string, vlo, vhi int)) {
	var label string
	for i := lo; i < hi; {
		t := &tl.t[i]
		if t.kind != tokStart {
			i++
			continue
		}
		switch {
		case t.is("tr"):
			rlo, rhi, next := tl.inner(i, hi)
			i = next
			var cells [8][2]int
			n := 0
			first := [2]int{}
			tl.each(rlo, rhi, func(u *mtoken) bool { return u.is("td") || u.is("th") }, func(_, clo, chi int) bool {
				if n == 0 {
					first = [2]int{clo, chi}
				}
				cells[n%len(cells)] = [2]int{clo, chi}
				n++
				return true
			})
			if n >= 2 {
				lb := tl.text(first[0], first[1], nil)
				last := cells[(n-1)%len(cells)]
				fn(totalsLabel(lb), last[0], last[1])
			}
		case t.is("dt"):
			clo, chi, next := tl.inner(i, hi)
			label = tl.text(clo, chi, nil)
			i = next
		case t.is("dd"):
			clo, chi, next := tl.inner(i, hi)
			if label != "" {
				fn(totalsLabel(label), clo, chi)
			}
			label = ""
			i = next
		default:
			i++
		}
	}
}

// tokPool holds token buffers between calls.
var tokPool = sync.Pool{New: func() any { b := make([]mtoken, 0, 512); return &b }}

func getTokens() *[]mtoken { return tokPool.Get().(*[]mtoken) }

// putTokens returns a buffer to the pool, without references to the page.
func putTokens(p *[]mtoken, used []mtoken) {
	clear(used)
	if cap(used) > 1<<14 {
		return
	}
	*p = used[:0]
	tokPool.Put(p)
}

// addTotal is addTotal for a value in the tokens [lo, hi).
func (tl *tokList) addTotal(o *Order, kind string, lo, hi int) {
	v, cur, ok := tl.money(lo, hi)
	if !ok {
		return
	}
	addMoney(o, kind, v, cur)
}
