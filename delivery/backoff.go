package delivery

import (
	"math/rand/v2"
	"time"
)

// Backoff bounds: the first retry waits up to BackoffBase, each later one
// up to twice as long as the one before, never more than BackoffCap.
const (
	BackoffBase = time.Second
	BackoffCap  = time.Hour
)

// Backoff is how long to wait before the next attempt of an entry that
// has failed attempt times (1 after its first failure): "full jitter", a
// uniformly random wait below min(BackoffCap, BackoffBase·2^(attempt-1)),
// so that a backlog retried after an outage spreads out instead of coming
// back at once; and never less than retryAfter, what the collector asked
// for. rnd returns a number in [0, 1); nil is math/rand/v2's Float64.
func Backoff(attempt int, retryAfter time.Duration, rnd func() float64) time.Duration {
	ceiling := BackoffCap
	// 2^12 s is past the hour already; shifting further would overflow.
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 12 {
		ceiling = min(BackoffBase<<(attempt-1), BackoffCap)
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	f := rnd()
	if !(f >= 0) { // NaN and negatives
		f = 0
	}
	if f >= 1 {
		f = 0.999999
	}
	return max(time.Duration(f*float64(ceiling)), retryAfter)
}
