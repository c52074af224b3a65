package module

import (
	"errors"
	"fmt"
	"io"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// Content codings the module decodes (normalised: x-gzip is gzip).
const (
	codingGzip    = "gzip"
	codingDeflate = "deflate"
	codingBrotli  = "br"
	codingZstd    = "zstd"
)

// maxZstdWindow caps the memory a zstd frame may ask for. RFC 8878 §3.1.1.1.2
// advises HTTP decoders to accept at least 8 MiB and browsers stop there.
const maxZstdWindow = 8 << 20

// errAborted stops a decoder whose request is over.
var errAborted = errors.New("response abandoned")

// decoder decodes a compressed response body in a goroutine of its own,
// because the decompressors pull from an io.Reader while the body is
// pushed through Write.
//
// The two goroutines work in lock step: feed hands the decoder a chunk and
// waits until the decoder has used all of it and asks for more (or has
// ended). So at any moment only one of them runs: the decoder writes into
// the response while feed waits, and once feed returns the caller may
// write or flush the response itself. That is what lets an upstream flush
// pass through: the bytes the upstream flushed have been decoded and
// written out by the time the flush arrives, as far as the compressed
// stream allowed (gzip, deflate, br and zstd flushes all end a block).
//
// Fields marked (decoder) belong to the decoder goroutine; the others to
// the caller. Channel operations order every hand-over.
type decoder struct {
	in   chan []byte   // caller → decoder: the next chunk; closed at the end of the body
	idle chan struct{} // decoder → caller: all input used, asking for more
	done chan struct{} // closed when the decoder goroutine has returned

	cur   []byte // (decoder) the unread rest of the current chunk
	inEOF bool   // (decoder) in was closed
	err   error  // (decoder) why it ended; read by the caller after done

	aborted bool // set by the caller before closing in: write nothing more
	ended   bool // the caller saw done or closed in
}

// opener opens a decompressor on the compressed stream r. The returned
// function releases it.
type opener func(r io.Reader) (io.Reader, func(), error)

// startDecoder starts decoding a body of the given coding into sink. head
// is the start of the body, which tells zlib-wrapped deflate from raw.
func startDecoder(coding string, head []byte, sink func([]byte) (int, error)) *decoder {
	d := &decoder{
		in:   make(chan []byte),
		idle: make(chan struct{}),
		done: make(chan struct{}),
	}
	go d.run(openerFor(coding, head), sink)
	d.wait()
	return d
}

// run is the decoder goroutine.
func (d *decoder) run(open opener, sink func([]byte) (int, error)) {
	defer close(d.done)
	defer func() {
		// A panic here would kill Caddy: no request goroutine recovers it.
		if v := recover(); v != nil {
			d.err = fmt.Errorf("panic while decoding: %v", v)
		}
	}()
	r, release, err := open(d)
	if err != nil {
		d.err = err
		return
	}
	defer release()
	_, d.err = io.Copy(writerFunc(func(p []byte) (int, error) {
		if d.aborted {
			return 0, errAborted
		}
		return sink(p)
	}), r)
}

// Read is the decompressor's source: the chunks given to feed. When a
// chunk is used up, it tells the caller and waits for the next.
func (d *decoder) Read(p []byte) (int, error) {
	for len(d.cur) == 0 {
		if d.inEOF {
			return 0, io.EOF
		}
		d.idle <- struct{}{}
		chunk, ok := <-d.in
		if !ok {
			d.inEOF = true
			return 0, io.EOF
		}
		d.cur = chunk
	}
	n := copy(p, d.cur)
	d.cur = d.cur[n:]
	return n, nil
}

// wait waits until the decoder asks for input or ends.
func (d *decoder) wait() {
	select {
	case <-d.idle:
	case <-d.done:
		d.ended = true
	}
}

// feed decodes p, writing what it yields to the sink, and returns when the
// decoder needs more input. It returns the decoder's error once it has
// failed. Input after the end of a complete stream is ignored.
func (d *decoder) feed(p []byte) error {
	if d.ended || len(p) == 0 {
		return d.err
	}
	select {
	case d.in <- p:
	case <-d.done:
		d.ended = true
		return d.err
	}
	d.wait()
	if d.ended {
		return d.err
	}
	return nil
}

// close ends the input and waits for the decoder to write what is left. It
// returns why decoding failed (io.ErrUnexpectedEOF for a truncated stream).
func (d *decoder) close() error {
	if !d.ended {
		d.ended = true
		close(d.in)
		<-d.done
	}
	return d.err
}

// abort stops the decoder without letting it write anything more.
func (d *decoder) abort() {
	if !d.ended {
		d.ended = true
		d.aborted = true
		close(d.in)
		<-d.done
	}
}

// openerFor returns how to open a decompressor for coding.
func openerFor(coding string, head []byte) opener {
	switch coding {
	case codingGzip:
		return func(r io.Reader) (io.Reader, func(), error) {
			zr, err := gzip.NewReader(r)
			if err != nil {
				return nil, nil, err
			}
			return zr, func() { _ = zr.Close() }, nil
		}
	case codingDeflate:
		if isZlib(head) {
			return func(r io.Reader) (io.Reader, func(), error) {
				zr, err := zlib.NewReader(r)
				if err != nil {
					return nil, nil, err
				}
				return zr, func() { _ = zr.Close() }, nil
			}
		}
		// Raw deflate: what some servers send, against RFC 9110 §8.4.1.2.
		return func(r io.Reader) (io.Reader, func(), error) {
			fr := flate.NewReader(r)
			return fr, func() { _ = fr.Close() }, nil
		}
	case codingBrotli:
		return func(r io.Reader) (io.Reader, func(), error) {
			return brotli.NewReader(r), func() {}, nil
		}
	case codingZstd:
		return func(r io.Reader) (io.Reader, func(), error) {
			zr, err := zstd.NewReader(r,
				zstd.WithDecoderConcurrency(1), // decode in this goroutine, no read-ahead
				zstd.WithDecoderLowmem(true),
				zstd.WithDecoderMaxWindow(maxZstdWindow))
			if err != nil {
				return nil, nil, err
			}
			return zr, zr.Close, nil
		}
	}
	return func(io.Reader) (io.Reader, func(), error) {
		return nil, nil, fmt.Errorf("unsupported content coding %q", coding)
	}
}

// magicLen is how many bytes of the body plausible needs.
func magicLen(coding string) int {
	switch coding {
	case codingGzip, codingZstd:
		return 4
	case codingDeflate:
		return 2
	}
	return 1
}

// plausible is a cheap look at the first magicLen bytes of a body labelled
// with coding: a body that fails it is not decoded at all. Brotli has no
// magic number; its first bytes are checked by decoding them.
func plausible(coding string, head []byte) bool {
	switch coding {
	case codingGzip:
		// ID1 ID2 CM=8 (deflate), reserved flag bits clear (RFC 1952).
		return head[0] == 0x1f && head[1] == 0x8b && head[2] == 8 && head[3]&0xe0 == 0
	case codingZstd:
		// Frame magic 0xFD2FB528, or a skippable frame 0x184D2A5? (RFC 8878).
		return head[0] == 0x28 && head[1] == 0xb5 && head[2] == 0x2f && head[3] == 0xfd ||
			head[0]&0xf0 == 0x50 && head[1] == 0x2a && head[2] == 0x4d && head[3] == 0x18
	case codingDeflate:
		// zlib (RFC 1950), or raw deflate whose first block type is valid.
		return isZlib(head) || head[0]>>1&3 != 3
	}
	return true
}

// isZlib reports whether head starts with a zlib header: deflate with a
// window of at most 32 KiB, no preset dictionary, valid check bits.
func isZlib(head []byte) bool {
	if len(head) < 2 {
		return false
	}
	cmf, flg := head[0], head[1]
	return cmf&0x0f == 8 && cmf>>4 <= 7 && flg&0x20 == 0 && (uint16(cmf)<<8|uint16(flg))%31 == 0
}

// writerFunc adapts a function to io.Writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Interface guards
var _ io.Reader = (*decoder)(nil)
