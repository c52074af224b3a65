package capture

import "testing"

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"164.84", 164.84, true},
		{"1,937.80", 1937.80, true},
		{"1.284,90 €", 1284.90, true},
		{"90,90\u00a0€", 90.90, true},
		{"1\u202f234,56 €", 1234.56, true},
		{"CHF 1’249.00", 1249, true},
		{"&yen;11,930", 11930, true},
		{"&#36;1,051.45", 1051.45, true},
		{"&#x24;1,051.45", 1051.45, true},
		{"12,50&nbsp;&#8364;", 12.5, true},
		{"¥11,930", 11930, true},
		{"1,250,000₫", 1250000, true},
		{"1.234.567", 1234567, true},
		{"9,9", 9.9, true},
		{"0.125", 0.125, true},
		{"$-5.00", -5, true},
		{"-£2.50", -2.5, true},
		{"16.560000000000002", 16.56, true},
		{"138.2", 138.2, true},
		{"£24.99", 24.99, true},
		{"24.99 GBP", 24.99, true},
		{"", 0, false},
		{"free", 0, false},
		{"2 × £24.99", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseMoney(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("ParseMoney(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestDataMoney: a program's "45.500" is 45.5 in a currency with three
// decimals and 45,500 elsewhere (a dot grouping CLP, IDR or VND); the
// rest reads as ParseMoney reads it.
func TestDataMoney(t *testing.T) {
	tests := []struct {
		in, currency string
		want         float64
		ok           bool
	}{
		{"45.500", "KWD", 45.5, true},
		{"22.750", "bhd", 22.75, true},
		{" 56.400 KWD", "", 56.4, true},
		{"45.500 KWD", "USD", 45.5, true}, // the code printed with it wins
		{"45.500 VAT", "KWD", 45.5, true}, // a word after it is no code
		{"15.990", "CLP", 15990, true},
		{"150.000", "", 150000, true},
		{"45.500", "USD", 45500, true},
		{"45.50", "KWD", 45.5, true},
		{"1250", "KWD", 1250, true},
		{"1,234.500", "KWD", 1234.5, true}, // not a plain decimal: as ParseMoney reads it
		{"56.40 USD", "", 56.4, true},
		{"", "KWD", 0, false},
		{"n/a", "", 0, false},
	}
	for _, tt := range tests {
		got, ok := DataMoney(tt.in, tt.currency)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("DataMoney(%q, %q) = %v, %v; want %v, %v", tt.in, tt.currency, got, ok, tt.want, tt.ok)
		}
	}
}

func TestMinor(t *testing.T) {
	tests := []struct {
		v        float64
		currency string
		want     float64
	}{
		{9090, "EUR", 90.90},
		{9090, "eur", 90.90},
		{11930, "JPY", 11930},
		{12345, "KWD", 12.345},
	}
	for _, tt := range tests {
		if got := Minor(tt.v, tt.currency); got != tt.want {
			t.Errorf("Minor(%v, %q) = %v, want %v", tt.v, tt.currency, got, tt.want)
		}
	}
}

func TestCurrency(t *testing.T) {
	for in, want := range map[string]string{"eur": "EUR", " USD ": "USD", "EURO": "", "E1R": "", "": ""} {
		if got := Currency(in); got != want {
			t.Errorf("Currency(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"£24.99": "GBP", "90,90 €": "EUR", "1,234.00 EUR": "EUR", "CA$12": "CAD",
		"A$12.00": "AUD", "¥11,930": "JPY", "¥1,299.00": "", "￥12,50": "", "1.500 ¥": "JPY", "$12.00": "", "12.00 incl. VAT": "", "US$ 5": "USD",
	} {
		if got := CurrencyOf(in); got != want {
			t.Errorf("CurrencyOf(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEmail(t *testing.T) {
	for in, want := range map[string]string{
		"rosa.quintero@example.com":   "rosa.quintero@example.com",
		" mailto:a@b.example ":        "a@b.example",
		"you@example":                 "",
		"not an email":                "",
		"3f2a…@":                      "",
		"a@@b.com":                    "",
		"e3b0c44298fc1c149afbf4c8996": "",
		"a b@example.com":             "",
	} {
		if got := Email(in); got != want {
			t.Errorf("Email(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"Hartley&#8217;s  Basement\u00a0Tapes ": "Hartley’s Basement Tapes",
		"Pen &amp; Ink":                         "Pen & Ink",
		"\n\t plain\n":                          "plain",
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTextMoneyThreeDecimals(t *testing.T) {
	for s, want := range map[string]float64{
		"45.500 د.ك": 45.5, "-1.250 د.ك": -1.25, "− 1.250 KWD": -1.25, "- 1.250 KWD": -1.25,
		"12.250 BHD": 12.25, "1.250 €": 1250, "-1.250 €": -1250,
	} {
		if v, _, ok := TextMoney(s); !ok || v != want {
			t.Errorf("TextMoney(%q) = %v, %v; want %v", s, v, ok, want)
		}
	}
}

func TestDotGrouped(t *testing.T) {
	for s, want := range map[string]bool{"250.000": true, "1.250.000": true, "1500.000": false, "149000.000": false, "12.50": false, "250": false} {
		if got := dotGrouped(s); got != want {
			t.Errorf("dotGrouped(%q) = %v", s, got)
		}
	}
}
