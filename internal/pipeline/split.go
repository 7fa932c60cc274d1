package pipeline

import (
	"sync"

	"github.com/auditstream/auditstream/internal/chunk"
)

// DefaultFilterParallelism is how many goroutines filter one large chunk
// unless configured otherwise.
//
// Delivery is a pipeline of its own (the producer's goroutines and the
// broker), which waits while a flush filters its chunk: filtering the chunk
// on two cores shortens that wait (BenchmarkFlushCPU, no broker: 1.33 µs per
// 1 KB event in one piece, 0.78 µs in two). The CPU time spent is the same;
// only its spread over cores changes.
const DefaultFilterParallelism = 2

// defaultMinPartBytes is the least chunk data worth a goroutine of its own:
// starting and joining one costs about as much as filtering a few events, a
// part filters hundreds. Tests lower Pipeline.minPartBytes to split small
// chunks.
const defaultMinPartBytes = 64 << 10

// readChunk reads data into s as read does, cut into up to
// FilterParallelism parts at event boundaries that are filtered at the same
// time. The kept events stay in chunk order: each part's are in its own
// scratch, which s.parts lists after s itself.
func (p *Pipeline) readChunk(s *scratch, data []byte, t *tally) error {
	bounds := p.split(s, data)
	if len(bounds) == 0 {
		s.reader.Reset(data)
		return p.read(s, t)
	}
	for k, from := range bounds {
		to := len(data)
		if k+1 < len(bounds) {
			to = bounds[k+1]
		}
		part := p.pool.Get().(*scratch)
		s.parts = append(s.parts, part)
		part.reader.Reset(data[:to])
		part.reader.Seek(from)
		s.wg.Add(1)
		go p.readPart(part, &s.wg)
	}
	s.reader.Reset(data[:bounds[0]])
	err := p.read(s, t)
	s.wg.Wait()
	for _, part := range s.parts {
		t.merge(&part.tally)
		// The walk in split read every part but the last to its end, so
		// only the last can hold a framing error, where a sequential read
		// finds it.
		if part.readErr != nil {
			err = part.readErr
		}
	}
	return err
}

// readPart reads one part of a chunk into part, on its own goroutine.
func (p *Pipeline) readPart(part *scratch, wg *sync.WaitGroup) {
	defer wg.Done()
	part.readErr = p.read(part, &part.tally)
}

// split returns where the parts after the first start, or nil to read the
// chunk in one piece: parallelism 1, a chunk too small to share, or a
// framing error before the last cut (the sequential read reports it). It
// skips over the events up to the last cut without decoding them: this runs
// before any part starts, so its cost is not shared.
func (p *Pipeline) split(s *scratch, data []byte) []int {
	n := min(p.cfg.FilterParallelism, len(data)/p.minPartBytes)
	if n < 2 {
		return nil
	}
	s.bounds = s.bounds[:0]
	off := 0
	for k := 1; k < n; k++ {
		cut := len(data) * k / n
		for off < cut {
			var err error
			if off, err = chunk.EventEnd(data, off); err != nil {
				return nil
			}
		}
		if off >= len(data) {
			break
		}
		s.bounds = append(s.bounds, off)
	}
	return s.bounds
}
