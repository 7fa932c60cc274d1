package pipeline

import (
	"math"
	"sync"
	"unsafe"

	"github.com/auditstream/auditstream/internal/chunk"
	"github.com/auditstream/auditstream/sink"
)

// Pooled buffers above these sizes are dropped rather than kept: one huge
// chunk must not pin its memory in every pooled scratch for the life of the
// process. A normal Fluent Bit chunk is about 2 MB.
const (
	maxPooledBytes  = 16 << 20
	maxPooledEvents = 64 << 10
	// maxPooledProcessorBytes bounds what a pooled policy processor keeps
	// of its own scratch: it grows to about six times the longest
	// requestURI it read (9 MB for one 1 MB URI), where an ordinary event
	// needs a few KB.
	maxPooledProcessorBytes = 1 << 20
)

// scratchReleaser is a Processor that can drop its large buffers
// (*filter.Processor is one).
type scratchReleaser interface {
	ReleaseScratch(limit int) (retained int)
}

// span is a [lo, hi) range of the arena.
type span struct{ lo, hi int }

func (s span) of(b []byte) []byte { return b[s.lo:s.hi:s.hi] }

// kept is one event for the sink while the chunk is being read: its parts
// are spans, not slices, because the arena may move as it grows. An event
// kept as it was logged is view, a slice of the chunk, and value is unused.
// An event that could not be read (deadLetter is why) is kept too, for the
// dead-letter topic, as it was read: only its value is set.
type kept struct {
	value, auditID, verb, user, namespace, resource span
	view                                            []byte
	stage, level                                    string
	deadLetter                                      string
}

// filtering is the event a scratch is filtering: its record, its line once
// found, and the lengths of the arena and of kept before it, to undo what a
// panic left half done.
type filtering struct {
	body, line  []byte
	arena, kept int
}

// scratch is the memory of one Flush: a policy processor, a chunk reader and
// the buffers that hold what is handed to the sink. It is used by one flush
// at a time and goes back to the pipeline's free list afterwards.
type scratch struct {
	proc Processor
	// cutBodies is Config.CutUnreadableBodies.
	cutBodies bool
	reader    chunk.Reader
	// data is what reader reads (a view of the chunk, or of a part's share
	// of it): a dead-lettered record is a view into it.
	data []byte
	// where names the origin of a chunk's event by its index (the flush's
	// Locator), for dead-letter reasons; nil names events by index alone.
	where Locator
	// current is the event being filtered, for the recovery from a panic
	// while filtering it; zero between events.
	current filtering
	arena   []byte // rewritten events and copies of their fields
	json    []byte // a parsed record re-encoded as JSON (slow path)
	kept    []kept
	events  []sink.Event

	// proc filters with the policy of generation; policy is the version
	// the current flush uses, which its parts use too. decided tallies the
	// policy's decisions (getScratch empties it).
	generation uint64
	policy     *PolicyVersion
	decided    decisions

	// parts are the scratches of the other parts of a chunk filtered in
	// parts (readChunk), in chunk order; cuts is where they start, wg waits
	// for them. A part's own tally, readErr and panicked are its result.
	parts    []*scratch
	cuts     []cut
	wg       sync.WaitGroup
	tally    tally
	readErr  error
	panicked any
}

// appendField copies b to the arena and returns where it went. The copy is
// needed because b is a view into the chunk or the processor's scratch, both
// of which change before the sink sees the event.
func (s *scratch) appendField(b []byte) span {
	lo := len(s.arena)
	s.arena = append(s.arena, b...)
	return span{lo, len(s.arena)}
}

// buildEvents turns the kept spans of s and of its parts into sink events,
// in chunk order; the arenas no longer move once reading is done.
func (s *scratch) buildEvents() []sink.Event {
	s.events = s.appendEvents(s.events[:0])
	for _, part := range s.parts {
		s.events = part.appendEvents(s.events)
	}
	return s.events
}

func (s *scratch) appendEvents(events []sink.Event) []sink.Event {
	a := s.arena
	for i := range s.kept {
		k := &s.kept[i]
		value := k.view
		if value == nil {
			value = k.value.of(a)
		}
		events = append(events, sink.Event{
			Value:     value,
			Stage:     k.stage,
			Level:     k.level,
			AuditID:   k.auditID.of(a),
			Verb:      k.verb.of(a),
			User:      k.user.of(a),
			Namespace: k.namespace.of(a),
			Resource:  k.resource.of(a),

			DeadLetter: k.deadLetter,
		})
	}
	return events
}

// reset empties the scratch for the pool, dropping oversized buffers and every
// reference into the last chunk.
func (s *scratch) reset() {
	s.reader.Reset(nil)
	s.data, s.where, s.current = nil, nil, filtering{}
	if r, ok := s.proc.(scratchReleaser); ok {
		r.ReleaseScratch(maxPooledProcessorBytes)
	}
	if cap(s.arena) > maxPooledBytes {
		s.arena = nil
	}
	if cap(s.json) > maxPooledBytes {
		s.json = nil
	}
	if cap(s.kept) > maxPooledEvents {
		s.kept = nil
	}
	if cap(s.events) > maxPooledEvents { // the events of every part
		s.events = nil
	}
	clear(s.kept) // views of the last chunk
	s.arena, s.json, s.kept = s.arena[:0], s.json[:0], s.kept[:0]
	clear(s.parts)
	s.parts, s.cuts = s.parts[:0], s.cuts[:0]
	s.tally, s.readErr, s.panicked = tally{}, nil, nil
	// Only the used part: the rest was cleared by earlier resets, or is
	// fresh from a growth.
	clear(s.events)
	s.events = s.events[:0]
}

// footprint returns the bytes the scratch's buffers hold, its processor's
// included when it can tell.
func (s *scratch) footprint() int {
	n := cap(s.arena) + cap(s.json) +
		cap(s.kept)*int(unsafe.Sizeof(kept{})) + cap(s.events)*int(unsafe.Sizeof(sink.Event{}))
	if r, ok := s.proc.(scratchReleaser); ok {
		n += r.ReleaseScratch(math.MaxInt)
	}
	return n
}
