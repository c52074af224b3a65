package capture

import (
	"os"
	"path/filepath"
	"testing"
)

// TestSingleByteCharsets: a page in a single-byte charset, declared by its
// <meta> or by the Content-Type header (which the caller decodes with
// HeaderCharset), is read as the browser shows it: the euro sign printed
// as the byte 0x80 gives the currency, names keep their accents. A UTF-8
// page with a stale Latin-1 <meta> stays UTF-8.
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
			o, ok := Extract(kept)
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
			got = c.Name()
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
			got = c.Name()
		}
		if got != want {
			t.Errorf("metaCharset(%s) = %q, want %q", head, got, want)
		}
	}
}
