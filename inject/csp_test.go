package inject

import (
	"bytes"
	"strings"
	"testing"
)

func TestNonce(t *testing.T) {
	tests := []struct{ policy, want string }{
		{"script-src 'self' 'nonce-abc123'", "abc123"},
		{"default-src 'self' 'NONCE-Zm9v'", "Zm9v"},
		{"script-src-elem 'nonce-elem'; script-src 'nonce-src'", "elem"},
		{"script-src 'self'; default-src 'nonce-x'", ""}, // script-src governs
		{"img-src *, script-src 'nonce-second'", "second"},
		{"script-src 'self'", ""},
		{"", ""},
		{"script-src 'nonce-'", ""},
	}
	for _, tt := range tests {
		if got := Nonce(tt.policy); got != tt.want {
			t.Errorf("Nonce(%q) = %q, want %q", tt.policy, got, tt.want)
		}
	}
}

func TestAllow(t *testing.T) {
	s := NewSnippet("KA-7Q2M9X4B1Z", "", "")
	h := s.Hash()
	o := "https://db.revoffers.com"
	tests := []struct{ name, policy, nonce, want string }{
		{"nonce allowed: only connect-src", "script-src 'self' 'nonce-n1'; connect-src 'self'", "n1",
			"script-src 'self' 'nonce-n1'; connect-src 'self' " + o},
		{"hash and origin", "script-src 'self'; connect-src 'self'", "",
			"script-src 'self' " + h + " " + o + "; connect-src 'self' " + o},
		{"default-src only: copied", "default-src 'self'", "",
			"default-src 'self'; script-src 'self' " + h + " " + o + "; connect-src 'self' " + o},
		{"unsafe-inline kept working", "script-src 'self' 'unsafe-inline'", "",
			"script-src 'self' 'unsafe-inline' " + o},
		{"unsafe-inline with a hash already off", "script-src 'unsafe-inline' 'sha256-AAAA'", "",
			"script-src 'unsafe-inline' 'sha256-AAAA' " + h + " " + o},
		{"none replaced", "script-src 'none'; connect-src 'none'", "",
			"script-src " + h + " " + o + "; connect-src " + o},
		{"elem and src both", "script-src-elem 'self'; script-src 'self'", "",
			"script-src-elem 'self' " + h + " " + o + "; script-src 'self' " + h + " " + o},
		{"nothing restricts scripts", "img-src 'self'; frame-ancestors 'none'", "",
			"img-src 'self'; frame-ancestors 'none'"},
		{"already allowed", "script-src " + h + " " + o + "; connect-src " + o, "",
			"script-src " + h + " " + o + "; connect-src " + o},
		{"two policies", "script-src 'self', connect-src 'none'", "",
			"script-src 'self' " + h + " " + o + ", connect-src " + o},
		{"other nonce in this policy", "script-src 'nonce-other'", "n1",
			"script-src 'nonce-other' " + h + " " + o},
		{"upper-case directive", "Script-Src 'self'", "",
			"script-src 'self' " + h + " " + o},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Allow(tt.policy, s, tt.nonce); got != tt.want {
				t.Errorf("Allow(%q)\n got  %q\n want %q", tt.policy, got, tt.want)
			}
		})
	}
}

func TestAllowRelativeScript(t *testing.T) {
	s := NewSnippet("KA-1", "/_katalys/s/{site_id}.js", "")
	got := Allow("script-src 'none'", s, "")
	if want := "script-src " + s.Hash() + " 'self'"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNeedsLoader(t *testing.T) {
	for _, tc := range []struct {
		policy string
		want   bool
	}{
		{"script-src 'sha256-abc=' 'strict-dynamic'; object-src 'none'", true},
		{"default-src 'self'; script-src-elem 'strict-dynamic' 'sha256-abc='", true},
		{"script-src 'nonce-r4nd0m' 'strict-dynamic'", false}, // the snippet carries the nonce
		{"script-src 'self' https://cdn.example", false},
		{"default-src 'self'", false},
		{"script-src 'sha256-abc=' 'strict-dynamic'; require-trusted-types-for 'script'", false},
		{"script-src 'self', script-src 'sha256-abc=' 'STRICT-DYNAMIC'", true},
		{"", false},
	} {
		if got := NeedsLoader(tc.policy); got != tc.want {
			t.Errorf("NeedsLoader(%q) = %v, want %v", tc.policy, got, tc.want)
		}
	}
}

// TestLoaderSnippet: one inline script that seeds the site id and adds the
// script element itself, text alike in HTML and XHTML, whose hash Allow
// adds; the thank-you variant carries the convert loader too.
func TestLoaderSnippet(t *testing.T) {
	s := NewLoaderSnippet("KA-1", "https://db.revoffers.com/js/{site_id}.js?v=1&x=<2>", false)
	if got := string(s.HTML); strings.Count(got, "<script") != 1 || !strings.HasPrefix(got, "<script>"+`window._revoffers_track=`) {
		t.Errorf("HTML = %s", got)
	}
	if !bytes.Equal(s.HTML, s.XHTML) || strings.ContainsAny(s.Inline, "<&") {
		t.Errorf("inline %q is not text alike in HTML and XHTML", s.Inline)
	}
	if !strings.Contains(s.Inline, `s.src="https://db.revoffers.com/js/KA-1.js?v=1\u0026x=\u003c2\u003e"`) {
		t.Errorf("inline %q does not load the script", s.Inline)
	}
	policy := Allow("script-src 'sha256-abc=' 'strict-dynamic'", s, "")
	if !strings.Contains(policy, s.Hash()) {
		t.Errorf("Allow gave %q, without the loader's hash %s", policy, s.Hash())
	}
	if ty := NewLoaderSnippet("KA-1", "", true); !strings.Contains(ty.Inline, convertLoader) || ty.Hash() == s.Hash() {
		t.Errorf("thank-you loader %q lacks the convert loader", ty.Inline)
	}
}
