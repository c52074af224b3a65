// Package delivery sends captured orders and their status changes to
// Katalys server to server, at least once.
//
// It owns the Reporting Schema payload of an order (the flattened keys
// Katalys' S2S endpoint takes), the sender (timeout, exponential backoff
// with jitter, Retry-After, which answers are retried and which go to the
// dead letters), and the loop that drains an outbox with bounded
// concurrency, sending an order's status changes only after its
// conversion.
//
// It knows nothing of Caddy or Badger: the outbox it drains is an
// interface, which the store implements durably (entries are written in
// the same transaction as the order or status change they carry).
package delivery
