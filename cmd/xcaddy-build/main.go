// Command xcaddy-build builds a Caddy binary with the caddy-katalys plugin
// from the build manifest xcaddy.json, using the xcaddy library.
//
// The manifest holds the JSON fields of xcaddy's Builder (caddy_version,
// plugins, replacements, build_flags, …). xcaddy's command line has no "build
// from file" flag, and its library runs the build in a temporary folder
// without making relative replacement paths absolute, so this command reads
// the manifest, resolves relative replacement paths against the manifest's
// own directory, and calls Builder.Build.
//
// Usage, from the repository root:
//
//	go run ./cmd/xcaddy-build [-manifest xcaddy.json] [-o ./caddy]
//
// The build fetches Caddy and its dependencies through the Go module proxy,
// like `xcaddy build` does. A plugin that a replacement maps to a local
// directory and that has no version is built from that directory without
// asking the proxy for it (see pinLocalPlugins).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/caddyserver/xcaddy"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("xcaddy-build: ")

	manifest := flag.String("manifest", "xcaddy.json", "path of the build manifest (xcaddy Builder fields as JSON)")
	output := flag.String("o", "./caddy", "path of the Caddy binary to write")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: xcaddy-build [-manifest xcaddy.json] [-o ./caddy]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := run(ctx, *manifest, *output); err != nil {
		log.Print(err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, manifestPath, output string) error {
	if output == "" {
		return errors.New("-o: output path is empty")
	}
	b, err := loadManifest(manifestPath)
	if err != nil {
		return err
	}
	log.Printf("building Caddy %s with %s into %s", b.CaddyVersion, pluginList(b.Plugins), output)
	if err := b.Build(ctx, output); err != nil {
		return fmt.Errorf("building Caddy from %s: %w", manifestPath, err)
	}
	return nil
}

// loadManifest reads and checks a build manifest, and turns every relative
// local replacement path into an absolute one, relative to the directory
// that holds the manifest (not to the working directory).
func loadManifest(path string) (xcaddy.Builder, error) {
	var b xcaddy.Builder
	data, err := os.ReadFile(path)
	if err != nil {
		return b, fmt.Errorf("reading manifest: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // a misspelt field would otherwise be ignored silently
	if err := dec.Decode(&b); err != nil {
		return b, fmt.Errorf("decoding manifest %s: %w", path, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return b, fmt.Errorf("decoding manifest %s: unexpected data after the JSON object", path)
	}

	if b.CaddyVersion == "" {
		return b, fmt.Errorf("manifest %s: caddy_version is required (an unpinned build would take the latest Caddy)", path)
	}
	for i, p := range b.Plugins {
		if p.PackagePath == "" {
			return b, fmt.Errorf("manifest %s: plugins[%d]: module_path is required", path, i)
		}
	}

	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return b, fmt.Errorf("manifest %s: resolving its directory: %w", path, err)
	}
	for i, r := range b.Replacements {
		old, repl := string(r.Old), string(r.New)
		if old == "" || repl == "" {
			return b, fmt.Errorf("manifest %s: replacements[%d]: both old and new are required", path, i)
		}
		if !isLocalPath(repl) {
			continue // a module path, optionally with a version: used as is
		}
		if !filepath.IsAbs(repl) {
			repl = filepath.Join(dir, filepath.FromSlash(repl))
		}
		if _, err := os.Stat(filepath.Join(repl, "go.mod")); err != nil {
			return b, fmt.Errorf("manifest %s: replacements[%d]: %s => %s: not a Go module directory: %w", path, i, old, repl, err)
		}
		b.Replacements[i].New = xcaddy.ReplacementPath(repl)
	}
	pinLocalPlugins(&b)
	return b, nil
}

// localPluginVersion is the version the go command itself records for a
// module that is only available through a replace directive.
const localPluginVersion = "v0.0.0-00010101000000-000000000000"

// pinLocalPlugins gives every unversioned plugin that a replacement maps to a
// local directory the placeholder version localPluginVersion. Without a
// version, xcaddy runs `go get <module>`, which asks the module proxy for the
// module's latest version before it looks at the replacement, and fails for
// a module that is not published (or a proxy that refuses it); with the
// placeholder, the go command takes the module from the directory.
func pinLocalPlugins(b *xcaddy.Builder) {
	local := make(map[string]bool)
	for _, r := range b.Replacements {
		// An old path with a version ("mod v1.2.3" or "mod@v1.2.3") replaces
		// that version only; leave such plugins to the go command.
		if old := string(r.Old); !strings.ContainsAny(old, " @") && isLocalPath(string(r.New)) {
			local[old] = true
		}
	}
	for i, p := range b.Plugins {
		if p.Version == "" && local[p.PackagePath] {
			b.Plugins[i].Version = localPluginVersion
		}
	}
}

// isLocalPath reports whether a replacement target is a file system path
// rather than a module path, with the rule the go command uses for replace
// directives: absolute, or starting with ./ or ../ (or "." or "..").
func isLocalPath(p string) bool {
	return p == "." || p == ".." ||
		strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../") ||
		strings.HasPrefix(p, `.\`) || strings.HasPrefix(p, `..\`) ||
		filepath.IsAbs(p)
}

func pluginList(plugins []xcaddy.Dependency) string {
	if len(plugins) == 0 {
		return "no plugins"
	}
	names := make([]string, len(plugins))
	for i, p := range plugins {
		names[i] = p.String()
	}
	return strings.Join(names, ", ")
}
