// Package katalys registers the caddy-katalys plugin with Caddy.
//
// It holds no code of its own: importing it links the Caddy modules
// (module/) and the Caddyfile directive and global option (caddyfile/),
// so `xcaddy build --with github.com/storeedge/caddy-katalys` gives a Caddy
// binary with the whole plugin.
package katalys

import (
	_ "github.com/storeedge/caddy-katalys/caddyfile"
	_ "github.com/storeedge/caddy-katalys/module"
)
