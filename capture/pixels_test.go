package capture

import (
	"strconv"
	"testing"
)

func TestPixelsGolden(t *testing.T) { analyticsCheckGolden(t, "testdata/pixels") }

func TestPixelsQuirks(t *testing.T) {
	tests := []struct {
		name   string
		find   func(*Page) *Order
		script string
		want   string // analyticsSummary: ID|total|currency|codes|skus|source, or "nil"
		email  string
	}{
		{"meta purchase without order id", fromMeta, `fbq('track', 'Purchase', {value: 10, currency: 'USD'});`, "nil", ""},
		{"meta event names are case-sensitive", fromMeta, `fbq('track', 'purchase', {value: 10, currency: 'usd', order_id: 'M1'});`, "nil", ""},
		{"meta currency lower-case", fromMeta, `fbq('track', 'Purchase', {value: 10, currency: 'usd', order_id: 'M1'});`, "M1|10|USD|||meta", ""},
		{"meta custom event", fromMeta, `fbq('trackCustom', 'Purchase', {value: 10, order_id: 'M2'});`, "nil", ""},
		{"meta lead", fromMeta, `fbq('track', 'Lead', {value: 10, order_id: 'M3'});`, "nil", ""},
		{"meta window prefix and value string", fromMeta, `window.fbq('track', 'Purchase', {value: '1,234.50', currency: 'EUR', order_id: 55021}, {eventID: 'x'});`, "55021|1234.5|EUR|||meta", ""},
		{"meta trackSingle short", fromMeta, `fbq('trackSingle', '123', 'Purchase');`, "nil", ""},
		{"ads conversion number id", fromAdsConversion, `gtag('event', 'conversion', {send_to: 'AW-1/x', value: 99, currency: 'JPY', transaction_id: 31337});`, "31337|99|JPY|||gads", ""},
		{"ads conversion without id", fromAdsConversion, `gtag('event', 'conversion', {send_to: 'AW-1/x', value: 99, currency: 'USD'});`, "nil", ""},
		{"ads purchase event is not a conversion", fromAdsConversion, `gtag('event', 'purchase', {transaction_id: 'A1', value: 99});`, "nil", ""},
		{"gcr without window", fromGCR, `gapi.load('surveyoptin', function() { gapi.surveyoptin.render({"merchant_id": 1, "order_id": 10482, "email": "a@example.org"}); });`, "10482|||||gcr", "a@example.org"},
		{"gcr hashed email", fromGCR, `window.gapi.surveyoptin.render({"merchant_id": 1, "order_id": "Z9", "email": "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"});`, "Z9|||||gcr", ""},
		{"gcr params by name", fromGCR, `var gcrData = {"merchant_id": 1, "order_id": "W-77", "email": "e.f@example.com"}; window.gapi.surveyoptin.render(gcrData);`, "W-77|||||gcr", "e.f@example.com"},
		{"meta params by name", fromMeta, `var fbParams = {value: 12, currency: 'GBP', order_id: 'F-1'}; fbq('track', 'Purchase', fbParams);`, "F-1|12|GBP|||meta", ""},
		{"gcr without order", fromGCR, `window.gapi.surveyoptin.render({"merchant_id": 1, "email": "a@example.org"});`, "nil", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.find(NewPage([]byte("<script>" + tt.script + "</script>")))
			if got := analyticsSummary(o); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if o != nil && o.Email != tt.email {
				t.Errorf("email %q, want %q", o.Email, tt.email)
			}
		})
	}
}

// BenchmarkPixelsFixtures runs the three pixel sources over all 14
// fixtures per op.
func BenchmarkPixelsFixtures(b *testing.B) {
	pages, n := analyticsBenchPages(b)
	b.SetBytes(n)
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range pages {
			fromAdsConversion(p)
			fromMeta(p)
			fromGCR(p)
		}
	}
}

// TestAdsConversionAlone: a Google Ads conversion counts leads and
// sign-ups as well as sales, so it makes no order by itself, whatever its
// transaction_id; it fills the total and currency of an order another
// source of the page names (by the same id).
func TestAdsConversionAlone(t *testing.T) {
	lead := `<script>gtag('event','conversion',{'send_to':'AW-111/NlSignUp','value':5.0,'currency':'EUR','transaction_id':'lead-88123'});</script>`
	sale := `<script>gtag('event','conversion',{'send_to':'AW-111/Sale','value':'64.90','currency':'EUR','transaction_id':'#5531'});</script>`
	for _, tt := range []struct {
		name, page string
		want       string // id|total|currency, or "none"
	}{
		{"a lead", lead, "none"},
		{"a sale, alone", sale, "none"},
		{"a sale and the Meta Purchase", sale + `<script>fbq('track','Purchase',{value:64.9,currency:'EUR',order_id:'5531'});</script>`, "#5531|64.9|EUR"},
		{"a sale and the reviews opt-in", sale + `<script>window.gapi.surveyoptin.render({"merchant_id":1,"order_id":"5531","email":"a@example.com"});</script>`, "#5531|64.9|EUR"},
		{"a lead beside another order", lead + `<script>fbq('track','Purchase',{value:64.9,currency:'EUR',order_id:'5531'});</script>`, "5531|64.9|EUR"},
		{"a lead beside a purchase without value", lead + `<script>dataLayer.push({event:'purchase',ecommerce:{transaction_id:'5531',items:[{item_name:'Mug',quantity:1}]}});</script>`, "5531|-1|"},
		{"a lead beside a purchase", lead + `<script>dataLayer.push({event:'purchase',ecommerce:{transaction_id:'5531',value:64.9,currency:'EUR'}});</script>`, "5531|64.9|EUR"},
	} {
		o, ok := Extract([]byte("<html><body>" + tt.page + "</body></html>"))
		got := "none"
		if ok {
			got = o.ID + "|" + strconv.FormatFloat(mkMoney(o.Total), 'f', -1, 64) + "|" + o.Currency
		}
		if got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}
