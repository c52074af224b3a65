package jslit

import (
	"bytes"
	"slices"
	"strings"
)

// Call is one call found by Calls.
type Call struct {
	// Callee is the callee as asked for ("dataLayer.push").
	Callee string
	// Args are the arguments; those the reader cannot read are Expr.
	Args []Value
	// Offset is the byte offset of the callee in the script.
	Offset int
}

// Calls finds, anywhere in a script, calls whose callee (a dotted path,
// with a leading "window." stripped, also `window['dataLayer'].push` forms)
// is one of callees, e.g. "dataLayer.push", "gtag", "fbq",
// "_revoffers_track.push", "Object.assign". It skips strings, comments,
// template literals and regular-expression literals when looking, and
// function declarations (`function gtag(){…}` is not a call). Calls nested
// in the arguments of another (a push inside a callback) are found too.
// Arguments it cannot read are Expr. Its time is linear in the script:
// arguments are read at most a few times over in all, and on input built
// to defeat that (calls nested thousands deep) it stops early.
func Calls(script []byte, callees ...string) []Call {
	if len(callees) == 0 {
		return nil
	}
	c, _ := calls(string(script), callees, budget(len(script)))
	return c
}

// calls is Calls allowed limit steps; it also returns the steps taken.
func calls(s string, callees []string, limit int) (found []Call, work int) {
	p := newParser(s, limit)
	defer p.release()
	// Arguments are parsed at most a few times over in all (calls nested
	// in calls re-read their inner text), which keeps the time linear.
	reread := 4*len(s) + 4096
	var pathBuf [96]byte
	p.walk(0, false, func(i int, prevWord string) (int, bool) {
		if reread < 0 || p.over() {
			return len(s), false
		}
		if !p.firstSegment(i, callees) || prevWord == "function" {
			return -1, false
		}
		path, j := p.readPath(i, pathBuf[:0])
		callee, ok := matchCallee(stripGlobal(path), callees)
		if !ok {
			return -1, false
		}
		k := p.space(j)
		if k+1 < len(s) && s[k] == '?' && s[k+1] == '.' {
			k = p.space(k + 2)
		}
		if k >= len(s) || s[k] != '(' {
			return -1, false
		}
		args, end, literal := p.parseArgs(k + 1)
		reread -= end - k
		found = append(found, Call{Callee: callee, Args: args, Offset: i})
		if literal {
			return end, false
		}
		return k + 1, true
	})
	return found, p.work
}

// parseArgs reads call arguments from i (just past the '('), returning
// them, the index past the ')' and whether all were literals (no Expr
// anywhere, so no call can hide inside them).
func (p *parser) parseArgs(i int) (args []Value, end int, literal bool) {
	s := p.s
	literal = true
	for {
		i = p.space(i)
		if i >= len(s) || p.over() {
			return args, i, literal
		}
		switch s[i] {
		case ')':
			return args, i + 1, literal
		case ',':
			i++
			continue
		case ';', ']', '}':
			// Unbalanced: the call is broken here.
			return args, i, false
		}
		v, n, _ := p.parseAt(i)
		n -= i
		if v == nil {
			n = p.skipExpr(i) - i
			if n == 0 {
				n = 1
			}
			v = Expr(trimExpr(s[i : i+n]))
		}
		if literal && hasExpr(v, 0) {
			literal = false
		}
		args = append(args, v)
		i += n
		if k := p.space(i); k < len(s) && s[k] != ',' && s[k] != ')' {
			// Parse stopped at a line break inside the argument list:
			// read the rest of the argument as an expression.
			e := p.skipExpr(k)
			if e == k {
				e++
			}
			args[len(args)-1] = Expr(trimExpr(s[i-n : e]))
			literal = false
			i = e
		}
	}
}

// hasExpr reports whether v is or holds an Expr.
func hasExpr(v Value, depth int) bool {
	switch t := v.(type) {
	case Expr:
		return true
	case Object:
		if depth > maxDepth {
			return true
		}
		for _, m := range t {
			if hasExpr(m.Value, depth+1) {
				return true
			}
		}
	case Array:
		if depth > maxDepth {
			return true
		}
		for _, e := range t {
			if hasExpr(e, depth+1) {
				return true
			}
		}
	}
	return false
}

// Assign is one assignment found by Assignments.
type Assign struct {
	// Target is the full dotted path assigned to, "window." stripped
	// ("_revoffers_track.order_id").
	Target string
	// Value is the assigned value; an expression such as `a || {}` is an
	// Expr.
	Value Value
	// Offset is the byte offset of the target in the script.
	Offset int
}

// Assignments finds `root = value`, `root.prop = value`, `root["prop"] =
// value` (and `var/let/const root = value`, `window.root = …`) for each
// root, e.g. "_revoffers_track", "Shopify.checkout". For `a = a || {}` the
// value is the Expr; for chained `x = y = {…}` it is the literal.
// Compound assignments (+=) and comparisons are not assignments.
func Assignments(script []byte, roots ...string) []Assign {
	if len(roots) == 0 {
		return nil
	}
	a, _ := assignments(string(script), roots, budget(len(script)))
	return a
}

// assignments is Assignments allowed limit steps; it also returns the
// steps taken.
func assignments(s string, roots []string, limit int) (out []Assign, work int) {
	p := newParser(s, limit)
	defer p.release()
	reread := 4*len(s) + 4096 // as in calls
	var pathBuf, scratch [96]byte
	p.walk(0, false, func(i int, _ string) (int, bool) {
		if reread < 0 || p.over() {
			return len(s), false
		}
		if !p.firstSegment(i, roots) {
			return -1, false
		}
		path, j := p.readPath(i, pathBuf[:0])
		target := stripGlobal(path)
		if !matchRoot(target, roots) {
			return -1, false
		}
		k := p.space(j)
		if !isAssign(s, k) {
			return -1, false
		}
		// A chain x = y = value assigns the value to every target; it is
		// read once, from its first target, and stepped over whole.
		targets := [4]string{string(target)}
		nt := 1
		v := k + 1
		for {
			m := p.space(v)
			if m >= len(s) || !isIdentStart(s[m]) || p.over() {
				break
			}
			path, e := p.readPath(m, scratch[:0])
			e = p.space(e)
			if !isAssign(s, e) {
				break
			}
			if t := stripGlobal(path); matchRoot(t, roots) && nt < len(targets) && !slices.Contains(targets[:nt], string(t)) {
				targets[nt] = string(t)
				nt++
			}
			v = e + 1
		}
		val, end, _ := p.parseAt(v)
		n := end - v
		reread -= n + v - i
		if val == nil {
			return v, false
		}
		for _, t := range targets[:nt] {
			out = append(out, Assign{Target: t, Value: val, Offset: i})
		}
		if hasExpr(val, 0) {
			return v, false // look inside the expression too
		}
		return v + n, false
	})
	return out, p.work
}

// isAssign reports whether a plain '=' (not '==', '=>') is at k.
func isAssign(s string, k int) bool {
	return k < len(s) && s[k] == '=' && (k+1 >= len(s) || s[k+1] != '=' && s[k+1] != '>')
}

// firstSegment is a cheap filter: whether the identifier at i is "window",
// "globalThis" or the first segment of one of names.
func (p *parser) firstSegment(i int, names []string) bool {
	w := p.s[i:p.identEnd(i)]
	if w == "window" || w == "globalThis" || w == "self" {
		return true
	}
	for _, n := range names {
		n = strings.TrimPrefix(n, "window.")
		if len(n) >= len(w) && n[:len(w)] == w && (len(n) == len(w) || n[len(w)] == '.') {
			return true
		}
	}
	return false
}

// readPath reads the dotted path at i into buf: identifiers joined by '.',
// with ?. read as '.' and ["name"] / ['name'] / [0] as .name / .0. It stops
// before anything else, such as a computed member w[l].
func (p *parser) readPath(i int, buf []byte) ([]byte, int) {
	s := p.s
	j := p.identEnd(i)
	buf = append(buf, s[i:j]...)
	for {
		k := p.space(j)
		if k >= len(s) {
			return buf, j
		}
		switch {
		case s[k] == '.' && !(k+1 < len(s) && s[k+1] == '.'):
			k++
		case s[k] == '?' && k+1 < len(s) && s[k+1] == '.' && !(k+2 < len(s) && isDigit(s[k+2])):
			k += 2
		case s[k] == '[':
			m := p.space(k + 1)
			if m >= len(s) {
				return buf, j
			}
			n := len(buf)
			var e int
			switch {
			case s[m] == '"' || s[m] == '\'':
				var str string
				var status int
				str, e, status = p.quoted(m)
				if status != quoteOK {
					return buf[:n], j
				}
				buf = append(buf, '.')
				buf = append(buf, str...)
			case isDigit(s[m]):
				e = m
				for e < len(s) && isDigit(s[e]) {
					e++
				}
				p.work += e - m
				buf = append(buf, '.')
				buf = append(buf, s[m:e]...)
			default:
				return buf, j
			}
			e = p.space(e)
			if e >= len(s) || s[e] != ']' {
				return buf[:n], j
			}
			j = e + 1
			continue
		default:
			return buf, j
		}
		k = p.space(k)
		e := p.identEnd(k)
		if e == k {
			return buf, j
		}
		buf = append(buf, '.')
		buf = append(buf, s[k:e]...)
		j = e
	}
}

// stripGlobal removes a leading "window." (or "globalThis.", "self.").
func stripGlobal(path []byte) []byte {
	for _, g := range [...]string{"window.", "globalThis.", "self."} {
		if bytes.HasPrefix(path, []byte(g)) {
			return path[len(g):]
		}
	}
	return path
}

func matchCallee(path []byte, callees []string) (string, bool) {
	for _, c := range callees {
		if string(path) == strings.TrimPrefix(c, "window.") {
			return c, true
		}
	}
	return "", false
}

// matchRoot reports whether target is one of roots or a property path
// under one.
func matchRoot(target []byte, roots []string) bool {
	for _, r := range roots {
		r = strings.TrimPrefix(r, "window.")
		if len(target) >= len(r) && string(target[:len(r)]) == r &&
			(len(target) == len(r) || target[len(r)] == '.') {
			return true
		}
	}
	return false
}
