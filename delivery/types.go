package delivery

import "time"

// Kinds of outbox entries.
const (
	KindOrder  = "order"  // an order's conversion
	KindStatus = "status" // a later status change of an order
	// KindUpdate carries what a stored order learned after it was
	// created (a reload of its thank-you page brought the visitor, and
	// with it the click it earned, or fields the first view lacked):
	// the whole order again, as a status change does.
	KindUpdate = "update"
)

// Entry is one delivery waiting in the outbox.
type Entry struct {
	ID       string    `json:"id"`     // unique, and ordered: entries of one order are delivered in ID order
	Bucket   string    `json:"bucket"` // the Tracking ID, sent as site_id
	OrderID  string    `json:"order_id"`
	Kind     string    `json:"kind"`             // KindOrder or KindStatus
	Status   string    `json:"status,omitempty"` // KindStatus: the new order status
	Created  time.Time `json:"created"`
	Attempts int       `json:"attempts"`
	NextTry  time.Time `json:"next_try"`             // not before this
	LastErr  string    `json:"last_error,omitempty"` // why the last attempt failed
	// NotBefore is when Katalys asked the entry to be sent again
	// (Retry-After), zero if it did not: Resume brings NextTry no earlier.
	NotBefore time.Time `json:"not_before,omitzero"`
	// HoldUntil is when the hold that Retry-After put on every delivery
	// ends (at most MaxLoopHold after the answer), so that a loop started
	// by a reload keeps it.
	HoldUntil time.Time `json:"hold_until,omitzero"`
}

// DeadLetter is an entry Katalys refused (a 4xx other than 408 and 429).
type DeadLetter struct {
	Entry
	HTTPStatus int       `json:"http_status"`
	Body       string    `json:"body"` // an excerpt of the answer
	Died       time.Time `json:"died"`
}

// Outbox is where entries wait; the store implements it durably.
type Outbox interface {
	// Due returns up to limit entries whose NextTry has come, oldest
	// first, at most one per order (the first undelivered one of the
	// order, so a status change never goes before its conversion), and
	// the earliest NextTry after now among the entries it looked at (zero
	// for none), so that the loop wakes when the next one becomes due.
	Due(now time.Time, limit int) (due []Entry, next time.Time, err error)
	// Delivered removes a delivered entry.
	Delivered(id string) error
	// Retry records a failed attempt and when to try again, when Katalys
	// asked it to and until when that holds every delivery (Retry-After;
	// zero for none).
	Retry(id string, attempts int, next time.Time, reason string, notBefore, holdUntil time.Time) error
	// Waiting reports whether any entry waits for a retry at now (an
	// earlier run saw Katalys fail it) and the latest HoldUntil after now
	// (zero for none): what a loop that starts takes over.
	Waiting(now time.Time) (waiting bool, hold time.Time, err error)
	// Resume makes every waiting entry due at now, once Katalys is back
	// after an outage, or at its NotBefore when that is later. It returns
	// how many it moved.
	Resume(now time.Time) (int, error)
	// Dead moves an entry to the dead letters.
	Dead(id string, httpStatus int, body string, at time.Time) error
}

// Payloads builds the Reporting Schema payload of an entry from what is
// stored (the order, its attribution): flattened keys, string or number
// values.
type Payloads interface {
	Payload(e Entry) (map[string]any, error)
}
