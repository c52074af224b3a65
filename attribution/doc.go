// Package attribution decides which affiliate click, if any, an order is
// credited to, inside one Tracking ID bucket.
//
// It owns the rules: the lookback window, the models (last_touch,
// first_touch, linear), what counts as an affiliate click, how order status
// changes (refunds and cancellations within the refund window) turn an
// attribution into a rejection, what a status printed on the order's page
// means (PageStatus), and the explanation of each decision (the
// candidates considered and the rule that chose).
//
// It knows nothing of Caddy, HTTP or Badger: the caller reads the visitor's
// clicks of the order's bucket from the store and hands them in, so that a
// decision can never cross buckets; storing the results is the caller's
// business too.
package attribution
