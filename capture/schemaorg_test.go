package capture

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateJSONData = flag.Bool("update-jsondata", false,
	"rewrite the golden .json files of testdata/schemaorg and testdata/appdata")

// jsonDataSources are the sources of schemaorg.go and appdata.go, by the
// prefix their test pages are named with.
var jsonDataSources = map[string]func(*Page) *Order{
	"jsonld":    fromJSONLD,
	"microdata": fromMicrodata,
	"nextjs":    fromNextData,
	"inertia":   fromInertia,
	"magento":   fromMagentoInit,
}

// checkGoldenDir runs the source named by each page's prefix on the pages
// of testdata/dir and compares the partial order with the golden .json
// beside the page ("null" for no order).
func checkGoldenDir(t *testing.T, dir string) {
	pages, err := filepath.Glob(filepath.Join("testdata", dir, "*.html"))
	if err != nil || len(pages) == 0 {
		t.Fatalf("no test pages in testdata/%s", dir)
	}
	for _, page := range pages {
		name := filepath.Base(page)
		t.Run(strings.TrimSuffix(name, ".html"), func(t *testing.T) {
			prefix, _, _ := strings.Cut(name, "_")
			find := jsonDataSources[prefix]
			if find == nil {
				t.Fatalf("no source for prefix %q", prefix)
			}
			raw, err := os.ReadFile(page)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := json.MarshalIndent(find(NewPage(raw)), "", "  ")
			got = append(got, '\n')
			golden := strings.TrimSuffix(page, ".html") + ".json"
			if *updateJSONData {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s:\ngot  %s\nwant %s", name, got, want)
			}
		})
	}
}

func TestSchemaOrgPages(t *testing.T) { checkGoldenDir(t, "schemaorg") }

// jsonDataExpected is an order of the shared fixtures' expected.json.
type jsonDataExpected struct {
	ID       string   `json:"order_id"`
	Total    *float64 `json:"total"`
	Currency string   `json:"currency"`
	Codes    []string `json:"discount_codes"`
	Items    []struct {
		SKU      *string  `json:"sku"`
		Name     string   `json:"name"`
		Quantity int      `json:"quantity"`
		Price    *float64 `json:"price"`
	} `json:"items"`
	Email *string `json:"email"`
}

// jsonDataFixtures lists the shared fixtures that carry one of this
// file's or appdata.go's sources, with the subtotal that source alone
// gives (nil: it prints none). Every other fixture yields nil from every
// one of these sources, fixture 13 (no order, Product/ItemList JSON-LD,
// WebPage microdata) included.
var jsonDataFixtures = map[string]struct {
	source   string
	subtotal *float64
}{
	"04_jsonld_order_aud.html":              {"jsonld", nil},
	"05_microdata_order_gbp.html":           {"microdata", nil},
	"09_magento2_success_gtag_eur.html":     {"magento", nil},
	"12_stripe_nextjs_minor_units_eur.html": {"nextjs", Money(90)},
}

// checkFixtures asserts what the given sources yield on every shared
// fixture: the expected order (all but the subtotal, which depends on the
// source) where the fixture carries the source, nil elsewhere.
func checkFixtures(t *testing.T, sources ...string) {
	raw, err := os.ReadFile(filepath.Join(fixtureDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var expected map[string]*jsonDataExpected
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
	for name, want := range expected {
		page, err := os.ReadFile(filepath.Join(fixtureDir, name))
		if err != nil {
			t.Fatal(err)
		}
		p := NewPage(page)
		for _, src := range sources {
			got := jsonDataSources[src](p)
			fx, carries := jsonDataFixtures[name]
			if !carries || fx.source != src {
				if got != nil {
					t.Errorf("%s: %s found an order: %+v", name, src, got)
				}
				continue
			}
			if got == nil {
				t.Errorf("%s: %s found no order", name, src)
				continue
			}
			compareJSONData(t, name, got, want, fx.subtotal, src)
		}
	}
}

func compareJSONData(t *testing.T, name string, got *Order, want *jsonDataExpected, subtotal *float64, source string) {
	t.Helper()
	moneyEq := func(a, b *float64) bool {
		return (a == nil) == (b == nil) && (a == nil || math.Abs(*a-*b) < 0.005)
	}
	if got.Source != source {
		t.Errorf("%s: Source = %q, want %q", name, got.Source, source)
	}
	if got.ID != want.ID {
		t.Errorf("%s: ID = %q, want %q", name, got.ID, want.ID)
	}
	if !moneyEq(got.Total, want.Total) {
		t.Errorf("%s: Total = %v, want %v", name, fmtOpt(got.Total), fmtOpt(want.Total))
	}
	if !moneyEq(got.Subtotal, subtotal) {
		t.Errorf("%s: Subtotal = %v, want %v", name, fmtOpt(got.Subtotal), fmtOpt(subtotal))
	}
	if got.Currency != want.Currency {
		t.Errorf("%s: Currency = %q, want %q", name, got.Currency, want.Currency)
	}
	if codes := got.Codes(); strings.Join(codes, ",") != strings.Join(want.Codes, ",") {
		t.Errorf("%s: codes = %q, want %q", name, codes, want.Codes)
	}
	email := ""
	if want.Email != nil {
		email = *want.Email
	}
	if got.Email != email {
		t.Errorf("%s: Email = %q, want %q", name, got.Email, email)
	}
	if len(got.Items) != len(want.Items) {
		t.Fatalf("%s: %d items, want %d: %+v", name, len(got.Items), len(want.Items), got.Items)
	}
	for i, w := range want.Items {
		g := got.Items[i]
		sku := ""
		if w.SKU != nil {
			sku = *w.SKU
		}
		if g.SKU != sku || g.Name != w.Name || g.Quantity != w.Quantity || !moneyEq(g.Price, w.Price) {
			t.Errorf("%s: item %d = {%q %q %d %v}, want {%q %q %d %v}", name, i,
				g.SKU, g.Name, g.Quantity, fmtOpt(g.Price), sku, w.Name, w.Quantity, fmtOpt(w.Price))
		}
	}
}

func fmtOpt(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

func TestSchemaOrgFixtures(t *testing.T) { checkFixtures(t, "jsonld", "microdata") }

// TestSchemaOrgHelpers covers the value readers the sources share.
func TestSchemaOrgHelpers(t *testing.T) {
	for _, tt := range []struct {
		in       any
		currency string
		want     *float64
	}{
		{json.Number("16.560000000000002"), "", Money(16.56)},
		{"1,937.80", "", Money(1937.80)},
		{"£51.45", "", Money(51.45)},
		{"45.500", "KWD", Money(45.5)},
		{"15.990", "CLP", Money(15990)},
		{"free", "", nil},
		{nil, "", nil},
	} {
		if got := jvMoney(tt.in, tt.currency); !((got == nil && tt.want == nil) || (got != nil && tt.want != nil && *got == *tt.want)) {
			t.Errorf("jvMoney(%#v, %q) = %v, want %v", tt.in, tt.currency, fmtOpt(got), fmtOpt(tt.want))
		}
	}
	// A JSON-LD order in KWD, its line without a currency of its own.
	o := fromJSONLD(NewPage([]byte(`<script type="application/ld+json">{"@context":"https://schema.org","@type":"Order","orderNumber":"K1",` +
		`"price":"45.500","priceCurrency":"KWD","acceptedOffer":[{"@type":"Offer","itemOffered":{"@type":"Product","name":"Dates"},"price":"22.750"}]}</script>`)))
	if o == nil || mkMoney(o.Total) != 45.5 || len(o.Items) != 1 || mkMoney(o.Items[0].Price) != 22.75 {
		t.Errorf("KWD JSON-LD order = %+v, want total 45.5 and a line at 22.75", o)
	}
	for _, tt := range []struct {
		in   any
		want int
		ok   bool
	}{{json.Number("2"), 2, true}, {"3", 3, true}, {json.Number("2.0"), 2, true}, {"2.5", 0, false}, {"x", 0, false}} {
		if got, ok := jvInt(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("jvInt(%#v) = %d, %v", tt.in, got, ok)
		}
	}
	for _, ty := range []any{"Order", "http://schema.org/Order", "schema:Order", []any{"Thing", "Order"}} {
		if !jvIsType(map[string]any{"@type": ty}, "Order") {
			t.Errorf("jvIsType(%v) = false", ty)
		}
	}
	if jvIsType(map[string]any{"@type": "OrderItem"}, "Order") {
		t.Error("OrderItem taken for Order")
	}
	fixed := jvRepair([]byte("{\"a\":\"x\ny\",\"b\":[1,2,],}"))
	if string(fixed) != `{"a":"x y","b":[1,2]}` {
		t.Errorf("jvRepair = %s", fixed)
	}
	for _, tt := range []struct{ tag, want string }{
		{"<div class=x>", "div"}, {"</TD>", "td"}, {"<my-widget a=b>", "my-widget"}, {"<br/>", "br"},
	} {
		if got := mdTagName([]byte(tt.tag)); got != tt.want {
			t.Errorf("mdTagName(%q) = %q, want %q", tt.tag, got, tt.want)
		}
	}
}

// BenchmarkJSONDataSources runs the sources of schemaorg.go and
// appdata.go over each shared fixture, as Extract would.
func BenchmarkJSONDataSources(b *testing.B) {
	pages, _ := filepath.Glob(filepath.Join(fixtureDir, "*.html"))
	if len(pages) == 0 {
		b.Skip("no fixtures")
	}
	for _, f := range pages {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		p := NewPage(raw)
		b.Run(filepath.Base(f)[:2], func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				for _, find := range [...]func(*Page) *Order{fromJSONLD, fromMicrodata, fromNextData, fromInertia, fromMagentoInit} {
					find(p)
				}
			}
		})
	}
}
