package integration

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/net/websocket"
)

// TestStreamingPage: a chunked upstream flushes the page's head, thinks for
// 1.5 s, then sends the rest. The client has the first bytes before the
// upstream even resumes, and the finished page carries the snippet once.
// Rows: an uncompressed upstream, one that gzips because Go's transport asks
// for it, and one that gzips whatever it is asked.
func TestStreamingPage(t *testing.T) {
	const sleep = 1500 * time.Millisecond
	head := "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Your order</title></head>\n"
	rest := "<body>\n<h1>Your order is being prepared</h1>\n" +
		strings.Repeat("<p class=\"line\">Kestrel Mk-II 1/100 Model Kit &times; 1</p>\n", 40) +
		"</body>\n</html>\n"
	want := head + wantInjected(t, rest, wantSnippet(siteA, ""))

	type variant struct{ name, gzipWhen string }
	variants := []variant{{"identity", "never"}, {"gzip honouring Accept-Encoding", "asked"}, {"gzip forced", "always"}}
	resumed := map[string]chan time.Time{}
	mux := http.NewServeMux()
	for _, v := range variants {
		path := "/stream/" + v.gzipWhen
		resumed[path] = make(chan time.Time, 1)
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			var out io.Writer = w
			var zw *gzip.Writer
			if v.gzipWhen == "always" || (v.gzipWhen == "asked" && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")) {
				w.Header().Set("Content-Encoding", "gzip")
				zw = gzip.NewWriter(w)
				out = zw
			}
			rc := http.NewResponseController(w)
			_, _ = io.WriteString(out, head)
			if zw != nil {
				_ = zw.Flush()
			}
			_ = rc.Flush()
			time.Sleep(sleep)
			select {
			case resumed[path] <- time.Now():
			default:
			}
			_, _ = io.WriteString(out, rest)
			if zw != nil {
				_ = zw.Close()
			}
		})
	}
	up := startUpstream(t, mux)
	port := freePort(t)
	startCaddy(t, globalBuckets+katalysSite(port, siteA, "", hostPort(up)))

	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			path := "/stream/" + v.gzipWhen
			resp, err := client.Do(newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d%s", port, path)))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			first := make([]byte, 1)
			if _, err := io.ReadFull(resp.Body, first); err != nil {
				t.Fatalf("reading the first byte: %v", err)
			}
			tFirst := time.Now()
			restRaw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("reading the body: %v", err)
			}
			tEnd := time.Now()
			var tResumed time.Time
			select {
			case tResumed = <-resumed[path]:
			case <-time.After(5 * time.Second):
				t.Fatal("upstream never resumed")
			}

			if !tFirst.Before(tResumed) {
				t.Errorf("first byte reached the client %v after the upstream resumed writing: the flushed head was held back", tFirst.Sub(tResumed))
			}
			if gap := tEnd.Sub(tFirst); gap < sleep/2 {
				t.Errorf("first byte arrived only %v before the end of the body; the upstream paused %v between head and body", gap, sleep)
			}
			ce := resp.Header.Get("Content-Encoding")
			body := decodeBody(t, ce, append(first, restRaw...))
			if n := countSnippets(body); n != 1 {
				t.Errorf("%d snippets, want 1", n)
			}
			checkInjected(t, v.name, body, want)
			t.Logf("first byte %v before the upstream resumed; whole body %v after the first byte; Content-Encoding %q",
				tResumed.Sub(tFirst).Round(time.Millisecond), tEnd.Sub(tFirst).Round(time.Millisecond), ce)
		})
	}
}

// TestServerSentEvents: an SSE stream passes through untouched and each
// event reaches the client when the upstream flushes it: the upstream sends
// the second event only after the client has read the first.
func TestServerSentEvents(t *testing.T) {
	ev1 := "id: 1\nevent: stock\ndata: {\"sku\":\"SB-TH28-OLV\",\"left\":3}\n\n"
	ev2 := "id: 2\nevent: banner\ndata: <div class=\"sale\">Sale ends tonight</div></body></html>\n\n"
	proceed := make(chan struct{})
	timedOut := make(chan bool, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		rc := http.NewResponseController(w)
		_, _ = io.WriteString(w, ev1)
		_ = rc.Flush()
		select {
		case <-proceed:
			timedOut <- false
		case <-time.After(10 * time.Second):
			timedOut <- true
		}
		_, _ = io.WriteString(w, ev2)
		_ = rc.Flush()
	})
	up := startUpstream(t, mux)
	port := freePort(t)
	startCaddy(t, globalBuckets+katalysSite(port, siteA, "", hostPort(up)))

	req := newRequest(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/events", port),
		"Accept", "text/event-stream", "Sec-Fetch-Dest", "empty", "Sec-Fetch-Mode", "cors", "Cache-Control", "no-cache")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	var got bytes.Buffer
	buf := make([]byte, 512)
	for !bytes.Contains(got.Bytes(), []byte("\n\n")) {
		n, err := resp.Body.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			break
		}
	}
	close(proceed)
	restBody, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	got.Write(restBody)
	if <-timedOut {
		t.Errorf("the first event did not reach the client until the upstream gave up waiting and sent the second: events are buffered")
	}
	if got.String() != ev1+ev2 {
		t.Errorf("stream = %q, want the upstream's %q", got.String(), ev1+ev2)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	if v := resp.Header.Values("Content-Length"); len(v) != 0 {
		t.Errorf("Content-Length %q on an event stream", v)
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" {
		t.Errorf("Content-Encoding %q on an event stream the upstream sent plain", ce)
	}
}

// TestWebSocket: a WebSocket upgrade through the katalys site works and its
// messages (HTML-looking ones too) echo back unchanged.
func TestWebSocket(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("/cart/live", websocket.Handler(func(ws *websocket.Conn) {
		_, _ = io.Copy(ws, ws)
	}))
	up := startUpstream(t, mux)
	port := freePort(t)
	startCaddy(t, globalBuckets+katalysSite(port, siteA, "", hostPort(up)))

	cfg, err := websocket.NewConfig(fmt.Sprintf("ws://127.0.0.1:%d/cart/live", port), fmt.Sprintf("http://127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
	cfg.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0.0.0")
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatalf("WebSocket handshake through Caddy failed: %v", err)
	}
	defer ws.Close()
	_ = ws.SetDeadline(time.Now().Add(10 * time.Second))
	for _, msg := range []string{
		"hello",
		"<html><head></head><body><p>cart: 2 items</p></body></html>",
		`{"op":"render","html":"</body>"}`,
	} {
		if err := websocket.Message.Send(ws, msg); err != nil {
			t.Fatalf("send: %v", err)
		}
		var echo string
		if err := websocket.Message.Receive(ws, &echo); err != nil {
			t.Fatalf("receive: %v", err)
		}
		if echo != msg {
			t.Errorf("echo = %q, want %q", echo, msg)
		}
	}
}
