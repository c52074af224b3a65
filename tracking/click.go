package tracking

import (
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// clickKeys are the Katalys click parameters a landing URL may carry.
var clickKeys = []string{
	"transaction_id", "offer_id", "publisher_id", "aff_id", "source",
	"sub1", "sub2", "sub3", "sub4", "sub5",
}

// subAliases are the partner sub parameters the Katalys tokens page accepts
// besides sub1-sub5. They are recorded under the sub names so attribution
// sees one spelling; the plain name wins when a URL carries both.
var subAliases = [][2]string{
	{"aff_sub", "sub1"}, {"aff_sub1", "sub1"}, {"aff_sub2", "sub2"},
	{"aff_sub3", "sub3"}, {"aff_sub4", "sub4"}, {"aff_sub5", "sub5"},
}

const (
	// maxClickValue is the longest partner sub value Katalys accepts.
	maxClickValue = 250
	// maxUTMKey and maxUTMKeys bound what a crafted URL can make us store.
	maxUTMKey  = 64
	maxUTMKeys = 16
)

// ClickParams returns the click and utm parameters of a landing URL's query:
// transaction_id, offer_id, publisher_id, aff_id, sub1-sub5 (aff_sub and
// aff_sub1-aff_sub5 are recorded as sub1-sub5), source, and the utm_* keys
// made of [a-z0-9_] up to 64 characters (the first 16 in sorted order).
// Names match case-sensitively, as Katalys links spell them. Values are made
// valid UTF-8, trimmed and cut to 250 characters; empty ones are dropped,
// and of repeated parameters the first non-empty value is kept. It returns
// nil when nothing is left.
func ClickParams(q url.Values) map[string]string {
	out := make(map[string]string)
	for _, k := range clickKeys {
		if v := firstValue(q[k]); v != "" {
			out[k] = v
		}
	}
	for _, a := range subAliases {
		if _, ok := out[a[1]]; ok {
			continue
		}
		if v := firstValue(q[a[0]]); v != "" {
			out[a[1]] = v
		}
	}
	for _, k := range utmKeys(q) {
		if v := firstValue(q[k]); v != "" {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// utmKeys returns the well-formed utm_* keys of q that have a value, sorted,
// at most maxUTMKeys of them.
func utmKeys(q url.Values) []string {
	var keys []string
	for k, vs := range q {
		if isUTMKey(k) && firstValue(vs) != "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if len(keys) > maxUTMKeys {
		keys = keys[:maxUTMKeys]
	}
	return keys
}

// firstValue returns the first of vs that is not empty once cleaned.
func firstValue(vs []string) string {
	for _, v := range vs {
		if v = cleanValue(v); v != "" {
			return v
		}
	}
	return ""
}

// cleanValue makes v valid UTF-8, trims it and cuts it to maxClickValue
// characters.
func cleanValue(v string) string {
	v = strings.TrimSpace(strings.ToValidUTF8(v, "\uFFFD"))
	if utf8.RuneCountInString(v) <= maxClickValue {
		return v
	}
	n := 0
	for i := range v {
		if n == maxClickValue {
			return strings.TrimSpace(v[:i])
		}
		n++
	}
	return v
}

// isUTMKey reports whether k is utm_ followed by [a-z0-9_], at most
// maxUTMKey characters in all.
func isUTMKey(k string) bool {
	rest, ok := strings.CutPrefix(k, "utm_")
	return ok && rest != "" && len(k) <= maxUTMKey && isSchemaName(rest)
}

// isSchemaName reports whether s is made of [a-z0-9_] only.
func isSchemaName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
