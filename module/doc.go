// Package module holds the Caddy modules of caddy-katalys: the katalys app,
// the http.handlers.katalys handler and its response writer. It is wiring:
// the logic lives in plain Go packages (inject, …) that know nothing of Caddy.
package module
