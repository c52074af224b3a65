package storage

import (
	"slices"
	"unicode/utf8"
)

// appendEvent appends ev as JSON to dst: the bytes json.Marshal writes for
// it (same members, order, map key order and escaping), which every reader
// of the store decodes, without Marshal's reflection and allocations. Every
// event recorded goes through here, on the writer's path.
func appendEvent(dst []byte, ev *Event) ([]byte, error) {
	t, err := ev.Time.MarshalJSON() // its range checks and format, as Marshal
	if err != nil {
		return nil, err
	}
	dst = append(dst, `{"bucket":`...)
	dst = appendJSONString(dst, ev.Bucket)
	dst = append(dst, `,"time":`...)
	dst = append(dst, t...)
	dst = append(dst, `,"type":`...)
	dst = appendJSONString(dst, ev.Type)
	for _, m := range [...]struct{ name, v string }{
		{`,"visitor":`, ev.Visitor}, {`,"session":`, ev.Session}, {`,"instance":`, ev.Instance},
	} {
		if m.v != "" {
			dst = appendJSONString(append(dst, m.name...), m.v)
		}
	}
	if len(ev.Fields) > 0 {
		dst = append(dst, `,"fields":{`...)
		var buf [16]string
		keys := buf[:0]
		for k := range ev.Fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			dst = appendJSONString(dst, ev.Fields[k])
		}
		dst = append(dst, '}')
	}
	return append(dst, '}'), nil
}

// encodedSize is about what appendEvent writes for ev when nothing needs
// escaping, so that one allocation usually holds it.
func encodedSize(ev *Event) int {
	n := 120 + len(ev.Bucket) + len(ev.Type) + len(ev.Visitor) + len(ev.Session) + len(ev.Instance)
	for k, v := range ev.Fields {
		n += len(k) + len(v) + 6
	}
	return n
}

// jsonPlain are the ASCII bytes encoding/json writes as they are (its
// htmlSafeSet): not control characters, '"', '\\', or the HTML-sensitive
// '<', '>' and '&'.
var jsonPlain = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	t['"'], t['\\'], t['<'], t['>'], t['&'] = false, false, false, false, false
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string escaped as encoding/json
// escapes it: short escapes for \\ \" \b \f \n \r \t, \u00XX for other
// control characters and < > &, \ufffd for invalid UTF-8, and \u2028 and
// \u2029.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if jsonPlain[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(append(dst, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(append(dst, s[start:i]...), '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(append(dst, s[start:]...), '"')
}
