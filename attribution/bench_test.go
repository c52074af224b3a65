package attribution

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkDecide attributes one order against visitor histories of 1, 10
// and 100 touches: a third of them utm-only landings, the clicks spread
// over 60 days before the order, so some fall past the window.
func BenchmarkDecide(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		touches := history(n)
		for _, m := range []Model{LastTouch, Linear} {
			b.Run("touches="+strconv.Itoa(n)+"/model="+string(m), func(b *testing.B) {
				o, r := order(OrderPaid, day), Rules{Model: m}
				b.ReportAllocs()
				for b.Loop() {
					Decide(o, touches, r, decidedAt)
				}
			})
		}
	}
}

// history is n touches in time order, as the store's per-visitor read
// gives them.
func history(n int) []Touch {
	touches := make([]Touch, n)
	step := 60 * day / time.Duration(n+1)
	for i := range touches {
		ago := time.Duration(n-1-i) * step
		if i%3 == 2 {
			touches[i] = utmLanding(ago)
			continue
		}
		touches[i] = click(strconv.Itoa(i), ago)
	}
	return touches
}
