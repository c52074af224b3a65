package storage

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"time"
)

// Key layout (schema version 1):
//
//	e/<bucket>\x00<suffix>               event log; value: the Event as JSON
//	v/<bucket>\x00<visitor>\x00<suffix>  per-visitor index; value: a click's touch, or a mark (index.go)
//	o/<bucket>\x00<order id>             order (orders.go); value: the Order as JSON
//	a/<bucket>\x00<order id>             its attribution; value: the current decision as JSON
//	h/<bucket>\x00<order id>\x00<rev>    a decision it replaced; value: an attribution.Result as JSON
//	meta/schema                          schema version
//	meta/outbox-seq                      the last outbox sequence number; big-endian uint64
//	x/<seq>                              outbox entry (outbox.go); value: a delivery.Entry as JSON
//	xo/<bucket>\x00<order id>\x00<seq>   per-order index of the outbox; value: empty
//	xd/<seq>                             dead letter; value: a delivery.DeadLetter as JSON
//
// where seq is a big-endian uint64 from meta/outbox-seq, so outbox entries
// sort by creation; rev is a big-endian uint64 counting an order's replaced
// decisions; and suffix is 24 bytes: big-endian unix nanoseconds, a hash of the
// instance that recorded the event, and that instance's sequence number.
// Time first makes both the log and the index scan in time order; the
// instance hash keeps keys from different machines apart (DESIGN §5); the
// sequence keeps events of the same nanosecond apart. The \x00 after the
// bucket (and visitor) ends the name, so "KA-1" never matches "KA-10".
const suffixLen = 24

var schemaKey = []byte("meta/schema")

// errBadName rejects names that would break the \x00-terminated layout.
var errBadName = errors.New("bucket must be non-empty and neither bucket nor visitor may contain NUL")

func validNames(bucket, visitor string) bool {
	return bucket != "" && !strings.ContainsRune(bucket, 0) && !strings.ContainsRune(visitor, 0)
}

func eventPrefix(bucket string) []byte {
	return append([]byte("e/"+bucket), 0)
}

func visitorPrefix(bucket, visitor string) []byte {
	return append([]byte("v/"+bucket+"\x00"+visitor), 0)
}

// visitorsPrefix is the prefix of every per-visitor index entry of bucket.
func visitorsPrefix(bucket string) []byte {
	return []byte("v/" + bucket + "\x00")
}

func attributionKey(bucket, orderID string) []byte {
	return []byte("a/" + bucket + "\x00" + orderID)
}

func attributionPrefix(bucket string) []byte {
	return []byte("a/" + bucket + "\x00")
}

// historyPrefix is the prefix of the replaced decisions of one order; the
// keys under it that belong to that order are exactly 8 bytes longer (an id
// may itself hold a NUL).
func historyPrefix(bucket, orderID string) []byte {
	return []byte("h/" + bucket + "\x00" + orderID + "\x00")
}

func historyKey(bucket, orderID string, rev uint64) []byte {
	return binary.BigEndian.AppendUint64(historyPrefix(bucket, orderID), rev)
}

// eventKey is the event log key of an event: eventPrefix(bucket) and the
// suffix, in one allocation (it is built for every event recorded).
func eventKey(bucket string, nanos, inst, seq uint64) []byte {
	b := make([]byte, 0, len("e/")+len(bucket)+1+suffixLen)
	b = append(append(append(b, "e/"...), bucket...), 0)
	return appendSuffix(b, nanos, inst, seq)
}

// visitorKey is the per-visitor index key of an event: visitorPrefix(bucket,
// visitor) and the suffix, in one allocation.
func visitorKey(bucket, visitor string, nanos, inst, seq uint64) []byte {
	b := make([]byte, 0, len("v/")+len(bucket)+1+len(visitor)+1+suffixLen)
	b = append(append(append(append(append(b, "v/"...), bucket...), 0), visitor...), 0)
	return appendSuffix(b, nanos, inst, seq)
}

func appendSuffix(b []byte, nanos, inst, seq uint64) []byte {
	b = binary.BigEndian.AppendUint64(b, nanos)
	b = binary.BigEndian.AppendUint64(b, inst)
	return binary.BigEndian.AppendUint64(b, seq)
}

// timeKey is the 8-byte time part of a suffix. Times before 1970 (and the
// zero Time) sort first; they never occur in practice and must not wrap.
func timeKey(t time.Time) uint64 {
	if t.IsZero() || t.Before(time.Unix(0, 0)) {
		return 0
	}
	return uint64(t.UnixNano())
}

// rangeBounds turns Events' [from, to) into key times; a zero to means no end.
func rangeBounds(from, to time.Time) (lo, hi uint64) {
	lo, hi = timeKey(from), math.MaxUint64
	if !to.IsZero() {
		hi = timeKey(to)
	}
	return lo, hi
}

func seekKey(prefix []byte, nanos uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), prefix...), nanos)
}

// keyTime reads the time part of a key ending in a suffix.
func keyTime(key []byte) uint64 {
	return binary.BigEndian.Uint64(key[len(key)-suffixLen:])
}

var outboxSeqKey = []byte("meta/outbox-seq")

var (
	outboxPrefix     = []byte("x/")
	outboxDeadPrefix = []byte("xd/")
)

func outboxKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("x/"), seq)
}

func outboxDeadKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte("xd/"), seq)
}

// outboxOrderPrefix is the prefix of the outbox index keys of one order;
// the keys under it that belong to that order are exactly 8 bytes longer
// (an id may itself hold a NUL).
func outboxOrderPrefix(bucket, orderID string) []byte {
	return []byte("xo/" + bucket + "\x00" + orderID + "\x00")
}

func outboxOrderKey(bucket, orderID string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(outboxOrderPrefix(bucket, orderID), seq)
}
