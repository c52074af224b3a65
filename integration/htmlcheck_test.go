package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// readFixture reads a shared thank-you page fixture
// (/work/shared/fixtures/thankyou, relative to the repository).
func readFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "fixtures", "thankyou", name))
	if err != nil {
		t.Fatalf("reading fixture: %v", err)
	}
	return string(b)
}

func mustTime(s string) time.Time {
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return tm
}

// scriptInfo is a parsed <script> element.
type scriptInfo struct {
	node   *html.Node
	text   string
	src    string
	nonce  string
	async  bool
	parent string
}

func (s *scriptInfo) desc() string {
	if s.src != "" {
		return "<script src=" + s.src + ">"
	}
	return "inline <script>"
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func scriptOf(n *html.Node) *scriptInfo {
	s := &scriptInfo{node: n}
	if n.Parent != nil {
		s.parent = n.Parent.Data
	}
	s.src, _ = attr(n, "src")
	s.nonce, _ = attr(n, "nonce")
	_, s.async = attr(n, "async")
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.TextNode {
			s.text += c.Data
		}
	}
	return s
}

func parseHTML(t testing.TB, b []byte) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("parsing the page: %v", err)
	}
	return doc
}

func findElement(n *html.Node, tag string) *html.Node {
	if n.Type == html.ElementNode && n.Data == tag {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := findElement(c, tag); f != nil {
			return f
		}
	}
	return nil
}

// snippetScripts finds, in a page, the snippet's inline script (the one that
// sets _revoffers_track.site_id) and its external script (src == src), and
// checks there is one of each, the inline one first, both in <body>.
func snippetScripts(t testing.TB, page []byte, siteID, src string) (inline, ext *scriptInfo) {
	t.Helper()
	doc := parseHTML(t, page)
	var inlines, exts []*scriptInfo
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "script" {
			continue
		}
		s := scriptOf(n)
		switch {
		case strings.Contains(s.text, "_revoffers_track.site_id="):
			inlines = append(inlines, s)
		case s.src == src:
			exts = append(exts, s)
		}
	}
	if len(inlines) != 1 || len(exts) != 1 {
		t.Fatalf("want one inline snippet script and one <script src=%q>; found %d and %d", src, len(inlines), len(exts))
	}
	inline, ext = inlines[0], exts[0]
	if inline.text != inlineScript(siteID) {
		t.Errorf("inline script text = %q, want %q", inline.text, inlineScript(siteID))
	}
	if !ext.async {
		t.Errorf("%s lacks async", ext.desc())
	}
	if inline.node.NextSibling != ext.node {
		t.Errorf("the snippet's two scripts are not adjacent")
	}
	for _, s := range []*scriptInfo{inline, ext} {
		if s.parent != "body" {
			t.Errorf("%s is a child of <%s>, want <body>", s.desc(), s.parent)
		}
	}
	return inline, ext
}

// elementChildren lists the element children of n.
func elementChildren(n *html.Node) []*html.Node {
	var out []*html.Node
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode {
			out = append(out, c)
		}
	}
	return out
}

// checkSnippetLastInBody parses the original page and the served one and
// checks that the served <body> has the original's elements, in order,
// followed by the snippet's two scripts and nothing else.
func checkSnippetLastInBody(t testing.TB, original string, served []byte, siteID, scriptSrc string) {
	t.Helper()
	src := strings.ReplaceAll(scriptSrc, "{site_id}", siteID)
	inline, ext := snippetScripts(t, served, siteID, src)

	origBody := findElement(parseHTML(t, []byte(original)), "body")
	gotBody := inline.node.Parent
	if gotBody == nil || gotBody.Data != "body" || origBody == nil {
		t.Fatalf("no <body> to compare")
	}
	want := elementChildren(origBody)
	got := elementChildren(gotBody)
	if len(got) != len(want)+2 {
		t.Fatalf("<body> has %d element children, want the original %d plus the 2 snippet scripts", len(got), len(want))
	}
	for i, w := range want {
		if got[i].Data != w.Data || len(got[i].Attr) != len(w.Attr) {
			t.Errorf("body child %d is <%s>, want the original's <%s>", i, got[i].Data, w.Data)
		}
	}
	if got[len(want)] != inline.node || got[len(want)+1] != ext.node {
		t.Errorf("the snippet scripts are not the last two elements of <body>")
	}
	for n := ext.node.NextSibling; n != nil; n = n.NextSibling {
		if n.Type == html.ElementNode {
			t.Errorf("element <%s> follows the snippet in <body>", n.Data)
		}
	}
}

// parseCSP splits a policy into directive name → source list.
func parseCSP(policy string) map[string][]string {
	out := map[string][]string{}
	for _, d := range strings.Split(policy, ";") {
		f := strings.Fields(d)
		if len(f) == 0 {
			continue
		}
		name := strings.ToLower(f[0])
		if _, dup := out[name]; !dup {
			out[name] = f[1:]
		}
	}
	return out
}

// cspHash is the CSP hash source of an inline script's text.
func cspHash(text string) string {
	sum := sha256.Sum256([]byte(text))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
