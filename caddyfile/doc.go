// Package caddyfile parses the katalys Caddyfile directive and global option
// into the JSON config of the modules in package module, and registers them
// with Caddy's Caddyfile adapter (the directive orders itself after encode).
package caddyfile
