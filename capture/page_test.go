package capture

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// fixtureDir holds the shared thank-you pages; CI clones the repository
// with ../shared beside it.
const fixtureDir = "../../shared/fixtures/thankyou"

// tokenizerScripts lists the inline scripts of page as the HTML tokenizer
// sees them: the oracle NewPage's substring scan must agree with.
func tokenizerScripts(page []byte) []Script {
	var out []Script
	z := html.NewTokenizer(bytes.NewReader(page))
	var cur *Script
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return out
		case html.StartTagToken:
			name, hasAttr := z.TagName()
			if string(name) != "script" {
				continue
			}
			cur = &Script{}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				switch string(k) {
				case "type":
					cur.Type = strings.ToLower(strings.TrimSpace(string(v)))
				case "id":
					cur.ID = string(v)
				}
			}
		case html.TextToken:
			if cur != nil {
				cur.Text = append([]byte(nil), z.Raw()...)
			}
		case html.EndTagToken:
			if cur != nil && len(bytes.TrimSpace(cur.Text)) > 0 {
				out = append(out, *cur)
			}
			cur = nil
		}
	}
}

func TestNewPageMatchesTokenizer(t *testing.T) {
	pages := map[string][]byte{
		"comment":     []byte(`<p><!-- <script>fake()</script> --><script>real()</script>`),
		"upper":       []byte(`<SCRIPT type="Application/LD+JSON">{"a":1}</SCRIPT><script>b()</script>`),
		"attrs":       []byte(`<script data-x="a>b" id='__NEXT_DATA__' type="application/json">{}</script>`),
		"src":         []byte(`<script src="/x.js"></script><script async>c()</script>`),
		"not script":  []byte(`<scripts>x</scripts><script-x>y</script-x><script>z()</script>`),
		"strings":     []byte(`<script>var s = "</body></html>";</script><script>t()</script>`),
		"entity type": []byte(`<script type="text&#x2F;javascript">u()</script>`),
	}
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.html"))
	if len(files) == 0 {
		t.Fatalf("no fixtures in %s", fixtureDir)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pages[filepath.Base(f)] = b
	}
	for name, page := range pages {
		got, want := NewPage(page).Scripts, tokenizerScripts(page)
		if len(got) != len(want) {
			t.Errorf("%s: %d scripts, tokenizer sees %d", name, len(got), len(want))
			continue
		}
		for i := range got {
			if got[i].Type != want[i].Type || got[i].ID != want[i].ID || !bytes.Equal(got[i].Text, want[i].Text) {
				t.Errorf("%s: script %d = {%q %q %.40q}, tokenizer {%q %q %.40q}", name, i,
					got[i].Type, got[i].ID, got[i].Text, want[i].Type, want[i].ID, want[i].Text)
			}
		}
	}
}

func TestScriptJS(t *testing.T) {
	for typ, want := range map[string]bool{"": true, "text/javascript": true, "module": true,
		"application/x-javascript": true, "text/javascript1.2": true, "text/x-javascript": true,
		"application/ld+json": false, "text/x-magento-init": false, "importmap": false, "text/javascript2": false} {
		s := Script{Type: typ}
		if s.JS() != want {
			t.Errorf("Script{Type:%q}.JS() = %v", typ, !want)
		}
	}
}

func BenchmarkNewPage(b *testing.B) {
	page, err := os.ReadFile(filepath.Join(fixtureDir, "14_head_body_markers_in_comments_jpy.html"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		NewPage(page)
	}
}

// TestNewPageWithScripts: a page whose scripts up to some offset are given
// reads the same as one scanned whole.
func TestNewPageWithScripts(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.html"))
	if len(files) == 0 {
		t.Fatalf("no fixtures in %s", fixtureDir)
	}
	for _, f := range files {
		page, _ := os.ReadFile(f)
		want := NewPage(page).Scripts
		// The scripts before </head>, found "by the injector": here, by
		// the tokenizer oracle, with their offsets.
		upTo := bytes.LastIndex(page, []byte("</head>"))
		var known []ScriptAt
		for _, s := range tokenizerScripts(page[:upTo]) {
			start := bytes.Index(page, s.Text)
			tagStart := bytes.LastIndex(page[:start], []byte("<script"))
			known = append(known, ScriptAt{Tag: page[tagStart:start], Start: start, End: start + len(s.Text)})
		}
		got := NewPageWith(page, Options{Scripts: known, ScannedTo: upTo}).Scripts
		if len(got) != len(want) {
			t.Errorf("%s: %d scripts, want %d", filepath.Base(f), len(got), len(want))
			continue
		}
		for i := range got {
			if got[i].Type != want[i].Type || got[i].ID != want[i].ID || !bytes.Equal(got[i].Text, want[i].Text) {
				t.Errorf("%s: script %d differs", filepath.Base(f), i)
			}
		}
	}
}

// TestNewPageWithScriptsRescans: a known script without its start tag (too
// long for the injector to keep) or beyond the kept bytes is found again
// by the scan, with its type.
func TestNewPageWithScriptsRescans(t *testing.T) {
	page := []byte(`<script>a()</script><script type="application/ld+json" data-x="long">{"@type":"Order"}</script><p>`)
	first := bytes.Index(page, []byte("a()"))
	second := bytes.Index(page, []byte(`{"@type"`))
	known := []ScriptAt{
		{Tag: []byte("<script>"), Start: first, End: first + 3},
		{Tag: nil, Start: second, End: second + len(`{"@type":"Order"}`)},
	}
	got := NewPageWith(page, Options{Scripts: known, ScannedTo: len(page)}).Scripts
	if len(got) != 2 || got[1].Type != "application/ld+json" || string(got[1].Text) != `{"@type":"Order"}` {
		t.Fatalf("scripts = %+v; want both, the second with its type", got)
	}
	cut := page[:second+5]
	got = NewPageWith(cut, Options{Scripts: known, ScannedTo: len(cut)}).Scripts
	if len(got) != 2 || string(got[1].Text) != "{" {
		t.Fatalf("cut page: scripts = %+v; want the second script up to its last bracket before the cut", got)
	}
}

// TestCutScriptLosesOnlyItsCutValue: on a page cut at the capture limit
// inside a script, what the script printed whole before the cut is read,
// and the value the cut went through is not (an id with no total and no
// items is no order).
func TestCutScriptLosesOnlyItsCutValue(t *testing.T) {
	script := `<html><body><script>dataLayer.push({event:"purchase",ecommerce:{transaction_id:"10482",currency:"GBP",value:1234.56,items:[{item_id:"A",item_name:"Linen shirt",price:1234.56,quantity:1}]}});</script></body></html>`
	cutAfter := func(s string) []byte { return []byte(script[:strings.Index(script, s)+len(s)]) }
	if o, ok := NewPage(cutAfter(`value:12`)).Order(); ok {
		t.Errorf("cut inside the total: order %q with total %v, want none", o.ID, mkMoney(o.Total))
	}
	o, ok := NewPage(cutAfter(`item_name:"Lin`)).Order()
	if !ok || o.ID != "10482" || mkMoney(o.Total) != 1234.56 || len(o.Items) != 0 {
		t.Errorf("cut inside the items: order %q total %v items %+v (found %v), want 10482, 1234.56 and no items", o.ID, mkMoney(o.Total), o.Items, ok)
	}
	// A cut list leaves the items to a source that has them whole.
	page := `<html><body><script>dataLayer.push({event:"purchase",ecommerce:{transaction_id:"10482",value:60,items:[{item_id:"A",price:5,quantity:12}]}});</script>` +
		`<script>window.orderData={id:"10482",total:60,lines:[{sku:"A",qty:1`
	o, ok = NewPage([]byte(page)).Order()
	if !ok || len(o.Items) != 1 || o.Items[0].Quantity != 12 {
		t.Errorf("items %+v (found %v), want the dataLayer's A × 12", o.Items, ok)
	}
	// A classic GTM dataLayer holds the order in a list: cut in its
	// products, the order is still read.
	gtm := `<html><body><script>dataLayer = [{'transactionId':'1234','transactionTotal':38.26,'transactionProducts':[{'sku':'DD44','name':'T-Shirt','price':11.99,'quantity':1},{'sku':'AA1122','name':'Soc`
	if o, ok := NewPage([]byte(gtm)).Order(); !ok || o.ID != "1234" || mkMoney(o.Total) != 38.26 {
		t.Errorf("cut GTM dataLayer: order %q total %v (found %v), want 1234 and 38.26", o.ID, mkMoney(o.Total), ok)
	}
}

func TestCutText(t *testing.T) {
	for in, want := range map[string]string{
		`a({id:"1",value:12`:                    `a({id:"1",`,
		`a({id:"1",items:[{x:"[",y:1},{x:"a`:    `a({id:"1",`,
		`x=1;y="a]b`:                            `x=1;`,
		`a({id:"1",b:{c:[1,2],d:3},e:[4`:        `a({id:"1",b:{c:[1,2],d:3},`,
		`dl=[{id:"1",total:3,products:[{sku:"A`: `dl=[{id:"1",total:3,`,
		`nothing to keep`:                       ``,
	} {
		if got := string(cutText([]byte(in))); got != want {
			t.Errorf("cutText(%q) = %q, want %q", in, got, want)
		}
	}
}
