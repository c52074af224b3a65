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
	s := string(script)
	var calls []Call
	// Arguments are parsed at most a few times over in all (calls nested
	// in calls re-read their inner text), which keeps the time linear.
	budget := 4*len(s) + 4096
	var pathBuf [96]byte
	walk(s, 0, false, func(i int, prevWord string) (int, bool) {
		if budget < 0 {
			return len(s), false
		}
		if !firstSegment(s, i, callees) || prevWord == "function" {
			return -1, false
		}
		path, j := readPath(s, i, pathBuf[:0])
		callee, ok := matchCallee(stripGlobal(path), callees)
		if !ok {
			return -1, false
		}
		k := space(s, j)
		if k+1 < len(s) && s[k] == '?' && s[k+1] == '.' {
			k = space(s, k+2)
		}
		if k >= len(s) || s[k] != '(' {
			return -1, false
		}
		args, end, literal := parseArgs(s, k+1)
		budget -= end - k
		calls = append(calls, Call{Callee: callee, Args: args, Offset: i})
		if literal {
			return end, false
		}
		return k + 1, true
	})
	return calls
}

// parseArgs reads call arguments from i (just past the '('), returning
// them, the index past the ')' and whether all were literals (no Expr
// anywhere, so no call can hide inside them).
func parseArgs(s string, i int) (args []Value, end int, literal bool) {
	literal = true
	for {
		i = space(s, i)
		if i >= len(s) {
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
		v, n, _ := parse(s[i:])
		if v == nil {
			n = skipExpr(s, i) - i
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
		if k := space(s, i); k < len(s) && s[k] != ',' && s[k] != ')' {
			// Parse stopped at a line break inside the argument list:
			// read the rest of the argument as an expression.
			e := skipExpr(s, k)
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
	s := string(script)
	var out []Assign
	budget := 4*len(s) + 4096
	var pathBuf, scratch [96]byte
	walk(s, 0, false, func(i int, _ string) (int, bool) {
		if budget < 0 {
			return len(s), false
		}
		if !firstSegment(s, i, roots) {
			return -1, false
		}
		path, j := readPath(s, i, pathBuf[:0])
		target := stripGlobal(path)
		if !matchRoot(target, roots) {
			return -1, false
		}
		k := space(s, j)
		if !isAssign(s, k) {
			return -1, false
		}
		// A chain x = y = value assigns the value to every target; it is
		// read once, from its first target, and stepped over whole.
		targets := [4]string{string(target)}
		nt := 1
		v := k + 1
		for {
			m := space(s, v)
			if m >= len(s) || !isIdentStart(s[m]) {
				break
			}
			p, e := readPath(s, m, scratch[:0])
			e = space(s, e)
			if !isAssign(s, e) {
				break
			}
			if t := stripGlobal(p); matchRoot(t, roots) && nt < len(targets) && !slices.Contains(targets[:nt], string(t)) {
				targets[nt] = string(t)
				nt++
			}
			v = e + 1
		}
		val, n, _ := parse(s[v:])
		budget -= n + v - i
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
	return out
}

// isAssign reports whether a plain '=' (not '==', '=>') is at k.
func isAssign(s string, k int) bool {
	return k < len(s) && s[k] == '=' && (k+1 >= len(s) || s[k+1] != '=' && s[k+1] != '>')
}

// firstSegment is a cheap filter: whether the identifier at i is "window",
// "globalThis" or the first segment of one of names.
func firstSegment(s string, i int, names []string) bool {
	w := s[i:identEnd(s, i)]
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
func readPath(s string, i int, buf []byte) ([]byte, int) {
	var scratch []byte
	j := identEnd(s, i)
	buf = append(buf, s[i:j]...)
	for {
		k := space(s, j)
		if k >= len(s) {
			return buf, j
		}
		switch {
		case s[k] == '.' && !(k+1 < len(s) && s[k+1] == '.'):
			k++
		case s[k] == '?' && k+1 < len(s) && s[k+1] == '.' && !(k+2 < len(s) && isDigit(s[k+2])):
			k += 2
		case s[k] == '[':
			m := space(s, k+1)
			if m >= len(s) {
				return buf, j
			}
			n := len(buf)
			var e int
			switch {
			case s[m] == '"' || s[m] == '\'':
				var str string
				var status int
				str, e, status = readQuoted(s, m, &scratch)
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
				buf = append(buf, '.')
				buf = append(buf, s[m:e]...)
			default:
				return buf, j
			}
			e = space(s, e)
			if e >= len(s) || s[e] != ']' {
				return buf[:n], j
			}
			j = e + 1
			continue
		default:
			return buf, j
		}
		k = space(s, k)
		e := identEnd(s, k)
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
