package capture

import (
	"bytes"
	"testing"
)

func TestAppDataPages(t *testing.T) { checkGoldenDir(t, "appdata") }

func TestAppDataFixtures(t *testing.T) { checkFixtures(t, "nextjs", "inertia", "magento") }

func TestAppDataRawJSON(t *testing.T) {
	b := []byte(` {"a": "x\"}{", "b" : {"c": [1, {"d": "}"}], "e": null}, "f": 12.5e1 , "g":[]} `)
	if got := string(jrField(b, "b")); got != `{"c": [1, {"d": "}"}], "e": null}` {
		t.Errorf(`jrField(b, "b") = %s`, got)
	}
	if got := string(jrField(b, "f")); got != `12.5e1` {
		t.Errorf(`jrField(b, "f") = %s`, got)
	}
	if got := jrField(b, "zz"); got != nil {
		t.Errorf(`jrField(b, "zz") = %s`, got)
	}
	var elems [][]byte
	for e := range jrElems(jrField(jrField(b, "b"), "c")) {
		elems = append(elems, e)
	}
	if len(elems) != 2 || !bytes.Equal(elems[1], []byte(`{"d": "}"}`)) {
		t.Errorf("jrElems = %q", elems)
	}
	// Malformed input stops the walk instead of running past the end.
	for _, bad := range []string{`{"a": "unterminated`, `{"a" 1}`, `{"a": [1, 2}`, `[`, ``} {
		for range jrMembers([]byte(bad)) {
		}
		_ = jrField([]byte(bad), "a")
	}
	if got := string(mageUnescape([]byte(`\u007B\u0022a\u0022:\u0022x\/y\u0022\u007D`))); got != `{"a":"x/y"}` {
		t.Errorf("mageUnescape = %s", got)
	}
}
