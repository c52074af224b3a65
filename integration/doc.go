// Package integration holds the end-to-end tests of caddy-katalys: a real
// Caddy binary built with the plugin (TestMain builds ./cmd/caddy once), real
// upstream HTTP servers, a real HTTP client and, in browser_test.go, Debian's
// Chromium driven through chromedp.
//
// Everything binds to and connects to 127.0.0.1 only. The package has no
// non-test code; run it with
//
//	go test -count=1 ./integration/ -v
package integration
