package jslit

import (
	"errors"
	"fmt"
	"sync"
)

// maxDepth bounds the nesting Parse builds values for; deeper containers
// are kept as Expr.
const maxDepth = 100

// ErrEmpty is returned by Parse when src holds no value at all.
var ErrEmpty = errors.New("jslit: no value")

// ErrBudget is returned by Parse when src is built so that reading it
// would take far more than time linear in its length; the value holds
// what was read before Parse stopped.
var ErrBudget = errors.New("jslit: input too costly to read")

// SyntaxError reports the first syntax error Parse met (and recovered from,
// where it could).
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("jslit: %s at offset %d", e.Msg, e.Offset)
}

// parserPool keeps parsers with their scratch stacks grown.
var parserPool = sync.Pool{New: func() any { return new(parser) }}

// parser is the state of one call of Parse, Calls or Assignments.
type parser struct {
	s     string
	err   error
	work  int // steps taken so far (see work.go)
	limit int // steps allowed
	// A regular-expression literal scanned from noRegexFrom found no end
	// on its line, which ends at noRegexTo: a '/' in between is taken for
	// division, by every walk of the call (see walk).
	noRegexFrom, noRegexTo int
	buf                    []byte   // scratch for decoding strings
	members                []Member // scratch stack of the objects being read
	values                 []Value  // scratch stack of the arrays being read
	tailEnd                int      // end of the last number tail joined (see numberTail); 0: none
}

// newParser returns a parser for s from the pool, allowed limit steps.
func newParser(s string, limit int) *parser {
	p := parserPool.Get().(*parser)
	p.s, p.err, p.work, p.limit = s, nil, 0, limit
	p.noRegexFrom, p.noRegexTo, p.tailEnd = 0, 0, 0
	return p
}

// release returns p to the pool (its scratch stacks were cleared as each
// container closed).
func (p *parser) release() {
	p.s, p.err = "", nil
	parserPool.Put(p)
}

func (p *parser) fail(i int, msg string) {
	if p.err == nil {
		p.err = &SyntaxError{Offset: i, Msg: msg}
	}
}

// context of a value: what may legitimately follow it.
const (
	inTop = iota
	inObject
	inArray
)

// Parse reads one literal at the start of src (after white space and
// comments) and returns it and the number of bytes consumed. On a syntax
// error inside an object or array it recovers where it can (skipping to the
// next ',' at the same depth) and returns what it read together with the
// first error; v is nil only when nothing could be read.
//
// A value followed by an operator ("a || {}", "x + 1", "f(…)") is returned
// whole as an Expr. Parse stops before the ',', ';', ')', ']' or '}' that
// ends the value, or at a line break after a complete value.
//
// Input built to make reading it costly (far beyond linear time) makes
// Parse stop early and return what it read with ErrBudget.
func Parse(src []byte) (v Value, n int, err error) {
	v, n, _, err = parse(string(src), budget(len(src)))
	return v, n, err
}

// parse is Parse allowed limit steps; it also returns the steps taken.
func parse(src string, limit int) (v Value, n, work int, err error) {
	p := newParser(src, limit)
	defer p.release()
	v, n, err = p.parseAt(0)
	return v, n, p.work, err
}

// parseAt reads one literal at i in p.s as Parse does, returning the
// index it stopped at.
func (p *parser) parseAt(i int) (v Value, end int, err error) {
	p.err = nil
	if p.over() {
		return nil, i, ErrBudget
	}
	j := p.space(i)
	if j >= len(p.s) {
		return nil, len(p.s), ErrEmpty
	}
	v, end = p.value(j, 0, inTop)
	if v == nil && p.err == nil {
		p.fail(j, "no value")
	}
	if p.over() {
		return v, end, ErrBudget
	}
	return v, end, p.err
}

// value reads a value at i (not white space) and what extends it into an
// expression.
func (p *parser) value(i, depth, ctx int) (Value, int) {
	s := p.s
	v, j := p.primary(i, depth)
	if v == nil {
		return nil, j
	}
	if _, ok := v.(Expr); ok && j > i && (j >= len(s) || isTerminator(s[j])) {
		return v, j
	}
	k, nl := p.spaceNL(j)
	if k >= len(s) || isTerminator(s[k]) {
		return v, j
	}
	switch c := s[k]; ctx {
	case inObject:
		if p.keyFollows(k) {
			p.fail(k, "missing comma")
			return v, j
		}
	case inArray:
		if c == '{' || c == '[' || c == '"' || c == '\'' {
			if _, ok := v.(Expr); !ok {
				p.fail(k, "missing comma")
				return v, j
			}
		}
	case inTop:
		if nl && !p.continues(k) {
			return v, j
		}
	}
	end := p.skipExpr(k)
	return Expr(trimExpr(s[i:end])), end
}

func isTerminator(c byte) bool {
	switch c {
	case ',', ';', ')', ']', '}':
		return true
	}
	return false
}

// continues reports whether the token at k continues the expression before
// a line break (JavaScript inserts no semicolon there): a binary operator,
// a member access or a call.
func (p *parser) continues(k int) bool {
	s := p.s
	switch s[k] {
	case '.', '?', ':', '+', '-', '*', '/', '%', '&', '|', '^', '<', '>', '=', '(', '[':
		return true
	}
	w := s[k:p.identEnd(k)]
	return w == "in" || w == "instanceof"
}

// keyFollows reports whether a property key and its ':' start at k (a
// member whose comma is missing).
func (p *parser) keyFollows(k int) bool {
	s := p.s
	var e int
	switch c := s[k]; {
	case c == '"' || c == '\'':
		e = p.skipQuoted(k)
	case isIdentStart(c):
		e = p.identEnd(k)
	case isDigit(c):
		e = p.numberEnd(k)
	default:
		return false
	}
	e = p.space(e)
	return e < len(s) && s[e] == ':'
}

func trimExpr(b string) string {
	for len(b) > 0 {
		switch b[len(b)-1] {
		case ' ', '\t', '\n', '\r', '\f', '\v':
			b = b[:len(b)-1]
			continue
		}
		break
	}
	return b
}

// primary reads the literal, identifier or other expression at i.
func (p *parser) primary(i, depth int) (Value, int) {
	s := p.s
	c := s[i]
	switch {
	case c == '{' || c == '[':
		if depth >= maxDepth {
			end := p.skipExpr(i)
			return Expr(trimExpr(s[i:end])), end
		}
		if c == '{' {
			return p.object(i, depth)
		}
		return p.array(i, depth)
	case c == '"' || c == '\'' || c == '`':
		str, end, status := p.quoted(i)
		switch status {
		case quoteSubstitution:
			end := p.skipExpr(i)
			return Expr(trimExpr(s[i:end])), end
		case quoteUnterminated:
			p.fail(i, "unterminated string")
			return nil, end
		}
		return String(str), end
	case isDigit(c) || c == '.' && i+1 < len(s) && isDigit(s[i+1]):
		end := p.numberEnd(i)
		return Number(s[i:end]), end
	case c == '-' || c == '+':
		if i+1 < len(s) && (isDigit(s[i+1]) || s[i+1] == '.' && i+2 < len(s) && isDigit(s[i+2])) {
			end := p.numberEnd(i)
			return Number(s[i:end]), end
		}
	case c == '!':
		if i+1 < len(s) && (s[i+1] == '0' || s[i+1] == '1') && (i+2 >= len(s) || !isIdentChar(s[i+2]) && s[i+2] != '.') {
			return Bool(s[i+1] == '0'), i + 2
		}
	case isIdentStart(c):
		end := p.identEnd(i)
		switch string(s[i:end]) {
		case "true":
			return Bool(true), end
		case "false":
			return Bool(false), end
		case "null", "undefined":
			return Null{}, end
		}
		return Expr(s[i:end]), end
	}
	end := p.skipExpr(i)
	if end == i {
		p.fail(i, "missing value")
		return nil, i
	}
	return Expr(trimExpr(s[i:end])), end
}

func (p *parser) object(i, depth int) (Value, int) {
	s := p.s
	base := len(p.members)
	done := func() Object { return Object(popFrom(&p.members, base)) }
	i++
	for {
		var step listStep
		i, step = p.between(i, '}', "object")
		if step == listEnd {
			return done(), i
		}
		if step == listNext {
			continue
		}
		switch s[i] {
		case '[', '.':
			// Computed key or spread: valid, but nothing to read.
			i = p.recover(i)
			continue
		}
		key, j, ident := p.key(i)
		if j < 0 {
			i = p.recover(i)
			continue
		}
		k := p.space(j)
		switch {
		case k < len(s) && s[k] == ':':
			vi := p.space(k + 1)
			if vi >= len(s) {
				p.fail(vi, "unterminated object")
				return done(), vi
			}
			v, end := p.value(vi, depth+1, inObject)
			if v == nil {
				i = p.recover(end)
				continue
			}
			p.members = append(p.members, Member{Key: key, Value: v})
			i = end
		case ident && (k >= len(s) || s[k] == ',' || s[k] == '}'):
			// Shorthand property {a, b}.
			p.members = append(p.members, Member{Key: key, Value: Expr(key)})
			i = k
		case k < len(s) && s[k] == '(':
			// Method: name(…) {…}.
			end := p.skipExpr(k)
			p.members = append(p.members, Member{Key: key, Value: Expr(trimExpr(s[i:end]))})
			i = end
		case p.numberTail(base, i, j, ident):
			// "value: 49,90" or "value: 1,234.56": an amount printed with
			// its locale's comma, which JavaScript would read as two
			// numbers (a syntax error here). The previous member keeps it
			// whole, as the text a money reader can read.
			last := &p.members[len(p.members)-1]
			last.Value = String(numberText(last.Value) + "," + key)
			p.fail(k, "comma in a number")
			p.tailEnd = j
			i = k
		default:
			p.fail(k, "bad member")
			i = p.recover(k)
		}
	}
}

// numberTail reports whether the key s[i:j] of an object member with no
// value is the rest of the number the member before it ended with: digits
// right after "<number>," (no space), or after a tail joined already
// ("1,234,567.89"), and nothing after them but the end of the member.
func (p *parser) numberTail(base, i, j int, ident bool) bool {
	s := p.s
	if ident || len(p.members) == base || i == 0 || s[i-1] != ',' || !isDigit(s[i]) {
		return false
	}
	switch p.members[len(p.members)-1].Value.(type) {
	case Number:
	case String:
		if p.tailEnd != i-1 {
			return false
		}
	default:
		return false
	}
	k := p.space(j)
	return k >= len(s) || s[k] == ',' || s[k] == '}'
}

// numberText is the text of a Number, or of a String numberTail made.
func numberText(v Value) string {
	switch t := v.(type) {
	case Number:
		return string(t)
	case String:
		return string(t)
	}
	return ""
}

// recover skips from i to the ',' or closing bracket that ends the broken
// member or element.
func (p *parser) recover(i int) int {
	if i >= len(p.s) {
		return i
	}
	end := p.skipExpr(i)
	if end == i && !isTerminator(p.s[i]) {
		end++
	}
	return end
}

// key reads a property key at i; j is -1 when there is none (computed keys
// and spreads included), ident whether it was a bare identifier.
func (p *parser) key(i int) (key string, j int, ident bool) {
	s := p.s
	c := s[i]
	switch {
	case c == '"' || c == '\'' || c == '`':
		str, end, status := p.quoted(i)
		if status != quoteOK {
			p.fail(i, "bad key")
			return "", -1, false
		}
		return str, end, false
	case isIdentStart(c):
		end := p.identEnd(i)
		return s[i:end], end, true
	case isDigit(c) || c == '.' && i+1 < len(s) && isDigit(s[i+1]):
		end := p.numberEnd(i)
		return s[i:end], end, false
	}
	p.fail(i, "bad key")
	return "", -1, false
}

func (p *parser) array(i, depth int) (Value, int) {
	base := len(p.values)
	done := func() Array { return Array(popFrom(&p.values, base)) }
	i++
	for {
		var step listStep
		i, step = p.between(i, ']', "array")
		if step == listEnd {
			return done(), i
		}
		if step == listNext {
			continue
		}
		v, end := p.value(i, depth+1, inArray)
		if v == nil {
			i = p.recover(end)
			continue
		}
		p.values = append(p.values, v)
		i = end
	}
}

// listStep is what the text between two members of an object, or two
// elements of an array, asks of its reader (between).
type listStep int

const (
	listItem listStep = iota // a member or element starts here
	listNext                 // punctuation was read; look again
	listEnd                  // the literal ends here (closed, cut short or over budget)
)

// between reads, from i, the white space and punctuation before the next
// member of an object (close '}') or element of an array (close ']'): the
// closing bracket ends it, a comma is skipped, a stray ';' is skipped and
// noted, another closing bracket ends it as unbalanced.
func (p *parser) between(i int, close byte, kind string) (int, listStep) {
	s := p.s
	i = p.space(i)
	if p.over() {
		return i, listEnd
	}
	if i >= len(s) {
		p.fail(i, "unterminated "+kind)
		return i, listEnd
	}
	switch c := s[i]; {
	case c == close:
		return i + 1, listEnd
	case c == ',':
		return i + 1, listNext
	case c == ';':
		p.fail(i, "';' in "+kind)
		return i + 1, listNext
	case c == ')' || c == ']' || c == '}':
		p.fail(i, "unbalanced "+s[i:i+1])
		return i, listEnd
	}
	return i, listItem
}

// popFrom returns a copy of the elements of the scratch stack above base
// and pops them (cleared, so the pooled stack keeps no values alive).
func popFrom[T any](stack *[]T, base int) []T {
	out := make([]T, len(*stack)-base)
	copy(out, (*stack)[base:])
	clear((*stack)[base:])
	*stack = (*stack)[:base]
	return out
}
