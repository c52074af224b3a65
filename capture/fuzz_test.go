package capture

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// FuzzExtract feeds the extractor arbitrary pages, seeded with every page
// of the fixtures and testdata: it must not panic, must give the same
// answer twice, and an order it returns must be one (an id, and a total or
// items; money finite; quantities not negative).
func FuzzExtract(f *testing.F) {
	for _, pattern := range []string{filepath.Join(fixtureDir, "*.html"), "testdata/*/*.html"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`<script>dataLayer.push({event:"purchase",ecommerce:{transaction_id:"1",value:"1,5"}})</script>`))
	f.Add([]byte(`<script type="application/ld+json">{"@type":"Order","orderNumber":"x","price":"NaN"}</script>`))
	f.Fuzz(func(t *testing.T, page []byte) {
		o, ok := Extract(page)
		o2, ok2 := Extract(page)
		if ok != ok2 || !reflect.DeepEqual(o, o2) {
			t.Fatalf("two reads of one page differ: %+v / %+v", o, o2)
		}
		if !ok {
			return
		}
		checkOrder(t, o)
	})
}

func checkOrder(t *testing.T, o Order) {
	t.Helper()
	if o.ID == "" || (o.Total == nil && len(o.Items) == 0 && !(o.Convert && o.Source == "katalys")) {
		t.Fatalf("an order without id, or without total and items: %+v", o)
	}
	finite := func(what string, v *float64) {
		if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
			t.Fatalf("%s is %v", what, *v)
		}
	}
	finite("total", o.Total)
	finite("subtotal", o.Subtotal)
	for _, d := range o.Discounts {
		finite("discount", d.Amount)
	}
	for _, it := range o.Items {
		finite("price", it.Price)
		if it.Quantity < 0 {
			t.Fatalf("quantity %d", it.Quantity)
		}
	}
}

// TestExtractHostilePages runs the extractor on large pages built to
// defeat naive scanners; they must come back (the test binary's timeout
// is the bound) without an order.
func TestExtractHostilePages(t *testing.T) {
	pages := map[string][]byte{
		"many tags":        bytes.Repeat([]byte("<a><b>"), 100000),
		"open comment":     []byte("<!--" + strings.Repeat("<script>x", 50000)),
		"unclosed scripts": bytes.Repeat([]byte("<script>dataLayer.push({"), 20000),
		"deep nesting":     []byte("<script>x=" + strings.Repeat("[{a:", 50000) + "</script>"),
		"many pushes":      bytes.Repeat([]byte(`<script>dataLayer.push({event:"purchase"});</script>`), 5000),
		"attributes":       bytes.Repeat([]byte(`<div class="woocommerce-order-overview" data-x='<'>`), 20000),
		"at signs":         bytes.Repeat([]byte("a@b.c @ @@ "), 50000),
		"ld+json":          bytes.Repeat([]byte(`<script type="application/ld+json">{"@type":"Order","orderNumber":`), 10000),
	}
	for name, page := range pages {
		if o, ok := Extract(page); ok {
			t.Errorf("%s: an order from a hostile page: %+v", name, o)
		}
	}
}
