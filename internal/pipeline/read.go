package pipeline

import (
	"errors"
	"io"

	"github.com/auditstream/auditstream/internal/chunk"
	"github.com/auditstream/auditstream/sink"
)

// tally counts one flush locally; the totals are added to the shared
// counters once per flush, so concurrent flushes do not contend per event.
type tally struct {
	events, parsed, kept, dropped, malformed uint64
	delivered, retries, failures, unreadable uint64
	// lostBytes are the bytes of unreadable chunk tails; eventPanics and
	// flushPanics count recovered panics (bugs).
	lostBytes, eventPanics, flushPanics uint64
	// deadLettered and sinkDropped are events the sink sent to the
	// dead-letter topic, or dropped for want of one.
	deadLettered, sinkDropped uint64
}

func (p *Pipeline) add(t *tally) {
	c := &p.c
	c.chunks.Add(1)
	c.events.Add(t.events)
	c.parsed.Add(t.parsed)
	c.kept.Add(t.kept)
	c.dropped.Add(t.dropped)
	c.malformed.Add(t.malformed)
	c.delivered.Add(t.delivered)
	c.retries.Add(t.retries)
	c.failures.Add(t.failures)
	c.unreadable.Add(t.unreadable)
	c.lostBytes.Add(t.lostBytes)
	c.eventPanics.Add(t.eventPanics)
	c.flushPanics.Add(t.flushPanics)
	c.deadLettered.Add(t.deadLettered)
	c.sinkDropped.Add(t.sinkDropped)
}

// stats is t as Stats (one chunk's).
func (t *tally) stats() Stats {
	return Stats{
		Chunks: 1, Events: t.events, Parsed: t.parsed, Kept: t.kept, Dropped: t.dropped, Malformed: t.malformed,
		Delivered: t.delivered, Retries: t.retries, Failures: t.failures, Unreadable: t.unreadable,
		UnreadableBytes: t.lostBytes, EventPanics: t.eventPanics, FlushPanics: t.flushPanics,
		DeadLettered: t.deadLettered, SinkDropped: t.sinkDropped,
	}
}

func (t *tally) merge(o *tally) {
	t.events += o.events
	t.parsed += o.parsed
	t.kept += o.kept
	t.dropped += o.dropped
	t.malformed += o.malformed
	t.delivered += o.delivered
	t.retries += o.retries
	t.failures += o.failures
	t.unreadable += o.unreadable
	t.lostBytes += o.lostBytes
	t.eventPanics += o.eventPanics
	t.flushPanics += o.flushPanics
	t.deadLettered += o.deadLettered
	t.sinkDropped += o.sinkDropped
}

// read walks the rest of the chunk s.reader was given and collects its kept
// events into s, and what cannot be read for the dead-letter topic, in chunk
// order. It returns the framing error that ended the walk early, if any: the
// events before it are collected, and so are the unreadable remaining bytes,
// as one dead-letter message.
func (p *Pipeline) read(s *scratch, t *tally) error {
	for {
		// readGuarded returns early only after a panic while filtering an
		// event, which it dead-lettered: the walk goes on after it.
		if done, err := p.readGuarded(s, t); done {
			return err
		}
	}
}

// readGuarded is the walk of read, with one recover for all its events: a
// defer per event would cost every event, a panic is rare. What the
// recovery needs of the event being filtered is in s.current.
func (p *Pipeline) readGuarded(s *scratch, t *tally) (done bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			p.eventPanicked(s, t, v) // panics again if no event was being filtered
			done, err = false, nil
		}
	}()
	for {
		from := s.reader.Offset()
		rec, err := s.reader.Next()
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			var ce *chunk.Error
			if errors.As(err, &ce) && ce.Skipped {
				// Well-formed msgpack but not an event: skip just this one.
				t.events++
				t.malformed++
				p.deadLetterRecord(s, from, ce)
				continue
			}
			t.unreadable++
			p.deadLetterTail(s, t, err)
			return true, err
		}
		t.events++
		s.current = filtering{body: rec.Body, arena: len(s.arena), kept: len(s.kept)}
		p.event(s, rec.Body, t)
		s.current = filtering{}
	}
}

// event filters one record and, if the policy keeps it, adds it to s.kept;
// a record or event it cannot read goes to s.kept for the dead-letter topic.
// The counters of t are only touched once nothing more can fail, so that a
// panic (readGuarded) leaves them as they were.
func (p *Pipeline) event(s *scratch, body []byte, t *tally) {
	// Fast path: tail without a parser puts the raw line under the log key,
	// and the policy engine reads it in place.
	line, inChunk, err := chunk.LookupString(body, p.cfg.LogKey)
	if err != nil && !errors.Is(err, chunk.ErrNotString) {
		p.deadLetterBody(s, t, body, causeBadRecord, err)
		return
	}
	parsed := !inChunk || err != nil
	if parsed {
		inChunk = false
		// A parsed record: the event is the record itself.
		if s.json, err = chunk.AppendJSON(s.json[:0], body); err != nil {
			p.deadLetterBody(s, t, body, causeBadRecord, err)
			return
		}
		line = s.json
	}

	start := len(s.arena)
	s.current.line = line
	arena, view, res, err := s.proc.AppendEventOrView(s.arena, line)
	if parsed {
		t.parsed++
	}
	if err != nil {
		s.arena = arena[:start]
		p.deadLetterLine(s, t, body, line, inChunk, causeBadEvent, err)
		return
	}
	s.arena = arena
	s.decided.count(res)
	if !res.Kept {
		t.dropped++
		return
	}
	k := kept{stage: res.Stage.String(), level: res.Level.String()}
	switch {
	case view == nil:
		k.value = span{start, len(s.arena)}
	case inChunk:
		// Kept as logged: the sink copies it from the chunk itself, which
		// stays put for the whole flush.
		k.view = view
	default:
		// A view of s.json, which the next parsed record overwrites.
		k.value = s.appendField(view)
	}
	f := s.proc.Fields()
	// The audit ID and the verb are headers of every message; the other
	// fields only serve as its key.
	k.auditID = s.appendField(f.AuditID)
	k.verb = s.appendField(f.Attrs.Verb)
	key := p.cfg.MessageKey
	if key == "" || key == sink.KeyUser {
		k.user = s.appendField(f.Attrs.Username)
	}
	if key == "" || key == sink.KeyNamespace {
		k.namespace = s.appendField(f.Attrs.Namespace)
	}
	if key == "" || key == sink.KeyResource {
		k.resource = s.appendField(f.Attrs.Resource)
	}
	s.kept = append(s.kept, k)
	t.kept++
}
