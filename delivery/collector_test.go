package delivery

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// collector is a local Katalys stand-in: it records every payload it is
// posted and answers as answer says (nil answers 200 "ok").
type collector struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
	answer   func(n int, p map[string]any, w http.ResponseWriter, r *http.Request)
}

type received struct {
	Payload     map[string]any
	ContentType string
	Method      string
	UserAgent   string
	Note        any // what answer chose to remember of the moment
}

func newCollector(t testing.TB, answer func(n int, p map[string]any, w http.ResponseWriter, r *http.Request)) *collector {
	c := &collector{answer: answer}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var p map[string]any
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, "not JSON: "+err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		n := len(c.requests)
		c.requests = append(c.requests, received{p, r.Header.Get("Content-Type"), r.Method, r.UserAgent(), nil})
		c.mu.Unlock()
		if c.answer == nil {
			_, _ = io.WriteString(w, "ok")
			return
		}
		c.answer(n, p, w, r)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) note(n int, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests[n].Note = v
}

func (c *collector) received() []received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]received(nil), c.requests...)
}
