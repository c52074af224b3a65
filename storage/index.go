package storage

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/storeedge/caddy-katalys/attribution"
)

// The value of a per-visitor index entry (v/ keys) says what attribution
// needs of the event without reading it: whether it is a click and, if so,
// the click's session and parameters. Attribution then reads a visitor's
// touches in one pass over the index, with no lookup in the event log and
// no JSON, so an order's attribution costs the same in a bucket of a
// thousand events as in one of millions.
//
//	indexOther                       not a click
//	indexClick str(session) {str(key) str(value)}   a click
//	(empty)                          written before index values existed:
//	                                 the event log must be read
//
// where str is a uvarint length and that many bytes. The click's time is
// the key's. Its fields are the event's Fields as they are, so a Touch read
// from the index is the one TouchFromClick makes of the event.
const (
	indexOther = 'p'
	indexClick = 'c'
)

var errBadIndexValue = errors.New("malformed visitor index value")

// otherValue is the index value of every event but a click, shared: Badger
// only reads the values it is given.
var otherValue = []byte{indexOther}

// indexValue is the value of ev's per-visitor index entry.
func indexValue(ev *Event) []byte {
	if ev.Type != typeClick {
		return otherValue
	}
	n := 1 + binary.MaxVarintLen32 + len(ev.Session)
	for k, v := range ev.Fields {
		n += 2*binary.MaxVarintLen32 + len(k) + len(v)
	}
	b := append(make([]byte, 0, n), indexClick)
	b = appendStr(b, ev.Session)
	for k, v := range ev.Fields {
		b = appendStr(appendStr(b, k), v)
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// readStr reads a str from the front of b.
func readStr(b string) (s, rest string, err error) {
	n, w := uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return "", "", errBadIndexValue
	}
	return b[w : w+int(n)], b[w+int(n):], nil
}

// uvarint is binary.Uvarint over a string.
func uvarint(s string) (uint64, int) {
	var x uint64
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			return x | uint64(c)<<(7*i), i + 1
		}
		x |= uint64(c&0x7f) << (7 * i)
	}
	return 0, 0
}

// indexTouch decodes the index value v of an event recorded at nanos. known
// is false when v is empty, an entry from before index values: the event
// itself tells. click is false for any event but a click. The touch's
// strings share one copy of v.
func indexTouch(nanos uint64, v []byte) (t attribution.Touch, click, known bool, err error) {
	if len(v) == 0 {
		return t, false, false, nil
	}
	if v[0] != indexClick {
		return t, false, true, nil
	}
	session, rest, err := readStr(string(v[1:]))
	if err != nil {
		return t, false, true, err
	}
	t = attribution.Touch{Time: time.Unix(0, int64(nanos)), Session: session}
	for rest != "" {
		var k, val string
		if k, rest, err = readStr(rest); err != nil {
			return t, false, true, err
		}
		if val, rest, err = readStr(rest); err != nil {
			return t, false, true, err
		}
		t.AddParam(k, val)
	}
	return t, true, true, nil
}
