package tracking

import "testing"

func TestTruncateIP(t *testing.T) {
	tests := []struct{ in, want string }{
		{"203.0.113.77", "203.0.113.0"},
		{"10.1.2.3", "10.1.2.0"},
		{"0.0.0.0", "0.0.0.0"},
		{"255.255.255.255", "255.255.255.0"},
		{"2001:db8:1234:5678:9abc::1", "2001:db8:1234::"},
		{"2001:0db8:00ff:ffff:ffff:ffff:ffff:ffff", "2001:db8:ff::"},
		{"::1", "::"},
		{"fe80::1%eth0", "fe80::"},
		{"::ffff:198.51.100.9", "198.51.100.0"},
		{"::ffff:c633:6409", "198.51.100.0"},
		{"", ""},
		{"example.com", ""},
		{"203.0.113.77:443", ""},
		{"[2001:db8::1]", ""},
		{"203.0.113", ""},
		{"1.2.3.4/24", ""},
	}
	for _, tt := range tests {
		if got := TruncateIP(tt.in); got != tt.want {
			t.Errorf("TruncateIP(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
