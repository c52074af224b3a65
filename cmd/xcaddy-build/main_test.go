package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/xcaddy"
)

const caddyModule = "github.com/caddyserver/caddy/v2"

// TestRepoManifest checks the repository's xcaddy.json against go.mod, so CI
// never tests one Caddy (the one go.mod pins, built by ./cmd/caddy) and ships
// another (the one xcaddy builds from the manifest).
func TestRepoManifest(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadManifest(filepath.Join(root, "xcaddy.json"))
	if err != nil {
		t.Fatal(err)
	}
	modPath, requires := readGoMod(t, filepath.Join(root, "go.mod"))

	want, ok := requires[caddyModule]
	if !ok {
		t.Fatalf("go.mod does not require %s", caddyModule)
	}
	if b.CaddyVersion != want {
		t.Errorf("xcaddy.json caddy_version = %q, go.mod requires %s %s: keep them equal", b.CaddyVersion, caddyModule, want)
	}

	var hasPlugin bool
	for _, p := range b.Plugins {
		if p.PackagePath == modPath {
			hasPlugin = true
			if p.Version != localPluginVersion {
				t.Errorf("xcaddy.json plugin %s resolves to version %q, want %q (built from this checkout)", modPath, p.Version, localPluginVersion)
			}
		}
	}
	if !hasPlugin {
		t.Errorf("xcaddy.json plugins %v do not include this module %s", b.Plugins, modPath)
	}

	var hasReplace bool
	for _, r := range b.Replacements {
		if string(r.Old) != modPath {
			continue
		}
		hasReplace = true
		if got := filepath.Clean(string(r.New)); got != root {
			t.Errorf("xcaddy.json replaces %s with %s, want this checkout %s", modPath, got, root)
		}
	}
	if !hasReplace {
		t.Errorf("xcaddy.json has no replacement for %s: the build would fetch it from the proxy instead of using this checkout", modPath)
	}
}

func TestLoadManifestResolvesReplacements(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "build")
	plugin := filepath.Join(dir, "plugin")
	for _, d := range []string{sub, plugin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(plugin, "go.mod"), []byte("module example.com/plugin\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := writeManifest(t, sub, `{
		"caddy_version": "v2.11.9",
		"plugins": [{"module_path": "example.com/plugin"}],
		"replacements": [
			{"old": "example.com/plugin", "new": "../plugin"},
			{"old": "example.com/other", "new": "example.com/fork v1.2.3"},
			{"old": "example.com/abs", "new": "`+filepath.ToSlash(plugin)+`"}
		],
		"timeout_build": 60000000000
	}`)

	// Load from another working directory: the result must not depend on it.
	t.Chdir(t.TempDir())
	b, err := loadManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{plugin, "example.com/fork v1.2.3", plugin}
	for i, r := range b.Replacements {
		if got := string(r.New); got != want[i] {
			t.Errorf("replacements[%d].new = %q, want %q", i, got, want[i])
		}
	}
	if got := b.Plugins[0].Version; got != localPluginVersion {
		t.Errorf("plugin replaced by a directory: version = %q, want %q", got, localPluginVersion)
	}
	if b.TimeoutBuild.Seconds() != 60 {
		t.Errorf("timeout_build = %v, want 1m0s", b.TimeoutBuild)
	}
}

func TestPinLocalPlugins(t *testing.T) {
	b := xcaddy.Builder{
		Plugins: []xcaddy.Dependency{
			{PackagePath: "example.com/local"},
			{PackagePath: "example.com/tagged", Version: "v1.2.3"},
			{PackagePath: "example.com/fork"},
			{PackagePath: "example.com/versioned-replace"},
			{PackagePath: "example.com/published"},
		},
		Replacements: []xcaddy.Replace{
			xcaddy.NewReplace("example.com/local", "/src/local"),
			xcaddy.NewReplace("example.com/tagged", "/src/tagged"),
			xcaddy.NewReplace("example.com/fork", "example.com/other v1.0.0"),
			xcaddy.NewReplace("example.com/versioned-replace@v1.0.0", "/src/v"),
		},
	}
	pinLocalPlugins(&b)
	want := []string{localPluginVersion, "v1.2.3", "", "", ""}
	for i, p := range b.Plugins {
		if p.Version != want[i] {
			t.Errorf("%s: version = %q, want %q", p.PackagePath, p.Version, want[i])
		}
	}
}

func TestLoadManifestErrors(t *testing.T) {
	tests := []struct {
		name, manifest, wantErr string
	}{
		{"unknown field", `{"caddy_version": "v2.11.9", "plugin": []}`, `unknown field "plugin"`},
		{"bad json", `{"caddy_version": }`, "decoding manifest"},
		{"trailing data", `{"caddy_version": "v2.11.9"} {}`, "unexpected data"},
		{"no caddy version", `{"plugins": [{"module_path": "example.com/p"}]}`, "caddy_version is required"},
		{"plugin without path", `{"caddy_version": "v2.11.9", "plugins": [{"version": "v1.0.0"}]}`, "plugins[0]: module_path is required"},
		{"replacement without new", `{"caddy_version": "v2.11.9", "replacements": [{"old": "example.com/p"}]}`, "replacements[0]: both old and new"},
		{"replacement not a module", `{"caddy_version": "v2.11.9", "replacements": [{"old": "example.com/p", "new": "./missing"}]}`, "not a Go module directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadManifest(writeManifest(t, t.TempDir(), tt.manifest))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("loadManifest error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}

	if _, err := loadManifest(filepath.Join(t.TempDir(), "absent.json")); err == nil || !strings.Contains(err.Error(), "reading manifest") {
		t.Errorf("missing manifest: error = %v, want one containing %q", err, "reading manifest")
	}
}

func TestIsLocalPath(t *testing.T) {
	for p, want := range map[string]bool{
		".":                      true,
		"..":                     true,
		"./plugin":               true,
		"../plugin":              true,
		"/abs/plugin":            true,
		"example.com/fork":       false,
		"example.com/fork v1.0":  false,
		"plugin":                 false, // the go command reads this as a module path too
		"github.com/x/y/../z":    false,
		"github.com/x/y v0.0.0-": false,
	} {
		if got := isLocalPath(p); got != want {
			t.Errorf("isLocalPath(%q) = %v, want %v", p, got, want)
		}
	}
}

func writeManifest(t *testing.T, dir, content string) string {
	t.Helper()
	path := filepath.Join(dir, "xcaddy.json")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// readGoMod returns the module path and the required module versions of a
// go.mod file. It understands the plain layout the go command writes
// (single-line and block require directives), which is all go.mod holds here.
func readGoMod(t *testing.T, path string) (module string, requires map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	requires = make(map[string]string)
	inRequire := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "//")
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
		case inRequire && fields[0] == ")":
			inRequire = false
		case inRequire && len(fields) == 2:
			requires[fields[0]] = fields[1]
		case fields[0] == "module" && len(fields) == 2:
			module = strings.Trim(fields[1], `"`)
		case fields[0] == "require" && len(fields) == 2 && fields[1] == "(":
			inRequire = true
		case fields[0] == "require" && len(fields) == 3:
			requires[fields[1]] = fields[2]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if module == "" {
		t.Fatalf("%s: no module line", path)
	}
	return module, requires
}
