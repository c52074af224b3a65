package attribution

import "time"

// Model is how credit is shared among the clicks that led to an order.
type Model string

// The models of DESIGN §4.5.
const (
	LastTouch  Model = "last_touch"  // the last click in the window gets it all (the default)
	FirstTouch Model = "first_touch" // the first click in the window gets it all
	Linear     Model = "linear"      // every click in the window gets an equal share
)

// Status is the outcome of an order's attribution.
type Status string

// Attribution statuses, as Katalys names them.
const (
	Approved Status = "approved" // credited to a click, the order stands
	Pending  Status = "pending"  // credited to a click, the order is not settled yet
	Rejected Status = "rejected" // credited to a click, then refunded, cancelled or rejected within the refund window
	Organic  Status = "organic"  // no affiliate click in the window
)

// Order statuses a store reports (DESIGN §4.5). "" is unknown: an order
// captured from its thank-you page, which counts as placed and paid.
const (
	OrderPending   = "pending"
	OrderPaid      = "paid"
	OrderFulfilled = "fulfilled"
	OrderRefunded  = "refunded"
	OrderCancelled = "cancelled"
	OrderRejected  = "rejected"
)

// Rules are a bucket's attribution settings.
type Rules struct {
	Window       time.Duration // how far before the order a click counts (default 30 days)
	Model        Model         // default LastTouch
	RefundWindow time.Duration // a refund or cancellation this long after the order rejects (default 60 days)
}

// Touch is one click of a visitor in a bucket: a landing whose URL carried
// click parameters.
type Touch struct {
	Time          time.Time         `json:"time"`
	TransactionID string            `json:"transaction_id,omitempty"` // the click id
	OfferID       string            `json:"offer_id,omitempty"`
	PublisherID   string            `json:"publisher_id,omitempty"`
	AffID         string            `json:"aff_id,omitempty"`
	Subs          map[string]string `json:"subs,omitempty"` // sub1…sub5, source, utm_*
	Session       string            `json:"session,omitempty"`
}

// Order is what attribution needs to know of an order.
type Order struct {
	ID      string
	Time    time.Time // when it was placed (captured)
	Visitor string    // "" when the visitor is unknown: organic
	Total   *float64
	// Status is the order's latest status as the store reported it
	// (Order* constants, or "" for none) and StatusTime when it changed.
	Status     string
	StatusTime time.Time
	// ReversedAt and ReversedAs are when and how a run of reversals
	// (refunded, cancelled, rejected) that the current status ends began,
	// when the store reported more than one in a row ("refunded" on day 3,
	// "cancelled" on day 70): the order was reversed from then on. Zero:
	// StatusTime and Status tell.
	ReversedAt time.Time
	ReversedAs string
	// PrintedStatus is the status the order's page printed, as printed
	// ("processing", "on-hold"); it decides, read by PageStatus, while the
	// store has reported none.
	PrintedStatus string
}

// Candidate is a click considered for an order, and what became of it.
type Candidate struct {
	Touch
	Chosen bool    `json:"chosen"`
	Credit float64 `json:"credit,omitempty"` // its share, when chosen
	Reason string  `json:"reason"`           // "within the window", "31.2 days before the order, past the 30-day window", "after the order", "not an affiliate click"
}

// Why explains a decision.
type Why struct {
	Rule       string      `json:"rule"` // e.g. "last_touch: the last of 3 affiliate clicks within 30 days"
	Candidates []Candidate `json:"candidates"`
}

// Result is the attribution of one order.
type Result struct {
	OrderID       string            `json:"order_id"`
	Status        Status            `json:"status"`
	Model         Model             `json:"model"`
	PublisherID   string            `json:"publisher_id"`
	AffID         string            `json:"aff_id,omitempty"` // the landing's aff_id, when it had one
	OfferID       string            `json:"offer_id"`
	TransactionID string            `json:"transaction_id"`
	Subs          map[string]string `json:"subs"`
	TouchTime     *time.Time        `json:"touch_time"`      // the credited click (the last one for linear)
	DaysFromClick *float64          `json:"days_from_click"` // order time − touch time, in days
	Credit        float64           `json:"credit"`          // share of the order credited to PublisherID: 1, or for linear the shares of all its clicks
	Why           Why               `json:"why"`
	Window        string            `json:"window"`        // the rules it was decided with, e.g. "720h0m0s"
	RefundWindow  string            `json:"refund_window"` // idem
	DecidedAt     time.Time         `json:"decided_at"`
}

// Affiliate names the affiliate r credits, as Touch.Affiliate does.
func (r Result) Affiliate() string { return affiliate(r.PublisherID, r.AffID) }
