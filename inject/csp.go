package inject

import (
	"slices"
	"strings"
)

// Nonce returns the nonce that a Content-Security-Policy header value allows
// for script elements (from script-src-elem, else script-src, else
// default-src, of the first policy in the value that has one), or "".
// Putting that nonce on the snippet lets it run without touching the policy,
// which is what the page's own scripts do.
func Nonce(policy string) string {
	for _, p := range strings.Split(policy, ",") {
		d := parsePolicy(p).scriptDirective()
		if d == nil {
			continue
		}
		for _, src := range d.sources {
			if n, ok := nonceOf(src); ok {
				return n
			}
		}
	}
	return ""
}

// NeedsLoader reports whether a Content-Security-Policy header value trusts
// only the scripts that trusted scripts add: a policy whose script
// directive has 'strict-dynamic' and no nonce (Google's strict CSP in its
// hash form, which static and cached storefronts use). There the browser
// ignores origins, so the snippet's <script src> tag is blocked whatever
// Allow adds, but a script its hash-allowed inline script creates runs
// (NewLoaderSnippet). It reports false when a policy also requires
// Trusted Types for scripts, where creating that script from a string
// would throw instead.
func NeedsLoader(policy string) bool {
	needs := false
	for _, p := range strings.Split(policy, ",") {
		pol := parsePolicy(p)
		if d := pol.get("require-trusted-types-for"); d != nil {
			return false
		}
		d := pol.scriptDirective()
		if d == nil || !hasSource(d, "'strict-dynamic'") {
			continue
		}
		if !slices.ContainsFunc(d.sources, func(src string) bool { _, ok := nonceOf(src); return ok }) {
			needs = true
		}
	}
	return needs
}

// Allow returns the Content-Security-Policy header value policy changed so
// that the snippet s (carrying nonce, which may be "") runs and the tracking
// script may call home, as the official Magento module whitelists it:
//
//   - unless the policy already allows the nonce, the snippet's hash and
//     script origin are added to the directives that govern script elements
//     (script-src-elem and script-src; a script-src copied from default-src
//     when neither exists). The hash is left out where 'unsafe-inline'
//     already allows inline scripts, since a hash would switch it off;
//   - the script origin is added to connect-src (copied from default-src
//     when absent).
//
// A directive that is absent with no default-src restricts nothing and stays
// absent. A value of several comma-separated policies is changed one policy
// at a time. A policy with 'strict-dynamic' and no nonce ignores origins: the
// snippet for it is a loader (NeedsLoader), whose hash is what lets the
// script load.
func Allow(policy string, s Snippet, nonce string) string {
	parts := strings.Split(policy, ",")
	changed := false
	for i, p := range parts {
		pol := parsePolicy(p)
		if pol.allow(s, nonce) {
			parts[i] = pol.String()
			changed = true
		}
	}
	if !changed {
		return policy
	}
	return strings.Join(parts, ", ")
}

// directive is one directive of a policy: its name (lower case) and
// sources, as written.
type directive struct {
	name    string
	sources []string
	raw     string // the directive as written, kept when unchanged
	changed bool
}

type cspPolicy struct{ dirs []*directive }

func parsePolicy(p string) *cspPolicy {
	pol := &cspPolicy{}
	for _, raw := range strings.Split(p, ";") {
		f := strings.Fields(raw)
		if len(f) == 0 {
			continue
		}
		name := strings.ToLower(f[0])
		if pol.get(name) != nil {
			continue // browsers ignore a repeated directive
		}
		pol.dirs = append(pol.dirs, &directive{name: name, sources: f[1:], raw: strings.TrimSpace(raw)})
	}
	return pol
}

func (p *cspPolicy) get(name string) *directive {
	for _, d := range p.dirs {
		if d.name == name {
			return d
		}
	}
	return nil
}

// scriptDirective is the directive that governs <script> elements.
func (p *cspPolicy) scriptDirective() *directive {
	for _, n := range []string{"script-src-elem", "script-src", "default-src"} {
		if d := p.get(n); d != nil {
			return d
		}
	}
	return nil
}

// allow edits the policy for the snippet and reports whether it changed.
func (p *cspPolicy) allow(s Snippet, nonce string) bool {
	origin := s.Origin()
	if origin == "" {
		origin = "'self'"
	}
	changed := false
	if d := p.scriptDirective(); d != nil && !(nonce != "" && hasSource(d, "'nonce-"+nonce+"'")) {
		targets := []*directive{p.get("script-src-elem"), p.get("script-src")}
		if targets[0] == nil && targets[1] == nil {
			targets[1] = p.copyDefault("script-src")
		}
		for _, t := range targets {
			if t == nil {
				continue
			}
			if !allowsInline(t) {
				changed = t.add(s.Hash()) || changed
			}
			changed = t.add(origin) || changed
		}
	}
	c := p.get("connect-src")
	if c == nil && p.get("default-src") != nil {
		c = p.copyDefault("connect-src")
	}
	if c != nil {
		changed = c.add(origin) || changed
	}
	return changed
}

// copyDefault adds a directive named name with default-src's sources: the
// new directive then restricts exactly what default-src did, plus what we
// add to it.
func (p *cspPolicy) copyDefault(name string) *directive {
	def := p.get("default-src")
	d := &directive{name: name, sources: append([]string(nil), def.sources...), changed: true}
	p.dirs = append(p.dirs, d)
	return d
}

// add appends src unless the directive has it; 'none' goes, since it may
// only stand alone.
func (d *directive) add(src string) bool {
	if hasSource(d, src) {
		return false
	}
	kept := d.sources[:0]
	for _, s := range d.sources {
		if !strings.EqualFold(s, "'none'") {
			kept = append(kept, s)
		}
	}
	d.sources = append(kept, src)
	d.changed = true
	return true
}

func hasSource(d *directive, src string) bool {
	for _, s := range d.sources {
		if strings.EqualFold(s, src) {
			return true
		}
	}
	return false
}

// allowsInline reports whether 'unsafe-inline' is in force: present, and
// not cancelled by a nonce or hash source.
func allowsInline(d *directive) bool {
	inline := false
	for _, s := range d.sources {
		ls := strings.ToLower(s)
		switch {
		case ls == "'unsafe-inline'":
			inline = true
		case strings.HasPrefix(ls, "'nonce-"), strings.HasPrefix(ls, "'sha256-"),
			strings.HasPrefix(ls, "'sha384-"), strings.HasPrefix(ls, "'sha512-"),
			ls == "'strict-dynamic'":
			return false
		}
	}
	return inline
}

func nonceOf(src string) (string, bool) {
	if len(src) > len("'nonce-'") && strings.EqualFold(src[:7], "'nonce-") && src[len(src)-1] == '\'' {
		return src[7 : len(src)-1], true
	}
	return "", false
}

func (p *cspPolicy) String() string {
	var b strings.Builder
	for i, d := range p.dirs {
		if i > 0 {
			b.WriteString("; ")
		}
		if !d.changed {
			b.WriteString(d.raw)
			continue
		}
		b.WriteString(d.name)
		for _, s := range d.sources {
			b.WriteByte(' ')
			b.WriteString(s)
		}
	}
	return b.String()
}
