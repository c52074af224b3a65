package delivery

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSenderPostsJSON(t *testing.T) {
	c := newCollector(t, nil)
	s := &Sender{Endpoint: c.URL + "/v2/_tr_offline", UserAgent: "caddy-katalys/test"}
	o := s.Send(t.Context(), map[string]any{"site_id": "KA-1", "order_id": "42", "sale_amount": 12.5, "line_item_1_qty": 2})
	if !o.Delivered || o.Retry || o.Err != nil || o.HTTPStatus != 200 || o.Body != "ok" {
		t.Fatalf("Send = %+v, want delivered with HTTP 200 ok", o)
	}
	got := c.received()
	if len(got) != 1 {
		t.Fatalf("collector got %d requests, want 1", len(got))
	}
	r := got[0]
	if r.Method != http.MethodPost || r.ContentType != "application/json" || r.UserAgent != "caddy-katalys/test" {
		t.Errorf("request = %s %q %q, want POST application/json caddy-katalys/test", r.Method, r.ContentType, r.UserAgent)
	}
	want := map[string]any{"site_id": "KA-1", "order_id": "42", "sale_amount": 12.5, "line_item_1_qty": 2.0}
	for k, v := range want {
		if r.Payload[k] != v {
			t.Errorf("payload %s = %#v, want %#v", k, r.Payload[k], v)
		}
	}
	if len(r.Payload) != len(want) {
		t.Errorf("payload = %v, want %v", r.Payload, want)
	}
}

func TestSenderClassifiesAnswers(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		status     int
		retryAfter string
		body       string
		want       string // delivered, retry or dead
		wantAfter  time.Duration
	}{
		{200, "", "ok", "delivered", 0},
		{201, "", "", "delivered", 0},
		{204, "", "", "delivered", 0},
		{400, "", `{"error":"site_id is required"}`, "dead", 0},
		{401, "", "no", "dead", 0},
		{403, "", "", "dead", 0},
		{404, "", "not found", "dead", 0},
		{410, "", "", "dead", 0},
		{422, "", "", "dead", 0},
		{408, "", "", "retry", 0},
		{429, "120", "slow down", "retry", 2 * time.Minute},
		{429, now.Add(90 * time.Second).Format(http.TimeFormat), "", "retry", 90 * time.Second},
		{500, "", "boom", "retry", 0},
		{502, "", "", "retry", 0},
		{503, "30", "maintenance", "retry", 30 * time.Second},
		{504, "", "", "retry", 0},
		{301, "", "", "retry", 0}, // a redirect that would lose the POST body is not followed
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			c := newCollector(t, func(_ int, _ map[string]any, w http.ResponseWriter, _ *http.Request) {
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				if tt.status == 301 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			s := &Sender{Endpoint: c.URL, Now: func() time.Time { return now }}
			o := s.Send(t.Context(), map[string]any{"order_id": "1"})
			got := "dead"
			if o.Delivered {
				got = "delivered"
			} else if o.Retry {
				got = "retry"
			}
			if got != tt.want || o.Dead() != (tt.want == "dead") {
				t.Errorf("HTTP %d: %s (%+v), want %s", tt.status, got, o, tt.want)
			}
			if o.HTTPStatus != tt.status || o.Body != tt.body || o.RetryAfter != tt.wantAfter {
				t.Errorf("HTTP %d: outcome status %d body %q retry-after %s, want %d %q %s",
					tt.status, o.HTTPStatus, o.Body, o.RetryAfter, tt.status, tt.body, tt.wantAfter)
			}
			if (o.Err == nil) != o.Delivered {
				t.Errorf("HTTP %d: Err = %v, want an error exactly when not delivered", tt.status, o.Err)
			}
			if len(c.received()) != 1 {
				t.Errorf("HTTP %d: collector got %d requests, want 1", tt.status, len(c.received()))
			}
		})
	}
}

func TestSenderBodyExcerpt(t *testing.T) {
	long := strings.Repeat("é", 600) // 1200 bytes; 512 cuts a rune in two
	c := newCollector(t, func(_ int, _ map[string]any, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, long, http.StatusBadRequest)
	})
	o := (&Sender{Endpoint: c.URL}).Send(t.Context(), map[string]any{"order_id": "1"})
	if !o.Dead() || o.HTTPStatus != 400 {
		t.Fatalf("Send = %+v, want dead with HTTP 400", o)
	}
	if len(o.Body) > 512 || len(o.Body) < 500 || !strings.HasPrefix(long, o.Body) {
		t.Errorf("body excerpt is %d bytes (%q…), want the first ≤ 512 bytes, whole runes", len(o.Body), o.Body[:20])
	}
	if r := o.Reason(); !strings.Contains(r, "HTTP 400") || !strings.Contains(r, "éé") {
		t.Errorf("Reason() = %q, want the status and the body", r)
	}
}

func TestSenderTimesOutHangingCollector(t *testing.T) {
	release := make(chan struct{})
	c := newCollector(t, func(_ int, _ map[string]any, w http.ResponseWriter, r *http.Request) {
		select { // hang until the client gives up
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	o := (&Sender{Endpoint: c.URL, Timeout: 50 * time.Millisecond}).Send(t.Context(), map[string]any{"order_id": "1"})
	if o.Delivered || !o.Retry || o.HTTPStatus != 0 {
		t.Fatalf("Send = %+v, want a retry without an answer", o)
	}
	if o.Err == nil || !strings.Contains(o.Err.Error(), "timed out after 50ms") {
		t.Errorf("Err = %v, want it to say it timed out", o.Err)
	}
}

func TestSenderNetworkErrorRetries(t *testing.T) {
	c := newCollector(t, nil)
	url := c.URL
	c.Close() // nothing listens there any more
	o := (&Sender{Endpoint: url}).Send(t.Context(), map[string]any{"order_id": "1"})
	if o.Delivered || !o.Retry || o.HTTPStatus != 0 || o.Err == nil {
		t.Fatalf("Send = %+v, want a retry with an error", o)
	}
}

func TestSenderCancelledContextRetries(t *testing.T) {
	c := newCollector(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	o := (&Sender{Endpoint: c.URL}).Send(ctx, map[string]any{"order_id": "1"})
	if o.Delivered || !o.Retry {
		t.Fatalf("Send = %+v, want a retry", o)
	}
}

func TestSenderUnencodablePayloadIsFinal(t *testing.T) {
	o := (&Sender{Endpoint: "http://127.0.0.1:1"}).Send(t.Context(), map[string]any{"bad": func() {}})
	if !o.Dead() || o.Err == nil {
		t.Fatalf("Send = %+v, want a final failure", o)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{" 5 ", 5 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"99999999999999999999", 0}, // does not fit: unreadable
		{"999999999", MaxRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{now.Add(30 * 24 * time.Hour).Format(http.TimeFormat), MaxRetryAfter},
		{now.Add(45 * time.Second).Format(time.RFC850), 45 * time.Second},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.header, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tt.header, got, tt.want)
		}
	}
}
