package auditlog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
)

// DefaultMaxLineBytes bounds one line; a longer one is reported and skipped.
// kube-apiserver writes RequestResponse events of many megabytes (large lists).
const DefaultMaxLineBytes = 64 << 20

// Position names where a line came from, for error messages.
type Position struct {
	File string // "-" for standard input
	Line int    // 1-based
}

func (p Position) String() string { return fmt.Sprintf("%s:%d", p.File, p.Line) }

// ErrLineTooLong is returned (wrapped, with the position and the line's
// length) for a line longer than the reader's maximum, together with the
// line's first TooLongPrefix bytes; reading goes on with the next line.
var ErrLineTooLong = errors.New("line too long")

// TooLongPrefix is how much of a line too long to read whole Next still
// returns: enough for where it came from and who did what (the apiserver
// writes those first), so that the caller can pass it on (to the
// dead-letter topic) rather than lose the line without a trace.
const TooLongPrefix = 1 << 20

// Reader yields the lines of a sequence of inputs.
type Reader struct {
	inputs   []string
	stdin    io.Reader
	maxLine  int
	cur      *bufio.Reader
	closer   io.Closer
	pos      Position
	buf      []byte
	tooLong  bool
	lineLen  int64 // the current line's length, also past maxLine
	bytesIn  int64
	progress func(n int64)
}

// NewReader reads the named inputs in order ("-" or no names: stdin).
// Compressed files are recognised by their content, not their name.
func NewReader(inputs []string, stdin io.Reader) *Reader {
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	return &Reader{inputs: inputs, stdin: stdin, maxLine: DefaultMaxLineBytes}
}

// SetMaxLineBytes changes the longest line accepted.
func (r *Reader) SetMaxLineBytes(n int) { r.maxLine = n }

// OnProgress registers a function told of the bytes read so far (compressed
// bytes for compressed files are not known: it counts uncompressed ones).
func (r *Reader) OnProgress(fn func(n int64)) { r.progress = fn }

// Next returns the next line without its line ending, and its position. The
// line is valid until the next call. At the end it returns io.EOF. An error
// wrapping ErrLineTooLong is not fatal: the line is then the first
// TooLongPrefix bytes of the line; call Next again.
func (r *Reader) Next() ([]byte, Position, error) {
	for {
		if r.cur == nil {
			if len(r.inputs) == 0 {
				return nil, r.pos, io.EOF
			}
			if err := r.open(r.inputs[0]); err != nil {
				return nil, Position{File: r.inputs[0]}, err
			}
			r.inputs = r.inputs[1:]
		}
		line, err := r.readLine()
		if errors.Is(err, io.EOF) {
			r.closeCurrent()
			if len(line) == 0 {
				continue
			}
			err = nil
		}
		if err != nil && !errors.Is(err, ErrLineTooLong) {
			// A read error (a corrupt gzip stream, say) ends this input; the
			// caller should stop, so name where it happened.
			return nil, r.pos, fmt.Errorf("%s: after line %d: %w", r.pos.File, r.pos.Line, err)
		}
		if err != nil {
			return line, r.pos, err
		}
		return line, r.pos, nil
	}
}

func (r *Reader) readLine() ([]byte, error) {
	r.buf = r.buf[:0]
	r.tooLong, r.lineLen = false, 0
	for {
		chunk, err := r.cur.ReadSlice('\n')
		r.bytesIn += int64(len(chunk))
		r.lineLen += int64(len(chunk))
		if !r.tooLong {
			if len(r.buf)+len(chunk) > r.maxLine+2 {
				r.tooLong = true
				keep := min(TooLongPrefix, r.maxLine)
				r.buf = r.buf[:min(len(r.buf), keep)]
				r.buf = append(r.buf, chunk[:min(len(chunk), keep-len(r.buf))]...)
			} else {
				r.buf = append(r.buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if r.progress != nil {
			r.progress(r.bytesIn)
		}
		if err != nil && (!errors.Is(err, io.EOF) || len(chunk) == 0 && len(r.buf) == 0 && !r.tooLong) {
			return nil, err
		}
		r.pos.Line++
		if r.tooLong {
			return r.buf, fmt.Errorf("%s: %w: %d bytes, more than %d", r.pos, ErrLineTooLong, r.lineLen, r.maxLine)
		}
		line := bytes.TrimRight(r.buf, "\r\n")
		return line, err
	}
}

func (r *Reader) open(name string) error {
	var src io.Reader
	if name == "-" {
		src = r.stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		src, r.closer = f, f
	}
	br := bufio.NewReaderSize(src, 256<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			r.closeCurrent()
			return fmt.Errorf("%s: %w", name, err)
		}
		br = bufio.NewReaderSize(zr, 256<<10)
	}
	r.cur = br
	r.pos = Position{File: name}
	return nil
}

func (r *Reader) closeCurrent() {
	if r.closer != nil {
		r.closer.Close()
	}
	r.cur, r.closer = nil, nil
}

// Close releases the open input, if any.
func (r *Reader) Close() { r.closeCurrent() }
