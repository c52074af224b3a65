package attribution

import (
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/storeedge/caddy-katalys/tracking"
)

func TestIsAffiliate(t *testing.T) {
	tests := []struct {
		name  string
		touch Touch
		want  bool
	}{
		{"transaction_id", Touch{TransactionID: "t"}, true},
		{"publisher_id", Touch{PublisherID: "p"}, true},
		{"partner link: aff_id and offer_id", Touch{AffID: "a", OfferID: "o"}, true},
		// Katalys could not credit these (katalys.md §3.1): the store's
		// own ?offer_id=bundle-3 link, an aff_id without its offer.
		{"offer_id alone", Touch{OfferID: "o"}, false},
		{"aff_id alone", Touch{AffID: "a", Subs: map[string]string{"sub1": "x"}}, false},
		{"blank transaction_id", Touch{TransactionID: " "}, false},
		{"utm only", Touch{Subs: map[string]string{"utm_source": "x", "utm_medium": "email"}}, false},
		{"subs and source only", Touch{Subs: map[string]string{"sub1": "x", "source": "fb"}}, false},
		{"nothing", Touch{}, false},
	}
	for _, tt := range tests {
		if got := IsAffiliate(tt.touch); got != tt.want {
			t.Errorf("%s: IsAffiliate = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestTouchFromClick(t *testing.T) {
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		query string // a landing URL's query, through tracking.ClickParams
		want  Touch
	}{
		{
			name:  "every click parameter",
			query: "transaction_id=tx1&offer_id=12&publisher_id=p9&aff_id=a3&sub1=s1&sub5=s5&source=fb&utm_source=news&utm_campaign=spring",
			want: Touch{
				Time: at, Session: "sess", TransactionID: "tx1", OfferID: "12", PublisherID: "p9", AffID: "a3",
				Subs: map[string]string{"sub1": "s1", "sub5": "s5", "source": "fb", "utm_source": "news", "utm_campaign": "spring"},
			},
		},
		{
			name:  "ids only",
			query: "transaction_id=tx2&offer_id=12",
			want:  Touch{Time: at, Session: "sess", TransactionID: "tx2", OfferID: "12"},
		},
		{
			name:  "aff_sub alias",
			query: "offer_id=12&aff_id=a3&aff_sub2=x",
			want:  Touch{Time: at, Session: "sess", OfferID: "12", AffID: "a3", Subs: map[string]string{"sub2": "x"}},
		},
		{
			name:  "utm only",
			query: "utm_source=news&utm_medium=email",
			want:  Touch{Time: at, Session: "sess", Subs: map[string]string{"utm_source": "news", "utm_medium": "email"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got := TouchFromClick(at, "sess", tracking.ClickParams(q))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestTouchFromClickEmpty(t *testing.T) {
	got := TouchFromClick(time.Time{}, "", map[string]string{"sub1": "", "transaction_id": ""})
	if !reflect.DeepEqual(got, Touch{}) {
		t.Errorf("empty fields gave %+v", got)
	}
	if IsAffiliate(TouchFromClick(time.Time{}, "", nil)) {
		t.Errorf("a click without fields is an affiliate click")
	}
}

// TestTouchFromCollectedClick: a click posted to the collect endpoint
// carries the visit's url, referrer, user agent and client address among
// its fields; they are not parameters of the click.
func TestTouchFromCollectedClick(t *testing.T) {
	got := TouchFromClick(time.Time{}, "s", map[string]string{
		"transaction_id": "tx", "sub1": "a", "url": "/p?x=1", "referrer": "https://r.example/",
		"user_agent": "Mozilla/5.0", "client_ip": "192.0.2.1",
	})
	want := Touch{Session: "s", TransactionID: "tx", Subs: map[string]string{"sub1": "a"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
