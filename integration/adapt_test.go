package integration

import (
	"fmt"
	"strings"
	"testing"
)

// adaptTemplate is a store owner's Caddyfile; %s is the body of the site's
// katalys block line (site_id and optional block).
const adaptTemplate = `{
	katalys {
		bucket KA-7Q2M9X4B1Z {
			alias shop.test
		}
	}
}

shop.test {
	encode gzip
	katalys %s
	reverse_proxy 127.0.0.1:3000
}
`

// TestAdaptErrors: mistakes in the katalys directive fail `caddy adapt`
// with a non-zero exit status and an error that names the Caddyfile line.
func TestAdaptErrors(t *testing.T) {
	cases := []struct {
		name     string
		katalys  string
		badLine  string // a substring of the line the error must point at; "" means it must adapt
		mentions string // the error must also mention this
	}{
		{
			name:    "valid (control)",
			katalys: "KA-7Q2M9X4B1Z {\n\t\tscript_src https://db.revoffers.com/js/{site_id}.js\n\t}",
		},
		{
			name:     "unknown subdirective",
			katalys:  "KA-7Q2M9X4B1Z {\n\t\tscript_src https://db.revoffers.com/js/{site_id}.js\n\t\tinject_everywhere yes\n\t}",
			badLine:  "inject_everywhere",
			mentions: "inject_everywhere",
		},
		{
			name:     "site_id not among the declared buckets",
			katalys:  "KA-NOTDECLARED1",
			badLine:  "katalys KA-NOTDECLARED1",
			mentions: "KA-NOTDECLARED1",
		},
		{
			name:     "bad script_src URL",
			katalys:  "KA-7Q2M9X4B1Z {\n\t\tscript_src \"://no-scheme.test/js/{site_id}.js\"\n\t}",
			badLine:  "script_src",
			mentions: "script_src",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := fmt.Sprintf(adaptTemplate, c.katalys)
			stdout, stderr, err := adapt(t, file)
			if c.badLine == "" {
				if err != nil {
					t.Fatalf("caddy adapt failed on a valid Caddyfile: %v\nstderr:\n%s\nCaddyfile:\n%s", err, stderr, numbered(file))
				}
				if !strings.Contains(stdout, `"katalys"`) {
					t.Errorf("adapted JSON has no katalys handler or app:\n%s", stdout)
				}
				return
			}
			line := 0
			for i, l := range strings.Split(file, "\n") {
				if strings.Contains(l, c.badLine) {
					line = i + 1
					break
				}
			}
			if err == nil {
				t.Fatalf("caddy adapt succeeded, want an error at line %d\nCaddyfile:\n%s\nstdout:\n%s", line, numbered(file), stdout)
			}
			want := fmt.Sprintf("Caddyfile:%d", line)
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr does not name %s:\n%s\nCaddyfile:\n%s", want, stderr, numbered(file))
			}
			if !strings.Contains(stderr, c.mentions) {
				t.Errorf("stderr does not mention %q:\n%s", c.mentions, stderr)
			}
			t.Logf("caddy adapt: %v; stderr: %s", err, strings.TrimSpace(stderr))
		})
	}
}
