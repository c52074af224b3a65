package jslit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want Value
		n    int // bytes consumed; -1: len(src)
	}{
		{"double quoted", `"a b"`, String("a b"), -1},
		{"single quoted", `'it\'s'`, String("it's"), -1},
		{"template", "`multi\nline`", String("multi\nline"), -1},
		{"template with substitution", "`a${b}c`", Expr("`a${b}c`"), -1},
		{"unicode escape", `"\u00fc\u2013"`, String("ü–"), -1},
		{"surrogate pair", `"\ud83d\ude00"`, String("😀"), -1},
		{"code point escape", `"\u{1F600}"`, String("😀"), -1},
		{"hex escape", `"\x41\xe9"`, String("Aé"), -1},
		{"slash escape", `"https:\/\/cdn.example\/a.jpg"`, String("https://cdn.example/a.jpg"), -1},
		{"escaped quote", `"9\" Fin"`, String(`9" Fin`), -1},
		{"control escapes", `"a\tb\nc\\d\0"`, String("a\tb\nc\\d\x00"), -1},
		{"line continuation", "\"a\\\nb\"", String("ab"), -1},
		{"unknown escape", `"\q\é"`, String("qé"), -1},
		{"bad unicode escape", `"\u12"`, String("u12"), -1},
		{"html entity kept", `"Pen &amp; Ink"`, String("Pen &amp; Ink"), -1},
		{"integer", `20418`, Number("20418"), -1},
		{"float noise", `16.560000000000002`, Number("16.560000000000002"), -1},
		{"negative", `-5`, Number("-5"), -1},
		{"exponent", `1.5e+3`, Number("1.5e+3"), -1},
		{"leading dot", `.5`, Number(".5"), -1},
		{"true", `true`, Bool(true), -1},
		{"false", `false`, Bool(false), -1},
		{"not zero", `!0`, Bool(true), -1},
		{"not one", `!1`, Bool(false), -1},
		{"null", `null`, Null{}, -1},
		{"undefined", `undefined`, Null{}, -1},
		{"identifier", `arguments`, Expr("arguments"), -1},
		{"call", `new Date()`, Expr("new Date()"), -1},
		{"or default", `window.dataLayer || []`, Expr("window.dataLayer || []"), -1},
		{"function", `function () { return 1; }`, Expr("function () { return 1; }"), -1},
		{"arrow", `(a, b) => { return a + b }`, Expr("(a, b) => { return a + b }"), -1},
		{"leading comments", "// c\n/* d */ 1", Number("1"), -1},
		{"stops at semicolon", `"x"; y = 2`, String("x"), 3},
		{"stops at comma", `1, 2`, Number("1"), 1},
		{"stops at line break", "\"x\"\nfoo()", String("x"), 3},
		{"continues over line break", "a\n  || b", Expr("a\n  || b"), -1},
		{"empty object", `{}`, Object{}, -1},
		{"empty array", `[]`, Array{}, -1},
		{"bare and quoted keys", `{a: 1, "b": 2, 'c': 3, 4: 5}`,
			Object{{"a", Number("1")}, {"b", Number("2")}, {"c", Number("3")}, {"4", Number("5")}}, -1},
		{"trailing commas", `{'a': [1, 2,], 'b': 'x',}`,
			Object{{"a", Array{Number("1"), Number("2")}}, {"b", String("x")}}, -1},
		{"comments inside", "{ // one\n a: 1, /* two */ b: 2 // three\n}",
			Object{{"a", Number("1")}, {"b", Number("2")}}, -1},
		{"nested", `{ecommerce: {items: [{id: "A", q: 2}]}}`,
			Object{{"ecommerce", Object{{"items", Array{Object{{"id", String("A")}, {"q", Number("2")}}}}}}}, -1},
		{"expression values", `{t: new Date().getTime(), f: function(){ return {a:1} }, s: "a" + b, n: 1}`,
			Object{{"t", Expr("new Date().getTime()")}, {"f", Expr("function(){ return {a:1} }")},
				{"s", Expr(`"a" + b`)}, {"n", Number("1")}}, -1},
		{"ternary", `{a: x ? "y" : "z", b: 1}`, Object{{"a", Expr(`x ? "y" : "z"`)}, {"b", Number("1")}}, -1},
		{"shorthand and method", `{a, b() { return 1 }, c: 2}`,
			Object{{"a", Expr("a")}, {"b", Expr("b() { return 1 }")}, {"c", Number("2")}}, -1},
		{"computed key and spread skipped", `{[k]: 1, ...rest, z: 3}`, Object{{"z", Number("3")}}, -1},
		{"regex value", `{re: /[}\/]+/g, b: 1}`, Object{{"re", Expr(`/[}\/]+/g`)}, {"b", Number("1")}}, -1},
		{"strings hold brackets", `{a: "}]),", b: '{'}`, Object{{"a", String("}]),")}, {"b", String("{")}}, -1},
		{"bool shorthands", `{loaded: !0, async: !1}`, Object{{"loaded", Bool(true)}, {"async", Bool(false)}}, -1},
		{"duplicate keys kept", `{a: 1, a: 2}`, Object{{"a", Number("1")}, {"a", Number("2")}}, -1},
		{"array holes skipped", `[1,,2]`, Array{Number("1"), Number("2")}, -1},
		{"object then more", `{a:1} + 1`, Expr("{a:1} + 1"), -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, n, err := Parse([]byte(tt.src))
			if err != nil {
				t.Errorf("err = %v", err)
			}
			if !reflect.DeepEqual(v, tt.want) {
				t.Errorf("Parse(%q) = %#v, want %#v", tt.src, v, tt.want)
			}
			want := tt.n
			if want < 0 {
				want = len(tt.src)
			}
			if n != want {
				t.Errorf("n = %d, want %d", n, want)
			}
		})
	}
}

// TestParseBroken checks that broken members are skipped and the rest is
// read, with an error reported.
func TestParseBroken(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want Value
	}{
		{"missing comma between members", "{a: 1\n b: 'x'\n c: [1 2]}",
			Object{{"a", Number("1")}, {"b", String("x")}, {"c", Array{Expr("1 2")}}}},
		{"missing comma between objects", `[{a: 1} {a: 2}]`, Array{Object{{"a", Number("1")}}, Object{{"a", Number("2")}}}},
		{"bad member skipped", `{a: 1, b c d, e: 2}`, Object{{"a", Number("1")}, {"e", Number("2")}}},
		{"missing value", `{a: , b: 2}`, Object{{"b", Number("2")}}},
		{"unterminated string in member", "{a: \"oops\n, b: 2}", Object{{"b", Number("2")}}},
		{"unterminated object", `{a: 1, b: {c: 2`, Object{{"a", Number("1")}, {"b", Object{{"c", Number("2")}}}}},
		{"semicolon as separator", `{a: 1; b: 2}`, Object{{"a", Number("1")}, {"b", Number("2")}}},
		{"unbalanced closer", `{a: [1, 2}, b: 3}`, Object{{"a", Array{Number("1"), Number("2")}}}},
		{"decimal comma", `{value:49,90,currency:'EUR'}`, Object{{"value", String("49,90")}, {"currency", String("EUR")}}},
		{"thousands comma", `{value: 1,234.56}`, Object{{"value", String("1,234.56")}}},
		{"thousands dot, decimal comma", `{value:1.234,56, b: 2}`, Object{{"value", String("1.234,56")}, {"b", Number("2")}}},
		{"two thousands commas", `{value:1,234,567.89}`, Object{{"value", String("1,234,567.89")}}},
		{"a string is no number", `{a:'1',234}`, Object{{"a", String("1")}}},
		{"a number after a space is no tail", `{a: 1, 2, b: 3}`, Object{{"a", Number("1")}, {"b", Number("3")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _, err := Parse([]byte(tt.src))
			if err == nil {
				t.Errorf("no error")
			}
			var se *SyntaxError
			if err != nil && !errors.As(err, &se) {
				t.Errorf("err = %T, want *SyntaxError", err)
			}
			if !reflect.DeepEqual(v, tt.want) {
				t.Errorf("Parse(%q) = %#v, want %#v", tt.src, v, tt.want)
			}
		})
	}
	for _, src := range []string{"", "  // only a comment", "}", ")"} {
		if v, n, err := Parse([]byte(src)); v != nil || err == nil || n > len(src) {
			t.Errorf("Parse(%q) = %#v, %d, %v; want nil and an error", src, v, n, err)
		}
	}
}

func TestAccessors(t *testing.T) {
	v, _, _ := Parse([]byte(`{a: {b: [{c: "26.50"}, {c: 2}, {c: "2.0"}, {c: "1,250.00"}, {c: true}, {c: 0x1F}]}}`))
	c := func(i string) Value { return Path(v, "a", "b", i, "c") }
	if s, ok := Str(c("0")); !ok || s != "26.50" {
		t.Errorf("Str = %q %v", s, ok)
	}
	if s, ok := Str(c("1")); !ok || s != "2" {
		t.Errorf("Str(Number) = %q %v", s, ok)
	}
	if _, ok := Str(c("4")); ok {
		t.Errorf("Str(Bool) ok")
	}
	if f, ok := Float(c("0")); !ok || f != 26.5 {
		t.Errorf("Float = %v %v", f, ok)
	}
	if _, ok := Float(c("3")); ok {
		t.Errorf("Float of a grouped string should fail")
	}
	if f, ok := Float(c("5")); !ok || f != 31 {
		t.Errorf("Float(hex) = %v %v", f, ok)
	}
	for _, i := range []string{"1", "2"} {
		if n, ok := Int(c(i)); !ok || n != 2 {
			t.Errorf("Int(%s) = %v %v", i, n, ok)
		}
	}
	for _, p := range [][]string{{"x"}, {"a", "b", "9"}, {"a", "b", "-1"}, {"a", "b", "x"}, {"a", "b", "0", "c", "d"}} {
		if got := Path(v, p...); got != nil {
			t.Errorf("Path(%v) = %#v, want nil", p, got)
		}
	}
	if got := (Object{{"a", Number("1")}, {"a", Number("2")}}).Get("a"); got != Number("2") {
		t.Errorf("Get = %#v, want the last", got)
	}
	if f, ok := Float(Number("-5")); !ok || f != -5 {
		t.Errorf("Float(-5) = %v", f)
	}
	if f, ok := Float(String(" -5 ")); !ok || f != -5 {
		t.Errorf("Float(\" -5 \") = %v", f)
	}
	for _, s := range []string{"", "abc", "1e5", "NaN", "1.2.3", "$5"} {
		if _, ok := Float(String(s)); ok {
			t.Errorf("Float(String(%q)) ok", s)
		}
	}
}

type call struct {
	callee string
	args   []Value
}

func TestCalls(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		callees []string
		want    []call
	}{
		{"window prefix and plain", `window.dataLayer.push({a:1}); dataLayer.push({b:2});`, []string{"dataLayer.push"},
			[]call{{"dataLayer.push", []Value{Object{{"a", Number("1")}}}}, {"dataLayer.push", []Value{Object{{"b", Number("2")}}}}}},
		{"bracket forms", `window['dataLayer'].push({a:1}); window["_revoffers_track"]["push"]({b:2})`,
			[]string{"dataLayer.push", "_revoffers_track.push"},
			[]call{{"dataLayer.push", []Value{Object{{"a", Number("1")}}}}, {"_revoffers_track.push", []Value{Object{{"b", Number("2")}}}}}},
		{"declaration is not a call", `function gtag(){dataLayer.push(arguments);} gtag('js', new Date());`, []string{"gtag", "dataLayer.push"},
			[]call{{"dataLayer.push", []Value{Expr("arguments")}}, {"gtag", []Value{String("js"), Expr("new Date()")}}}},
		{"in strings and comments ignored", `var s = "gtag('event','x')"; // gtag('a')
/* gtag('b') */ var t = ` + "`gtag('c')`" + `; var r = /gtag\(/; gtag('real')`, []string{"gtag"},
			[]call{{"gtag", []Value{String("real")}}}},
		{"member of something else", `foo.gtag('x'); obj.dataLayer.push(1); gtag ('y')`, []string{"gtag", "dataLayer.push"},
			[]call{{"gtag", []Value{String("y")}}}},
		{"nested in callback", `jQuery(function(){ fbq('track', 'Purchase', {value: 1}, {eventID: 'e'}); });`, []string{"fbq", "jQuery"},
			[]call{{"jQuery", []Value{Expr("function(){ fbq('track', 'Purchase', {value: 1}, {eventID: 'e'}); }")}},
				{"fbq", []Value{String("track"), String("Purchase"), Object{{"value", Number("1")}}, Object{{"eventID", String("e")}}}}}},
		{"object assign", `Object.assign(window._revoffers_track, {order_id: "7"})`, []string{"Object.assign"},
			[]call{{"Object.assign", []Value{Expr("window._revoffers_track"), Object{{"order_id", String("7")}}}}}},
		{"gtm snippet computed member", `(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':1});})(window,document,'script','dataLayer','GTM-X');`,
			[]string{"dataLayer.push"}, nil},
		{"division is not a regex", `var a = b / 2; gtag('x') / 3; c = d / e; gtag('y')`, []string{"gtag"},
			[]call{{"gtag", []Value{String("x")}}, {"gtag", []Value{String("y")}}}},
		{"regex with quote", `var q = x.replace(/'/g, ""); gtag('z')`, []string{"gtag"},
			[]call{{"gtag", []Value{String("z")}}}},
		{"template substitution", "var u = `${gtag('t')}`; gtag('u')", []string{"gtag"},
			[]call{{"gtag", []Value{String("t")}}, {"gtag", []Value{String("u")}}}},
		{"optional call", `window.fbq?.('track', 'X')`, []string{"fbq"},
			[]call{{"fbq", []Value{String("track"), String("X")}}}},
		{"args over lines", "gtag('event',\n 'purchase',\n {value: 1,\n},\n)", []string{"gtag"},
			[]call{{"gtag", []Value{String("event"), String("purchase"), Object{{"value", Number("1")}}}}}},
		{"html comment wrapper", "<!--\ngtag('x');\n//-->", []string{"gtag"},
			[]call{{"gtag", []Value{String("x")}}}},
		{"callee given with window.", `dataLayer.push(1)`, []string{"window.dataLayer.push"},
			[]call{{"window.dataLayer.push", []Value{Number("1")}}}},
		{"unterminated call", `gtag('event', {a: 1`, []string{"gtag"},
			[]call{{"gtag", []Value{String("event"), Object{{"a", Number("1")}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []call
			for _, c := range Calls([]byte(tt.src), tt.callees...) {
				got = append(got, call{c.Callee, c.Args})
				if !strings.HasPrefix(tt.src[c.Offset:], strings.Split(strings.TrimPrefix(c.Callee, "window."), ".")[0]) &&
					!strings.HasPrefix(tt.src[c.Offset:], "window") {
					t.Errorf("offset %d does not point at %s", c.Offset, c.Callee)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Calls = %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

type assign struct {
	target string
	value  Value
}

func TestAssignments(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		roots []string
		want  []assign
	}{
		{"preseeded properties", `window._revoffers_track = window._revoffers_track || {};
_revoffers_track.order_id = "30718";
_revoffers_track["action"] = 'thank_you';
_revoffers_track.order_value = 189.0`, []string{"_revoffers_track"},
			[]assign{{"_revoffers_track", Expr("window._revoffers_track || {}")}, {"_revoffers_track.order_id", String("30718")},
				{"_revoffers_track.action", String("thank_you")}, {"_revoffers_track.order_value", Number("189.0")}}},
		{"var and chained", `var _revoffers_track = window._revoffers_track = {order_id: "1"};`, []string{"_revoffers_track"},
			[]assign{{"_revoffers_track", Object{{"order_id", String("1")}}}}},
		{"not comparisons or compound", `if (Shopify.checkout == null) {} Shopify.checkout += 1; x = Shopify.checkout; Shopify.checkoutX = 1;`,
			[]string{"Shopify.checkout"}, nil},
		{"other Shopify objects", `Shopify.Checkout.estimatedPrice = 149.9; Shopify.checkout = {"order_id":6039417722651,"url":"https:\/\/x"};`,
			[]string{"Shopify.checkout"},
			[]assign{{"Shopify.checkout", Object{{"order_id", Number("6039417722651")}, {"url", String("https://x")}}}}},
		{"no semicolons", "_revoffers_track.order_id = '5'\n_revoffers_track.action = 'thank_you'\n", []string{"_revoffers_track"},
			[]assign{{"_revoffers_track.order_id", String("5")}, {"_revoffers_track.action", String("thank_you")}}},
		{"inside a function", `document.addEventListener('DOMContentLoaded', function () { window._revoffers_track = {order_id: '9'}; });`,
			[]string{"_revoffers_track"}, []assign{{"_revoffers_track", Object{{"order_id", String("9")}}}}},
		{"arrow is not assignment", `var f = _revoffers_track => 1`, []string{"_revoffers_track"}, nil},
		{"string mention ignored", `var s = "_revoffers_track.order_id = 1";`, []string{"_revoffers_track"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []assign
			for _, a := range Assignments([]byte(tt.src), tt.roots...) {
				got = append(got, assign{a.Target, a.Value})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Assignments = %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// fixtureScripts returns the inline scripts of a shared fixture page (a
// naive cut, enough for these pages).
func fixtureScripts(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../../shared/fixtures/thankyou", name))
	if err != nil {
		t.Fatalf("fixtures not available: %v", err)
	}
	var out [][]byte
	for {
		i := bytes.Index(b, []byte("<script"))
		if i < 0 {
			return out
		}
		b = b[i:]
		j := bytes.IndexByte(b, '>')
		k := bytes.Index(b, []byte("</script"))
		if j < 0 || k < j {
			return out
		}
		out = append(out, b[j+1:k])
		b = b[k+1:]
	}
}

// TestFixtureShapes reads the payloads of the shared fixtures with the
// exact shapes they print.
func TestFixtureShapes(t *testing.T) {
	find := func(file string, callees ...string) []Call {
		var calls []Call
		for _, s := range fixtureScripts(t, file) {
			calls = append(calls, Calls(s, callees...)...)
		}
		return calls
	}
	str := func(v Value) string { s, _ := Str(v); return s }

	// 01: window.dataLayer.push, unquoted keys, a // comment, the clear push.
	c := find("01_ga4_datalayer_purchase_usd.html", "dataLayer.push")
	if len(c) != 3 || Path(c[1].Args[0], "ecommerce") != (Null{}) {
		t.Fatalf("01: %d pushes", len(c))
	}
	if got := str(Path(c[2].Args[0], "ecommerce", "items", "1", "item_variant")); got != "M / Moss" {
		t.Errorf("01 item_variant = %q", got)
	}
	// 02: gtag with single-quoted keys, trailing commas, string numbers.
	c = find("02_gtag_purchase_cad.html", "gtag")
	var purchase Value
	for _, x := range c {
		if len(x.Args) == 3 && str(x.Args[1]) == "purchase" {
			purchase = x.Args[2]
		}
	}
	if n, _ := Int(Path(purchase, "items", "2", "quantity")); n != 2 {
		t.Errorf("02 quantity = %d", n)
	}
	if f, _ := Float(Path(purchase, "items", "2", "price")); f != 26.5 {
		t.Errorf("02 price = %v", f)
	}
	// 03: UA enhanced ecommerce, nested actionField.
	c = find("03_ua_enhanced_ecommerce_eur.html", "dataLayer.push")
	if got := str(Path(c[len(c)-1].Args[0], "ecommerce", "purchase", "actionField", "id")); got != "20418" {
		t.Errorf("03 id = %q", got)
	}
	// 06: fbq with a second options object.
	c = find("06_meta_pixel_with_datalayer_usd.html", "fbq")
	if last := c[len(c)-1]; len(last.Args) != 4 || str(Path(last.Args[3], "eventID")) != "purchase-100547" {
		t.Errorf("06 fbq = %#v", last)
	}
	// 07: Shopify.checkout, plain JSON with \/ and \" escapes.
	var checkout Value
	for _, s := range fixtureScripts(t, "07_shopify_legacy_checkout_aud.html") {
		for _, a := range Assignments(s, "Shopify.checkout") {
			checkout = a.Value
		}
	}
	if got := str(Path(checkout, "line_items", "1", "title")); got != `Single Fin 9" Performance` {
		t.Errorf("07 title = %q", got)
	}
	if got := str(Path(checkout, "order_id")); got != "6039417722651" {
		t.Errorf("07 order_id = %q", got)
	}
	// 10: _revoffers_track.push with \' in a title.
	c = find("10_katalys_push_convert_usd.html", "_revoffers_track.push")
	if len(c) != 1 || str(Path(c[0].Args[0], "line_item_1_title")) != "Maker's Walnut Monitor Riser" {
		t.Errorf("10 = %#v", c)
	}
	// 11: pre-seeded properties.
	var targets []string
	for _, s := range fixtureScripts(t, "11_katalys_preseeded_woo_blocks_cad.html") {
		for _, a := range Assignments(s, "_revoffers_track") {
			targets = append(targets, a.Target)
		}
	}
	if want := "_revoffers_track _revoffers_track.email_address _revoffers_track.action _revoffers_track.order_id " +
		"_revoffers_track.order_time _revoffers_track.order_status _revoffers_track.order_value _revoffers_track " +
		"_revoffers_track.site_id"; strings.Join(targets, " ") != want {
		t.Errorf("11 targets = %v", targets)
	}
	// 14: a call inside a callback inside a function assignment.
	c = find("14_head_body_markers_in_comments_jpy.html", "gapi.surveyoptin.render", "dataLayer.push")
	if last := c[len(c)-1]; last.Callee != "gapi.surveyoptin.render" || str(Path(last.Args[0], "email")) != "haruki.tanabe@example.com" {
		t.Errorf("14 = %#v", last)
	}
}

// maxWork is the work the tests allow one call on n bytes (see work.go):
// linear, and well under the budget that cuts a call short, so that a
// rescan gone quadratic fails here before the budget hides it. The
// constant covers the arguments Calls and Assignments may re-read on
// short input (4096 bytes, a few steps a byte).
func maxWork(n int) int { return 16*n + 16384 }

// checkBounded runs f on src (the fuzzer reports a panic) and checks the
// work each of works does on src and on src repeated to 64 KiB. Work is
// counted, not timed: the check is the same on any machine.
func checkBounded(t *testing.T, src []byte, f func([]byte), works ...func(string) int) {
	f(src)
	inputs := []string{string(src)}
	if len(src) > 0 && len(src) <= 256 {
		inputs = append(inputs, strings.Repeat(string(src), 64*1024/len(src)+1))
	}
	for _, in := range inputs {
		for k, work := range works {
			if w := work(in); w > maxWork(len(in)) {
				t.Fatalf("work %d on %d bytes (%.10q…), want <= %d (work func %d)", w, len(in), in, maxWork(len(in)), k)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{a: 1, "b": [1, 2,], c: 'x\'y'}`, "`a${b}`", `{re: /x/g}`, `!0`, `{a: 1 b: 2}`,
		`[{`, `"\u{`, `{a: function(){ return "}" }}`, "{a:`${`${x}`}`}", `/[/`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		checkBounded(t, src, func(b []byte) {
			v, n, err := Parse(b)
			if n < 0 || n > len(b) {
				t.Fatalf("n = %d for %d bytes", n, len(b))
			}
			if v == nil && err == nil {
				t.Fatalf("nil value without error")
			}
		}, parseWork)
	})
}

func FuzzCalls(f *testing.F) {
	for _, s := range []string{`gtag('event', 'purchase', {value: 1})`, `dataLayer.push(arguments)`,
		`x = {_revoffers_track: 1}; _revoffers_track.order_id = 5`, `gtag(gtag(gtag(`, "`${gtag(`", `a = b = c = {`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		checkBounded(t, src, func(b []byte) {
			for _, c := range Calls(b, "gtag", "dataLayer.push", "_revoffers_track.push") {
				if c.Offset < 0 || c.Offset >= len(b) {
					t.Fatalf("offset %d", c.Offset)
				}
			}
			for _, a := range Assignments(b, "_revoffers_track", "a") {
				if a.Offset < 0 || a.Offset >= len(b) || a.Value == nil {
					t.Fatalf("bad assignment %#v", a)
				}
			}
		}, func(s string) int { return callsWork(s, "gtag", "dataLayer.push", "_revoffers_track.push") },
			func(s string) int { return assignmentsWork(s, "_revoffers_track", "a") })
	})
}

// TestPathological feeds inputs built to defeat naive scanners and checks
// the work each call does on them.
func TestPathological(t *testing.T) {
	for _, src := range []string{
		strings.Repeat("{a:", 50000),
		strings.Repeat("[", 100000),
		strings.Repeat("gtag(", 50000),
		strings.Repeat("`${", 50000),
		strings.Repeat("/[/", 50000),
		strings.Repeat("a = ", 50000) + "{}",
		strings.Repeat("{a: x ? ", 30000),
		strings.Repeat(`"\`, 50000),
		strings.Repeat("gtag(1,", 50000),
		strings.Repeat("a =", 50000),
		strings.Repeat("a = b.", 30000),
		strings.Repeat("gtag({a:", 30000),
		strings.Repeat("a = {b: ", 30000),
		strings.Repeat("a = a\n||", 30000),
		strings.Repeat("gtag(/[/,", 30000),
		strings.Repeat(`gtag(/"[");`, 30000), // each call's argument scanned for a regex to the end of the line
		strings.Repeat(`a = /"[";`, 30000),
		strings.Repeat("a['", 30000),
	} {
		for name, w := range map[string]int{
			"Parse":       parseWork(src),
			"Calls":       callsWork(src, "gtag"),
			"Assignments": assignmentsWork(src, "a"),
		} {
			if w > maxWork(len(src)) {
				t.Errorf("%s(%.10q…): work %d on %d bytes, want <= %d", name, src, w, len(src), maxWork(len(src)))
			}
		}
	}
}

// TestBudget runs calls out of budget: each stops, without panic, soon
// after its budget is spent, and returns what it read until then.
func TestBudget(t *testing.T) {
	src := `{a: 1, b: [2, 3], c: "` + strings.Repeat("x", 1000) + `", d: {e: 5}, f: 6}`
	const limit = 100
	v, n, w, err := parse(src, limit)
	if err != ErrBudget || n <= 0 || n >= len(src) {
		t.Errorf("parse = %v, %d; want ErrBudget and a partial read", err, n)
	}
	// A call may overrun its budget by one scan, of at most the input.
	if w > limit+2*len(src)+64 {
		t.Errorf("parse work %d, budget %d", w, limit)
	}
	if !reflect.DeepEqual(Path(v, "a"), Number("1")) || Path(v, "f") != nil {
		t.Errorf("parse = %#v, want the members before the cut", v)
	}

	script := strings.Repeat("gtag('event', {value: 1}); _revoffers_track.order_id = 'x'; ", 1000)
	c, w := calls(script, []string{"gtag"}, 10000)
	if len(c) == 0 || len(c) >= 1000 || w > 10000+2*len(script)+64 {
		t.Errorf("calls: %d calls, work %d; want some, not all", len(c), w)
	}
	a, w := assignments(script, []string{"_revoffers_track"}, 10000)
	if len(a) == 0 || len(a) >= 1000 || w > 10000+2*len(script)+64 {
		t.Errorf("assignments: %d found, work %d; want some, not all", len(a), w)
	}
	// The usual budget is far from reached on the same input.
	if len(Calls([]byte(script), "gtag")) != 1000 || len(Assignments([]byte(script), "_revoffers_track")) != 1000 {
		t.Errorf("the usual budget cut a plain script short")
	}
	if _, _, w, _ := parse(src, 0); w > 64 {
		t.Errorf("parse with no budget did %d work", w)
	}
}

func benchScripts(b *testing.B) [][]byte {
	var all [][]byte
	for _, f := range []string{"01_ga4_datalayer_purchase_usd.html", "02_gtag_purchase_cad.html", "07_shopify_legacy_checkout_aud.html",
		"10_katalys_push_convert_usd.html", "14_head_body_markers_in_comments_jpy.html"} {
		all = append(all, fixtureScripts(b, f)...)
	}
	return all
}

func BenchmarkParse(b *testing.B) {
	var objs [][]byte
	for _, s := range benchScripts(b) {
		if i := bytes.IndexByte(s, '{'); i >= 0 {
			objs = append(objs, s[i:])
		}
	}
	size := 0
	for _, o := range objs {
		_, n, _ := Parse(o)
		size += n
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, o := range objs {
			Parse(o)
		}
	}
}

func BenchmarkCalls(b *testing.B) {
	scripts := benchScripts(b)
	size := 0
	for _, s := range scripts {
		size += len(s)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range scripts {
			Calls(s, "dataLayer.push", "gtag", "_revoffers_track.push")
		}
	}
}

func BenchmarkAssignments(b *testing.B) {
	scripts := benchScripts(b)
	size := 0
	for _, s := range scripts {
		size += len(s)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range scripts {
			Assignments(s, "_revoffers_track", "Shopify.checkout")
		}
	}
}

func TestUnwrap(t *testing.T) {
	for _, tt := range []struct {
		src  string
		want Value
	}{
		{`parseFloat('249.90')`, String("249.90")},
		{`parseFloat( "1,047.00" )`, String("1,047.00")},
		{`Number(12.5)`, Number("12.5")},
		{`parseFloat(total)`, Expr("parseFloat(total)")},
		{`parseFloat('1' + '2')`, Expr("parseFloat('1' + '2')")},
		{`parseInt('2')`, Expr("parseInt('2')")},
		{`'249.90'`, String("249.90")},
	} {
		v, _, err := Parse([]byte(tt.src))
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		if got := Unwrap(v); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Unwrap(%s) = %#v, want %#v", tt.src, got, tt.want)
		}
	}
}
