package tracking

import (
	"fmt"
	"maps"
	"net/url"
	"strings"
	"testing"
)

func TestClickParams(t *testing.T) {
	long := strings.Repeat("é", 300)
	tests := []struct {
		name  string
		query string
		want  map[string]string
	}{
		{"none", "", nil},
		{"unrelated", "page=2&q=shoes", nil},
		{
			"katalys landing",
			"utm_source=RevOffers&offer_id=72&publisher_id=1605&transaction_id=102a3f4e5d6c7b8a9f0e1d2c3b4a5f",
			map[string]string{"utm_source": "RevOffers", "offer_id": "72", "publisher_id": "1605", "transaction_id": "102a3f4e5d6c7b8a9f0e1d2c3b4a5f"},
		},
		{
			"partner subs and source",
			"aff_id=66&sub1=a&sub2=b&sub3=c&sub4=d&sub5=e&source=newsletter&url_id=777",
			map[string]string{"aff_id": "66", "sub1": "a", "sub2": "b", "sub3": "c", "sub4": "d", "sub5": "e", "source": "newsletter"},
		},
		{
			"aff_sub aliases",
			"aff_sub=x&aff_sub2=y&aff_sub3=z&aff_sub4=w&aff_sub5=v",
			map[string]string{"sub1": "x", "sub2": "y", "sub3": "z", "sub4": "w", "sub5": "v"},
		},
		{"aff_sub1 alias", "aff_sub1=x", map[string]string{"sub1": "x"}},
		{"plain name beats alias", "aff_sub=alias&sub1=plain&aff_sub2=two", map[string]string{"sub1": "plain", "sub2": "two"}},
		{"aff_sub beats aff_sub1", "aff_sub1=one&aff_sub=zero", map[string]string{"sub1": "zero"}},
		{"empty plain falls back to alias", "sub1=&aff_sub=alias", map[string]string{"sub1": "alias"}},
		{"every utm key", "utm_source=a&utm_medium=b&utm_campaign=c&utm_term=d&utm_content=e&utm_id=f&utm_source_platform=g",
			map[string]string{"utm_source": "a", "utm_medium": "b", "utm_campaign": "c", "utm_term": "d", "utm_content": "e", "utm_id": "f", "utm_source_platform": "g"}},
		{"malformed utm keys", "utm_=a&utm_Source=b&UTM_SOURCE=c&utm_a-b=d&utm", nil},
		{"names are case-sensitive", "Transaction_ID=1&OFFER_ID=2", nil},
		{"trimmed", "transaction_id=%20%20abc%09&utm_source=+x+", map[string]string{"transaction_id": "abc", "utm_source": "x"}},
		{"empty dropped", "transaction_id=&offer_id=%20&utm_source=", nil},
		{"first non-empty value", "offer_id=&offer_id=7&offer_id=8", map[string]string{"offer_id": "7"}},
		{"capped at 250 characters", "sub1=" + url.QueryEscape(long), map[string]string{"sub1": strings.Repeat("é", 250)}},
		{"invalid UTF-8 replaced", "sub1=a%ffb", map[string]string{"sub1": "a\uFFFDb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got := ClickParams(q)
			if !maps.Equal(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("ClickParams(%q) = %v, want %v", tt.query, got, tt.want)
			}
		})
	}
}

func TestClickParamsUTMBound(t *testing.T) {
	q := url.Values{}
	for i := range 40 {
		q.Set(fmt.Sprintf("utm_k%02d", i), "v")
	}
	q.Set("utm_"+strings.Repeat("x", 61), "too long a key")
	q.Set("transaction_id", "t")
	got := ClickParams(q)
	if len(got) != maxUTMKeys+1 || got["transaction_id"] != "t" {
		t.Fatalf("got %d params (%v), want %d utm keys and the click id", len(got), got, maxUTMKeys)
	}
	for i := range maxUTMKeys {
		if k := fmt.Sprintf("utm_k%02d", i); got[k] != "v" {
			t.Errorf("missing %s", k)
		}
	}
}
