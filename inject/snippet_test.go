package inject

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"io"
	"maps"
	"strings"
	"testing"
)

func TestSnippetIsTheOfficialMarkup(t *testing.T) {
	s := NewSnippet("KA-7Q2M9X4B1Z", "", "")
	want := `<script>window._revoffers_track=window._revoffers_track||{};_revoffers_track.site_id="KA-7Q2M9X4B1Z";</script>` +
		`<script src="https://db.revoffers.com/js/KA-7Q2M9X4B1Z.js" async></script>`
	if string(s.HTML) != want {
		t.Fatalf("snippet\n got  %s\n want %s", s.HTML, want)
	}
	sum := sha256.Sum256([]byte(s.Inline))
	if s.Hash() != "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'" {
		t.Errorf("hash %s does not match the inline script", s.Hash())
	}
	if !strings.Contains(string(s.HTML), ">"+s.Inline+"<") {
		t.Error("Inline is not the text of the inline script element")
	}
	if s.Origin() != "https://db.revoffers.com" {
		t.Errorf("origin = %q", s.Origin())
	}
}

func TestSnippetEscapesSiteID(t *testing.T) {
	hostile := `x";alert(1)//</script><img src=x onerror=alert(2)>'&`
	s := NewSnippet(hostile, "https://cdn.example/js/{site_id}.js?v=1&x=\"", "n\"1")
	h := string(s.HTML)
	for _, bad := range []string{`";alert`, "</script><img", "onerror=alert(2)>", `x="`, `nonce="n"1"`} {
		if strings.Contains(h, bad) {
			t.Errorf("snippet contains %q unescaped:\n%s", bad, h)
		}
	}
	if strings.Count(h, "<script") != 2 || strings.Count(h, "</script>") != 2 {
		t.Errorf("snippet structure broken:\n%s", h)
	}
	if !strings.Contains(h, `nonce="n&#34;1"`) {
		t.Errorf("nonce not escaped as an attribute:\n%s", h)
	}
}

func TestKatalysScriptSiteID(t *testing.T) {
	tests := []struct {
		src, id string
		ok      bool
	}{
		{"https://db.revoffers.com/js/KA-7Q2M9X4B1Z.js", "KA-7Q2M9X4B1Z", true},
		{"//js.katalys.com/js/KA-1.js?x=1#f", "KA-1", true},
		{"https://db.revoffers.com/js/shop.example.com.js", "shop.example.com", true},
		{"https://db.revoffers.com/js/_default.js", "_default", true},
		{"https://db.revoffers.com/_track.js", "", false},
		{"/assets/app.js", "", false},
		{"https://DB.RevOffers.COM/js/KA-1.js", "KA-1", true}, // hosts are case-insensitive
		{"https://db.revoffers.com/JS/KA-1.js", "", false},    // paths are not
	}
	for _, tt := range tests {
		id, ok := KatalysScriptSiteID(tt.src)
		if id != tt.id || ok != tt.ok {
			t.Errorf("KatalysScriptSiteID(%q) = %q, %v", tt.src, id, ok)
		}
	}
}

func TestThankYouSnippetCarriesTheConvertLoader(t *testing.T) {
	s := NewThankYouSnippet("KA-7Q2M9X4B1Z", "/stub.js", "n1")
	plain := NewSnippet("KA-7Q2M9X4B1Z", "/stub.js", "n1")
	if !strings.HasPrefix(s.Inline, plain.Inline) || !strings.HasSuffix(s.Inline, convertLoader) {
		t.Errorf("thank-you inline script = %s; want the plain one followed by the loader", s.Inline)
	}
	if !strings.Contains(string(s.HTML), `<script nonce="n1">`+s.Inline+`</script>`) {
		t.Errorf("the loader is not inside the nonced inline script: %s", s.HTML)
	}
	if s.Hash() == plain.Hash() {
		t.Error("the thank-you snippet's CSP hash does not cover the loader")
	}
}

func TestConvertHTMLCannotEndTheElement(t *testing.T) {
	got := string(ConvertHTML([]byte(`{"order_id":"</script><script>alert(1)</script>"}`)))
	want := `<script type="application/json" id="katalys-convert">{"order_id":"\u003c/script\u003e\u003cscript\u003ealert(1)\u003c/script\u003e"}</script>`
	if got != want {
		t.Errorf("ConvertHTML\n got  %s\n want %s", got, want)
	}
}

// TestConvertHTMLIsASCII: the data block reads the same in a page in a
// single-byte charset (windows-1252): non-ASCII is \u-escaped, beyond the
// BMP as a surrogate pair, and decodes back to the payload.
func TestConvertHTMLIsASCII(t *testing.T) {
	payload := `{"line_item_1_title":"Müsli Größe – 🍎","currency":"EUR"}`
	block := ConvertHTML([]byte(payload))
	for _, c := range block {
		if c >= 0x80 {
			t.Fatalf("non-ASCII byte %#x in %s", c, block)
		}
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(string(block), `<script type="application/json" id="katalys-convert">`), `</script>`)
	var got, want map[string]string
	if err := json.Unmarshal([]byte(inner), &got); err != nil {
		t.Fatalf("%v: %s", err, inner)
	}
	_ = json.Unmarshal([]byte(payload), &want)
	if !maps.Equal(got, want) {
		t.Errorf("decoded %v, want %v", got, want)
	}
}

// TestXHTMLSnippetIsWellFormedXML: on a page a browser parses as XML, the
// snippet, the convert loader and the convert data block must all be
// well-formed, or the browser shows a parse error instead of the page.
func TestXHTMLSnippetIsWellFormedXML(t *testing.T) {
	block := ConvertHTML([]byte(`{"order_id":"A&B <1> ]]>","line_item_1_title":"Shirt & Tie"}`))
	for _, s := range []Snippet{
		NewSnippet("KA-1", "", ""),
		NewSnippet(`x"&<y`, "https://example.com/t.js?a=1&b={site_id}", `n"1`),
		NewThankYouSnippet("KA-1", "", "abc"),
	} {
		page := `<html xmlns="http://www.w3.org/1999/xhtml"><body>` + string(s.XHTML) + string(block) + `</body></html>`
		d := xml.NewDecoder(strings.NewReader(page))
		d.Strict = true
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("not well-formed XML: %v\n%s", err, page)
			}
		}
		if !bytes.Equal(bytes.Replace(s.XHTML, []byte(` async="async">`), []byte(` async>`), 1), s.HTML) {
			t.Errorf("XHTML differs from HTML other than in async:\n%s\n%s", s.XHTML, s.HTML)
		}
	}
}
