package pipeline

import (
	"fmt"
	"runtime/debug"
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
//
// It returns only once every part is done, even when it panics: the parts
// read the chunk, which its owner may free as soon as Flush returns. A
// panic in a part is raised again here, on the flush's goroutine, where the
// plugin's exports recover it; on a goroutine of its own it would abort the
// host process.
func (p *Pipeline) readChunk(s *scratch, data []byte, t *tally) error {
	others := int(p.filtering.Add(1)) - 1
	defer p.filtering.Add(-1)
	cuts := p.split(s, data, others)
	if len(cuts) == 0 {
		s.reader.Reset(data)
		s.data = data
		return p.read(s, t)
	}
	defer s.wg.Wait()
	for k, c := range cuts {
		to := len(data)
		if k+1 < len(cuts) {
			to = cuts[k+1].off
		}
		part := p.getScratch(s.policy)
		s.parts = append(s.parts, part)
		part.reader.Reset(data[:to])
		part.reader.Seek(c.off, c.events)
		part.data, part.where = data[:to], s.where
		s.wg.Add(1)
		go p.readPart(part, &s.wg)
	}
	s.reader.Reset(data[:cuts[0].off])
	s.data = data[:cuts[0].off]
	err := p.read(s, t)
	s.wg.Wait()
	for _, part := range s.parts {
		if part.panicked != nil {
			panic(part.panicked)
		}
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

// readPart reads one part of a chunk into part, on its own goroutine. A
// panic is kept, with its stack, for readChunk to raise again.
func (p *Pipeline) readPart(part *scratch, wg *sync.WaitGroup) {
	defer wg.Done()
	defer func() {
		if v := recover(); v != nil {
			part.panicked = fmt.Sprintf("filtering a part of a chunk: %v\n%s", v, debug.Stack())
		}
	}()
	part.readErr = p.read(part, &part.tally)
}

// cut is where a part of a chunk starts: its offset, and the number of
// events before it, so that a part's errors number events as a sequential
// read does.
type cut struct{ off, events int }

// split returns where the parts after the first start, or nil to read the
// chunk in one piece: parallelism 1, a chunk too small to share, or a
// framing error before the last cut (the sequential read reports it). It
// skips over the events up to the last cut without decoding them: this runs
// before any part starts, so its cost is not shared. One event may span
// several cuts; it then starts a single part.
//
// others is how many other flushes are reading their chunks meanwhile; each
// takes one of the parallelism's goroutines. With Fluent Bit's workers 2 on
// two cores both flushes are often filtering at once, and cutting their
// chunks would only add the walk to the cut (msgpack's skip was about 2% of
// Fluent Bit's CPU) and the goroutines' hand-offs, for no wall time.
func (p *Pipeline) split(s *scratch, data []byte, others int) []cut {
	n := min(p.cfg.FilterParallelism-others, len(data)/p.minPartBytes)
	if n < 2 {
		return nil
	}
	s.cuts = s.cuts[:0]
	off, events := 0, 0
	for k := 1; k < n; k++ {
		for target := len(data) * k / n; off < target; events++ {
			var err error
			if off, err = chunk.EventEnd(data, off); err != nil {
				return nil
			}
		}
		if off >= len(data) {
			break
		}
		if len(s.cuts) == 0 || s.cuts[len(s.cuts)-1].off != off {
			s.cuts = append(s.cuts, cut{off, events})
		}
	}
	return s.cuts
}
