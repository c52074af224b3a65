package capture

import "testing"

func TestVisibleEmail(t *testing.T) {
	tests := []struct{ name, page, want string }{
		{"in text", `<p>We've emailed your receipt to <strong>rosa.quintero@example.com</strong>.</p>`, "rosa.quintero@example.com"},
		{"sentence end", `<p>Sent to kim@example.net.</p>`, "kim@example.net"},
		{"placeholder", `<input type="email" placeholder="jo@example.com">`, ""},
		{"mailto text", `<p>Questions? <a href="mailto:help@store.example">help@store.example</a></p>`, ""},
		{"store domain", `<a href="mailto:team@store.example">write</a><p>or ana@store.example</p>`, ""},
		{"role address", `<p>orders@shop.example</p>`, ""},
		{"script", `<script>var e = "x@example.com";</script>`, ""},
		{"comment", `<!-- <p>dev@example.com</p> -->`, ""},
		{"after decoys", `<p>help@shop.example</p><input placeholder="you@example.com"><p>lee@example.org</p>`, "lee@example.org"},
		{"hash", `<p>3b1f…@</p>`, ""},
		{"store footer", `<footer class="site-footer"><p>Questions? Write to rosa@sawtoothbasecamp.com</p></footer>`, ""},
		{"after the footer", `<nav><p>ana@store.example</p></nav><p>Receipt sent to kim@example.net</p><footer><p>rosa@shop.example</p></footer>`, "kim@example.net"},
		{"navbar is not nav", `<navbar><p>kim@example.net</p></navbar>`, "kim@example.net"},
		{"unclosed aside", `<p>Sent to lee@example.org</p><aside><p>owner@shop.example`, "lee@example.org"},
	}
	for _, tt := range tests {
		got := ""
		if o := fromVisibleEmail(NewPage([]byte(tt.page))); o != nil {
			got = o.Email
			if o.ID != "" || o.Total != nil {
				t.Errorf("%s: more than an email: %+v", tt.name, o)
			}
		}
		if got != tt.want {
			t.Errorf("%s: email %q, want %q", tt.name, got, tt.want)
		}
	}
}
