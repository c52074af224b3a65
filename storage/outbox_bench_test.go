package storage

import (
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/storeedge/caddy-katalys/delivery"
)

// BenchmarkDueBacklog is one Due call on an outbox of 20,000 entries that
// all wait for a retry (Katalys is down): what the delivery loop pays each
// time a retry comes due during an outage.
func BenchmarkDueBacklog(b *testing.B) {
	s, err := Open(Options{Dir: b.TempDir(), Outbox: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	later := time.Now().Add(time.Hour)
	const n = 20000
	for start := 0; start < n; start += 1000 {
		err := s.db.Update(func(txn *badger.Txn) error {
			for i := start; i < start+1000; i++ {
				seq := uint64(i + 1)
				e := delivery.Entry{ID: entryID(seq), Bucket: "KA-7Q2M9X4B1Z", OrderID: fmt.Sprintf("ORD-%06d", i),
					Kind: delivery.KindOrder, Created: time.Now(), Attempts: 9, NextTry: later, LastErr: "503 Service Unavailable"}
				if err := setJSON(txn, outboxKey(seq), e); err != nil {
					return err
				}
				if err := txn.Set(outboxOrderKey(e.Bucket, e.OrderID, seq), nil); err != nil {
					return err
				}
			}
			return txn.Set(outboxSeqKey, binary.BigEndian.AppendUint64(nil, uint64(start+1000)))
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		due, next, err := s.Due(time.Now(), 4)
		if err != nil || len(due) != 0 || next.IsZero() {
			b.Fatalf("Due = %d entries, next %v, %v", len(due), next, err)
		}
	}
}
