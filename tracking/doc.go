// Package tracking decides what a page request means for behaviour capture,
// without JavaScript.
//
// It owns the first-party visitor and session cookies (minting, reading and
// renewing them), the rules for which page requests count as behaviour (not
// bots, prefetches, prerenders or subresource fetches, and nothing from a
// visitor who opted out under the `privacy gpc` policy), the click and utm
// parameters of a landing, IP truncation for the `ip truncate` policy, and
// the decoding and validation of payloads posted to the collect endpoint.
//
// It does not store anything, knows nothing of Caddy, and does not choose
// buckets: the caller resolves the site to a bucket, hands in that bucket's
// Policy, and records what Observe and DecodeCollect return.
package tracking
