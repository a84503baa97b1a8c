package baseline

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MaxFrame bounds the frames the echo accepts, like alknet's default frame limit.
const MaxFrame = 16 << 20

// ErrFrameTooLarge reports a length prefix above [MaxFrame].
var ErrFrameTooLarge = errors.New("baseline: frame too large")

// WriteFrame writes p with alknet's framing: a 4-byte big-endian length, then the bytes, in one write.
func WriteFrame(w io.Writer, buf *[]byte, p []byte) error {
	b := append((*buf)[:0], 0, 0, 0, 0)
	binary.BigEndian.PutUint32(b, uint32(len(p)))
	b = append(b, p...)
	*buf = b
	_, err := w.Write(b)
	return err
}

// ReadFrame reads one frame into *buf (reusing its storage) and returns the body.
func ReadFrame(r io.Reader, buf *[]byte) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrame {
		return nil, fmt.Errorf("%w: %d bytes", ErrFrameTooLarge, n)
	}
	if cap(*buf) < int(n) {
		*buf = make([]byte, n)
	}
	b := (*buf)[:n]
	if _, err := io.ReadFull(r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}
