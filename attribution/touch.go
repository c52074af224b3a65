package attribution

import "time"

// The four click ids of a landing URL, as tracking.ClickParams records them.
const (
	keyTransactionID = "transaction_id"
	keyOfferID       = "offer_id"
	keyPublisherID   = "publisher_id"
	keyAffID         = "aff_id"
)

// IsAffiliate reports whether t is an affiliate click: a landing that
// carried a transaction_id, offer_id, publisher_id or aff_id. A landing with
// only utm_* parameters, a source or sub ids is not one.
func IsAffiliate(t Touch) bool {
	return t.TransactionID != "" || t.OfferID != "" || t.PublisherID != "" || t.AffID != ""
}

// TouchFromClick builds the Touch of a stored click event recorded at `at`
// in session, from its fields as tracking.ClickParams wrote them: the four
// ids go to their own fields, every other non-empty field (sub1…sub5,
// source, utm_*) into Subs, which stays nil when there is none. fields is
// not kept.
func TouchFromClick(at time.Time, session string, fields map[string]string) Touch {
	t := Touch{Time: at, Session: session}
	for k, v := range fields {
		switch k {
		case keyTransactionID:
			t.TransactionID = v
		case keyOfferID:
			t.OfferID = v
		case keyPublisherID:
			t.PublisherID = v
		case keyAffID:
			t.AffID = v
		default:
			if v == "" {
				continue
			}
			if t.Subs == nil {
				t.Subs = make(map[string]string, len(fields))
			}
			t.Subs[k] = v
		}
	}
	return t
}
