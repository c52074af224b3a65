package tracking

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"unicode/utf8"
)

const (
	// maxActionLen and maxKeyLen keep names to the size of a database
	// column name; maxValueLen bounds one value (the collect endpoint bounds
	// the whole body).
	maxActionLen = 64
	maxKeyLen    = 64
	maxValueLen  = 2048
)

// CollectEvent is one event posted to the collect endpoint.
type CollectEvent struct {
	// Action is the event name: "pageview", "click" or a custom one such as
	// "addtocart"; [a-z0-9_-], at most 64 characters.
	Action string
	// Fields are the Reporting Schema keys of the event. Numbers are kept
	// as their JSON text, so "12.50" stays "12.50". Empty strings are
	// dropped: Katalys ignores them. Nil when there are none.
	Fields map[string]string
}

// DecodeError is a collect payload the server refuses. Reason is short and
// meant for the client, who needs to fix the payload.
type DecodeError struct {
	Status int // http.StatusBadRequest or http.StatusRequestEntityTooLarge
	Reason string
}

func (e *DecodeError) Error() string { return e.Reason }

// DecodeCollect decodes a collect payload: one JSON object, or an array of
// at most maxEvents objects (maxEvents < 1 means no limit). Every object
// has an "action" and otherwise Reporting Schema keys ([a-z0-9_], at most
// 64 characters) with string (at most 2048 characters) or number values;
// nested objects and arrays must be flattened into numbered keys, as the
// Reporting Schema asks. "bucket" and "site_id" are refused: the server
// decides the bucket from its configuration, so a page cannot write into
// another store's data.
//
// The error is always a *DecodeError: 400 for bad input, 413 for too many
// events. The event index in reasons counts from 0, as in the array.
func DecodeCollect(body []byte, maxEvents int) ([]CollectEvent, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err == io.EOF {
		return nil, badRequest("empty body")
	}
	if err != nil {
		return nil, syntaxError(err)
	}
	var events []CollectEvent
	switch tok {
	case json.Delim('{'):
		ev, err := decodeEvent(dec, 0)
		if err != nil {
			return nil, err
		}
		events = []CollectEvent{ev}
	case json.Delim('['):
		if events, err = decodeEvents(dec, maxEvents); err != nil {
			return nil, err
		}
	default:
		return nil, badRequest("body must be a JSON object or an array of objects")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("unexpected data after the JSON value")
	}
	return events, nil
}

// decodeEvents decodes the objects of an array whose '[' has been read, up
// to and including its ']'.
func decodeEvents(dec *json.Decoder, maxEvents int) ([]CollectEvent, error) {
	var events []CollectEvent
	for i := 0; dec.More(); i++ {
		if maxEvents > 0 && i >= maxEvents {
			return nil, &DecodeError{
				Status: http.StatusRequestEntityTooLarge,
				Reason: fmt.Sprintf("too many events (at most %d)", maxEvents),
			}
		}
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(err)
		}
		if tok != json.Delim('{') {
			return nil, badRequest("event %d: must be a JSON object", i)
		}
		ev, err := decodeEvent(dec, i)
		if err != nil {
			return nil, err
		}
		events = append(events, ev)
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return nil, syntaxError(err)
	}
	if len(events) == 0 {
		return nil, badRequest("no events")
	}
	return events, nil
}

// decodeEvent decodes the members of an object whose '{' has been read, up
// to and including its '}'. It walks tokens rather than unmarshalling into
// a map so that the first bad key is reported, whatever the map order, and
// duplicate keys are caught.
func decodeEvent(dec *json.Decoder, i int) (CollectEvent, error) {
	var ev CollectEvent
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ev, syntaxError(err)
		}
		key := tok.(string) // object keys are always strings
		if seen[key] {
			return ev, badRequest("event %d: duplicate key %q", i, key)
		}
		seen[key] = true
		if key == "action" {
			if ev.Action, err = decodeAction(dec, i); err != nil {
				return ev, err
			}
			continue
		}
		if err := checkKey(key, i); err != nil {
			return ev, err
		}
		val, err := decodeValue(dec, i, key)
		if err != nil {
			return ev, err
		}
		if val == "" {
			continue
		}
		if ev.Fields == nil {
			ev.Fields = make(map[string]string)
		}
		ev.Fields[key] = val
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return ev, syntaxError(err)
	}
	if ev.Action == "" {
		return ev, badRequest("event %d: missing \"action\"", i)
	}
	return ev, nil
}

// decodeAction reads the value of "action" and checks it.
func decodeAction(dec *json.Decoder, i int) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", syntaxError(err)
	}
	a, ok := tok.(string)
	if !ok {
		return "", badRequest("event %d: \"action\" must be a string", i)
	}
	if !isAction(a) {
		return "", badRequest("event %d: \"action\" must be 1 to %d characters of a-z, 0-9, _ and -", i, maxActionLen)
	}
	return a, nil
}

// checkKey refuses reserved and malformed keys.
func checkKey(key string, i int) error {
	switch {
	case key == "bucket" || key == "site_id":
		return badRequest("event %d: key %q: the bucket is decided by the server", i, key)
	case key == "" || len(key) > maxKeyLen || !isSchemaName(key):
		return badRequest("event %d: key %q: keys must be 1 to %d characters of a-z, 0-9 and _", i, truncate(key, maxKeyLen), maxKeyLen)
	}
	return nil
}

// decodeValue reads the value of key: a string or a number, returned as
// text.
func decodeValue(dec *json.Decoder, i int, key string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", syntaxError(err)
	}
	var val string
	switch v := tok.(type) {
	case string:
		val = v
	case json.Number:
		val = v.String()
	default: // an object, an array, a bool or null
		return "", badRequest("event %d: key %q: value must be a string or a number", i, key)
	}
	if utf8.RuneCountInString(val) > maxValueLen {
		return "", badRequest("event %d: key %q: value longer than %d characters", i, key, maxValueLen)
	}
	return val, nil
}

// isAction reports whether a is a well-formed action name.
func isAction(a string) bool {
	if a == "" || len(a) > maxActionLen {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// truncate cuts s to at most n characters for quoting in an error message.
func truncate(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i] + "…"
		}
		n--
	}
	return s
}

// syntaxError turns a decoder error into a 400 naming where the JSON broke.
func syntaxError(err error) *DecodeError {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return badRequest("malformed JSON at byte %d: %v", se.Offset, se)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: unexpected end of body")
	}
	return badRequest("malformed JSON: %v", err)
}

func badRequest(format string, args ...any) *DecodeError {
	return &DecodeError{Status: http.StatusBadRequest, Reason: fmt.Sprintf(format, args...)}
}
