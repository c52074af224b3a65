package delivery

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// memOutbox is an in-memory Outbox for the tests: Due as the contract
// says (oldest first by ID, at most the first undelivered entry of each
// order, only when its NextTry has come), and a record of every call.
type memOutbox struct {
	mu        sync.Mutex
	entries   []*Entry // by ID
	delivered []string
	retries   []retryCall
	dead      []DeadLetter
	dueErrs   int // Due fails this many more times
	resumes   int // calls of Resume
}

type retryCall struct {
	ID       string
	Attempts int
	Next     time.Time
	Reason   string
}

func (m *memOutbox) add(es ...Entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range es {
		i, _ := slices.BinarySearchFunc(m.entries, e.ID, func(x *Entry, id string) int { return strings.Compare(x.ID, id) })
		m.entries = slices.Insert(m.entries, i, &e)
	}
}

func (m *memOutbox) Due(now time.Time, limit int) ([]Entry, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dueErrs > 0 {
		m.dueErrs--
		return nil, time.Time{}, fmt.Errorf("disk on fire")
	}
	var out []Entry
	var next time.Time
	seen := map[string]bool{}
	for _, e := range m.entries {
		if len(out) == limit {
			break
		}
		k := orderKey(*e)
		if seen[k] {
			continue
		}
		seen[k] = true
		if e.NextTry.After(now) {
			if next.IsZero() || e.NextTry.Before(next) {
				next = e.NextTry
			}
			continue
		}
		out = append(out, *e)
	}
	return out, next, nil
}

func (m *memOutbox) find(id string) (int, error) {
	for i, e := range m.entries {
		if e.ID == id {
			return i, nil
		}
	}
	return -1, fmt.Errorf("no entry %q", id)
}

func (m *memOutbox) Delivered(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.find(id)
	if err != nil {
		return err
	}
	m.entries = slices.Delete(m.entries, i, i+1)
	m.delivered = append(m.delivered, id)
	return nil
}

func (m *memOutbox) Retry(id string, attempts int, next time.Time, reason string, notBefore, holdUntil time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.find(id)
	if err != nil {
		return err
	}
	e := m.entries[i]
	e.Attempts, e.NextTry, e.LastErr, e.NotBefore, e.HoldUntil = attempts, next, reason, notBefore, holdUntil
	m.retries = append(m.retries, retryCall{id, attempts, next, reason})
	return nil
}

func (m *memOutbox) Waiting(now time.Time) (waiting bool, hold time.Time, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.entries {
		if !e.NextTry.After(now) {
			continue
		}
		waiting = true
		if e.HoldUntil.After(now) && e.HoldUntil.After(hold) {
			hold = e.HoldUntil
		}
	}
	return waiting, hold, nil
}

func (m *memOutbox) Resume(now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, e := range m.entries {
		if at := later(now, e.NotBefore); e.NextTry.After(at) {
			e.NextTry = at
			n++
		}
	}
	m.resumes++
	return n, nil
}

func (m *memOutbox) Dead(id string, httpStatus int, body string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i, err := m.find(id)
	if err != nil {
		return err
	}
	m.dead = append(m.dead, DeadLetter{Entry: *m.entries[i], HTTPStatus: httpStatus, Body: body, Died: at})
	m.entries = slices.Delete(m.entries, i, i+1)
	return nil
}

func (m *memOutbox) isDelivered(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Contains(m.delivered, id)
}

func (m *memOutbox) pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// TestMemOutboxDue checks the fake itself keeps the contract the loop
// relies on.
func TestMemOutboxDue(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	m := &memOutbox{}
	m.add(
		Entry{ID: "003", Bucket: "b", OrderID: "A", Kind: KindStatus, NextTry: t0},
		Entry{ID: "001", Bucket: "b", OrderID: "A", Kind: KindOrder, NextTry: t0.Add(time.Minute)},
		Entry{ID: "002", Bucket: "b", OrderID: "B", Kind: KindOrder, NextTry: t0},
		Entry{ID: "004", Bucket: "c", OrderID: "A", Kind: KindOrder, NextTry: t0},
	)
	ids := func(es []Entry) (s []string) {
		for _, e := range es {
			s = append(s, e.ID)
		}
		return s
	}
	due, _, _ := m.Due(t0, 10)
	if got, want := ids(due), []string{"002", "004"}; !slices.Equal(got, want) {
		t.Errorf("Due at t0 = %v, want %v (003 waits for 001, which is not due)", got, want)
	}
	due, _, _ = m.Due(t0.Add(time.Minute), 10)
	if got, want := ids(due), []string{"001", "002", "004"}; !slices.Equal(got, want) {
		t.Errorf("Due a minute later = %v, want %v", got, want)
	}
	due, _, _ = m.Due(t0.Add(time.Minute), 1)
	if got, want := ids(due), []string{"001"}; !slices.Equal(got, want) {
		t.Errorf("Due limit 1 = %v, want %v", got, want)
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
