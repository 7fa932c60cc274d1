package pipeline

import (
	"fmt"
	"strconv"

	"github.com/auditstream/auditstream/internal/chunk"
)

// Locator names where event i of a chunk came from (counting every record
// of the chunk from 0, group markers included), such as "audit.log:12", for
// the reasons of dead-lettered events. It is only called for events that
// cannot be read, so it may allocate.
type Locator func(event int) string

// Everything below runs only for records and events that cannot be read:
// it may allocate, unlike the path of a readable event.

// locate names the chunk's event i, whose record is body (nil if unknown):
// the flush's Locator, else its index in the chunk, then the record's
// path_key value when it has one (tail's Path_Key: the file it was read
// from).
func (p *Pipeline) locate(s *scratch, i int, body []byte) string {
	loc := "record " + strconv.Itoa(i) + " of the chunk"
	if s.where != nil {
		loc = s.where(i) + " (" + loc + ")"
	}
	if p.cfg.PathKey != "" && body != nil {
		if path, _, err := chunk.LookupString(body, p.cfg.PathKey); err == nil && path != nil {
			loc += " from " + string(path)
		}
	}
	return loc
}

// current is the index in the chunk of the record Next returned last.
func current(s *scratch) int { return s.reader.Events() - 1 }

// deadLetter adds an event for the dead-letter topic to s, in chunk order:
// value (a view of the chunk, or of the arena) with reason. With
// s.cutBodies, the bytes from its first request or response body on are
// left out, and the reason says so.
func (s *scratch) deadLetter(value span, view []byte, reason string) {
	if s.cutBodies {
		b := view
		if b == nil {
			b = value.of(s.arena)
		}
		if i := firstBodyKey(b); i >= 0 {
			if view != nil {
				view = view[:i:i]
			} else {
				value.hi = value.lo + i
			}
			reason += fmt.Sprintf(" (cut to its first %d of %d bytes, before its first request or response body: "+
				"redaction cannot find the secrets of a line it cannot read)", i, len(b))
		}
	}
	s.kept = append(s.kept, kept{value: value, view: view, deadLetter: reason})
}

// firstBodyKey returns the offset of the first requestObject or
// responseObject in b, in any letter case, quote included when one stands
// before it; -1 when there is none. b need not be JSON: a record's raw
// msgpack holds its keys as plain bytes too.
func firstBodyKey(b []byte) int {
	for i := 0; i+len("requestObject") <= len(b); i++ {
		if b[i]|0x20 != 'r' || b[i+1]|0x20 != 'e' {
			continue
		}
		rest := b[i+2:]
		if !hasPrefixFold(rest, "questobject") && !hasPrefixFold(rest, "sponseobject") {
			continue
		}
		if i > 0 && b[i-1] == '"' {
			return i - 1
		}
		return i
	}
	return -1
}

// hasPrefixFold reports whether b starts with lower, an ASCII lower-case
// word, in any letter case.
func hasPrefixFold(b []byte, lower string) bool {
	if len(b) < len(lower) {
		return false
	}
	for i := range len(lower) {
		if b[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// deadLetterLine dead-letters an event the policy engine could not read,
// as its line was read: a view of the chunk for a raw line, a copy of the
// JSON of a parsed record (reused by the next record).
func (p *Pipeline) deadLetterLine(s *scratch, t *tally, body, line []byte, inChunk bool, c cause, err error) {
	err = fmt.Errorf("%s: %w", p.locate(s, current(s), body), err)
	t.malformed++
	p.note(c, err)
	reason := err.Error()
	if inChunk {
		s.deadLetter(span{}, line, reason)
		return
	}
	reason += " (the message is the parsed record re-encoded as JSON)"
	s.deadLetter(s.appendField(line), nil, reason)
}

// deadLetterBody dead-letters a record that holds no readable line: as its
// JSON re-encoding, or as its raw msgpack when it has no JSON form.
func (p *Pipeline) deadLetterBody(s *scratch, t *tally, body []byte, c cause, err error) {
	err = fmt.Errorf("%s: %w", p.locate(s, current(s), body), err)
	t.malformed++
	p.note(c, err)
	reason := err.Error()
	lo := len(s.arena)
	arena, jsonErr := chunk.AppendJSON(s.arena, body)
	if jsonErr == nil {
		s.arena = arena
		s.deadLetter(span{lo, len(s.arena)}, nil, reason+" (the message is the record re-encoded as JSON)")
		return
	}
	s.deadLetter(span{}, body, reason+" (the message is the record's raw msgpack: it has no JSON form)")
}

// deadLetterRecord dead-letters a well-formed msgpack value that is not a
// Fluent Bit event, which the reader skipped: as its raw msgpack, the bytes
// between the last event read before it (from) and where the reader now is.
func (p *Pipeline) deadLetterRecord(s *scratch, from int, ce *chunk.Error) {
	end := s.reader.Offset()
	// Group markers the reader skipped may precede it: it is the last
	// value before end.
	for from < end {
		next, err := chunk.EventEnd(s.data, from)
		if err != nil || next >= end {
			break
		}
		from = next
	}
	err := fmt.Errorf("%s: %w", p.locate(s, ce.Event, nil), ce)
	p.note(causeBadRecord, err)
	s.deadLetter(span{}, s.data[from:end:end], err.Error()+" (the message is its raw msgpack)")
}

// deadLetterTail dead-letters the bytes after a break in the chunk's
// framing, which no reader can cut into events, as one message.
func (p *Pipeline) deadLetterTail(s *scratch, t *tally, err error) {
	off := s.reader.Offset() // a broken event does not move the reader
	lost := len(s.data) - off
	t.lostBytes += uint64(lost)
	p.note(causeUnreadable, fmt.Errorf("the last %d of its %d bytes, from byte %d, cannot be read as events "+
		"(sent to the dead-letter topic as one message): %w", lost, len(s.data), off, err))
	if lost > 0 {
		reason := fmt.Sprintf("unreadable chunk tail at byte %d: %v", off, err)
		s.deadLetter(span{}, s.data[off:len(s.data):len(s.data)], reason)
	}
}
