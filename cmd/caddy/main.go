// Command caddy is a Caddy binary with the caddy-katalys plugin linked in.
package main

import (
	_ "time/tzdata"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/storeedge/caddy-katalys"
)

func main() {
	caddycmd.Main()
}
