package capture

import (
	"html"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseMoney reads an amount printed by a storefront: "1,937.80",
// "1.284,90 €", "90,90\u00a0€", "CHF 1’249.00", "¥11,930", "$-5.00",
// "16.560000000000002". Currency symbols, codes and spaces around the
// number are ignored. Whether a separator is a decimal mark or a thousands
// separator is decided by which comes last and how many digits follow it:
// a single separator followed by exactly three digits groups thousands
// ("1,250" is 1250), otherwise it is the decimal mark ("9,90" is 9.9).
// ok is false when s holds no number, or more than one.
func ParseMoney(s string) (v float64, ok bool) {
	s = unescapeMoney(s)
	start, end := -1, -1
	neg := false
	for i, r := range s {
		if isDigit(r) {
			if start < 0 {
				start = i
				neg = strings.ContainsRune(s[:i], '-') || strings.ContainsRune(s[:i], '−')
			}
			end = i + 1
		} else if start >= 0 && !isSeparator(r) {
			// Text after the number: a currency code or symbol is
			// fine, a second number is not.
			if strings.IndexFunc(s[i:], isDigit) >= 0 {
				return 0, false
			}
			break
		}
	}
	if start < 0 {
		return 0, false
	}
	num := s[start:end]
	f, ok := parseNumber(num)
	if !ok {
		return 0, false
	}
	if neg {
		f = -f
	}
	return round6(f), true
}

// DataMoney reads an amount that a program printed for another program:
// a value in JSON or JavaScript, or in a data attribute, of an order in
// currency ("" when unknown; an ISO code after the number, as in
// "56.400 KWD", counts too). It reads as ParseMoney does, except that a
// plain decimal with three digits after its point ("45.500") is that
// decimal in a currency with three decimals (KWD, BHD, …): there a program
// prints 45.5 so, while in others "15.990" is ParseMoney's 15,990 (CLP,
// IDR and VND amounts grouped with a dot).
func DataMoney(s, currency string) (float64, bool) {
	s = unescapeMoney(s)
	num := strings.TrimSpace(s)
	if i := strings.LastIndexByte(num, ' '); i > 0 && strings.IndexFunc(num[i+1:], func(r rune) bool { return !unicode.IsLetter(r) }) < 0 {
		// A word after the number: a currency code ("56.400 KWD"), which
		// says most, or another word ("VAT").
		if code := trailingCode(num); code != "" {
			currency = code
		}
		num = strings.TrimSpace(num[:i])
	}
	if _, frac, _ := strings.Cut(num, "."); len(frac) == 3 && plainDecimal(num) && CurrencyDigits(currency) == 3 {
		if f, err := strconv.ParseFloat(num, 64); err == nil {
			return round6(f), true
		}
	}
	return ParseMoney(s)
}

// TextMoney reads an amount as a page shows it to the customer, with its
// currency when the text names one. It reads as ParseMoney does, except
// that in a three-decimal currency (KWD, BHD …) a plain "45.500" is the
// decimal 45.5, as those stores print it.
func TextMoney(s string) (v float64, currency string, ok bool) {
	s = unescapeMoney(s)
	currency = CurrencyOf(s)
	if CurrencyDigits(currency) == 3 {
		// The one run of digits and dots in s ("45.500 د.ك").
		isDigit := func(r rune) bool { return r >= '0' && r <= '9' }
		start := strings.IndexFunc(s, isDigit)
		end := start
		for end >= 0 && end < len(s) && (isDigit(rune(s[end])) || s[end] == '.') {
			end++
		}
		num := ""
		if start >= 0 && strings.IndexFunc(s[end:], isDigit) < 0 {
			num = s[start:end]
		}
		if _, frac, _ := strings.Cut(num, "."); len(frac) == 3 && plainDecimal(num) {
			if f, err := strconv.ParseFloat(num, 64); err == nil {
				if strings.ContainsAny(s[:start], "-−") { // "-1.250 د.ك", "− 1.250 KWD": a discount
					f = -f
				}
				return round6(f), currency, true
			}
		}
	}
	v, ok = ParseMoney(s)
	return v, currency, ok
}

// unescapeMoney decodes the character references in an amount that a template
// escaped once too often ("&#36;1,051.45" in JSON-LD, "12,50&nbsp;&euro;"
// in a data attribute): their digits are not the amount's.
func unescapeMoney(s string) string {
	if strings.IndexByte(s, '&') < 0 {
		return s
	}
	return html.UnescapeString(s)
}

// trailingCode is the ISO currency code that ends s after a space
// ("56.400 KWD"), or "": only a code known as one (knownCode, or a
// currency with other than two decimals), so that a word such as "VAT" or
// "TTC" after an amount is not taken for a currency.
func trailingCode(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, ' '); i > 0 {
		if c := Currency(s[i+1:]); c != "" && (knownCode(c) || CurrencyDigits(c) != 2) {
			return c
		}
	}
	return ""
}

// plainDecimal reports whether s is digits with an optional leading '-'
// and at most one '.' between digits.
func plainDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	intPart, frac, dot := strings.Cut(s, ".")
	return allDigits(intPart) && (!dot || allDigits(frac))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// isSeparator reports whether r may sit between the digits of one amount.
func isSeparator(r rune) bool {
	switch r {
	case ',', '.', '\'', '’', ' ', '\u00a0', '\u202f', '\u2009':
		return true
	}
	return false
}

// parseNumber reads digits and separators, deciding which separator is the
// decimal mark.
func parseNumber(num string) (float64, bool) {
	lastDot := strings.LastIndexByte(num, '.')
	lastComma := strings.LastIndexByte(num, ',')
	dec := -1 // byte index of the decimal mark
	switch {
	case lastDot >= 0 && lastComma >= 0:
		dec = max(lastDot, lastComma)
	case lastDot >= 0:
		dec = decimalMark(num, '.', lastDot)
	case lastComma >= 0:
		dec = decimalMark(num, ',', lastComma)
	}
	var b strings.Builder
	for i, r := range num {
		switch {
		case isDigit(r):
			b.WriteRune(r)
		case i == dec:
			b.WriteByte('.')
		}
	}
	f, err := strconv.ParseFloat(b.String(), 64)
	return f, err == nil
}

// decimalMark decides whether the separator sep, last seen at i, is a
// decimal mark: not when it occurs more than once ("1.234.567") nor when
// exactly three digits follow it after a non-zero integer part ("1,250").
func decimalMark(num string, sep byte, i int) int {
	if strings.IndexByte(num, sep) != i {
		return -1
	}
	if len(num)-i-1 == 3 && strings.TrimLeft(num[:i], "0") != "" {
		return -1
	}
	return i
}

func round6(f float64) float64 { return math.Round(f*1e6) / 1e6 }

// Minor converts an amount in minor units (cents) to major units for the
// given ISO currency: JPY and other zero-decimal currencies are unchanged,
// three-decimal currencies (KWD, BHD, …) divide by 1000, the rest by 100.
func Minor(v float64, currency string) float64 {
	return round6(v / math.Pow10(CurrencyDigits(currency)))
}

// CurrencyDigits is the number of minor-unit digits of an ISO 4217 currency.
func CurrencyDigits(currency string) int {
	switch strings.ToUpper(currency) {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
		"RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	}
	return 2
}

// wholeUnits reports whether amounts in currency are printed without
// decimals: the currencies with no minor unit, and IDR, whose cents ISO
// 4217 keeps but nobody prints.
func wholeUnits(currency string) bool {
	return CurrencyDigits(currency) == 0 || strings.EqualFold(currency, "IDR")
}

// Currency returns s as an ISO 4217 code ("eur" becomes "EUR"), or "" when
// s is not three ASCII letters.
func Currency(s string) string {
	s = strings.TrimSpace(s)
	if len(s) != 3 {
		return ""
	}
	for i := 0; i < 3; i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return ""
		}
	}
	return strings.ToUpper(s)
}

// symbols maps the currency symbols that name one currency. The bare "$"
// (USD, CAD, AUD, NZD, MXN, …) and "kr" name several and are not here.
var symbols = []struct{ sym, code string }{
	{"US$", "USD"}, {"CA$", "CAD"}, {"C$", "CAD"}, {"AU$", "AUD"}, {"A$", "AUD"},
	{"NZ$", "NZD"}, {"HK$", "HKD"}, {"S$", "SGD"}, {"MX$", "MXN"}, {"R$", "BRL"},
	{"€", "EUR"}, {"£", "GBP"}, {"¥", "JPY"}, {"￥", "JPY"}, {"₹", "INR"}, {"₩", "KRW"},
	{"₽", "RUB"}, {"₺", "TRY"}, {"₫", "VND"}, {"₪", "ILS"}, {"₱", "PHP"}, {"zł", "PLN"},
	{"฿", "THB"}, {"₴", "UAH"}, {"Kč", "CZK"},
	// The dinars and rials of three-decimal currencies, as WooCommerce
	// and others print them.
	{"د.ك", "KWD"}, {"د.ب", "BHD"}, {"ر.ع.", "OMR"}, {"د.ت", "TND"}, {"د.أ", "JOD"}, {"د.ع", "IQD"}, {"ل.د", "LYD"},
}

// CurrencyOf names the currency of a printed amount ("£24.99",
// "90,90 €", "1,234.00 EUR", "CA$12"), or "" when it shows none or only an
// ambiguous symbol such as "$".
func CurrencyOf(s string) string {
	s = unescapeMoney(s)
	// An ISO code written beside the amount wins.
	for f := range strings.FieldsFuncSeq(s, func(r rune) bool {
		return !unicode.IsLetter(r) || r > unicode.MaxASCII
	}) {
		if len(f) == 3 && strings.ToUpper(f) == f && knownCode(f) {
			return f
		}
	}
	for _, c := range symbols {
		if strings.Contains(s, c.sym) {
			if c.code == "JPY" && hasCents(s) {
				return "" // ¥1,299.00: yuan (WooCommerce prints CNY with ¥ too); yen have no cents
			}
			return c.code
		}
	}
	return ""
}

// hasCents reports whether the amount in s ends in a decimal point or
// comma and two digits ("1,299.00", "12,50").
func hasCents(s string) bool {
	end := strings.LastIndexFunc(s, func(r rune) bool { return r >= '0' && r <= '9' })
	return end >= 3 && (s[end-2] == '.' || s[end-2] == ',') &&
		s[end-1] >= '0' && s[end-1] <= '9'
}

// knownCode reports whether code is a currency storefronts commonly print
// as a code beside an amount. It keeps words such as "VAT" or "TAX" from
// being taken for currencies.
func knownCode(code string) bool {
	switch code {
	case "USD", "EUR", "GBP", "CAD", "AUD", "NZD", "JPY", "CHF", "SEK", "NOK",
		"DKK", "PLN", "CZK", "HUF", "RON", "BGN", "INR", "BRL", "MXN", "ZAR",
		"SGD", "HKD", "CNY", "KRW", "TRY", "ILS", "AED", "SAR", "THB", "IDR",
		"MYR", "PHP", "VND", "ARS", "CLP", "COP", "PEN", "UAH", "RUB", "ISK",
		"KWD", "BHD", "OMR", "JOD", "TND", "IQD", "LYD":
		return true
	}
	return false
}

// Email returns s trimmed when it looks like a customer's email address in
// clear text, else "". Hashes, placeholders without a domain and strings
// with spaces are refused.
func Email(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "mailto:")
	at := strings.IndexByte(s, '@')
	if at <= 0 || at != strings.LastIndexByte(s, '@') || len(s) > 254 {
		return ""
	}
	domain := s[at+1:]
	dot := strings.LastIndexByte(domain, '.')
	if dot <= 0 || dot == len(domain)-1 {
		return ""
	}
	for _, r := range s {
		if r <= ' ' || r == '<' || r == '>' || r == '"' || r == '\'' || r == ',' || r == utf8.RuneError {
			return ""
		}
	}
	return s
}
