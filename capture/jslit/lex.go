package jslit

import (
	"strings"
	"unicode/utf8"
)

// This file holds the lexical helpers shared by Parse, Calls and
// Assignments: white space and comments, quoted strings and template
// literals, identifiers, and skipExpr, which steps over one JavaScript
// expression without understanding it.

// Character classes: identStart, identChar.
const (
	classIdentStart = 1 << iota
	classIdentChar
)

var classes = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$' || c >= 0x80 {
			t[c] |= classIdentStart | classIdentChar
		}
		if c >= '0' && c <= '9' {
			t[c] |= classIdentChar
		}
	}
	return t
}()

func isIdentStart(c byte) bool { return classes[c]&classIdentStart != 0 }

func isIdentChar(c byte) bool { return classes[c]&classIdentChar != 0 }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// identEnd returns the end of the identifier starting at i (i itself when
// there is none).
func identEnd(s string, i int) int {
	if i >= len(s) || !isIdentStart(s[i]) {
		return i
	}
	i++
	for i < len(s) && isIdentChar(s[i]) {
		i++
	}
	return i
}

// space skips white space and comments from i.
func space(s string, i int) int {
	i, _ = spaceNL(s, i)
	return i
}

// spaceNL skips white space and comments from i and reports whether it
// crossed a line break.
func spaceNL(s string, i int) (int, bool) {
	nl := false
	for i < len(s) {
		c := s[i]
		if c == ' ' || c == '\t' {
			i++
			continue
		}
		if c > ' ' && c < 0x80 && c != '/' && c != '<' {
			return i, nl
		}
		switch c {
		case ' ', '\t', '\f', '\v':
			i++
		case '\n', '\r':
			i++
			nl = true
		case '/':
			if i+1 >= len(s) {
				return i, nl
			}
			switch s[i+1] {
			case '/':
				i = lineEnd(s, i)
			case '*':
				end := indexFrom(s, i+2, '*', '/')
				if end < 0 {
					return len(s), nl
				}
				for _, b := range s[i:end] {
					if b == '\n' {
						nl = true
						break
					}
				}
				i = end + 2
			default:
				return i, nl
			}
		case '<':
			// "<!--" opens a single-line comment in script text.
			if i+3 < len(s) && s[i+1] == '!' && s[i+2] == '-' && s[i+3] == '-' {
				i = lineEnd(s, i)
				continue
			}
			return i, nl
		case 0xC2: // U+00A0
			if i+1 < len(s) && s[i+1] == 0xA0 {
				i += 2
				continue
			}
			return i, nl
		case 0xEF: // U+FEFF
			if i+2 < len(s) && s[i+1] == 0xBB && s[i+2] == 0xBF {
				i += 3
				continue
			}
			return i, nl
		case 0xE2: // U+2028, U+2029
			if i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9) {
				i += 3
				nl = true
				continue
			}
			return i, nl
		default:
			return i, nl
		}
	}
	return i, nl
}

// lineEnd returns the index of the line break ending the line that holds
// i, or len(s).
func lineEnd(s string, i int) int {
	for ; i < len(s); i++ {
		if s[i] == '\n' || s[i] == '\r' {
			return i
		}
	}
	return i
}

// indexFrom returns the index of the pair a, b at or after i, or -1.
func indexFrom(s string, i int, a, b byte) int {
	for ; i+1 < len(s); i++ {
		if s[i] == a && s[i+1] == b {
			return i
		}
	}
	return -1
}

// Status of a quoted literal read by decodeQuoted.
const (
	quoteOK           = iota
	quoteUnterminated // ran into a line break (or the end) before its quote
	quoteSubstitution // a template literal with ${…}
)

// quoted reads the string or template literal whose quote is at s[i]
// and returns its decoded contents and the index just past it. A literal
// without escapes is returned as a substring of s; others are decoded in
// p.buf. For an unterminated string end is the line break (or len(s));
// for a template with a substitution it is the '$'. It charges p with the
// bytes it looked at (its search for the quote may pass end).
func (p *parser) quoted(i int) (str string, end, status int) {
	s := p.s
	far := 0 // past the bytes looked at, charged to p.work
	q := s[i]
	j := i + 1
	start := j
	if q != '`' {
		// Most strings hold no escape and no line break: find the quote
		// with the vectorised search. (Linear overall: the search from
		// one quote stops at the next of its kind.)
		k := strings.IndexByte(s[start:], q)
		if k < 0 {
			far = len(s)
		} else {
			far = start + k + 1
			seg := s[start : start+k]
			if strings.IndexByte(seg, '\\') < 0 && strings.IndexByte(seg, '\n') < 0 && strings.IndexByte(seg, '\r') < 0 {
				p.work += start + k + 1 - i
				return seg, start + k + 1, quoteOK
			}
		}
	}
	for j < len(s) {
		c := s[j]
		if c == q {
			p.work += max(far, j+1) - i
			return s[start:j], j + 1, quoteOK
		}
		if c == '\\' {
			break
		}
		if q == '`' {
			if c == '$' && j+1 < len(s) && s[j+1] == '{' {
				p.work += max(far, j+2) - i
				return "", j, quoteSubstitution
			}
		} else if c == '\n' || c == '\r' {
			p.work += max(far, j+1) - i
			return "", j, quoteUnterminated
		}
		j++
	}
	dst := append(p.buf[:0], s[start:j]...)
	defer func() { p.buf = dst }()
	for j < len(s) {
		c := s[j]
		switch {
		case c == q:
			p.work += max(far, j+1) - i
			return string(dst), j + 1, quoteOK
		case c == '\\':
			dst, j = decodeEscape(dst, s, j)
		case q == '`' && c == '$' && j+1 < len(s) && s[j+1] == '{':
			p.work += max(far, j+2) - i
			return "", j, quoteSubstitution
		case q != '`' && (c == '\n' || c == '\r'):
			p.work += max(far, j+1) - i
			return "", j, quoteUnterminated
		default:
			dst = append(dst, c)
			j++
		}
	}
	p.work += max(far, j) - i
	return "", j, quoteUnterminated
}

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10
	}
	return -1
}

// hexRune reads n hex digits at s[i:], -1 when they are not all there.
func hexRune(s string, i, n int) rune {
	if i+n > len(s) {
		return -1
	}
	var r rune
	for k := 0; k < n; k++ {
		h := hexVal(s[i+k])
		if h < 0 {
			return -1
		}
		r = r<<4 | h
	}
	return r
}

// decodeEscape decodes the escape sequence whose backslash is at s[j].
func decodeEscape(dst []byte, s string, j int) ([]byte, int) {
	if j+1 >= len(s) {
		return dst, len(s)
	}
	c := s[j+1]
	switch c {
	case 'n':
		return append(dst, '\n'), j + 2
	case 't':
		return append(dst, '\t'), j + 2
	case 'r':
		return append(dst, '\r'), j + 2
	case 'b':
		return append(dst, '\b'), j + 2
	case 'f':
		return append(dst, '\f'), j + 2
	case 'v':
		return append(dst, '\v'), j + 2
	case '\r':
		if j+2 < len(s) && s[j+2] == '\n' {
			return dst, j + 3
		}
		return dst, j + 2
	case '\n':
		return dst, j + 2
	case 'x':
		if r := hexRune(s, j+2, 2); r >= 0 {
			return utf8.AppendRune(dst, r), j + 4
		}
		return append(dst, 'x'), j + 2
	case 'u':
		r, k := unicodeEscape(s, j)
		if r < 0 {
			return append(dst, 'u'), j + 2
		}
		if r >= 0xD800 && r < 0xDC00 && k+1 < len(s) && s[k] == '\\' && s[k+1] == 'u' {
			if lo, k2 := unicodeEscape(s, k); lo >= 0xDC00 && lo < 0xE000 {
				return utf8.AppendRune(dst, (r-0xD800)<<10|(lo-0xDC00)+0x10000), k2
			}
		}
		return utf8.AppendRune(dst, r), k // lone surrogates become U+FFFD
	case 0xE2:
		// Line continuation with U+2028 / U+2029.
		if j+3 < len(s) && s[j+2] == 0x80 && (s[j+3] == 0xA8 || s[j+3] == 0xA9) {
			return dst, j + 4
		}
		return dst, j + 1 // the character itself is copied next
	}
	if c >= '0' && c <= '7' {
		// Legacy octal escape (\0 is NUL).
		r, k := rune(c-'0'), j+2
		for n := 1; n < 3 && k < len(s) && s[k] >= '0' && s[k] <= '7' && r*8+rune(s[k]-'0') <= 0xFF; n++ {
			r = r*8 + rune(s[k]-'0')
			k++
		}
		return utf8.AppendRune(dst, r), k
	}
	if c >= 0x80 {
		return dst, j + 1 // \é is é: copy the character whole
	}
	return append(dst, c), j + 2
}

// unicodeEscape reads \uXXXX or \u{X…} at s[j], returning the code point
// (-1 when malformed) and the index past it.
func unicodeEscape(s string, j int) (rune, int) {
	if j+2 < len(s) && s[j+2] == '{' {
		var r rune
		k := j + 3
		for n := 0; k < len(s) && n < 7; n, k = n+1, k+1 {
			if s[k] == '}' {
				if n == 0 || r > utf8.MaxRune {
					return -1, j
				}
				return r, k + 1
			}
			h := hexVal(s[k])
			if h < 0 {
				return -1, j
			}
			r = r<<4 | h
		}
		return -1, j
	}
	r := hexRune(s, j+2, 4)
	return r, j + 6
}

// skipQuoted steps over a string literal (not a template) starting at its
// quote s[i]: past the closing quote, or to the line break of an
// unterminated one.
func skipQuoted(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case q:
			return j + 1
		case '\\':
			j++
		case '\n', '\r':
			return j
		}
	}
	return len(s)
}

// skipTemplate steps over template literal text from i (just past the
// opening backtick or the '}' closing a substitution). It returns the index
// past the closing backtick, or past the "${" of the next substitution with
// sub set.
func skipTemplate(s string, i int) (end int, sub bool) {
	for ; i < len(s); i++ {
		switch s[i] {
		case '`':
			return i + 1, false
		case '\\':
			i++
		case '$':
			if i+1 < len(s) && s[i+1] == '{' {
				return i + 2, true
			}
		}
	}
	return len(s), false
}

// regexKeywords may be followed by a regular-expression literal.
func regexKeyword(w string) bool {
	switch string(w) {
	case "return", "typeof", "instanceof", "in", "of", "new", "delete", "void",
		"throw", "case", "do", "else", "yield", "await":
		return true
	}
	return false
}

// skipRegex steps over the regular-expression literal whose slash is at
// s[i]; ok is false when none ends on this line.
func skipRegex(s string, i int) (end int, ok bool) {
	class := false
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '[':
			class = true
		case ']':
			class = false
		case '/':
			if !class {
				return identEnd2(s, j+1), true
			}
		case '\n', '\r':
			return j, false
		}
	}
	return len(s), false
}

// identEnd2 skips identifier characters (regex flags) from i.
func identEnd2(s string, i int) int {
	for i < len(s) && isIdentChar(s[i]) {
		i++
	}
	return i
}

// visitor is called by walk at the start of each identifier that does not
// follow a '.'. prevWord is the identifier before it, when the previous
// token was one. It returns where to go on (-1: step over the identifier
// as usual) and whether that position is just inside a '(' it opened.
type visitor func(i int, prevWord string) (next int, opened bool)

// walk steps over JavaScript from i, skipping strings, comments, template
// text and regular-expression literals. With top set it stops at the
// first ',', ';', ')', ']' or '}' outside brackets (skipExpr); otherwise
// it runs to the end, calling visit at identifiers. Its time is linear in
// the bytes it passes (plus what visit spends), and so is its work, which
// it charges to p: the bytes it passes (each token, at least one, is a
// step; what visit stepped over, visit charged) and those a failed regex
// scan looked at.
// It does nothing once p's budget is spent, and stops when a visit spends
// it.
func (p *parser) walk(i int, top bool, visit visitor) int {
	s := p.s
	if p.over() {
		return i
	}
	start, steps := i, 0 // the bytes from start to i, and steps: the bytes failed regex scans looked at
	var stackBuf [32]byte
	stack := stackBuf[:0]
	prev := byte('(') // the last significant token: '(' is "an operator", so '/' starts a regex
	var prevWord string
	for i < len(s) {
		c := s[i]
		word := ""
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			// Runs of white space (indentation) in one tight loop.
			for i++; i < len(s) && s[i] <= ' ' && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r' || s[i] == '\f' || s[i] == '\v'); i++ {
			}
			continue
		case c == '/' && i+1 < len(s) && (s[i+1] == '/' || s[i+1] == '*'):
			i = space(s, i)
			continue
		case c == '"' || c == '\'':
			i = skipQuoted(s, i)
			prev = '"'
		case c == '`':
			var sub bool
			i, sub = skipTemplate(s, i+1)
			if sub {
				stack = append(stack, '$')
				prev = '('
			} else {
				prev = '"'
			}
		case c == '/':
			regex := i < p.noRegexFrom || i >= p.noRegexTo
			if regex {
				switch prev {
				case 'a':
					regex = regexKeyword(prevWord)
				case '"', '0', ')', ']':
					regex = false
				}
			}
			if regex {
				end, ok := skipRegex(s, i)
				if ok {
					i = end
					prev = '"'
					break
				}
				// No other try on the rest of this line, in this
				// walk or another of the same call.
				if end == p.noRegexTo {
					p.noRegexFrom = min(p.noRegexFrom, i)
				} else {
					p.noRegexFrom, p.noRegexTo = i, end
				}
				steps += end - i
			}
			i++
			prev = '/'
		case c == '(' || c == '[' || c == '{':
			stack = append(stack, c)
			i++
			prev = c
		case c == ')' || c == ']' || c == '}':
			if len(stack) == 0 {
				if top {
					return p.walked(i, start, steps)
				}
				i++
				prev = c
				break
			}
			open := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if open == '$' && c == '}' {
				var sub bool
				i, sub = skipTemplate(s, i+1)
				if sub {
					stack = append(stack, '$')
					prev = '('
				} else {
					prev = '"'
				}
				break
			}
			i++
			prev = c
		case c == ',' || c == ';':
			if top && len(stack) == 0 {
				return p.walked(i, start, steps)
			}
			i++
			prev = c
		case isIdentStart(c):
			if visit != nil && prev != '.' {
				pw := prevWord
				if prev != 'a' {
					pw = ""
				}
				// Charge what this walk did so far: visit checks the budget.
				p.work += steps + i - start
				steps, start = 0, i
				if next, opened := visit(i, pw); next > i {
					start, i = next, next // what visit stepped over, it charged
					if p.over() {
						return p.walked(i, start, steps)
					}
					if opened {
						stack = append(stack, '(')
						prev = '('
					} else {
						prev = ')'
					}
					break
				}
			}
			j := identEnd(s, i)
			word = s[i:j]
			i = j
			prev = 'a'
		case isDigit(c) || c == '.' && i+1 < len(s) && isDigit(s[i+1]):
			i = numberEnd(s, i)
			prev = '0'
		default:
			i++
			prev = c
		}
		prevWord = word
	}
	return p.walked(i, start, steps)
}

// walked charges p with a walk's work and returns where it stopped.
func (p *parser) walked(i, start, steps int) int {
	p.work += steps + i - start
	return i
}

// skipExpr steps over one expression from i and returns the index of the
// ',', ';' or unmatched closing bracket that ends it (or len(s)).
func (p *parser) skipExpr(i int) int {
	return p.walk(i, true, nil)
}

// numberEnd returns the end of the numeric literal starting at i (an
// optional sign included).
func numberEnd(s string, i int) int {
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	hex := i+1 < len(s) && s[i] == '0' && (s[i+1] == 'x' || s[i+1] == 'X')
	for i < len(s) {
		c := s[i]
		switch {
		case isIdentChar(c) || c == '.':
			i++
		case (c == '+' || c == '-') && !hex && (s[i-1] == 'e' || s[i-1] == 'E'):
			i++
		default:
			return i
		}
	}
	return i
}
