package inject

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// tokenizerSpans lists the script elements of page as the HTML tokenizer
// sees them, with their body offsets: the oracle of Writer.Scripts.
func tokenizerSpans(page string) []ScriptSpan {
	var out []ScriptSpan
	z := html.NewTokenizer(strings.NewReader(page))
	var off int64
	open := int64(-1)
	for {
		tt := z.Next()
		raw := z.Raw()
		switch {
		case tt == html.ErrorToken:
			return out
		case tt == html.StartTagToken:
			if name, _ := z.TagName(); string(name) == "script" {
				open = off + int64(len(raw))
			}
		case tt == html.EndTagToken && open >= 0:
			if name, _ := z.TagName(); string(name) == "script" {
				out = append(out, ScriptSpan{Start: open, End: off})
				open = -1
			}
		}
		off += int64(len(raw))
	}
}

// TestWriterScripts: with RecordScripts, the Writer reports every script
// element up to where it stopped reading, with the body offsets the HTML
// tokenizer gives, however the page is cut into writes.
func TestWriterScripts(t *testing.T) {
	pages := pages(t)
	pages["comment"] = `<!-- <script>a()</script> --><script type="module">b()</script><p></body>`
	pages["string"] = `<script>var s = "</body>";</script><SCRIPT>c()</SCRIPT ><body></body>`
	for name, page := range pages {
		want := tokenizerSpans(page)
		for _, size := range []int{len(page), 1, 7, 4096} {
			w := NewWriter(io.Discard, []byte("[S]"))
			w.RecordScripts()
			for i := 0; i < len(page); i += size {
				if _, err := w.Write([]byte(page[i:min(i+size, len(page))])); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			got, upTo := w.Scripts()
			if upTo < 0 || upTo > int64(len(page)) {
				t.Fatalf("%s/%d: read up to %d of %d bytes", name, size, upTo, len(page))
			}
			var wantUpTo []ScriptSpan
			for _, s := range want {
				if s.End <= upTo && s.Start < upTo { // a Katalys script tag ends the reading at its body
					wantUpTo = append(wantUpTo, s)
				}
			}
			if len(got) != len(wantUpTo) {
				t.Errorf("%s/%d: %d scripts up to %d, tokenizer %d", name, size, len(got), upTo, len(wantUpTo))
				continue
			}
			for i := range got {
				if got[i].Start != wantUpTo[i].Start || got[i].End != wantUpTo[i].End {
					t.Errorf("%s/%d: script %d at [%d,%d), tokenizer [%d,%d)", name, size, i, got[i].Start, got[i].End, wantUpTo[i].Start, wantUpTo[i].End)
				}
				if !bytes.HasPrefix(bytes.ToLower(got[i].Tag), []byte("<script")) || !bytes.HasSuffix(got[i].Tag, []byte(">")) {
					t.Errorf("%s/%d: script %d tag %q", name, size, i, got[i].Tag)
				}
			}
			if res := w.Result(); res.Place == BeforeBody && !strings.EqualFold(page[upTo:upTo+6], "</body") {
				t.Errorf("%s/%d: read up to %d, not to the </body> the snippet went before", name, size, upTo)
			}
		}
	}
}

// TestWriterScriptsCutShort: a page that ends inside a script, and a
// script whose start tag is too long to keep, are left for the reader to
// scan: upTo stops before the open script, and the long tag is nil.
func TestWriterScriptsCutShort(t *testing.T) {
	page := `<script>a()</script><p>x</p><script>dataLayer.push({event:"purchase"`
	w := NewWriter(io.Discard, []byte("[S]"))
	w.RecordScripts()
	_, _ = w.Write([]byte(page))
	spans, upTo := w.Scripts()
	if len(spans) != 1 || upTo != spans[0].End || page[spans[0].Start:spans[0].End] != "a()" {
		t.Errorf("cut-short page: spans %+v, upTo %d; want the first script only, and upTo at its end", spans, upTo)
	}

	long := `<script type="application/ld+json" data-x="` + strings.Repeat("x", maxTag) + `">{"@type":"Order"}</script></body>`
	w = NewWriter(io.Discard, []byte("[S]"))
	w.RecordScripts()
	_, _ = w.Write([]byte(long))
	spans, _ = w.Scripts()
	if len(spans) != 1 || spans[0].Tag != nil || long[spans[0].Start:spans[0].End] != `{"@type":"Order"}` {
		t.Errorf("long start tag: spans %+v; want one span with a nil Tag", spans)
	}

	// A Writer that does not record keeps nothing.
	w = NewWriter(io.Discard, []byte("[S]"))
	_, _ = w.Write([]byte(`<title>t</title><script>b()</script></body>`))
	if spans, _ := w.Scripts(); len(spans) != 0 {
		t.Errorf("a Writer not recording kept %d spans", len(spans))
	}
}
