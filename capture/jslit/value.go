// Package jslit reads the JavaScript object literals that storefront
// templates print into thank-you pages: dataLayer pushes, gtag and fbq
// calls, _revoffers_track payloads, Shopify.checkout and the like.
//
// It owns the JavaScript side only: single-, double- and back-quoted strings
// with their escapes decoded, numbers kept as written, bare, quoted and
// numeric keys, trailing commas, comments, !0/!1, null and undefined, and
// nested objects and arrays. Values it does not evaluate (identifiers,
// calls, functions, arithmetic) are kept as Expr with their source text.
// It does not decode HTML entities (callers do, with capture.Text), does not
// interpret money, currencies or locales, and does not execute anything.
//
// The reader is tolerant (a broken member is skipped up to the next comma
// at its depth, a missing comma between members is forgiven), never panics
// and runs in time linear in its input, whatever the bytes: each call
// counts its work and stops, returning what it read, should that ever pass
// a generous multiple of the input's length (see work.go).
package jslit

import (
	"math"
	"strconv"
	"strings"
)

// Value is a parsed literal: Object, Array, String, Number, Bool, Null or Expr.
type Value interface{ isValue() }

// Object is an object literal's members in source order.
type Object []Member

// Member is one key: value pair of an Object.
type Member struct {
	Key   string
	Value Value
}

// Array is an array literal's elements in source order.
type Array []Value

// String is a string literal with its JavaScript escapes decoded. HTML
// entities are NOT decoded.
type String string

// Number is a numeric literal as written: "20418", "16.560000000000002", "-5".
type Number string

// Bool is true, false, !0 or !1.
type Bool bool

// Null is null or undefined.
type Null struct{}

// Expr is the source text of a value the reader does not evaluate: an
// identifier, a call, a function, an expression.
type Expr string

func (Object) isValue() {}
func (Array) isValue()  {}
func (String) isValue() {}
func (Number) isValue() {}
func (Bool) isValue()   {}
func (Null) isValue()   {}
func (Expr) isValue()   {}

// Get returns the value of the last member with that key (as a JavaScript
// engine would keep it), nil if none.
func (o Object) Get(key string) Value {
	for i := len(o) - 1; i >= 0; i-- {
		if o[i].Key == key {
			return o[i].Value
		}
	}
	return nil
}

// Path walks v through Objects by key and Arrays by decimal index ("0"),
// returning nil when a step is absent.
func Path(v Value, keys ...string) Value {
	for _, k := range keys {
		switch t := v.(type) {
		case Object:
			v = t.Get(k)
		case Array:
			n, err := strconv.Atoi(k)
			if err != nil || n < 0 || n >= len(t) || k[0] == '+' || k[0] == '-' {
				return nil
			}
			v = t[n]
		default:
			return nil
		}
		if v == nil {
			return nil
		}
	}
	return v
}

// Str returns a String as is and a Number as its text; ok is false for
// anything else.
func Str(v Value) (string, bool) {
	switch t := v.(type) {
	case String:
		return string(t), true
	case Number:
		return string(t), true
	}
	return "", false
}

// Float returns the value of a Number, or of a String holding a plain
// number such as "26.50" or "-5" (no thousands separators, no locale
// decimal marks, no currency: those are the caller's business).
func Float(v Value) (float64, bool) {
	switch t := v.(type) {
	case Number:
		return numberValue(string(t))
	case String:
		s := strings.TrimSpace(string(t))
		if !plainNumber(s) {
			return 0, false
		}
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	}
	return 0, false
}

// Int returns Float rounded to the nearest integer, for quantities written
// as 2, "2" or 2.0.
func Int(v Value) (int, bool) {
	f, ok := Float(v)
	if !ok || math.IsNaN(f) || f > math.MaxInt32 || f < math.MinInt32 {
		return 0, false
	}
	return int(math.Round(f)), true
}

// plainNumber reports whether s is an optional sign, digits and an optional
// fraction: "26.50", "-5", ".5", "3.".
func plainNumber(s string) bool {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}

// numberValue reads a JavaScript numeric literal: decimal with optional
// exponent, 0x/0o/0b integers, '_' separators, a BigInt 'n' suffix.
func numberValue(s string) (float64, bool) {
	if strings.IndexByte(s, '_') >= 0 {
		s = strings.ReplaceAll(s, "_", "")
	}
	s = strings.TrimSuffix(s, "n")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if s == "" {
		return 0, false
	}
	var f float64
	if len(s) > 1 && s[0] == '0' && strings.ContainsRune("xXoObB", rune(s[1])) {
		u, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			return 0, false
		}
		f = float64(u)
	} else {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
				return 0, false
			}
		}
		var err error
		f, err = strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, false
		}
	}
	if neg {
		f = -f
	}
	return f, true
}

// numberCalls are the functions templates wrap a printed value in to make
// it a number: parseFloat('{{ order.total }}').
var numberCalls = [...]string{"parseFloat", "Number"}

// Unwrap returns the string or number literal that v, a call of
// parseFloat or Number with that one argument, wraps; any other v is
// returned as it is. The literal is returned as written: parseFloat would
// read "1,234.56" as 1, where the template meant the amount it printed.
func Unwrap(v Value) Value {
	e, ok := v.(Expr)
	if !ok {
		return v
	}
	for _, fn := range numberCalls {
		rest, ok := strings.CutPrefix(string(e), fn)
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		if len(rest) < 2 || rest[0] != '(' || rest[len(rest)-1] != ')' {
			return v
		}
		arg := strings.TrimSpace(rest[1 : len(rest)-1])
		lit, n, err := Parse([]byte(arg))
		if err != nil || n != len(arg) {
			return v
		}
		switch lit.(type) {
		case String, Number:
			return lit
		}
		return v
	}
	return v
}
