package delivery

import (
	"math"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	half := func() float64 { return 0.5 }
	fixed := func(f float64) func() float64 { return func() float64 { return f } }
	tests := []struct {
		name       string
		attempt    int
		retryAfter time.Duration
		rnd        func() float64
		want       time.Duration
	}{
		{"first retry, half of 1s", 1, 0, half, 500 * time.Millisecond},
		{"second retry, half of 2s", 2, 0, half, time.Second},
		{"third retry, half of 4s", 3, 0, half, 2 * time.Second},
		{"tenth retry, half of 512s", 10, 0, half, 256 * time.Second},
		{"twelfth retry, half of 2048s", 12, 0, half, 1024 * time.Second},
		{"thirteenth retry is capped at 1h", 13, 0, half, 30 * time.Minute},
		{"a huge attempt count does not overflow", 1000, 0, half, 30 * time.Minute},
		{"attempt 0 counts as the first", 0, 0, half, 500 * time.Millisecond},
		{"full jitter can be no wait at all", 5, 0, fixed(0), 0},
		{"top of the range", 2, 0, fixed(0.75), 1500 * time.Millisecond},
		{"Retry-After longer than the jitter wins", 1, 2 * time.Minute, half, 2 * time.Minute},
		{"Retry-After shorter than the jitter does not shorten it", 6, time.Second, half, 16 * time.Second},
		{"Retry-After longer than the cap still wins", 20, 3 * time.Hour, half, 3 * time.Hour},
		{"a rnd of 1 stays below the ceiling", 1, 0, fixed(1), time.Duration(0.999999 * float64(time.Second))},
		{"a NaN rnd is no wait", 3, 0, fixed(math.NaN()), 0},
		{"a negative rnd is no wait", 3, 0, fixed(-1), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Backoff(tt.attempt, tt.retryAfter, tt.rnd); got != tt.want {
				t.Errorf("Backoff(%d, %s) = %s, want %s", tt.attempt, tt.retryAfter, got, tt.want)
			}
		})
	}
}

func TestBackoffDefaultRandomStaysInRange(t *testing.T) {
	for attempt := 1; attempt <= 20; attempt++ {
		ceiling := min(time.Second<<min(attempt-1, 12), time.Hour)
		for range 100 {
			if d := Backoff(attempt, 0, nil); d < 0 || d >= ceiling {
				t.Fatalf("Backoff(%d) = %s, want in [0, %s)", attempt, d, ceiling)
			}
		}
	}
}
