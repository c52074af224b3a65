package inject

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

const snip = "<S>"

// run feeds in to a Writer in the given chunk sizes (cycled; nil: one
// write) and returns the output and the result.
func run(t testing.TB, in string, chunks ...int) (string, Result) {
	t.Helper()
	var out bytes.Buffer
	w := NewWriter(&out, []byte(snip))
	b := []byte(in)
	for k := 0; len(b) > 0; k++ {
		n := len(b)
		if len(chunks) > 0 {
			n = min(chunks[k%len(chunks)], len(b))
		}
		m, err := w.Write(b[:n])
		if err != nil || m != n {
			t.Fatalf("Write = %d, %v; want %d, nil", m, err, n)
		}
		b = b[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String(), w.Result()
}

func TestWriterPlacesSnippet(t *testing.T) {
	tests := []struct {
		name, in, want string
		place          Place
	}{
		{"plain", "<html><body><p>x</p></body></html>", "<html><body><p>x</p><S></body></html>", BeforeBody},
		{"upper case and space", "<BODY>x</BODY >", "<BODY>x<S></BODY >", BeforeBody},
		{"end tag with newline", "<body>x</body\n>", "<body>x<S></body\n>", BeforeBody},
		{"first real body end wins", "<body>a</body>b</body>", "<body>a<S></body>b</body>", BeforeBody},
		{"in comment", "<body><!-- </body> -->x</body>", "<body><!-- </body> -->x<S></body>", BeforeBody},
		{"comment with dashes", "<body><!-- a -- </body> --->x</body>", "<body><!-- a -- </body> --->x<S></body>", BeforeBody},
		{"comment bang end", "<body><!-- </body> --!>x</body>", "<body><!-- </body> --!>x<S></body>", BeforeBody},
		{"empty comment", "<body><!-->x</body>", "<body><!-->x<S></body>", BeforeBody},
		{"empty comment with a dash", "<body><!--->x</body>", "<body><!--->x<S></body>", BeforeBody},
		{"bang opening a comment", "<body><!--!><p>old</p></body>--></body>", "<body><!--!><p>old</p></body>--><S></body>", BeforeBody},
		{"dash bang opening a comment", "<body><!---!></body>--></body>", "<body><!---!></body>--><S></body>", BeforeBody},
		{"in script", "<body><script>if(a</body>b){'</body>'}</script></body>", "<body><script>if(a</body>b){'</body>'}</script><S></body>", BeforeBody},
		{"script end tag case", "<body><script>x</SCRIPT >y</body>", "<body><script>x</SCRIPT >y<S></body>", BeforeBody},
		{"script lookalike end", "<body><script>x</scripts></body></script></body>", "<body><script>x</scripts></body></script><S></body>", BeforeBody},
		{"in style", "<body><style>/*</body>*/</style></body>", "<body><style>/*</body>*/</style><S></body>", BeforeBody},
		{"in textarea", "<body><textarea></body></textarea></body>", "<body><textarea></body></textarea><S></body>", BeforeBody},
		{"in title", "<title></body></title><body></body>", "<title></body></title><body><S></body>", BeforeBody},
		{"in double-quoted attr", `<body><a title="</body>">x</a></body>`, `<body><a title="</body>">x</a><S></body>`, BeforeBody},
		{"in single-quoted attr", `<body><a title='</body>'>x</a></body>`, `<body><a title='</body>'>x</a><S></body>`, BeforeBody},
		{"gt in quoted attr", `<body><a title="a>b</body>">x</a></body>`, `<body><a title="a>b</body>">x</a><S></body>`, BeforeBody},
		{"quote not after equals", `<body><a b"c>x</body>`, `<body><a b"c>x<S></body>`, BeforeBody},
		{"cdata is a bogus comment up to >", "<body><![CDATA[</body>]]>x</body>", "<body><![CDATA[</body>]]>x<S></body>", BeforeBody},
		{"doctype", "<!DOCTYPE html><body>x</body>", "<!DOCTYPE html><body>x<S></body>", BeforeBody},
		{"lt in text", "<body>a < b <3 </body>", "<body>a < b <3 <S></body>", BeforeBody},
		{"bodyx is not body", "<body></bodyx></body>", "<body></bodyx><S></body>", BeforeBody},
		{"html fallback", "<html><body>x</html>", "<html><body>x<S></html>", BeforeHTML},
		{"end fallback", "<p>fragment", "<p>fragment<S>", AtEnd},
		{"empty", "", "<S>", AtEnd},
		{"lone lt at end", "<p>a <", "<p>a <<S>", AtEnd},
		// A page that ends inside a tag, a comment or raw text is left as
		// it came: appended there, the snippet would not be a script.
		{"plaintext runs to the end", "<body><plaintext></body></plaintext></body>", "<body><plaintext></body></plaintext></body>", NotInjected},
		{"truncated marker at end", "<body>x</bod", "<body>x</bod", NotInjected},
		{"end tag open at end", "<body>x</", "<body>x</", NotInjected},
		{"cut in an attribute", `<body><a href="/x`, `<body><a href="/x`, NotInjected},
		{"cut in a comment", "<body><!-- x", "<body><!-- x", NotInjected},
		{"cut in a script", "<body><script>var a = 1", "<body><script>var a = 1", NotInjected},
		{"cut in a textarea", "<body><textarea>x", "<body><textarea>x", NotInjected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, res := run(t, tt.in)
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if res.Place != tt.place {
				t.Errorf("place = %d, want %d", res.Place, tt.place)
			}
			if res.Unfinished != (tt.place == NotInjected) {
				t.Errorf("Unfinished = %v, want %v", res.Unfinished, tt.place == NotInjected)
			}
		})
	}
}

func TestWriterLeavesKatalysPagesAlone(t *testing.T) {
	tests := []struct{ name, in, id string }{
		{"revoffers", `<head><script src="https://db.revoffers.com/js/KA-7Q2M9X4B1Z.js" async></script></head><body></body>`, "KA-7Q2M9X4B1Z"},
		{"katalys host", `<body><script async src='https://js.katalys.com/js/KA-ABC.js?v=2'></script></body>`, "KA-ABC"},
		{"domain id", `<body><SCRIPT TYPE="text/javascript" SRC=//db.revoffers.com/js/shop.example.com.js></SCRIPT></body>`, "shop.example.com"},
		{"entity in src", `<body><script src="https://db.revoffers.com/js/KA-1.js?a=1&amp;b=2"></script></body>`, "KA-1"},
		{"self-closing tag", `<head><script src="https://db.revoffers.com/js/KA-1.js" async /></script></head><body></body>`, "KA-1"},
		{"host in capitals", `<head><script src="https://DB.RevOffers.com/js/KA-1.js" async></script></head><body></body>`, "KA-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, res := run(t, tt.in)
			if got != tt.in {
				t.Errorf("page changed:\n%q", got)
			}
			if !res.Existing || res.ExistingSiteID != tt.id || res.Place != NotInjected {
				t.Errorf("result = %+v, want existing %q", res, tt.id)
			}
		})
	}
	// Other scripts, and the Katalys host in text, do not count.
	for _, in := range []string{
		`<body><script src="/app.js"></script></body>`,
		`<body><a href="https://db.revoffers.com/js/KA-1.js">x</a></body>`,
		`<body><script>var s="https://db.revoffers.com/js/KA-1.js"</script></body>`,
		`<body><script data-src="https://db.revoffers.com/js/KA-1.js"></script></body>`,
	} {
		if _, res := run(t, in); res.Existing || res.Place != BeforeBody {
			t.Errorf("%s: result = %+v", in, res)
		}
	}
}

// pages returns the test pages: the table inputs above, the shared
// thank-you fixtures and testdata/*.html.
func pages(t testing.TB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, glob := range []string{"testdata/*.html", "../../shared/fixtures/thankyou/*.html"} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			out[filepath.Base(f)] = string(b)
		}
	}
	if len(out) < 16 {
		t.Fatalf("found %d test pages; want the testdata and the shared fixtures", len(out))
	}
	return out
}

// TestWriterSplitAnywhere checks that where the input is cut into writes
// never changes the output: every single split point, and byte-at-a-time.
func TestWriterSplitAnywhere(t *testing.T) {
	for name, page := range pages(t) {
		t.Run(name, func(t *testing.T) {
			whole, _ := run(t, page)
			for cut := 1; cut < len(page); cut++ {
				got, _ := run(t, page, cut, len(page))
				if got != whole {
					t.Fatalf("split at %d: output differs", cut)
				}
			}
			for _, chunks := range [][]int{{1}, {2}, {3}, {7}, {1, 5, 11}} {
				if got, _ := run(t, page, chunks...); got != whole {
					t.Fatalf("chunks %v: output differs", chunks)
				}
			}
		})
	}
}

// tokenizerBodyEnd returns the offset of the first </body> end tag that
// golang.org/x/net/html reports, or -1.
func tokenizerBodyEnd(page string) int {
	z := html.NewTokenizer(strings.NewReader(page))
	off := 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return -1
		}
		if tt == html.EndTagToken {
			if n, _ := z.TagName(); string(n) == "body" {
				return off
			}
		}
		off += len(z.Raw())
	}
}

// checkAgainstTokenizer checks that the snippet lands right before the
// first </body> end tag golang.org/x/net/html reports, whole and cut into
// 1-, 2- and 3-byte writes (which take the byte-wise path of the lexer
// rather than the tag-at-a-time one).
func checkAgainstTokenizer(t *testing.T, page string) {
	t.Helper()
	want := tokenizerBodyEnd(page)
	if want < 0 {
		t.Fatalf("tokenizer found no </body>")
	}
	for _, chunks := range [][]int{nil, {1}, {2}, {3}} {
		got, res := run(t, page, chunks...)
		if res.Existing {
			if got != page {
				t.Fatal("page with the Katalys script was changed")
			}
			continue
		}
		if at := strings.Index(got, snip); at != want || got != page[:want]+snip+page[want:] {
			t.Fatalf("chunks %v: snippet at %d, tokenizer's </body> at %d", chunks, at, want)
		}
	}
}

// TestWriterMatchesHTMLTokenizer checks the insertion point against
// golang.org/x/net/html on every test page.
func TestWriterMatchesHTMLTokenizer(t *testing.T) {
	for name, page := range pages(t) {
		t.Run(name, func(t *testing.T) { checkAgainstTokenizer(t, page) })
	}
}

// TestWriterAttributeForms covers the attribute spellings where a quote
// does or does not open a value, and where the tag really ends.
func TestWriterAttributeForms(t *testing.T) {
	for _, tag := range []string{
		`<!--!></body>-->`, `<!---!></body>-->`, `<!--->`, `<!-- --!></body>-->`,
		`<a b="</body>">`, `<a b='</body>'>`, `<a b=c>`, `<a b>`, `<a b/>`, `<a/b="</body>">`,
		`<a b = "</body>">`, `<a b= '</body>'>`, `<a b ="</body>">`,
		`<a ="</body>">`, `<a b=c="</body>">`, `<a b="x"="</body>">`, `<a b="x"c="</body>">`,
		`<a b"c="</body>">`, `<a "b"="</body>">`, `<a b/="</body>">`, `<a b==">`,
		`<a b=c"</body>">`, `<a b=>`, `<a b=`, `<a title="a>b</body>">`, `<a data-x='{"k":"</body>"}'>`,
		`<div class=x id="</body>" hidden>`, `<input value=</body>>`,
	} {
		t.Run(tag, func(t *testing.T) {
			checkAgainstTokenizer(t, "<html><body><p>"+tag+"text</p></body></html>")
		})
	}
}

// TestWriterStreams checks that nothing is held back but the start of a
// possible marker, so a flush after each write delivers the page as it
// comes.
func TestWriterStreams(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, []byte(snip))
	steps := []struct{ in, out string }{
		{"<html><head><title>t</title></head>", "<html><head><title>t</title></head>"},
		{"<body><p>hello</p></b", "<body><p>hello</p>"},
		{"r>", "</br>"},
		{"</", ""},
		{"body>", "<S></body>"},
		{"</html>", "</html>"},
	}
	want := ""
	for _, s := range steps {
		if _, err := w.Write([]byte(s.in)); err != nil {
			t.Fatal(err)
		}
		want += s.out
		if out.String() != want {
			t.Fatalf("after %q: out = %q, want %q", s.in, out.String(), want)
		}
	}
}

func TestWriterAbandon(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out, []byte(snip))
	w.Write([]byte("<body>x</bo"))
	if err := w.Abandon(); err != nil {
		t.Fatal(err)
	}
	if out.String() != "<body>x</bo" || w.Result().Place != NotInjected {
		t.Fatalf("out = %q, result %+v", out.String(), w.Result())
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("disk on fire")
	}
	return len(p), nil
}

func TestWriterReportsWriteErrors(t *testing.T) {
	w := NewWriter(&failWriter{n: 3}, []byte(snip))
	if _, err := w.Write([]byte("<body>hello</body>")); err == nil {
		t.Fatal("write error was lost")
	}
}

// FuzzWriter checks, for any input cut anywhere, that the output is the
// input with exactly one snippet inserted, or the input unchanged when it
// already loads the Katalys script, and that cutting changes nothing.
func FuzzWriter(f *testing.F) {
	for _, p := range pages(f) {
		f.Add([]byte(p), uint16(1))
	}
	f.Add([]byte("<body><!-- </body> --></body>"), uint16(3))
	f.Fuzz(func(t *testing.T, in []byte, cut uint16) {
		whole, res := run(t, string(in))
		c := int(cut)%(len(in)+1) + 1
		if split, _ := run(t, string(in), c); split != whole {
			t.Fatalf("cut %d changed the output", c)
		}
		if res.Existing {
			if whole != string(in) {
				t.Fatal("page with the Katalys script was changed")
			}
			return
		}
		i := strings.Index(whole, snip)
		for i >= 0 && whole[:i]+whole[i+len(snip):] != string(in) {
			j := strings.Index(whole[i+1:], snip)
			if j < 0 {
				i = -1
				break
			}
			i += 1 + j
		}
		if i < 0 || len(whole) != len(in)+len(snip) {
			t.Fatalf("output is not input plus one snippet:\n%q", whole)
		}
	})
}

// page builds an HTML page of about size bytes, shaped like a storefront.
func page(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>` +
		`<link rel="stylesheet" href="/s.css"><style>body{margin:0}</style>` +
		`<script>window.dataLayer=window.dataLayer||[];</script></head><body class="home">`)
	item := `<div class="product" data-sku="SKU-1001"><a href="/p/1001" title="Linen shirt &amp; tie">` +
		`<img src="/i/1001.jpg" alt="Linen shirt" loading="lazy"></a><h2>Linen shirt</h2>` +
		`<span class="price">$49.00</span><!-- promo --><button type="button">Add to cart</button></div>` + "\n"
	for b.Len() < size-200 {
		b.WriteString(item)
	}
	b.WriteString(`<script src="/app.js" defer></script></body></html>`)
	return b.Bytes()
}

func BenchmarkWriter(b *testing.B) {
	sn := NewSnippet("KA-7Q2M9X4B1Z", "", "")
	for _, size := range []struct {
		name string
		n    int
	}{{"10KB", 10 << 10}, {"100KB", 100 << 10}, {"1MB", 1 << 20}} {
		p := page(size.n)
		b.Run(size.name, func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			for b.Loop() {
				w := NewWriter(io.Discard, sn.HTML)
				// 32 KiB writes, as reverse_proxy copies.
				for off := 0; off < len(p); off += 32 << 10 {
					w.Write(p[off:min(off+32<<10, len(p))])
				}
				w.Close()
			}
		})
	}
}

// TestWriterAfter: After's markup goes right after the snippet, wherever
// the snippet goes, and After is called once, when the snippet goes in:
// by then the page before the marker has been written.
func TestWriterAfter(t *testing.T) {
	tests := []struct{ page, want string }{
		{"<p>a</p></body></html>", "<p>a</p>[S][A:<p>a</p>[S]]</body></html>"},
		{"<p>a</p></html>", "<p>a</p>[S][A:<p>a</p>[S]]</html>"},
		{"<p>a</p>", "<p>a</p>[S][A:<p>a</p>[S]]"},
	}
	for _, tt := range tests {
		var out strings.Builder
		w := NewWriter(&out, []byte("[S]"))
		calls := 0
		w.After = func() []byte {
			calls++
			return []byte("[A:" + out.String() + "]")
		}
		for i := range len(tt.page) { // one byte at a time: the worst split
			if _, err := w.Write([]byte{tt.page[i]}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if out.String() != tt.want || calls != 1 {
			t.Errorf("%q: got %q after %d calls, want %q after 1", tt.page, out.String(), calls, tt.want)
		}
	}
	var out strings.Builder
	w := NewWriter(&out, []byte("[S]"))
	w.After = func() []byte { t.Error("After called on a page left alone"); return nil }
	page := `<script src="https://db.revoffers.com/js/KA-1.js"></script></body>`
	_, _ = w.Write([]byte(page))
	_ = w.Close()
	if out.String() != page {
		t.Errorf("page with the Katalys script changed: %q", out.String())
	}
}

// TestWriterReadsXHTMLAsXML: read as XML, a script is markup (and may be
// self-closing), and a CDATA section hides a </body>; cut anywhere, the
// output is the same.
func TestWriterReadsXHTMLAsXML(t *testing.T) {
	tests := []struct{ in, want string }{
		{`<html><head><script src="/a.js"/></head><body><p>x</p></body></html>`,
			`<html><head><script src="/a.js"/></head><body><p>x</p><S></body></html>`},
		{"<body><script>//<![CDATA[\nif (a </body> b) {}\n//]]></script></body>",
			"<body><script>//<![CDATA[\nif (a </body> b) {}\n//]]></script><S></body>"},
		{"<body><![CDATA[ ]] ]> </body> ]]]></body>", "<body><![CDATA[ ]] ]> </body> ]]]><S></body>"},
		{"<body><![CDAT </body>", "<body><![CDAT </body><S>"}, // not CDATA: a bogus comment up to the first '>'
		{`<body><style>p{}</style></body>`, `<body><style>p{}</style><S></body>`},
	}
	for _, tt := range tests {
		for cut := 1; cut <= len(tt.in); cut++ {
			var out bytes.Buffer
			w := NewWriter(&out, []byte(snip))
			w.ReadAsXML()
			for b := []byte(tt.in); len(b) > 0; b = b[min(cut, len(b)):] {
				if _, err := w.Write(b[:min(cut, len(b))]); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Fatalf("%q cut every %d:\n got  %q\n want %q", tt.in, cut, out.String(), tt.want)
			}
		}
	}
}

// TestWriterEscapedScripts: after "<!--" in a script, a "<script" nests
// and its "</script" does not end the element (the tokenizer's script
// data escaped states), so the </body> in the script after it is text.
func TestWriterEscapedScripts(t *testing.T) {
	for _, page := range []string{
		"<body><script><!--\ndocument.write(\"<script src=/ads.js></script>\");\nvar tpl = \"</body>\";\n//--></script></body>",
		"<body><script><!-- x --> </body> </script></body>",
		"<body><script><!--></script></body>",
		"<body><script><!---></script></body>",
		"<body><script><!-- <script> </script> --></script></body>",
		"<body><script><!-- <script> </script> </body> </script></body>",
		"<body><script><!-- <scripts> </script></body>",
		"<body><SCRIPT><!-- <SCRIPT/> </SCRIPT\t> </body> </script> --></script></body>",
		"<body><script><!-- <script> --> </body> </script></body>",
		"<body><script><!- <script> </script></body>",
		"<body><script>a<!--b--c<script>d</script>e</body>f</script>g</body>",
		"<body><style><!-- <style> </style></body>",
	} {
		t.Run(page, func(t *testing.T) { checkAgainstTokenizer(t, page) })
	}
}
