package storage

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// tricky holds strings that exercise every escape of encoding/json.
var tricky = []string{
	"", "plain", `quote " and backslash \`, "<script>&amp;</script>", "\b\f\n\r\t", "\x00\x01\x1f\x7f",
	"été ☕ 日本", "\u2028line\u2029para", "bad \xff\xfe utf8 \xc3", "cut rune \xe2\x98", strings.Repeat("é", 40),
	"https://shop.example.com/p?a=1&b=<2>",
}

func TestAppendEventMatchesMarshal(t *testing.T) {
	at := time.Date(2026, 11, 25, 1, 2, 3, 4005, time.FixedZone("CET", 3600))
	events := []Event{
		benchEvent(7),
		{Bucket: "KA-1", Time: at, Type: "click"},
		{Bucket: "KA-1", Time: time.Time{}, Type: ""},
		{Bucket: "KA-1", Time: at.UTC(), Type: "pageview", Visitor: "v", Fields: map[string]string{}},
	}
	for i, s := range tricky {
		fields := map[string]string{s: s, "z" + s: "", "a": s}
		events = append(events, Event{Bucket: s, Time: at.Add(time.Duration(i)), Type: s, Visitor: s, Session: s, Instance: s, Fields: fields})
	}
	many := map[string]string{}
	for i := range 40 { // more keys than appendEvent's stack buffer
		many[strings.Repeat("k", i%7)+string(rune('a'+i%26))+strings.Repeat("x", i)] = tricky[i%len(tricky)]
	}
	events = append(events, Event{Bucket: "KA-1", Time: at, Type: "custom", Fields: many})
	for _, ev := range events {
		want, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendEvent(nil, &ev)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("appendEvent = %s, %v\nwant %s", got, err, want)
		}
	}
}

func TestAppendEventBadTime(t *testing.T) {
	ev := Event{Bucket: "KA-1", Type: "pageview", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := json.Marshal(ev); err == nil {
		t.Fatal("json.Marshal accepted year 10000; the test assumes it does not")
	}
	if got, err := appendEvent(nil, &ev); err == nil {
		t.Errorf("appendEvent = %s, want the error json.Marshal gives", got)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range tricky {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}

func BenchmarkEncodeEvent(b *testing.B) {
	ev := benchEvent(1)
	ev.Time = time.Now()
	b.Run("appendEvent", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := appendEvent(make([]byte, 0, encodedSize(&ev)), &ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("record", func(b *testing.B) { // the value, both keys and the index value
		s := &Store{instance: "bench", instHash: hashString("bench")}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.encode(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}
