package storage

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/storeedge/caddy-katalys/attribution"
)

func TestIndexTouchRoundTrip(t *testing.T) {
	at := time.Unix(0, base.UnixNano())
	tests := []struct {
		name string
		ev   Event
	}{
		{"affiliate click", click("KA-1", "v1", "c1", at)},
		{"no session, no fields", Event{Type: "click"}},
		{"utm only", Event{Type: "click", Session: "s", Fields: map[string]string{"utm_source": "news", "utm_medium": "mail"}}},
		{"empty values", Event{Type: "click", Fields: map[string]string{"transaction_id": "", "sub2": ""}}},
		{"long and unicode", Event{Type: "click", Session: string(make([]byte, 300)),
			Fields: map[string]string{"sub5": "été ☕ \x00 \"quoted\"", "aff_id": string(make([]byte, 200))}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := indexValue(&tt.ev)
			got, isClick, known, err := indexTouch(uint64(at.UnixNano()), v)
			if err != nil || !isClick || !known {
				t.Fatalf("indexTouch(%q) = click %v, known %v, %v", v, isClick, known, err)
			}
			want := attribution.TouchFromClick(at, tt.ev.Session, tt.ev.Fields)
			if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
				t.Errorf("touch = %s\nwant %s", g, w)
			}
		})
	}
}

func TestIndexTouchOtherAndLegacy(t *testing.T) {
	for _, typ := range []string{"pageview", "addtocart", "Click", ""} {
		v := indexValue(&Event{Type: typ, Fields: map[string]string{"transaction_id": "x"}})
		if _, isClick, known, err := indexTouch(1, v); isClick || !known || err != nil {
			t.Errorf("type %q: value %q gives click %v, known %v, %v", typ, v, isClick, known, err)
		}
	}
	if _, isClick, known, err := indexTouch(1, nil); isClick || known || err != nil {
		t.Errorf("empty value gives click %v, known %v, %v; want an unknown entry", isClick, known, err)
	}
}

func TestIndexTouchMalformed(t *testing.T) {
	for _, v := range []string{
		"c",                // no session
		"c\x05abc",         // session shorter than its length
		"c\x01s\x03key",    // a key without a value
		"c\x01s\x01k\x09v", // a value shorter than its length
		"c\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", // a length past 64 bits
	} {
		if _, _, _, err := indexTouch(1, []byte(v)); !errors.Is(err, errBadIndexValue) {
			t.Errorf("indexTouch(%q) = %v, want errBadIndexValue", v, err)
		}
	}
}

// TestVisitorTouchesLegacyIndex reads a store whose index entries were
// written before they had values: the clicks are read from the event log.
func TestVisitorTouchesLegacyIndex(t *testing.T) {
	s := openTest(t, Options{})
	write(t, s,
		click("KA-1", "v1", "old", base),
		ev("KA-1", "v1", "old-pv", base.Add(time.Minute)),
		click("KA-1", "v1", "gone", base.Add(2*time.Minute)),
	)
	// Empty the index values of those three, as an older version wrote
	// them, and remove the third's event, as if it had just expired.
	err := s.db.Update(func(txn *badger.Txn) error {
		prefix := visitorPrefix("KA-1", "v1")
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		var keys [][]byte
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, it.Item().KeyCopy(nil))
		}
		it.Close()
		if len(keys) != 3 {
			t.Fatalf("%d index entries, want 3", len(keys))
		}
		for _, k := range keys {
			if err := txn.Set(k, nil); err != nil {
				return err
			}
		}
		return txn.Delete(append(eventPrefix("KA-1"), keys[2][len(keys[2])-suffixLen:]...))
	})
	if err != nil {
		t.Fatal(err)
	}
	write(t, s, click("KA-1", "v1", "new", base.Add(3*time.Minute)))
	got, err := s.VisitorTouches("KA-1", "v1", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if ids := txids(got); !slices.Equal(ids, []string{"old", "new"}) {
		t.Errorf("touches = %q, want [old new]", ids)
	}
	// Reattribute's pass over the whole index reads them the same way.
	write(t, s, click("KA-1", "v0", "before", base), click("KA-1", "v2", "after", base))
	all, err := s.bucketClicks("KA-1")
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string][]string{"v0": {"before"}, "v1": {"old", "new"}, "v2": {"after"}} {
		if ids := txids(all[v]); !slices.Equal(ids, want) {
			t.Errorf("bucketClicks[%s] = %q, want %q", v, ids, want)
		}
	}
	if len(all) != 3 {
		t.Errorf("bucketClicks has %d visitors, want 3", len(all))
	}
}

// TestVisitorTouchesBadIndexValue reports a damaged index value, with the
// visitor it belongs to, rather than skipping the click.
func TestVisitorTouchesBadIndexValue(t *testing.T) {
	s := openTest(t, Options{})
	write(t, s, click("KA-1", "v1", "c1", base))
	err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(appendSuffix(visitorPrefix("KA-1", "v1"), timeKey(base), 1, 1), []byte("c\x09"))
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.VisitorTouches("KA-1", "v1", time.Time{}, time.Time{})
	if !errors.Is(err, errBadIndexValue) || !strings.Contains(err.Error(), "visitor v1 in KA-1") {
		t.Errorf("VisitorTouches = %v, want errBadIndexValue naming the visitor", err)
	}
}
