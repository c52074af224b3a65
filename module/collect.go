package module

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/storeedge/caddy-katalys/storage"
	"github.com/storeedge/caddy-katalys/tracking"
)

// DefaultEndpoint is the default path prefix of the first-party endpoints.
const DefaultEndpoint = "/_katalys"

// Limits of the collect endpoint.
const (
	// maxCollectBody bounds a collect request's body.
	maxCollectBody = 64 << 10
	// maxCollectEvents bounds the events of one collect request.
	maxCollectEvents = 100
	// maxCollectInFlight bounds the collect requests one handler serves at
	// once (each may wait for a commit); past it requests get 429.
	maxCollectInFlight = 256
)

// CheckEndpoint reports why p cannot be an endpoint: it must be empty (the
// default) or an absolute path without white space, query or placeholder.
func CheckEndpoint(p string) error {
	if p == "" {
		return nil
	}
	switch {
	case !strings.HasPrefix(p, "/"):
		return errors.New("must be a path starting with /")
	case strings.HasPrefix(p, "//"):
		return errors.New("must be a path, not a protocol-relative URL")
	case strings.ContainsAny(p, "?#{}*"):
		return errors.New("must be a plain path (no query, fragment, placeholder or wildcard)")
	case strings.IndexFunc(p, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return errors.New("white space or control character in path")
	case strings.ContainsRune(p, '%'):
		// Requests are matched on their decoded path, which never holds
		// an escape: /k%20x would answer at /k%2520x/e only.
		return errors.New("must be a plain path, not percent-encoded")
	case path.Clean(p) != strings.TrimSuffix(p, "/") && path.Clean(p) != p:
		return fmt.Errorf("must be a clean path (%s), not one with . or .. or // in it", path.Clean(p))
	}
	return nil
}

// serveCollect answers POST {endpoint}/e: one event (a JSON object) or
// several (an array), stored in the bucket of the site. 204 is sent only
// once the store has committed the batch holding the events; the request
// never goes on to the rest of the route.
func (h *Handler) serveCollect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		collectError(w, http.StatusMethodNotAllowed, "method not allowed: events are POSTed")
		return
	}
	select {
	case h.inflight <- struct{}{}:
		defer func() { <-h.inflight }()
	default:
		w.Header().Set("Retry-After", "1")
		collectError(w, http.StatusTooManyRequests, "too many event requests at once")
		return
	}
	st, ok := h.siteFor(r)
	if !ok {
		collectError(w, http.StatusNotFound, "this site has no Katalys bucket")
		return
	}
	store := h.app.Store()
	if store == nil {
		collectError(w, http.StatusServiceUnavailable, "storage not ready")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCollectBody))
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			collectError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", maxCollectBody))
			return
		}
		collectError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	evs, err := tracking.DecodeCollect(body, maxCollectEvents)
	if err != nil {
		var de *tracking.DecodeError
		if errors.As(err, &de) && de.Status != 0 {
			collectError(w, de.Status, de.Reason)
			return
		}
		collectError(w, http.StatusBadRequest, err.Error())
		return
	}
	now := time.Now()
	v := tracking.Observe(r, clientIP(r), now, h.app.Policy(st.bucket), false)
	if v.Skip == tracking.SkipPrivacy {
		// The visitor opted out: accepted, nothing kept.
		metrics.notRecorded.WithLabelValues(tracking.SkipPrivacy).Inc()
		collectDone(w)
		return
	}
	events := make([]storage.Event, len(evs))
	for i, ev := range evs {
		fields := make(map[string]string, len(ev.Fields)+2)
		maps.Copy(fields, ev.Fields)
		// What the server knows wins over what the payload says.
		delete(fields, "client_ip")
		setNonEmpty(fields, "client_ip", v.ClientIP)
		if _, ok := fields["user_agent"]; !ok {
			setNonEmpty(fields, "user_agent", r.UserAgent())
		}
		events[i] = storage.Event{
			Bucket:  st.bucket,
			Time:    now,
			Type:    ev.Action,
			Visitor: v.Visitor,
			Session: v.Session,
			Fields:  fields,
		}
	}
	if err := store.Write(r.Context(), events); err != nil {
		reason := "write_error"
		if errors.Is(err, storage.ErrLowDisk) || errors.Is(err, storage.ErrDirGone) {
			reason = dropLowDisk
		}
		for _, ev := range events {
			metrics.dropped.WithLabelValues(typeLabel(ev.Type), reason).Inc()
		}
		h.logger.Warn("collect: events not stored",
			zap.String("host", r.Host), zap.String("bucket", st.bucket),
			zap.Int("events", len(events)), zap.Error(err))
		collectError(w, http.StatusServiceUnavailable, "events could not be stored")
		return
	}
	for _, ev := range events {
		metrics.recorded.WithLabelValues(typeLabel(ev.Type)).Inc()
	}
	collectDone(w)
}

// collectDone answers a collect request whose events are stored.
func collectDone(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	metrics.collect.WithLabelValues(strconv.Itoa(http.StatusNoContent)).Inc()
}

// collectError answers a collect request with status and a JSON
// {"error": reason}.
func collectError(w http.ResponseWriter, status int, reason string) {
	body, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{reason})
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
	metrics.collect.WithLabelValues(strconv.Itoa(status)).Inc()
}
