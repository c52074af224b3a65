package module

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/storeedge/caddy-katalys/capture"
	"github.com/storeedge/caddy-katalys/inject"
)

// mode is what a responseWriter does with the body.
type mode uint8

const (
	modeUndecided mode = iota // no final status yet
	modePass                  // untouched: every call goes straight to the inner writer
	modeInject                // identity HTML: the body goes through the injector
	modeProbe                 // compressed HTML: the header waits until the body proves to decode
	modeDecode                // compressed HTML, decoded and injected
	modeFailed                // decoding or writing failed after the header went out
)

// maxProbe bounds the compressed bytes, and separately the decoded bytes,
// held while a compressed body is being checked. Past it the body is
// trusted to decode.
const maxProbe = 64 << 10

// responseWriter is the per-request writer of a page request. It decides
// at WriteHeader whether the response is a page to inject into; if not,
// it steps aside and the response goes out exactly as the next handler
// wrote it. All per-request state lives here, never on the Handler.
type responseWriter struct {
	*caddyhttp.ResponseWriterWrapper

	h    *Handler
	site site
	host string

	mode     mode
	status   int
	coding   string         // content coding being decoded, "" for identity
	xhtml    bool           // the page is application/xhtml+xml: XML snippet, read as XML
	inj      *inject.Writer // modeInject, modeDecode
	out      coalescer      // between the injector and the inner writer
	dec      *decoder       // modeProbe, modeDecode once body bytes came
	raw      []byte         // modeProbe: the compressed bytes so far
	decoded  []byte         // modeProbe: what they decoded to
	csp      http.Header    // the page's CSP headers as sendHeader will set them
	err      error          // modeFailed: why
	visit    *pageVisit     // the visit to record, nil when none
	order    *orderCapture  // a thank-you page's capture, nil on other pages
	paged    bool           // the response was committed as a page
	tee      bool           // a thank-you page passed through (no-transform, or fetched): its bytes still go to the order capture
	readOnly bool           // a fetched thank-you page: its order is read, nothing is added to it
	owner    *requestOwner  // who handles the request: a katalys further in may take it over
	finished bool           // the page was served whole

	// charset is set on a thank-you page in the single-byte charset its
	// header declares: what the capture keeps is decoded to UTF-8.
	charset *capture.Charset
}

func newResponseWriter(w http.ResponseWriter, h *Handler, st site, host string) *responseWriter {
	rw := &responseWriter{
		ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w},
		h:                     h,
		site:                  st,
		host:                  host,
	}
	rw.out.dst = w
	return rw
}

// WriteHeader decides what to do with the response. 1xx responses are not
// final and pass through. Only the first final status counts.
func (w *responseWriter) WriteHeader(status int) {
	if w.mode == modePass {
		w.ResponseWriter.WriteHeader(status) // let the inner writer judge late calls
		return
	}
	if w.mode != modeUndecided {
		return
	}
	if status >= 100 && status < 200 {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.status = status
	if !w.owner.ownedBy(w.h) {
		// A katalys nearer the upstream took the request over: its
		// response goes through as it wrote it.
		w.mode = modePass
		w.ResponseWriter.WriteHeader(status)
		return
	}
	coding, xhtml, reason := classify(status, w.Header())
	w.xhtml = xhtml
	if w.order != nil {
		ct := w.Header().Get("Content-Type")
		w.charset = capture.HeaderCharset(ct)
		// A charset the header declares, UTF-8 included, is the page's
		// whatever its <meta> says, as in a browser.
		w.order.headerCharset = capture.HeaderDeclaresCharset(ct)
	}
	if w.readOnly {
		w.mode = modePass
		w.tee = reason == "" && coding == ""
		w.endsWithOrder()
		w.ResponseWriter.WriteHeader(status)
		return
	}
	switch {
	case reason != "":
		w.pass(reason)
		// A thank-you page that forbids changes gets no snippet, but
		// reading its order changes nothing.
		w.tee = reason == passNoTransform && w.order != nil && len(w.Header()["Content-Encoding"]) == 0
		w.endsWithOrder()
		w.ResponseWriter.WriteHeader(status)
	case coding == "":
		_ = w.commit() // writes nothing but the header: no error
	default:
		// The header waits for the first bytes of the body: a body that is
		// not what its Content-Encoding says must go out untouched, with
		// its original header.
		w.coding = coding
		w.mode = modeProbe
	}
}

// Write routes p to the client, through the injector (and decoder) when
// the response is a page. It returns len(p) on success though it may
// write more (reverse_proxy treats less as io.ErrShortWrite).
func (w *responseWriter) Write(p []byte) (int, error) {
	if w.mode == modeUndecided {
		w.WriteHeader(http.StatusOK)
	}
	var n int
	var err error
	switch w.mode {
	case modeInject:
		n, err = w.page(p)
	case modeProbe:
		n, err = w.probe(p)
	case modeDecode:
		if err := w.dec.feed(p); err != nil {
			w.fail(err)
			return 0, w.err
		}
		n = len(p)
	case modeFailed:
		return 0, w.err
	default:
		if w.tee {
			w.keep(p)
		}
		return w.ResponseWriter.Write(p)
	}
	if err == nil && (w.mode == modeInject || w.mode == modeDecode) {
		if err = w.out.settle(); err != nil {
			w.fail(writeError{err})
			return 0, w.err
		}
	}
	return n, err
}

// ReadFrom keeps io.Copy (file_server's sendfile path) from bypassing
// Write: a page is copied through Write, and so is a no-transform
// thank-you page (for its order); another response passed through goes to
// the inner writer's ReadFrom, so sendfile still works for it.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.mode == modeUndecided {
		w.WriteHeader(http.StatusOK)
	}
	if w.mode == modePass && !w.tee {
		return w.ResponseWriterWrapper.ReadFrom(r)
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	// writerOnly hides ReadFrom from io.CopyBuffer, which would recurse.
	return io.CopyBuffer(writerOnly{w}, r, *bp)
}

// FlushError passes a flush on, after writing out what the writer holds
// (except the few bytes that may start </body>). Before the status is known
// a flush commits a 200, as it would without this writer. While a
// compressed body has not yet decoded to anything, there is nothing to
// flush and the header cannot go out yet, so the flush is dropped.
//
// The decoder goroutine never runs while this does (see decoder), so the
// inner writer is never used from two goroutines at once.
func (w *responseWriter) FlushError() error {
	if w.mode == modeUndecided {
		w.WriteHeader(http.StatusOK)
	}
	switch w.mode {
	case modeProbe:
		return nil
	case modeFailed:
		return w.err
	case modeInject, modeDecode:
		if err := w.out.flush(); err != nil {
			return err
		}
	}
	//nolint:bodyclose
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// finish ends the page once the next handler has returned without error:
// the injector gets its Close (the snippet goes at the end if no closing
// tag took it) and the outcome is counted.
func (w *responseWriter) finish() {
	if w.mode == modeProbe && w.dec == nil {
		// The body ended before it could be checked (or was empty).
		_ = w.giveUp(passUndecodable, nil)
		return
	}
	if w.dec != nil && (w.mode == modeProbe || w.mode == modeDecode) {
		err := w.dec.close()
		switch {
		case err != nil && w.mode == modeProbe:
			_ = w.giveUp(passUndecodable, nil)
			return
		case err != nil:
			w.fail(err)
		case w.mode == modeProbe:
			// A short page, decoded whole in the check.
			if err := w.commit(); err != nil {
				w.fail(writeError{err})
			}
		}
	}
	switch w.mode {
	case modeInject, modeDecode:
		err := w.inj.Close()
		if err == nil {
			err = w.out.flush()
		}
		if err != nil {
			w.fail(writeError{err})
			break
		}
		w.report()
	}
	if w.mode == modeFailed {
		// Headers and part of the body are out; end the response short
		// rather than let it look complete (reverse_proxy does the same).
		panic(http.ErrAbortHandler)
	}
}

// abandon is the error path: the next handler failed. Nothing of ours is
// added; bytes the handler wrote and we hold are written out, and a
// response whose header we were still holding gets no header from us, so
// the error routes can write theirs.
func (w *responseWriter) abandon() {
	switch w.mode {
	case modeProbe:
		w.stop()
		w.raw, w.decoded = nil, nil
	case modeInject, modeDecode:
		w.stop()
		if !w.out.started {
			// Nothing went out: leave the response to the error routes.
			w.out.discard()
			break
		}
		if w.inj.Abandon() == nil {
			_ = w.out.flush()
		}
	default:
		return
	}
	metrics.passed.WithLabelValues(passError).Inc()
}

// stop ends a decoder goroutine without letting it write. It is a no-op
// when there is none or it has ended.
func (w *responseWriter) stop() {
	if w.dec != nil {
		w.dec.abort()
	}
}

// probe handles body bytes of a compressed page while the header waits.
// The body is checked by decoding it: the decoded bytes are held until the
// decoder has used all input so far without error and asks for more (or
// has held maxProbe bytes); then the response commits to being a page.
// Decoders flush what they have on an error, so output alone proves
// nothing. A body that fails first is passed through as it came, so the
// compressed bytes are held too (those of earlier writes; p is still the
// caller's), at most maxProbe of them: past that the body is trusted.
func (w *responseWriter) probe(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if w.dec == nil {
		need := magicLen(w.coding)
		if len(w.raw)+len(p) < need {
			w.raw = append(w.raw, p...)
			return len(p), nil
		}
		head := append(w.raw[:len(w.raw):len(w.raw)], p[:need-len(w.raw)]...)
		if !plausible(w.coding, head) {
			return w.undecodable(p)
		}
		w.dec = startDecoder(w.coding, head, w.writeDecoded)
		if err := w.dec.feed(w.raw); err != nil {
			return w.decodeError(p, err)
		}
	}
	if err := w.dec.feed(p); err != nil {
		return w.decodeError(p, err)
	}
	switch {
	case w.mode != modeProbe:
		// The decoded bytes outgrew maxProbe: committed during the feed.
	case len(w.decoded) > 0 || len(w.raw)+len(p) > maxProbe:
		if err := w.commit(); err != nil {
			w.fail(writeError{err})
			return 0, w.err
		}
	default:
		w.raw = append(w.raw, p...)
	}
	return len(p), nil
}

// decodeError handles a decoder error met while writing p: before the
// header went out the body passes through as it came; after, the response
// fails.
func (w *responseWriter) decodeError(p []byte, err error) (int, error) {
	if w.mode == modeProbe {
		return w.undecodable(p)
	}
	w.fail(err)
	return 0, w.err
}

// undecodable passes the body through untouched, p being the bytes of the
// current write.
func (w *responseWriter) undecodable(p []byte) (int, error) {
	if err := w.giveUp(passUndecodable, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeDecoded is the decoder's sink; it runs in the decoder goroutine
// while the request goroutine waits in feed or finish. While probing it
// holds the decoded bytes, up to maxProbe.
func (w *responseWriter) writeDecoded(p []byte) (int, error) {
	if w.mode == modeProbe {
		if len(w.decoded)+len(p) <= maxProbe {
			w.decoded = append(w.decoded, p...)
			return len(p), nil
		}
		if err := w.commit(); err != nil {
			return 0, writeError{err}
		}
	}
	n, err := w.page(p)
	if err != nil {
		return n, writeError{err}
	}
	return n, nil
}

// page writes decoded page bytes through the injector, keeping them for
// the order on a thank-you page.
func (w *responseWriter) page(p []byte) (int, error) {
	if w.order != nil {
		w.keep(p)
	}
	return w.inj.Write(p)
}

// keep keeps p for the order, in UTF-8 when the header declares a
// single-byte charset (capture reads UTF-8; a page whose <meta> declares
// the charset is decoded by capture itself). The page served is p as it
// came.
func (w *responseWriter) keep(p []byte) {
	if w.charset != nil {
		p = w.charset.Decode(p)
	}
	w.order.add(p)
}

// writeError marks an error of the inner writer (usually a client that
// went away) among the decoder's errors.
type writeError struct{ error }

func (e writeError) Unwrap() error { return e.error }

// commit makes the response a page: sets up the injector and writes on
// what was decoded while probing. The header goes out with the first bytes
// that leave the coalescer (see sendHeader), so that a page found to load
// the Katalys script already in its first write keeps its header as is.
func (w *responseWriter) commit() error {
	w.paged = true
	if w.visit != nil {
		for _, c := range w.visit.Cookies {
			if v := c.String(); v != "" {
				w.Header().Add("Set-Cookie", v)
			}
		}
	}
	w.mode = modeInject
	if w.coding != "" {
		w.mode = modeDecode
	}
	w.raw = nil
	w.inj = inject.NewWriter(&w.out, w.snippetHTML(w.Header()))
	if w.xhtml {
		w.inj.ReadAsXML()
	}
	if w.order != nil && w.charset == nil {
		// The scripts the injector finds are where they are in the page
		// as served: in a page the capture decodes, they move.
		w.inj.RecordScripts()
		w.order.inj = w.inj
	}
	if w.converts() {
		w.inj.After = w.convertCall
	}
	w.out.start = w.sendHeader
	decoded := w.decoded
	w.decoded = nil
	if len(decoded) == 0 {
		return nil
	}
	_, err := w.page(decoded)
	return err
}

// sendHeader writes the header on, just before the first body bytes. A
// page found to load the Katalys script already by then (in its first
// write, typically the <head>), or to end unfinished (a short page held
// whole), keeps the upstream's header; otherwise the header is fixed for
// the new body, even if the script turns up later and the body passes
// unchanged after all (README: the page keeps its body).
func (w *responseWriter) sendHeader() {
	hdr := w.Header()
	if res := w.inj.Result(); w.coding != "" || !(res.Existing || res.Unfinished) {
		// The length changes; ranges of the new body are unknown; the bytes
		// differ from the upstream's but mean the same: a weak validator
		// (RFC 9110 §8.8.1), which If-None-Match compares weakly, so
		// upstream 304s keep working.
		hdr.Del("Content-Length")
		hdr.Del("Accept-Ranges")
		if etag := hdr.Get("Etag"); etag != "" && !strings.HasPrefix(etag, "W/") {
			hdr.Set("Etag", "W/"+etag)
		}
		if w.coding != "" {
			hdr.Del("Content-Encoding")
		}
		for key, values := range w.csp {
			hdr[key] = values
		}
	}
	w.csp = nil
	w.endsWithOrder()
	w.ResponseWriter.WriteHeader(w.status)
}

// endsWithOrder drops the Content-Length of a thank-you page whose order is
// read, so that its body ends (the last chunk goes out) only when the
// handler returns, once the order is stored: with a length, the browser has
// the page whole before that, and a crash in between loses the order
// (durability QA, 2026-11-25). The body's bytes are the upstream's still.
func (w *responseWriter) endsWithOrder() {
	if w.order != nil && (w.tee || w.mode != modePass) {
		w.Header().Del("Content-Length")
	}
}

// snippetHTML returns the markup to insert and keeps, for sendHeader,
// every Content-Security-Policy of the response changed to allow it: with
// the page's script nonce when it has one, else with the snippet's hash and
// the script's origin (see inject.Allow).
func (w *responseWriter) snippetHTML(hdr http.Header) []byte {
	const csp, cspReportOnly = "Content-Security-Policy", "Content-Security-Policy-Report-Only"
	newSnippet := inject.NewSnippet
	if w.converts() {
		newSnippet = inject.NewThankYouSnippet
	}
	if len(hdr[csp]) == 0 && len(hdr[cspReportOnly]) == 0 {
		if w.converts() {
			return w.markup(w.h.snippets.thankYou(w.site.bucket))
		}
		return w.markup(w.site.snippet)
	}
	// The enforced policy decides how the snippet is allowed; a
	// report-only one, alone, stands for it. One that trusts only what
	// trusted scripts add needs the loader, whatever nonce another has:
	// the loader's hash goes into every policy (Allow). A report-only nonce is used
	// when the enforced policy neither has one nor needs the loader: the
	// enforced policy then gets the hash (Allow), and the trial policy
	// reports nothing.
	governing := hdr[csp]
	if len(governing) == 0 {
		governing = hdr[cspReportOnly]
	}
	nonce, loader := "", false
	for _, v := range governing {
		if nonce == "" {
			nonce = inject.Nonce(v)
		}
		loader = loader || inject.NeedsLoader(v)
	}
	for _, v := range hdr[cspReportOnly] {
		if nonce == "" && !loader {
			nonce = inject.Nonce(v)
		}
	}
	var s inject.Snippet
	if loader {
		s, nonce = inject.NewLoaderSnippet(w.site.bucket, w.h.ScriptSrc, w.converts()), ""
	} else {
		s = newSnippet(w.site.bucket, w.h.ScriptSrc, nonce)
	}
	w.csp = make(http.Header, 2)
	for _, key := range [...]string{csp, cspReportOnly} {
		if len(hdr[key]) == 0 {
			continue
		}
		values := make([]string, len(hdr[key]))
		for i, v := range hdr[key] {
			values[i] = inject.Allow(v, s, nonce)
		}
		w.csp[key] = values
	}
	return w.markup(s)
}

// markup is s as the page is written: XML for an XHTML page.
func (w *responseWriter) markup(s inject.Snippet) []byte {
	if w.xhtml {
		return s.XHTML
	}
	return s.HTML
}

// converts reports whether the page may get a convert call: a thank-you
// page of a handler with convert auto.
func (w *responseWriter) converts() bool {
	return w.order != nil && w.h.Convert != ConvertOff
}

// giveUp passes a compressed body through untouched after all: the held
// header as the upstream sent it, the held bytes, then tail (the bytes of
// the current write, if any).
func (w *responseWriter) giveUp(reason string, tail []byte) error {
	w.stop()
	w.pass(reason)
	w.ResponseWriter.WriteHeader(w.status)
	raw := w.raw
	w.raw, w.decoded = nil, nil
	for _, b := range [][]byte{raw, tail} {
		if len(b) > 0 {
			if _, err := w.ResponseWriter.Write(b); err != nil {
				return err
			}
		}
	}
	return nil
}

// pass steps aside for the rest of the response.
func (w *responseWriter) pass(reason string) {
	w.mode = modePass
	metrics.passed.WithLabelValues(reason).Inc()
	if reason == passEncoding {
		metrics.unknownEncoding.Inc()
	}
}

// fail marks the response as broken after its header went out.
func (w *responseWriter) fail(err error) {
	w.stop()
	w.mode = modeFailed
	w.err = fmt.Errorf("injecting into %s page: %w", w.host, err)
	level := zapcore.ErrorLevel
	if errors.As(err, new(writeError)) {
		level = zapcore.DebugLevel // the client went away: not our problem
	}
	if c := w.h.logger.Check(level, "page cut short"); c != nil {
		c.Write(zap.String("host", w.host), zap.String("content_encoding", w.coding), zap.Error(err))
	}
}

// report counts where the snippet went, and handles a page that already
// had the script.
func (w *responseWriter) report() {
	res := w.inj.Result()
	switch res.Place {
	case inject.BeforeBody:
		metrics.injected.WithLabelValues(placeBeforeBody).Inc()
	case inject.BeforeHTML:
		metrics.injected.WithLabelValues(placeBeforeHTML).Inc()
	case inject.AtEnd:
		metrics.injected.WithLabelValues(placeAtEnd).Inc()
	}
	if res.Unfinished {
		metrics.passed.WithLabelValues(passUnfinished).Inc()
	}
	if res.Existing {
		metrics.passed.WithLabelValues(passExisting).Inc()
		w.h.noteExisting(w.host, w.site.bucket, res.ExistingSiteID)
	}
}

// classify decides from the final status and header whether a response is
// a page to inject into. It returns the content coding to decode ("" for
// identity) and whether the page is XHTML (application/xhtml+xml, which a
// browser parses as XML), or the reason to pass the response through.
func classify(status int, hdr http.Header) (coding string, xhtml bool, reason string) {
	if status != http.StatusOK {
		return "", false, passStatus // 204, 206, 304, errors, redirects …
	}
	mediaType, params, err := mime.ParseMediaType(hdr.Get("Content-Type"))
	if err != nil || mediaType != "text/html" && mediaType != "application/xhtml+xml" {
		return "", false, passContentType
	}
	if cs := strings.ToLower(params["charset"]); strings.HasPrefix(cs, "utf-16") || strings.HasPrefix(cs, "utf-32") {
		return "", false, passCharset // the snippet's ASCII bytes would corrupt it
	}
	if isAttachment(hdr.Get("Content-Disposition")) {
		return "", false, passAttachment
	}
	if hasNoTransform(hdr["Cache-Control"]) {
		return "", false, passNoTransform
	}
	coding, ok := contentCoding(hdr["Content-Encoding"])
	if !ok {
		return "", false, passEncoding
	}
	return coding, mediaType == "application/xhtml+xml", ""
}

// isAttachment reports whether a Content-Disposition value makes the
// response a download.
func isAttachment(disposition string) bool {
	kind, _, _ := strings.Cut(disposition, ";")
	return strings.EqualFold(strings.TrimSpace(kind), "attachment")
}

// hasNoTransform reports whether Cache-Control forbids changing the
// content (RFC 9110 §7.7, RFC 9111 §5.2.2.6).
func hasNoTransform(values []string) bool {
	for _, v := range values {
		for d := range strings.SplitSeq(v, ",") {
			name, _, _ := strings.Cut(d, "=")
			if strings.EqualFold(strings.TrimSpace(name), "no-transform") {
				return true
			}
		}
	}
	return false
}

// contentCoding reads Content-Encoding: "" for identity, the one coding to
// decode, or ok=false for anything else (an unknown coding, or several
// stacked).
func contentCoding(values []string) (coding string, ok bool) {
	for _, v := range values {
		for c := range strings.SplitSeq(v, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			switch c {
			case "", "identity":
				continue
			case "x-gzip":
				c = codingGzip
			case codingGzip, codingDeflate, codingBrotli, codingZstd:
			default:
				return "", false
			}
			if coding != "" {
				return "", false
			}
			coding = c
		}
	}
	return coding, true
}

// minFirstWrite is the size the first write of a page to the inner writer
// must exceed: encode (which wraps this handler) decides at its first
// write whether to compress, and compresses only writes larger than its
// minimum_length (default 512).
const minFirstWrite = 1024

// maxHold bounds what the coalescer holds before the header goes out.
const maxHold = 64 << 10

// coalescer sits between the injector and the inner writer. It holds the
// first bytes of a page, and the header with them, until a write of the
// handler has ended with more than minFirstWrite bytes held, or a flush or
// the end of the page (or a full buffer of maxHold) forces them out; then it calls start
// (which writes the header) and steps aside. Holding the first write whole
// costs no time to first byte (nothing would leave before that write ends
// anyway, as encode waits for it) and lets the injector read the page's
// head before the header is fixed.
type coalescer struct {
	dst     io.Writer
	start   func()
	hold    *[]byte // from holdBufs; nil when nothing is held
	started bool
}

func (c *coalescer) Write(p []byte) (int, error) {
	if c.started {
		return c.dst.Write(p)
	}
	if c.hold == nil {
		c.hold = holdBufs.Get().(*[]byte)
	}
	if len(*c.hold)+len(p) > cap(*c.hold) {
		// Full: the response starts now, and the buffer never grows.
		if err := c.flush(); err != nil {
			return 0, err
		}
		return c.dst.Write(p)
	}
	*c.hold = append(*c.hold, p...)
	return len(p), nil
}

// settle ends a write of the handler: what is held goes out once it is
// enough for encode to decide on.
func (c *coalescer) settle() error {
	if c.started || c.hold == nil || len(*c.hold) <= minFirstWrite {
		return nil
	}
	return c.flush()
}

// flush starts the response, writing out the held bytes; from then on
// writes go straight through.
func (c *coalescer) flush() error {
	if c.started {
		return nil
	}
	c.started = true
	if c.start != nil {
		c.start()
	}
	if c.hold == nil {
		return nil
	}
	_, err := c.dst.Write(*c.hold)
	c.discard()
	return err
}

// discard drops what is held and gives the buffer back.
func (c *coalescer) discard() {
	if c.hold == nil {
		return
	}
	*c.hold = (*c.hold)[:0]
	holdBufs.Put(c.hold)
	c.hold = nil
}

// holdBufs are the coalescers' buffers.
var holdBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, maxHold)
	return &b
}}

// writerOnly hides every method but Write (encode's trick).
type writerOnly struct{ io.Writer }

// copyBufs are ReadFrom's copy buffers.
var copyBufs = sync.Pool{New: func() any {
	b := make([]byte, 32<<10)
	return &b
}}

// Interface guards
var (
	_ http.ResponseWriter                       = (*responseWriter)(nil)
	_ io.ReaderFrom                             = (*responseWriter)(nil)
	_ interface{ FlushError() error }           = (*responseWriter)(nil)
	_ interface{ Unwrap() http.ResponseWriter } = (*responseWriter)(nil)
)
