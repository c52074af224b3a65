package report

import (
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the time zone test must not depend on the machine's zoneinfo

	"golang.org/x/net/html"

	"github.com/storeedge/caddy-katalys/attribution"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run go test -update and review the diff)\n%s",
			path, firstDiff(string(want), string(got)))
	}
}

// firstDiff shows the first line where want and got differ.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range min(len(w), len(g)) {
		if w[i] != g[i] {
			return fmt.Sprintf("line %d:\nwant %s\ngot  %s", i+1, w[i], g[i])
		}
	}
	return fmt.Sprintf("want %d lines, got %d", len(w), len(g))
}

func money(v float64) *float64 { return &v }

func at(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// approved is an order credited to a click days before it.
func approved(id, when string, total float64, pub, click string, days float64) Row {
	placed := at(when)
	touch := placed.Add(-time.Duration(math.Round(days*24*60)) * time.Minute)
	return Row{OrderID: id, Time: placed, Total: money(total), Currency: "USD",
		Status: attribution.Approved, Model: attribution.LastTouch, PublisherID: pub,
		OfferID: "77", TransactionID: click, TouchTime: &touch, DaysFromClick: &days, Credit: 1,
		Why: "last_touch: the last of 1 affiliate click within 30 days"}
}

func organic(id, when string, total float64) Row {
	return Row{OrderID: id, Time: at(when), Total: money(total), Currency: "USD",
		Status: attribution.Organic, Model: attribution.LastTouch,
		Why: "no affiliate click within 30 days"}
}

// fixture is a month of a small store: approved, pending, rejected,
// organic and split orders, one in EUR and one without a total.
func fixture() Data {
	pending := approved("1051", "2025-03-30 18:20", 42.5, "pub-42", "clk-9f3", 0.2)
	pending.Status = attribution.Pending
	rejected := approved("1047", "2025-03-26 09:05", 120, "pub-17", "clk-77a", 2.5)
	rejected.Status = attribution.Rejected
	rejected.Why = "refunded 3 days after the order, within the 60-day refund window"
	linear := approved("1044", "2025-03-22 14:00", 90, "pub-42", "clk-51c", 5.2)
	linear.Model, linear.Credit = attribution.Linear, 0.5
	linear.Shares = []Share{{"pub-17", 0.5}, {"pub-42", 0.5}}
	linear.Touches = []attribution.Candidate{
		{Touch: attribution.Touch{Time: at("2025-03-13 11:36"), TransactionID: "clk-2aa", OfferID: "77", PublisherID: "pub-17"}, Chosen: true, Credit: 0.5},
		{Touch: attribution.Touch{Time: *linear.TouchTime, TransactionID: "clk-51c", OfferID: "77", PublisherID: "pub-42"}, Chosen: true, Credit: 0.5},
	}
	linear.Why = "linear: 2 affiliate clicks within 30 days share the credit"
	euro := approved("1040", "2025-03-18 11:11", 65, "pub-8", "clk-e01", 12)
	euro.Currency = "EUR"
	noTotal := organic("1038", "2025-03-15 08:30", 0)
	noTotal.Total = nil
	return Data{
		Bucket:    "KA-7Q2M9X4B1Z",
		Generated: at("2025-03-31 12:00"),
		From:      at("2025-03-01 00:00"),
		To:        at("2025-04-01 00:00"),
		Model:     attribution.LastTouch,
		Window:    30 * 24 * time.Hour,
		Orders: []Row{
			pending,
			organic("1050", "2025-03-30 10:02", 18.9),
			approved("1049", "2025-03-29 21:45", 77.05, "pub-17", "clk-4d2", 0.05),
			approved("1048", "2025-03-28 16:30", 1250, "pub-8", "clk-b18", 1.4),
			rejected,
			organic("1046", "2025-03-25 13:13", 33.3),
			approved("1045", "2025-03-24 10:00", 59.99, "pub-17", "clk-0aa", 33),
			linear,
			organic("1043", "2025-03-20 19:40", 24),
			approved("1042", "2025-03-20 09:15", 77.05, "pub-42", "clk-3e7", 9),
			approved("1041", "2025-03-19 17:00", 310.4, "pub-17", "clk-6f0", 21.7),
			euro,
			organic("1039", "2025-03-16 12:00", 15),
			noTotal,
			approved("1037", "2025-03-03 07:45", 48, "", "clk-nopub", 3),
		},
	}
}

func render(t testing.TB, d Data) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, d); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		data Data
	}{
		{"report.html.golden", fixture()},
		{"empty.html.golden", Data{Bucket: "KA-EMPTY", Generated: at("2025-03-31 12:00")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			golden(t, tc.name, render(t, tc.data))
		})
	}
}

// hostile is a bucket whose ids came from pages written to break out of
// wherever the report puts them.
func hostile() Data {
	d := fixture()
	d.Bucket = `</title><svg onload=alert(1)>`
	r := &d.Orders[0]
	r.OrderID = `"><script>alert(2)</script>`
	r.PublisherID = `<img src=x onerror=alert(3)>`
	r.OfferID = `' onmouseover='alert(4)`
	r.TransactionID = `javascript:alert(5)`
	r.Why = `</desc></svg><script src="https://evil.example/x.js"></script>`
	d.Orders[1].Currency = `<b>`
	d.Orders[2].PublisherID = `url(https://evil.example/a.png)`
	return d
}

func parse(t *testing.T, page []byte) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

// External references: any of these elements or attributes, or url() and
// @import in CSS, would make the page load something.
var (
	fetchingElements = []string{"script", "link", "img", "image", "iframe", "frame", "object",
		"embed", "audio", "video", "source", "track", "base", "form", "use", "picture", "portal"}
	fetchingAttrs = []string{"src", "href", "xlink:href", "srcset", "action", "formaction",
		"poster", "data", "background", "ping", "manifest", "cite", "longdesc", "codebase", "lowsrc"}
)

// externalRefs lists what in the page could load a resource or run code.
func externalRefs(doc *html.Node) []string {
	var found []string
	walk(doc, func(n *html.Node) {
		switch {
		case n.Type == html.ElementNode && slices.Contains(fetchingElements, n.Data):
			found = append(found, "<"+n.Data+">")
		case n.Type == html.TextNode && n.Parent != nil && n.Parent.Data == "style":
			found = append(found, cssRefs(n.Data)...)
		}
		if n.Type != html.ElementNode {
			return
		}
		for _, a := range n.Attr {
			name := strings.ToLower(strings.TrimPrefix(a.Namespace+":"+a.Key, ":"))
			switch {
			case slices.Contains(fetchingAttrs, name), strings.HasPrefix(name, "on"):
				found = append(found, fmt.Sprintf("<%s %s=%q>", n.Data, name, a.Val))
			case name == "style":
				found = append(found, cssRefs(a.Val)...)
			case name == "http-equiv" && !strings.EqualFold(a.Val, "Content-Security-Policy"):
				found = append(found, "http-equiv="+a.Val)
			}
		}
	})
	return found
}

func cssRefs(css string) []string {
	var found []string
	for _, bad := range []string{"url(", "@import", "@font-face", "image-set(", "expression("} {
		if strings.Contains(strings.ToLower(css), bad) {
			found = append(found, "CSS "+bad)
		}
	}
	return found
}

func TestNoExternalReferences(t *testing.T) {
	for name, d := range map[string]Data{"fixture": fixture(), "empty": {Bucket: "b"}, "hostile": hostile()} {
		t.Run(name, func(t *testing.T) {
			if refs := externalRefs(parse(t, render(t, d))); len(refs) > 0 {
				t.Errorf("the page references or runs: %v", refs)
			}
		})
	}
}

// The checker must see what it is looking for.
func TestExternalRefsCatches(t *testing.T) {
	for _, page := range []string{
		`<script>1</script>`, `<link rel=stylesheet href=a.css>`, `<img src=a.png>`,
		`<div style="background:url(a.png)">`, `<style>@import "a.css";</style>`,
		`<svg><image href="a.png"/></svg>`, `<svg><use xlink:href="a.svg#x"/></svg>`,
		`<a href="https://example.com">x</a>`, `<div onclick="x()">`,
		`<meta http-equiv="refresh" content="0;url=https://example.com">`,
	} {
		if refs := externalRefs(parse(t, []byte(page))); len(refs) == 0 {
			t.Errorf("%s: not caught", page)
		}
	}
}

// text is the page's text as a reader (or a screen reader) gets it.
func text(doc *html.Node) string {
	var b strings.Builder
	walk(doc, func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte('\n')
		}
	})
	return b.String()
}

func TestEscaping(t *testing.T) {
	d := hostile()
	page := render(t, d)
	doc := parse(t, page)
	if refs := externalRefs(doc); len(refs) > 0 {
		t.Fatalf("hostile values got out of their text: %v", refs)
	}
	shown := text(doc)
	for _, v := range []string{d.Bucket, d.Orders[0].OrderID, d.Orders[0].PublisherID,
		d.Orders[0].OfferID, d.Orders[0].TransactionID, d.Orders[0].Why, d.Orders[2].PublisherID} {
		if !strings.Contains(shown, v) {
			t.Errorf("%q is not shown as text", v)
		}
		if strings.Contains(v, "<") && bytes.Contains(page, []byte(v)) {
			t.Errorf("%q is in the page unescaped", v)
		}
	}
	if bytes.Contains(page, []byte("ZgotmplZ")) {
		t.Error("html/template refused a value of the page's own (ZgotmplZ)")
	}
}

func TestEmptyBucket(t *testing.T) {
	for name, d := range map[string]Data{
		"no orders":   {Bucket: "KA-NEW"},
		"with period": {Bucket: "KA-NEW", From: at("2025-03-01 00:00"), To: at("2025-04-01 00:00")},
	} {
		t.Run(name, func(t *testing.T) {
			doc := parse(t, render(t, d))
			shown := text(doc)
			for _, want := range []string{"No orders yet", "KA-NEW", "thank-you page"} {
				if !strings.Contains(shown, want) {
					t.Errorf("the page does not say %q:\n%s", want, shown)
				}
			}
			if strings.Contains(shown, "widen the period") != (name == "with period") {
				t.Errorf("widening the period is offered wrongly:\n%s", shown)
			}
			walk(doc, func(n *html.Node) {
				if n.Data == "svg" || n.Data == "table" {
					t.Errorf("an empty bucket draws <%s>", n.Data)
				}
			})
		})
	}
}

func TestMoney(t *testing.T) {
	for _, tc := range []struct {
		v        float64
		currency string
		want     string
	}{
		{0, "USD", "0.00 USD"},
		{77.05, "USD", "77.05 USD"},
		{1234.5, "EUR", "1,234.50 EUR"},
		{1234567.891, "GBP", "1,234,567.89 GBP"},
		{999.999, "USD", "1,000.00 USD"},
		{5000, "JPY", "5,000 JPY"},
		{12.3456, "KWD", "12.346 KWD"},
		{-42, "USD", "-42.00 USD"},
		{-0.001, "USD", "0.00 USD"},
		{100, "", "100.00"},
		{100000, "", "100,000.00"},
	} {
		if got := Money(tc.v, tc.currency); got != tc.want {
			t.Errorf("Money(%v, %q) = %q, want %q", tc.v, tc.currency, got, tc.want)
		}
	}
}

func TestCSV(t *testing.T) {
	d := fixture()
	var b bytes.Buffer
	if err := CSV(&b, d.Orders); err != nil {
		t.Fatal(err)
	}
	golden(t, "attribution.csv.golden", b.Bytes())
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// One line per order, and the split order (1044) one per click.
	if len(recs) != len(d.Orders)+2 || !slices.Equal(recs[0], csvHeader) {
		t.Fatalf("got %d records, header %v", len(recs), recs[0])
	}
	credit := map[string]float64{}
	totals := map[string]string{}
	for _, rec := range recs[1:] {
		totals[rec[0]] = rec[11] + " " + rec[12]
		if rec[0] == "1044" {
			c, _ := strconv.ParseFloat(rec[8], 64)
			credit[rec[3]+" "+rec[5]] += c
		}
	}
	// Each line carries its order's total, split lines included.
	for _, o := range d.Orders {
		want := ""
		if o.Total != nil {
			want = strconv.FormatFloat(*o.Total, 'f', -1, 64)
		}
		if got := totals[o.OrderID]; got != want+" "+o.Currency {
			t.Errorf("order %s: total and currency %q, want %q", o.OrderID, got, want+" "+o.Currency)
		}
	}
	if want := map[string]float64{"pub-17 clk-2aa": 0.5, "pub-42 clk-51c": 0.5}; !maps.Equal(credit, want) {
		t.Errorf("credit of the split order by publisher and click = %v, want %v", credit, want)
	}
}

func TestCSVDefusesFormulas(t *testing.T) {
	rows := []Row{{OrderID: "=HYPERLINK(\"https://evil.example\")", PublisherID: "+1", OfferID: "-2",
		TransactionID: "@SUM(A1)", Why: "line one,\n\"two\"", Status: attribution.Organic}}
	var b bytes.Buffer
	if err := CSV(&b, rows); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`'=HYPERLINK("https://evil.example")`, "organic", "", "'+1", "'-2", "'@SUM(A1)",
		"", "", "0", "line one,\n\"two\"", "", "", ""}
	if !slices.Equal(recs[1], want) {
		t.Errorf("got  %q\nwant %q", recs[1], want)
	}
}

func TestLagBin(t *testing.T) {
	for _, tc := range []struct {
		days float64
		want string
	}{
		{0, "same day"}, {0.99, "same day"}, {1, "1 day"}, {1.9, "1 day"}, {2, "2–3"},
		{3.99, "2–3"}, {4, "4–7"}, {7.5, "4–7"}, {8, "8–14"}, {14.9, "8–14"}, {15, "15–30"},
		{30.9, "15–30"}, {31, ">30"}, {400, ">30"},
	} {
		if got := lagBins[lagBin(tc.days)].label; got != tc.want {
			t.Errorf("lagBin(%v) = %q, want %q", tc.days, got, tc.want)
		}
	}
}

func TestTotals(t *testing.T) {
	p := build(fixture())
	got := map[string]string{}
	for _, c := range p.Cards {
		got[c.ID] = c.Value
	}
	want := map[string]string{"total-orders": "15", "total-revenue": "2,166.19 USD",
		"total-attributed": "1,954.99 USD", "total-share": "90.3%"}
	for id, v := range want {
		if got[id] != v {
			t.Errorf("%s = %q, want %q", id, got[id], v)
		}
	}
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "65.00 EUR in 1 order") {
		t.Errorf("notes = %q, want the EUR order noted", p.Notes)
	}
}

// slicesOf returns the share chart's legend as label → value, percent, orders.
func slicesOf(s share) map[string]string {
	m := map[string]string{}
	for _, sl := range s.Slices {
		m[sl.Label] = fmt.Sprintf("%s %s %d", sl.Value, sl.Percent, sl.Orders)
	}
	return m
}

func TestShareByPublisher(t *testing.T) {
	got := slicesOf(build(fixture()).Share)
	want := map[string]string{
		"pub-8":             "1,250.00 USD 57.7% 2", // and the order of 65 EUR
		"pub-17":            "492.44 USD 22.7% 4",   // 77.05 + 59.99 + 310.40 + half of 90
		"pub-42":            "164.55 USD 7.6% 3",    // 42.50 pending + 77.05 + half of 90
		"(no publisher id)": "48.00 USD 2.2% 1",
		"Rejected":          "120.00 USD 5.5% 1",
		"Organic":           "91.20 USD 4.2% 5", // and the order without a total
	}
	if !mapsEqual(got, want) {
		t.Errorf("share legend:\ngot  %v\nwant %v", got, want)
	}
}

// TestShareCountsEveryOrder: the share table's Orders column counts every
// order, as the page's note says, while its revenue and shares stay in the
// main currency; a publisher paid only in another currency keeps its row.
func TestShareCountsEveryOrder(t *testing.T) {
	in := func(cur string, r Row) Row { r.Currency = cur; return r }
	noTotal := func(r Row) Row { r.Total = nil; return r }
	usd := approved("1", "2025-03-30 10:00", 100, "pub-us", "c1", 1)
	for _, tc := range []struct {
		name     string
		currency string // Data.Currency
		rows     []Row
		want     map[string]string
		note     string // in the share's note; "" for none
	}{
		{
			name: "a publisher only in another currency",
			rows: []Row{usd, usd, approved("2", "2025-03-29 10:00", 50, "pub-us", "c2", 1),
				in("EUR", approved("3", "2025-03-28 10:00", 70, "pub-eu", "c3", 1)),
				in("EUR", approved("4", "2025-03-27 10:00", 30, "pub-eu", "c4", 1))},
			want: map[string]string{"pub-us": "250.00 USD 100% 3", "pub-eu": "0.00 USD 0% 2"},
			note: "including 2 orders in EUR,",
		},
		{
			name: "other currencies in every group",
			rows: []Row{usd, usd, usd,
				in("GBP", approved("2", "2025-03-29 10:00", 50, "pub-us", "c2", 1)),
				in("GBP", organic("3", "2025-03-28 10:00", 20)),
				noTotal(organic("4", "2025-03-27 10:00", 0)),
				in("", organic("5", "2025-03-26 10:00", 9))},
			want: map[string]string{"pub-us": "300.00 USD 100% 4", "Organic": "0.00 USD 0% 3"},
			note: "including 2 orders in GBP, 1 order without a currency and 1 order without a total,",
		},
		{
			name:     "the store's currency",
			currency: "CAD",
			rows: []Row{usd, usd, in("CAD", approved("2", "2025-03-29 10:00", 80, "pub-ca", "c2", 1)),
				in("", approved("3", "2025-03-28 10:00", 20, "pub-ca", "c3", 1))},
			want: map[string]string{"pub-ca": "100.00 CAD 100% 2", "pub-us": "0.00 CAD 0% 2"},
			note: "including 2 orders in USD,",
		},
		{
			name: "all in the main currency",
			rows: []Row{usd, organic("2", "2025-03-29 10:00", 300)},
			want: map[string]string{"pub-us": "100.00 USD 25% 1", "Organic": "300.00 USD 75% 1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Data{Bucket: "b", Generated: at("2025-03-31 12:00"), Currency: tc.currency, Orders: tc.rows}
			s := build(d).Share
			if got := slicesOf(s); !mapsEqual(got, tc.want) {
				t.Errorf("share legend:\ngot  %v\nwant %v", got, tc.want)
			}
			orders := 0
			for _, sl := range s.Slices {
				orders += sl.Orders
			}
			if orders != len(tc.rows) {
				t.Errorf("the Orders column sums to %d, want every one of the %d orders", orders, len(tc.rows))
			}
			if tc.note == "" && s.Note != "" || !strings.Contains(s.Note, tc.note) {
				t.Errorf("note = %q, want %q", s.Note, tc.note)
			}
			legend := strings.Join(strings.Fields(text(findID(parse(t, render(t, d)), "legend-share"))), " ")
			for label := range tc.want {
				if !strings.Contains(legend, label) {
					t.Errorf("the page's share table lacks %s: %s", label, legend)
				}
			}
		})
	}
}

// findID returns the element of doc with the id, or fails.
func findID(doc *html.Node, id string) *html.Node {
	var found *html.Node
	walk(doc, func(n *html.Node) {
		for _, a := range n.Attr {
			if found == nil && a.Key == "id" && a.Val == id {
				found = n
			}
		}
	})
	if found == nil {
		panic("no element with id " + id)
	}
	return found
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestShareFallsBackToOrders(t *testing.T) {
	d := Data{Bucket: "b", Generated: at("2025-03-31 12:00"), Orders: []Row{
		{OrderID: "1", Time: at("2025-03-30 10:00"), Status: attribution.Approved, PublisherID: "p", Credit: 1},
		{OrderID: "2", Time: at("2025-03-29 10:00"), Status: attribution.Organic},
		{OrderID: "3", Time: at("2025-03-28 10:00"), Status: attribution.Pending, Credit: 0.25,
			Shares: []Share{{"p", 0.25}, {"q", 0.25}}}, // half the credit is not accounted for
	}}
	p := build(d)
	if p.Share.Basis != "orders" {
		t.Errorf("basis = %q, want orders", p.Share.Basis)
	}
	want := map[string]string{"p": "1.25 41.7% 2", "q": "0.25 8.3% 1",
		"Other publishers": "0.5 16.7% 0", "Organic": "1 33.3% 1"}
	if got := slicesOf(p.Share); !mapsEqual(got, want) {
		t.Errorf("share legend:\ngot  %v\nwant %v", got, want)
	}
	if p.Cards[3].Value != "66.7%" {
		t.Errorf("share attributed = %q, want 66.7%% of orders", p.Cards[3].Value)
	}
}

func TestManyPublishersFold(t *testing.T) {
	d := Data{Bucket: "b", Generated: at("2025-03-31 12:00")}
	for i := range 10 {
		d.Orders = append(d.Orders, approved(fmt.Sprint(i), "2025-03-30 10:00", float64(100-i),
			fmt.Sprintf("pub-%d", i), "c", 1))
	}
	s := build(d).Share
	if len(s.Slices) != maxPublishers+1 || s.Slices[maxPublishers].Label != "Other publishers" {
		t.Fatalf("slices = %v", slicesOf(s))
	}
	if got := slicesOf(s)["Other publishers"]; got != "276.00 USD 28.9% 3" {
		t.Errorf("other publishers = %q", got)
	}
}

func TestMainCurrency(t *testing.T) {
	row := func(cur string, total float64) Row {
		return Row{Time: at("2025-03-30 10:00"), Currency: cur, Total: money(total), Status: attribution.Organic}
	}
	for _, tc := range []struct {
		name, set string
		rows      []Row
		want      string
		note      string
	}{
		{"most orders", "", []Row{row("EUR", 1), row("USD", 1000), row("EUR", 2)}, "3.00 EUR", "1,000.00 USD in 1 order"},
		{"tie by code", "", []Row{row("USD", 1), row("EUR", 2)}, "2.00 EUR", "1.00 USD in 1 order"},
		{"set by the store", "usd", []Row{row("EUR", 1), row("", 5), row("EUR", 2)}, "5.00 USD", "3.00 EUR in 2 orders"},
		{"unknown", "", []Row{row("", 5), row("nope", 6), row("GBP", 7)}, "11.00", "7.00 GBP in 1 order"},
		{"unknown beside", "", []Row{row("", 5), row("GBP", 7), row("GBP", 8)}, "15.00 GBP", "5.00 without a currency in 1 order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := build(Data{Bucket: "b", Currency: tc.set, Orders: tc.rows})
			if p.Cards[1].Value != tc.want {
				t.Errorf("revenue = %q, want %q", p.Cards[1].Value, tc.want)
			}
			if len(p.Notes) == 0 || !strings.Contains(p.Notes[0], tc.note) {
				t.Errorf("notes = %q, want %q", p.Notes, tc.note)
			}
		})
	}
}

func TestChartDays(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal("no time zone data (tzdata is needed):", err)
	}
	orders := []order{{time: at("2025-03-10 12:00")}}
	for _, tc := range []struct {
		name        string
		d           Data
		first, last string
		n           int
	}{
		{"30 days to generated", Data{Generated: at("2025-03-31 12:00")}, "Mar 2", "Mar 31", 30},
		{"30 days to newest order", Data{}, "Feb 9", "Mar 10", 30},
		{"exclusive end", Data{From: at("2025-03-01 00:00"), To: at("2025-04-01 00:00")}, "Mar 1", "Mar 31", 31},
		{"end in the day", Data{To: at("2025-04-01 09:00")}, "Mar 3", "Apr 1", 30},
		{"a short period", Data{From: at("2025-03-10 00:00"), To: at("2025-03-13 00:00")}, "Mar 10", "Mar 12", 3},
		{"one day", Data{From: at("2025-03-10 00:00"), To: at("2025-03-10 00:00")}, "Mar 10", "Mar 10", 1},
		{"capped", Data{From: at("2020-01-01 00:00"), To: at("2024-01-01 00:00")}, "Dec 31", "Dec 31", maxChartDays},
		{"capped in a leap year", Data{From: at("2020-01-01 00:00"), To: at("2025-01-01 00:00")}, "Jan 1", "Dec 31", maxChartDays},
		{"across DST", Data{From: at("2025-03-08 05:00"), To: at("2025-03-11 04:00"), Location: ny}, "Mar 8", "Mar 10", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc := cmpOr(tc.d.Location, time.UTC)
			days := chartDays(tc.d, orders, loc)
			first, last := days[0].date.Format("Jan 2"), days[len(days)-1].date.Format("Jan 2")
			if first != tc.first || last != tc.last || len(days) != tc.n {
				t.Errorf("days %s…%s (%d), want %s…%s (%d)", first, last, len(days), tc.first, tc.last, tc.n)
			}
		})
	}
}

func cmpOr(loc, def *time.Location) *time.Location {
	if loc == nil {
		return def
	}
	return loc
}

func TestOutsideChartNoted(t *testing.T) {
	d := fixture()
	d.From = time.Time{}
	d.To = time.Time{}
	d.Orders[len(d.Orders)-1].Time = at("2025-02-20 10:00")
	p := build(d) // the 30 days up to Mar 31 leave out the order of Feb 20
	if p.Daily.Days != 30 || !slices.ContainsFunc(p.Notes, func(n string) bool {
		return strings.Contains(n, "1 order falls outside the 30 days")
	}) {
		t.Errorf("days = %d, notes = %q", p.Daily.Days, p.Notes)
	}
}

func TestLatestOrders(t *testing.T) {
	d := Data{Bucket: "b"}
	for i := range 60 {
		d.Orders = append(d.Orders, organic(fmt.Sprint(i), "2025-03-01 10:00", 1))
		d.Orders[i].Time = d.Orders[i].Time.Add(time.Duration(i) * time.Hour) // oldest first
	}
	p := build(d)
	if len(p.Latest) != latestRows || p.Hidden != 10 {
		t.Fatalf("%d rows, %d hidden", len(p.Latest), p.Hidden)
	}
	if p.Latest[0].OrderID != "59" || p.Latest[49].OrderID != "10" {
		t.Errorf("rows %s…%s, want the newest first", p.Latest[0].OrderID, p.Latest[49].OrderID)
	}
	if d.Orders[0].OrderID != "0" {
		t.Error("Render reordered the caller's rows")
	}
}

func TestResultRow(t *testing.T) {
	days := 2.5
	touch := at("2025-03-01 10:00")
	r := attribution.Result{OrderID: "9", Status: attribution.Approved, Model: attribution.Linear,
		PublisherID: "b", OfferID: "o", TransactionID: "t2", TouchTime: &touch, DaysFromClick: &days,
		Credit: 1.0 / 3, Why: attribution.Why{Rule: "linear: 3 clicks", Candidates: []attribution.Candidate{
			{Touch: attribution.Touch{PublisherID: "a"}, Chosen: true, Credit: 1.0 / 3},
			{Touch: attribution.Touch{PublisherID: "x"}, Reason: "after the order"},
			{Touch: attribution.Touch{PublisherID: "b"}, Chosen: true, Credit: 1.0 / 3},
			{Touch: attribution.Touch{PublisherID: "a"}, Chosen: true, Credit: 1.0 / 3},
		}}}
	row := ResultRow(r)
	if row.OrderID != "9" || row.Why != "linear: 3 clicks" || row.TransactionID != "t2" || row.TouchTime != &touch {
		t.Errorf("row = %+v", row)
	}
	want := []Share{{"a", 2.0 / 3}, {"b", 1.0 / 3}}
	if !slices.Equal(row.Shares, want) {
		t.Errorf("shares = %v, want %v", row.Shares, want)
	}
	if len(row.Touches) != 3 || row.Touches[1].PublisherID != "b" {
		t.Errorf("touches = %+v, want the 3 chosen clicks", row.Touches)
	}
	r.Why.Candidates = r.Why.Candidates[:2]
	if row := ResultRow(r); row.Shares != nil || row.Touches != nil {
		t.Errorf("one chosen click gives shares %v and touches %v, want none", row.Shares, row.Touches)
	}
}

// benchData is a bucket of n orders over 90 days, a third of them organic.
func benchData(n int) Data {
	d := Data{Bucket: "KA-BENCH", Generated: at("2025-03-31 12:00"), Orders: make([]Row, n)}
	step := 90 * 24 * time.Hour / time.Duration(n)
	for i := range d.Orders {
		when := at("2025-03-31 11:00").Add(-time.Duration(i) * step)
		id := fmt.Sprint(1_000_000 - i)
		if i%3 == 0 {
			d.Orders[i] = organic(id, "2025-01-01 00:00", float64(i%200)+0.99)
		} else {
			d.Orders[i] = approved(id, "2025-01-01 00:00", float64(i%200)+0.99,
				fmt.Sprintf("pub-%d", i%23), "clk-"+id, float64(i%40)/1.7)
		}
		d.Orders[i].Time = when
	}
	return d
}

func BenchmarkRender(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		d := benchData(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := Render(&buf, d); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "bytes/page")
		})
	}
}

func BenchmarkCSV(b *testing.B) {
	d := benchData(100_000)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := CSV(&buf, d.Orders); err != nil {
			b.Fatal(err)
		}
	}
}

// TestResultRowNamesAPartnerLinksAffiliate: an order credited to a
// partner link's landing (aff_id, no publisher_id) is that affiliate's.
func TestResultRowNamesAPartnerLinksAffiliate(t *testing.T) {
	r := attribution.Result{OrderID: "1", Status: attribution.Approved, OfferID: "55", AffID: "66", Credit: 1}
	if row := ResultRow(r); row.PublisherID != "66" {
		t.Errorf("row publisher %q, want the aff_id 66", row.PublisherID)
	}
}
