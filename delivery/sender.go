package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultEndpoint is where payloads go unless configured otherwise: the
// endpoint the KB documents for a POST of a JSON payload (katalys.md §4.1).
const DefaultEndpoint = "https://db.revoffers.com/v2/_tr_offline"

// DefaultTimeout bounds one attempt unless configured otherwise; the
// Magento plugin uses the same.
const DefaultTimeout = 15 * time.Second

// MaxRetryAfter bounds how long a Retry-After answer can hold an entry
// back, so that a wrong header cannot park deliveries for months.
const MaxRetryAfter = 24 * time.Hour

// maxExcerpt bounds Outcome.Body.
const maxExcerpt = 512

// Sender posts payloads to Katalys. Its zero value posts to DefaultEndpoint
// with DefaultTimeout. It is safe for concurrent use and must not be
// copied after first use.
type Sender struct {
	Endpoint  string        // "" is DefaultEndpoint
	Client    *http.Client  // nil is a client of the Sender's own
	Timeout   time.Duration // per attempt, answer included; 0 is DefaultTimeout
	UserAgent string        // "" is "caddy-katalys"
	// Now is the clock Retry-After dates are read against; nil is
	// time.Now.
	Now func() time.Time

	once   sync.Once
	client *http.Client
}

// Outcome is what became of one attempt.
type Outcome struct {
	Delivered  bool          // Katalys answered 2xx
	Retry      bool          // not delivered, try again later (5xx, 408, 429, timeout, network error)
	RetryAfter time.Duration // what the answer's Retry-After asked for; 0 when none
	HTTPStatus int           // 0 when there was no answer
	Body       string        // an excerpt of the answer, at most 512 bytes
	Err        error         // why it was not delivered; nil when it was
}

// Dead tells whether the attempt failed for good (neither delivered nor
// to be retried): Katalys refused the payload.
func (o Outcome) Dead() bool { return !o.Delivered && !o.Retry }

// Reason is a one-line account of a failed attempt, for LastErr and the
// logs: the error and the excerpt of the answer.
func (o Outcome) Reason() string {
	if o.Delivered {
		return ""
	}
	r := "not delivered"
	if o.Err != nil {
		r = o.Err.Error()
	}
	if b := strings.Join(strings.Fields(o.Body), " "); b != "" {
		r += ": " + b
	}
	return r
}

// Send posts payload as JSON and tells what became of it: a 2xx answer is
// delivered; 5xx, 408, 429, timeouts and network errors are to be retried
// (as is any answer that is neither 2xx nor 4xx, such as a redirect the
// client did not follow); any other 4xx is a refusal, which is final. A
// payload that cannot be encoded is final too. The attempt is bounded by
// Timeout as well as by ctx.
func (s *Sender) Send(ctx context.Context, payload map[string]any) Outcome {
	body, err := json.Marshal(payload)
	if err != nil {
		return Outcome{Err: fmt.Errorf("encoding the payload: %w", err)}
	}
	endpoint := s.Endpoint
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return Outcome{Err: fmt.Errorf("building the request to %s: %w", endpoint, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/plain, */*")
	ua := s.UserAgent
	if ua == "" {
		ua = "caddy-katalys"
	}
	req.Header.Set("User-Agent", ua)

	resp, err := s.httpClient().Do(req)
	if err != nil {
		return Outcome{Retry: true, Err: s.failure(ctx, endpoint, timeout, err)}
	}
	defer resp.Body.Close()
	excerpt, rerr := io.ReadAll(io.LimitReader(resp.Body, maxExcerpt))
	// Read a little more so the connection can be reused; a long answer
	// is not worth reading to the end.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))

	o := Outcome{HTTPStatus: resp.StatusCode, Body: strings.TrimSpace(strings.ToValidUTF8(string(excerpt), ""))}
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		o.Delivered = true
		return o
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500 || code < 400:
		o.Retry = true
		o.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), s.now())
		o.Err = fmt.Errorf("%s answered HTTP %d", endpoint, code)
	default:
		o.Err = fmt.Errorf("%s refused the payload: HTTP %d", endpoint, code)
	}
	if rerr != nil && o.Body == "" {
		o.Body = "(reading the answer: " + rerr.Error() + ")"
	}
	return o
}

// failure words the error of an attempt that got no answer.
func (s *Sender) failure(ctx context.Context, endpoint string, timeout time.Duration, err error) error {
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("posting to %s: timed out after %s: %w", endpoint, timeout, err)
	}
	return fmt.Errorf("posting to %s: %w", endpoint, err)
}

func (s *Sender) httpClient() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	s.once.Do(func() {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64 // the loop posts concurrently to one host
		s.client = &http.Client{
			Transport: t,
			// Follow up to two redirects, as the official plugins do,
			// but only those that keep the POST and its body (307,
			// 308): a 301/302/303 would turn it into a GET whose 2xx
			// says nothing of the payload. The redirect answer is then
			// the outcome (retried).
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if req.Method != http.MethodPost || len(via) > 2 {
					return http.ErrUseLastResponse
				}
				return nil
			},
		}
	})
	return s.client
}

func (s *Sender) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date read
// against now. It is 0 when absent, unreadable or past, and at most
// MaxRetryAfter.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(h, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs >= int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}
