package caddyfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddytest"
)

// TestAdapt runs every testdata/*.caddyfiletest: a Caddyfile, a line of
// dashes, then either the JSON it must adapt to or, when that part does
// not start with '{', a substring of the error it must fail with (which
// names the file and line). The runner is the one of Caddy's own
// caddytest/integration/caddyfile_adapt_test.go.
func TestAdapt(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.caddyfiletest"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".caddyfiletest"), func(t *testing.T) {
			input, expected := readGolden(t, file)
			if expected == "" {
				t.Fatalf("%s: nothing expected after the ---------- line", file)
			}
			if strings.HasPrefix(expected, "{") {
				if !caddytest.CompareAdapt(t, file, input, "caddyfile", expected) {
					t.Errorf("adapting %s: output differs (diff above)", file)
				}
				return
			}
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(input), nil)
			if err == nil {
				t.Fatalf("adapting %s: expected an error containing %q, got none", file, expected)
			}
			if !strings.Contains(err.Error(), expected) {
				t.Errorf("adapting %s: error\n%v\ndoes not contain\n%s", file, err, expected)
			}
		})
	}
}

// TestGoldenCaddyfilesFormatted keeps the golden Caddyfiles `caddy fmt`
// clean, as users' files should be.
func TestGoldenCaddyfilesFormatted(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.caddyfiletest"))
	for _, file := range files {
		input, _ := readGolden(t, file)
		if formatted := string(caddyfile.Format([]byte(input))); formatted != input {
			t.Errorf("%s is not caddy fmt clean; formatted:\n%s", file, formatted)
		}
	}
}

func readGolden(t *testing.T, file string) (input, expected string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	input, expected, ok := strings.Cut(text, "\n----------\n")
	if !ok {
		t.Fatalf("%s: no ---------- line", file)
	}
	return strings.TrimSpace(input) + "\n", strings.TrimSpace(expected)
}
