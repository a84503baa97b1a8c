package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
)

// Frame layout and limits (call-protocol.md §4) and the informative stream reset codes
// (CALLP-R8).
const (
	PrefixLen    = 4
	MaxFrameSize = 64 << 20 // 67108864: the protocol maximum body length (CALLP-R12)

	StreamCodeNoError           = 0x00
	StreamCodeProtocolViolation = 0x01
	StreamCodeFrameTooLarge     = 0x02
	StreamCodeCancelled         = 0x03
	StreamCodeInternal          = 0x04
)

// Framing errors (CALLP-R11, R12, R15, R20).
var (
	ErrEmptyFrame     = errors.New("alknet/call: zero-length frame")
	ErrFrameTooLarge  = errors.New("alknet/call: frame exceeds maximum size")
	ErrTruncatedFrame = errors.New("alknet/call: stream ended inside a frame")
	ErrMalformed      = errors.New("alknet/call: malformed envelope")
)

// effectiveLimit maps a configured limit to the one in force: ≤ 0 or above the protocol maximum
// means the protocol maximum (CALLP-R13, R154).
func effectiveLimit(limit int) int {
	if limit <= 0 || limit > MaxFrameSize {
		return MaxFrameSize
	}
	return limit
}

// AppendFrame appends the frame of e (prefix and canonical body) to dst. When the body would be
// longer than limit (≤ 0 means [MaxFrameSize]) it returns dst unchanged and an error wrapping
// [ErrFrameTooLarge]; an invalid payload gives an error as well. Nothing is written anywhere.
func AppendFrame(dst []byte, e Envelope, limit int) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	out, err := appendEnvelope(dst, e)
	if err != nil {
		return dst[:start], err
	}
	n := len(out) - start - PrefixLen
	if n > effectiveLimit(limit) {
		return out[:start], fmt.Errorf("frame of %d bytes: %w", n, ErrFrameTooLarge)
	}
	binary.BigEndian.PutUint32(out[start:], uint32(n))
	return out, nil
}

// readChunk is the first body allocation for frames too large to allocate at once; the buffer
// then doubles as bytes arrive, so memory follows the bytes actually received (CALLP-R14).
const readChunk = 16 << 10

// FrameReader reads frames from one stream. It is not safe for concurrent use.
type FrameReader struct {
	r       io.Reader
	limit   int
	prefix  [PrefixLen]byte
	scratch []byte // reused body buffer for large frames
}

// NewFrameReader returns a reader of frames from r with the given receive limit (≤ 0 or above
// [MaxFrameSize] means MaxFrameSize, CALLP-R13).
func NewFrameReader(r io.Reader, limit int) *FrameReader {
	return &FrameReader{r: r, limit: effectiveLimit(limit)}
}

// Next reads and decodes the next frame (reader algorithm of call-protocol.md §4). It returns
// io.EOF only when the stream ended exactly at a frame boundary; [ErrTruncatedFrame] when it ended
// inside a prefix or body; [ErrEmptyFrame] or [ErrFrameTooLarge] on a bad prefix, before any body
// byte is read; an error wrapping [ErrMalformed] for a body that is not a valid envelope; and the
// underlying reader's error otherwise. It never reads past the end of the current frame. Each
// envelope gets its own body buffer, so the returned Payload stays valid.
func (fr *FrameReader) Next() (Envelope, error) {
	body, err := fr.NextBody()
	if err != nil {
		return Envelope{}, err
	}
	return DecodeEnvelope(body)
}

// NextBody reads the next frame and returns its body without decoding it, with the errors of
// [FrameReader.Next] except the ErrMalformed ones.
func (fr *FrameReader) NextBody() ([]byte, error) {
	n, err := io.ReadFull(fr.r, fr.prefix[:])
	if err != nil {
		if n > 0 && errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ErrTruncatedFrame
		}
		return nil, err // io.EOF at a boundary, or the transport's error
	}
	size := binary.BigEndian.Uint32(fr.prefix[:])
	switch {
	case size == 0:
		return nil, ErrEmptyFrame
	case uint64(size) > uint64(fr.limit):
		return nil, fmt.Errorf("announced %d bytes, limit %d: %w", size, fr.limit, ErrFrameTooLarge)
	}
	return fr.readBody(int(size))
}

// readBody reads a body of size bytes. Bodies up to readChunk are allocated at once; larger ones
// are read into the reader's scratch buffer, which grows only as bytes arrive (CALLP-R14), and
// copied into an exact-size buffer once complete (the envelope aliases it, so the scratch is
// reused for the next frame).
func (fr *FrameReader) readBody(size int) ([]byte, error) {
	if size <= readChunk {
		buf := make([]byte, size)
		if _, err := io.ReadFull(fr.r, buf); err != nil {
			return nil, bodyErr(err)
		}
		return buf, nil
	}
	buf := fr.scratch[:0]
	if cap(buf) < readChunk {
		buf = make([]byte, 0, readChunk)
	}
	for len(buf) < size {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), min(2*cap(buf), size))
			copy(nb, buf)
			buf = nb
		}
		m, err := fr.r.Read(buf[len(buf):min(cap(buf), size)])
		buf = buf[:len(buf)+m]
		if err != nil && len(buf) < size {
			fr.keep(buf)
			return nil, bodyErr(err)
		}
	}
	fr.keep(buf)
	return append([]byte(nil), buf...), nil
}

// keep retains buf as scratch unless it is large.
func (fr *FrameReader) keep(buf []byte) {
	if cap(buf) <= maxScratch {
		fr.scratch = buf[:0]
	} else {
		fr.scratch = nil
	}
}

// maxScratch is the largest scratch buffer a FrameReader keeps between frames.
const maxScratch = 1 << 20

func bodyErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncatedFrame
	}
	return err
}

// FrameWriter writes whole frames to one stream. Write is safe for concurrent use: a mutex makes
// each frame one contiguous Write, never interleaved with another (CALLP-R16).
type FrameWriter struct {
	mu    sync.Mutex
	w     io.Writer // guarded by mu
	buf   []byte    // guarded by mu; reused between frames
	limit int
}

// NewFrameWriter returns a frame writer on w with the given send limit (≤ 0 or above
// [MaxFrameSize] means MaxFrameSize).
func NewFrameWriter(w io.Writer, limit int) *FrameWriter {
	return &FrameWriter{w: w, limit: effectiveLimit(limit)}
}

// Write encodes e and writes its frame with a single Write call. It returns an error wrapping
// [ErrFrameTooLarge] (nothing written) when the frame exceeds the limit, or the writer's error.
func (fw *FrameWriter) Write(e Envelope) error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	b, err := AppendFrame(fw.buf[:0], e, fw.limit)
	if err != nil {
		return err
	}
	if cap(b) <= 64<<10 {
		fw.buf = b
	} else {
		fw.buf = nil // do not keep a large buffer alive after one large frame
	}
	_, err = fw.w.Write(b)
	return err
}

// appendEventFrame appends a frame whose payload is produced by payload, which appends canonical
// JSON it has already validated; the payload is not scanned a second time.
// frameOverhead is room for the prefix, the envelope's and payload's keys and punctuation, and a
// few escapes, so that the hot-path builders allocate their frame once.
const frameOverhead = 160

func appendEventFrame(dst []byte, typ, id string, limit int, payload func([]byte) ([]byte, error)) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = append(dst, `{"type":`...)
	dst = appendString(dst, typ)
	dst = append(dst, `,"id":`...)
	dst = appendString(dst, id)
	dst = append(dst, `,"payload":`...)
	out, err := payload(dst)
	if err != nil {
		return dst[:start], err
	}
	out = append(out, '}')
	n := len(out) - start - PrefixLen
	if n > effectiveLimit(limit) {
		return out[:start], fmt.Errorf("frame of %d bytes: %w", n, ErrFrameTooLarge)
	}
	binary.BigEndian.PutUint32(out[start:], uint32(n))
	return out, nil
}

// AppendRequestedFrame appends the frame of a call.requested with payload r; it equals
// AppendFrame of the envelope holding r's canonical payload, built with one pass over the input.
func AppendRequestedFrame(dst []byte, id string, r Requested, limit int) ([]byte, error) {
	// One allocation in the common case: room for the envelope, the plain fields and some escapes.
	n := frameOverhead + len(id) + len(r.OperationID) + len(r.Input) + len(r.AuthToken) + len(r.TraceParent)
	if r.ForwardedFor != nil {
		n += 256
	}
	dst = slices.Grow(dst, n)
	return appendEventFrame(dst, EventRequested, id, limit, r.AppendJSON)
}

// AppendRespondedFrame appends the frame of a call.responded carrying output; it equals
// AppendFrame of the envelope holding Responded{output}'s canonical payload, built with one pass
// over the output.
func AppendRespondedFrame(dst []byte, id string, output []byte, limit int) ([]byte, error) {
	dst = slices.Grow(dst, frameOverhead+len(id)+len(output))
	return appendEventFrame(dst, EventResponded, id, limit, Responded{Output: output}.AppendJSON)
}
