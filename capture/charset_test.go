package capture

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestSingleByteCharsets: a page in a single-byte charset, declared by its
// <meta> or by the Content-Type header (which the caller decodes with
// HeaderCharset, and tells NewPageWith of), is read as the browser shows
// it: the euro sign printed as the byte 0x80 gives the currency, names
// keep their accents. A UTF-8 page with a stale Latin-1 <meta> stays
// UTF-8.
func TestSingleByteCharsets(t *testing.T) {
	for _, tt := range []struct {
		page, contentType  string
		id, currency, item string
		total              float64
	}{
		{"woo_meta_http_equiv_latin1.html", "text/html", "5120", "EUR", "Früchte-Müsli „Alm“", 27.80},
		{"ga4_meta_charset_cp1252.html", "text/html", "FR-7781", "EUR", "Crème brûlée × 6", 42.50},
		{"woo_utf8_stale_meta.html", "text/html; charset=UTF-8", "5121", "EUR", "Früchte-Müsli „Alm“", 27.80},
		{"woo_header_only_latin1.html", "text/html; charset=ISO-8859-1", "5122", "EUR", "Früchte-Müsli „Alm“", 27.80},
		{"woo_meta_http_equiv_latin1.html", "text/html; charset=windows-1252", "5120", "EUR", "Früchte-Müsli „Alm“", 27.80},
	} {
		t.Run(tt.page+" "+tt.contentType, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "charset", tt.page))
			if err != nil {
				t.Fatal(err)
			}
			served := string(raw)
			kept := raw
			if c := HeaderCharset(tt.contentType); c != nil {
				// As the module keeps a page: chunk by chunk.
				var b []byte
				for i := 0; i < len(raw); i += 100 {
					b = append(b, c.Decode(raw[i:min(i+100, len(raw))])...)
				}
				kept = b
			}
			o, ok := NewPageWith(kept, Options{HeaderCharset: HeaderDeclaresCharset(tt.contentType)}).Order()
			if string(raw) != served {
				t.Fatal("the page's bytes were changed")
			}
			if !ok || o.ID != tt.id || o.Currency != tt.currency || o.Total == nil || !near(*o.Total, tt.total) {
				t.Fatalf("Extract = %+v (total %v), %v; want %s of %v %s", o, mkMoney(o.Total), ok, tt.id, tt.total, tt.currency)
			}
			if len(o.Items) != 1 || o.Items[0].Name != tt.item {
				t.Errorf("items = %+v, want one named %q", o.Items, tt.item)
			}
		})
	}
}

// TestHeaderCharset: only single-byte charsets get a decoder; the labels
// are those of the Encoding Standard (ISO-8859-1 is windows-1252).
func TestHeaderCharset(t *testing.T) {
	for ct, want := range map[string]string{
		"text/html; charset=ISO-8859-1":      "windows-1252",
		"text/html; charset=\"latin1\"":      "windows-1252",
		"text/html;charset=windows-1250":     "windows-1250",
		"text/html; charset=iso-8859-15":     "iso-8859-15",
		"text/html; charset=koi8-r":          "koi8-r",
		"text/html; charset=utf-8":           "",
		"text/html; charset=shift_jis":       "",
		"text/html; charset=gbk":             "",
		"text/html":                          "",
		"text/html; charset=no-such-charset": "",
		"":                                   "",
	} {
		c := HeaderCharset(ct)
		got := ""
		if c != nil {
			got = c.name
		}
		if got != want {
			t.Errorf("HeaderCharset(%q) = %q, want %q", ct, got, want)
		}
	}
	c := HeaderCharset("text/html; charset=windows-1252")
	if got := string(c.Decode([]byte("M\xfcsli 9,90 \x80"))); got != "Müsli 9,90 €" {
		t.Errorf("Decode = %q", got)
	}
	// A page that starts with a UTF-8 byte order mark is UTF-8, whatever
	// the header says, as in a browser.
	c = HeaderCharset("text/html; charset=windows-1252")
	bom := "\xef\xbb\xbf<p>Müsli</p>"
	if got := string(c.Decode([]byte(bom))); got != bom {
		t.Errorf("Decode of a page with a BOM = %q", got)
	}
}

// TestHeaderDeclaresCharset: any charset a browser knows counts, UTF-8
// and multi-byte ones included; an unknown label does not.
func TestHeaderDeclaresCharset(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/html; charset=UTF-8":            true,
		"text/html;charset=utf8":              true,
		"text/html; charset=ISO-8859-1":       true,
		"text/html; charset=\"windows-1252\"": true,
		"text/html; charset=shift_jis":        true,
		"text/html":                           false,
		"text/html; charset=":                 false,
		"text/html; charset=no-such-charset":  false,
		"":                                    false,
	} {
		if got := HeaderDeclaresCharset(ct); got != want {
			t.Errorf("HeaderDeclaresCharset(%q) = %v, want %v", ct, got, want)
		}
	}
}

// TestHeaderCharsetOverMeta: a UTF-8 page whose header says so, with a
// stale Latin-1 <meta> and one stray byte that is not UTF-8, is read as
// UTF-8, as the browser shows it: the header wins over the <meta>, and
// the stray byte is only that. Without a charset in its header the
// <meta> counts, as in a browser.
func TestHeaderCharsetOverMeta(t *testing.T) {
	page := []byte(`<!doctype html><html><head><meta charset="iso-8859-1"><meta name="description" content="Caf` + "\xe9" + ` bio"></head><body>
<script>dataLayer.push({event:'purchase', ecommerce:{transaction_id:'5121', value: 27.8, currency:'EUR', items:[{item_id:'M1', item_name:'Früchte-Müsli', price: 9.9, quantity: 2}]}});</script>
</body></html>`)
	item := func(o Order, ok bool) string {
		if !ok || len(o.Items) != 1 {
			return fmt.Sprintf("%+v, %v", o, ok)
		}
		return o.Items[0].Name
	}
	if got := item(NewPageWith(page, Options{HeaderCharset: true}).Order()); got != "Früchte-Müsli" {
		t.Errorf("header charset=UTF-8: item %q, want %q", got, "Früchte-Müsli")
	}
	// The module hands over the scripts its injector found: the same.
	at := bytes.Index(page, []byte("dataLayer"))
	end := bytes.Index(page, []byte("</script>"))
	known := []ScriptAt{{Tag: []byte("<script>"), Start: at, End: end}}
	if got := item(NewPageWith(page, Options{HeaderCharset: true, Scripts: known, ScannedTo: end}).Order()); got != "Früchte-Müsli" {
		t.Errorf("header charset=UTF-8, scripts known: item %q, want %q", got, "Früchte-Müsli")
	}
	if got := item(Extract(page)); got != "FrÃ¼chte-MÃ¼sli" {
		t.Errorf("no header charset: item %q, want the <meta>'s reading %q", got, "FrÃ¼chte-MÃ¼sli")
	}

	// The stale-meta fixture with one stray byte reads as without it.
	raw, err := os.ReadFile(filepath.Join("testdata", "charset", "woo_utf8_stale_meta.html"))
	if err != nil {
		t.Fatal(err)
	}
	stray := bytes.Replace(raw, []byte("</title>"), []byte("\xa0</title>"), 1)
	clean, ok1 := NewPageWith(raw, Options{HeaderCharset: true}).Order()
	dirty, ok2 := NewPageWith(stray, Options{HeaderCharset: true}).Order()
	if !ok1 || !ok2 || !reflect.DeepEqual(clean, dirty) {
		t.Errorf("one stray byte changes the order:\n%+v, %v\n%+v, %v", clean, ok1, dirty, ok2)
	}
}

// TestMetaCharset: the first declaration in the head counts; a
// content=… charset counts only with http-equiv="Content-Type"; a <meta>
// in a script or after <body> does not.
func TestMetaCharset(t *testing.T) {
	for head, want := range map[string]string{
		`<meta charset="iso-8859-1">`: "windows-1252",
		`<META HTTP-EQUIV="content-type" CONTENT="text/html; charset='ISO-8859-2'">`: "iso-8859-2",
		`<meta content="text/html; charset=windows-1251" http-equiv=Content-Type>`:   "windows-1251",
		`<meta name="x" content="text/html; charset=iso-8859-1">`:                    "",
		`<meta charset="utf-8"><meta charset="iso-8859-1">`:                          "",
		`<script>var s='<meta charset="iso-8859-1">'</script>`:                       "",
		`</head><body><meta charset="iso-8859-1">`:                                   "",
		`<meta charset="euc-jp">`:                                                    "",
	} {
		c := metaCharset([]byte("<!doctype html><html><head>" + head))
		got := ""
		if c != nil {
			got = c.name
		}
		if got != want {
			t.Errorf("metaCharset(%s) = %q, want %q", head, got, want)
		}
	}
}
