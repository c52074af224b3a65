package attribution

import (
	"strings"
	"time"
)

// The four click ids of a landing URL, as tracking.ClickParams records them.
const (
	keyTransactionID = "transaction_id"
	keyOfferID       = "offer_id"
	keyPublisherID   = "publisher_id"
	keyAffID         = "aff_id"
)

// IsAffiliate reports whether t is an affiliate click (CreditsClick of its
// ids). A landing with only utm_* parameters, a source or sub ids is not
// one.
func IsAffiliate(t Touch) bool {
	return CreditsClick(t.TransactionID, t.PublisherID, t.AffID, t.OfferID)
}

// CreditsClick reports whether a click with these ids is one Katalys can
// credit: it has a transaction_id (the click id) or a publisher_id, or,
// for a partner link's landing, both an aff_id and an offer_id (a report
// without a transaction_id needs both; katalys.md §3.1). An offer_id or
// an aff_id alone names no affiliate Katalys could pay: a store's own
// ?offer_id=bundle-3 link is no click. Attribution and delivery share the
// rule, so that the reports credit exactly the orders Katalys is told of.
func CreditsClick(transactionID, publisherID, affID, offerID string) bool {
	has := func(s string) bool { return strings.TrimSpace(s) != "" }
	return has(transactionID) || has(publisherID) || has(affID) && has(offerID)
}

// TouchFromClick builds the Touch of a stored click event recorded at `at`
// in session, from its fields as tracking.ClickParams wrote them: the four
// ids go to their own fields, every other non-empty field (sub1…sub5,
// source, utm_*) into Subs, which stays nil when there is none. fields is
// not kept.
func TouchFromClick(at time.Time, session string, fields map[string]string) Touch {
	t := Touch{Time: at, Session: session}
	for k, v := range fields {
		t.AddParam(k, v)
	}
	return t
}

// AddParam files one click parameter of a stored click into t, as
// TouchFromClick does for each of its fields: the four ids to their own
// fields, any other non-empty value into Subs, except the fields of the
// visit that a click posted to the collect endpoint carries (url,
// referrer, user_agent, client_ip), which are no parameters of the click.
// It lets a reader that holds the parameters in its own encoding build a
// Touch without a map between.
func (t *Touch) AddParam(key, value string) {
	switch key {
	case "url", "referrer", "user_agent", "client_ip":
		return
	case keyTransactionID:
		t.TransactionID = value
	case keyOfferID:
		t.OfferID = value
	case keyPublisherID:
		t.PublisherID = value
	case keyAffID:
		t.AffID = value
	default:
		if value == "" {
			return
		}
		if t.Subs == nil {
			t.Subs = make(map[string]string, 4)
		}
		t.Subs[key] = value
	}
}

// Affiliate names the affiliate t credits: its publisher_id, or, for a
// partner link's landing that has none, its aff_id (the same party, under
// the name the partner link gives it; katalys.md §3.1).
func (t Touch) Affiliate() string { return affiliate(t.PublisherID, t.AffID) }

func affiliate(publisherID, affID string) string {
	if publisherID != "" {
		return publisherID
	}
	return affID
}
