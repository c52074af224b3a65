package capture

import (
	"strings"

	"golang.org/x/net/html"
)

// Text cleans a string a page printed: HTML entities decoded (server
// templates escape values inside JavaScript strings too: ERB's &#39;,
// WordPress's &#8217;), runs of white space (including no-break spaces)
// collapsed to one space, and the ends trimmed.
func Text(s string) string {
	if strings.IndexByte(s, '&') >= 0 {
		s = html.UnescapeString(s)
	}
	return strings.Join(strings.FieldsFunc(s, isSpace), " ")
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\f', '\v', '\u00a0', '\u202f', '\u2009', '\u200b':
		return true
	}
	return false
}
