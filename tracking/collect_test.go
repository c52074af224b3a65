package tracking

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeCollect(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []CollectEvent
	}{
		{
			"one object",
			`{"action":"addtocart","line_item_0_sku":"SKU-1","line_item_0_price":12.50,"line_item_0_qty":2}`,
			[]CollectEvent{{Action: "addtocart", Fields: map[string]string{"line_item_0_sku": "SKU-1", "line_item_0_price": "12.50", "line_item_0_qty": "2"}}},
		},
		{
			"array",
			` [ {"action":"pageview"} , {"action":"email_submit","email_address":"a@example.com"} ] `,
			[]CollectEvent{{Action: "pageview"}, {Action: "email_submit", Fields: map[string]string{"email_address": "a@example.com"}}},
		},
		{
			"numbers keep their text",
			`{"action":"x","a":1e3,"b":-0.10,"c":12345678901234567890123}`,
			[]CollectEvent{{Action: "x", Fields: map[string]string{"a": "1e3", "b": "-0.10", "c": "12345678901234567890123"}}},
		},
		{"empty strings dropped", `{"action":"x","a":""}`, []CollectEvent{{Action: "x"}}},
		{"action with dash and digits", `{"action":"survey-begin_2"}`, []CollectEvent{{Action: "survey-begin_2"}}},
		{"escapes", `{"action":"x","t":"caf\u00e9 \"q\""}`, []CollectEvent{{Action: "x", Fields: map[string]string{"t": `café "q"`}}}},
		{"longest value", `{"action":"x","t":"` + strings.Repeat("é", 2048) + `"}`, []CollectEvent{{Action: "x", Fields: map[string]string{"t": strings.Repeat("é", 2048)}}}},
		{"longest key", `{"action":"x","` + strings.Repeat("k", 64) + `":"v"}`, []CollectEvent{{Action: "x", Fields: map[string]string{strings.Repeat("k", 64): "v"}}}},
		{"max events", `[{"action":"a"},{"action":"b"},{"action":"c"}]`, []CollectEvent{{Action: "a"}, {Action: "b"}, {Action: "c"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeCollect([]byte(tt.body), 3)
			if err != nil {
				t.Fatalf("DecodeCollect: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeCollectErrors(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		status int
		reason string // a substring of the reason
	}{
		{"empty body", ``, 400, "empty body"},
		{"blank body", " \n ", 400, "empty body"},
		{"malformed", `{"action":`, 400, "malformed JSON"},
		{"syntax", `{"action" "x"}`, 400, "malformed JSON at byte"},
		{"unterminated array", `[{"action":"x"}`, 400, "malformed JSON"},
		{"string body", `"pageview"`, 400, "JSON object or an array of objects"},
		{"number body", `42`, 400, "JSON object or an array of objects"},
		{"null body", `null`, 400, "JSON object or an array of objects"},
		{"trailing data", `{"action":"x"} {"action":"y"}`, 400, "after the JSON value"},
		{"trailing garbage", `{"action":"x"}]`, 400, "after the JSON value"},
		{"empty array", `[]`, 400, "no events"},
		{"array of non-objects", `[{"action":"x"},"y"]`, 400, "event 1: must be a JSON object"},
		{"nested array element", `[[{"action":"x"}]]`, 400, "event 0: must be a JSON object"},
		{"too many events", `[{"action":"a"},{"action":"b"},{"action":"c"},{"action":"d"}]`, 413, "too many events (at most 3)"},
		{"too many events, even malformed later", `[{"action":"a"},{"action":"b"},{"action":"c"},{"action":"d"},{`, 413, "too many events"},
		{"missing action", `{"order_id":"1"}`, 400, `event 0: missing "action"`},
		{"missing action in second event", `[{"action":"a"},{}]`, 400, `event 1: missing "action"`},
		{"empty action", `{"action":""}`, 400, `"action" must be 1 to 64 characters`},
		{"upper-case action", `{"action":"AddToCart"}`, 400, `"action" must be 1 to 64 characters`},
		{"action with space", `{"action":"add to cart"}`, 400, `"action" must be`},
		{"long action", `{"action":"` + strings.Repeat("a", 65) + `"}`, 400, `"action" must be 1 to 64`},
		{"numeric action", `{"action":1}`, 400, `"action" must be a string`},
		{"null action", `{"action":null}`, 400, `"action" must be a string`},
		{"object action", `{"action":{"a":1}}`, 400, `"action" must be a string`},
		{"nested object", `[{"action":"a"},{"action":"b"},{"action":"c","items":{"sku":"1"}}]`, 400, `event 2: key "items": value must be a string or a number`},
		{"nested array", `{"action":"a","items":[1,2]}`, 400, `event 0: key "items": value must be a string or a number`},
		{"bool", `{"action":"a","paid":true}`, 400, `key "paid": value must be a string or a number`},
		{"null", `{"action":"a","paid":null}`, 400, `key "paid": value must be a string or a number`},
		{"bucket", `{"action":"a","bucket":"KA-OTHER"}`, 400, `key "bucket": the bucket is decided by the server`},
		{"site_id", `[{"action":"a"},{"site_id":"KA-OTHER","action":"b"}]`, 400, `event 1: key "site_id": the bucket is decided by the server`},
		{"upper-case key", `{"action":"a","Order_ID":"1"}`, 400, `key "Order_ID": keys must be`},
		{"dashed key", `{"action":"a","order-id":"1"}`, 400, `key "order-id": keys must be`},
		{"empty key", `{"action":"a","":"1"}`, 400, `key "": keys must be`},
		{"long key", `{"action":"a","` + strings.Repeat("k", 65) + `":"1"}`, 400, `keys must be 1 to 64`},
		{"long value", `{"action":"a","t":"` + strings.Repeat("x", 2049) + `"}`, 400, `key "t": value longer than 2048 characters`},
		{"long number", `{"action":"a","t":` + strings.Repeat("9", 2049) + `}`, 400, `key "t": value longer than 2048`},
		{"duplicate key", `{"action":"a","x":"1","x":"2"}`, 400, `duplicate key "x"`},
		{"duplicate action", `{"action":"a","action":"b"}`, 400, `duplicate key "action"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			evs, err := DecodeCollect([]byte(tt.body), 3)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("got %v, %v; want a *DecodeError", evs, err)
			}
			if evs != nil {
				t.Errorf("events %v returned with an error", evs)
			}
			if de.Status != tt.status || !strings.Contains(de.Reason, tt.reason) || de.Error() != de.Reason {
				t.Errorf("got %d %q, want %d containing %q", de.Status, de.Reason, tt.status, tt.reason)
			}
		})
	}
}

func TestDecodeCollectNoLimit(t *testing.T) {
	body := "[" + strings.Repeat(`{"action":"a"},`, 999) + `{"action":"a"}]`
	evs, err := DecodeCollect([]byte(body), 0)
	if err != nil || len(evs) != 1000 {
		t.Fatalf("got %d events, %v; want 1000", len(evs), err)
	}
}

func TestDecodeErrorStatuses(t *testing.T) {
	_, err := DecodeCollect([]byte(`[{"action":"a"},{"action":"a"}]`), 1)
	var de *DecodeError
	if !errors.As(err, &de) || de.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("got %v, want a 413", err)
	}
}

// FuzzDecodeCollect checks that DecodeCollect never panics, that what it
// accepts is well-formed, and that re-encoding accepted events and decoding
// them again gives the same events.
func FuzzDecodeCollect(f *testing.F) {
	for _, seed := range []string{
		`{"action":"pageview"}`,
		`[{"action":"addtocart","line_item_0_price":12.50,"line_item_0_sku":"A"},{"action":"x","t":""}]`,
		`{"action":"x","a":1e400,"b":"\ud800"}`,
		`{"action":"x","items":[{"a":1}]}`,
		`{"action":"x","bucket":"KA-1"}`,
		`[]`, `[{}]`, `{"action":"x"} 1`, `{"action":"x","k":"` + strings.Repeat("z", 2100) + `"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := DecodeCollect(body, 8)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || (de.Status != 400 && de.Status != 413) || de.Reason == "" {
				t.Fatalf("error %v is not a 400 or 413 *DecodeError", err)
			}
			return
		}
		if len(evs) == 0 || len(evs) > 8 {
			t.Fatalf("%d events accepted", len(evs))
		}
		for _, ev := range evs {
			checkEvent(t, ev)
		}
		again, err := DecodeCollect(reencode(t, evs), 8)
		if err != nil {
			t.Fatalf("re-encoded events refused: %v", err)
		}
		if !reflect.DeepEqual(again, evs) {
			t.Fatalf("round trip changed the events:\n%+v\n%+v", evs, again)
		}
	})
}

func checkEvent(t *testing.T, ev CollectEvent) {
	t.Helper()
	if !isAction(ev.Action) {
		t.Fatalf("accepted action %q", ev.Action)
	}
	if ev.Fields != nil && len(ev.Fields) == 0 {
		t.Fatalf("empty non-nil fields")
	}
	for k, v := range ev.Fields {
		if k == "action" || k == "bucket" || k == "site_id" || k == "" || len(k) > maxKeyLen || !isSchemaName(k) {
			t.Fatalf("accepted key %q", k)
		}
		if v == "" || utf8.RuneCountInString(v) > maxValueLen || !utf8.ValidString(v) {
			t.Fatalf("accepted value %q for %q", v, k)
		}
	}
}

// reencode writes events back as a JSON array, every value a string.
func reencode(t *testing.T, evs []CollectEvent) []byte {
	t.Helper()
	objs := make([]map[string]string, len(evs))
	for i, ev := range evs {
		obj := map[string]string{"action": ev.Action}
		for k, v := range ev.Fields {
			obj[k] = v
		}
		objs[i] = obj
	}
	b, err := json.Marshal(objs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
