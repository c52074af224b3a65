package attribution

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestDecideGolden pins the JSON of whole decisions, the shape the admin
// API serves (DESIGN §4.7): run with -update to rewrite testdata/*.json,
// then read the diff.
func TestDecideGolden(t *testing.T) {
	journey := []Touch{
		click("a", 12*day+3*time.Hour),
		utmLanding(6 * day),
		click("b", 2*day+6*time.Hour),
		click("old", 31*day+5*time.Hour),
		click("late", -time.Hour),
	}
	tests := []struct {
		name    string
		order   Order
		touches []Touch
		rules   Rules
	}{
		{"last_touch", order(OrderPaid, day), journey, Rules{}},
		{"first_touch", order(OrderFulfilled, 4*day), journey, Rules{Model: FirstTouch}},
		{"linear", order("", 0), journey, Rules{Model: Linear}},
		{"refunded_within", order(OrderRefunded, 3*day), journey, Rules{}},
		{"refunded_after", order(OrderRefunded, 75*day), journey, Rules{}},
		{"organic", order(OrderPending, 0), []Touch{click("old", 31*day+5*time.Hour), utmLanding(time.Hour)}, Rules{}},
		{"organic_no_visitor", Order{ID: "9", Time: placed}, nil, Rules{Window: 7 * day}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.MarshalIndent(Decide(tt.order, tt.touches, tt.rules, decidedAt), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", tt.name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (run with -update to create it): %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("decision differs from %s:\n%s", path, got)
			}
		})
	}
}
