package pipeline

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// A panic is a bug, but a bug in the handling of one event must not cost
// the other events of the chunk, nor the host process: a panic that
// reached Fluent Bit's C code would abort it, and every pipeline it runs.
// readGuarded recovers a panic while filtering an event with one deferred
// recover for the whole walk: a readable event pays only for noting which
// event is being filtered (s.current), not for a defer of its own.

// eventPanicked dead-letters the event whose filtering panicked with v,
// after undoing what it had added to s. Its processor may be left in any
// state, so it is replaced. A panic while no event was being filtered (in
// the reader, say) is raised again, for the flush to recover.
func (p *Pipeline) eventPanicked(s *scratch, t *tally, v any) {
	cur := s.current
	if cur.body == nil {
		panic(v)
	}
	stack := debug.Stack()
	s.current = filtering{}
	s.arena, s.kept = s.arena[:cur.arena], s.kept[:cur.kept]
	clear(s.kept[cur.kept:cap(s.kept)])
	s.proc = p.cfg.NewProcessor()
	t.eventPanics++
	reason := fmt.Sprintf("panic: %v", v)
	loc := p.locate(s, current(s), cur.body)
	if p.note(causeEventPanic, fmt.Errorf("%s: %s", loc, reason)) {
		p.cfg.Log.Lines(LevelError, stackExcerpt(stack, 12))
	}
	line := cur.line
	if line == nil {
		line = cur.body // the panic came before the line was found: ship the record
		reason += " (the message is the record's raw msgpack)"
	}
	// Headers and logs carry the value, not the stack: the stack is in the
	// log lines above.
	s.deadLetter(s.appendField(line), nil, loc+": "+reason)
}

// flushPanicked handles a panic that escaped the filtering of the events
// (in the sink, say): the chunk is kept for a retry, since its good events
// may not have been delivered.
func (p *Pipeline) flushPanicked(t *tally, v any) Outcome {
	stack := debug.Stack()
	t.flushPanics++
	t.retries++
	p.add(t)
	if p.note(causeFlushPanic, fmt.Errorf("%v", v)) {
		p.cfg.Log.Lines(LevelError, stackExcerpt(stack, 24))
	}
	return Retry
}

// stackExcerpt returns at most lines lines of stack (debug.Stack's text)
// from the frame that panicked: the frames of the recovery itself are noise.
func stackExcerpt(stack []byte, lines int) string {
	text := string(stack)
	if i := strings.Index(text, "\npanic("); i >= 0 {
		if j := strings.IndexByte(text[i+1:], '\n'); j >= 0 {
			// After panic(...) and its file line: the panicking frame.
			rest := text[i+1+j+1:]
			if k := strings.IndexByte(rest, '\n'); k >= 0 {
				text = rest[k+1:]
			}
		}
	}
	var b strings.Builder
	for line := range strings.Lines(text) {
		if lines == 0 {
			break
		}
		b.WriteString(line)
		lines--
	}
	return b.String()
}

// safeSummary is logSummary on the summary timer's goroutine, where a panic
// would end the process.
func (p *Pipeline) safeSummary() {
	defer func() {
		if v := recover(); v != nil {
			if p.note(causeSummaryPanic, fmt.Errorf("%v", v)) {
				p.cfg.Log.Lines(LevelError, stackExcerpt(debug.Stack(), 12))
			}
		}
	}()
	p.logSummary()
}
