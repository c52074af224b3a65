package attribution

import "testing"

func TestParseModel(t *testing.T) {
	tests := []struct {
		in      string
		want    Model
		wantErr bool
	}{
		{"last_touch", LastTouch, false},
		{"first_touch", FirstTouch, false},
		{"linear", Linear, false},
		{"", "", true},
		{"Last_Touch", "", true},
		{"last-touch", "", true},
		{"position_based", "", true},
	}
	for _, tt := range tests {
		got, err := ParseModel(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseModel(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
