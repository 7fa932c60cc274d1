// Package chunk reads the msgpack chunks that Fluent Bit hands to an output
// plugin's FlushCtx, without copying them.
//
// # Chunk format
//
// A chunk is a msgpack buffer of events back to back, with no outer array.
// Each event is one of
//
//	[[timestamp, metadata], record]   Fluent Bit >= 2.1
//	[timestamp, record]               older versions
//
// where metadata and record are msgpack maps and timestamp is msgpack ext type 0
// (4 bytes big-endian seconds then 4 bytes nanoseconds, as fixext8 or ext8), an
// integer or a float. Events whose timestamp seconds are -1 or -2 are group
// markers (group start and group end): they carry no record to ship, and
// [Reader.Next] skips and counts them unless [Reader.ReadGroups] is set.
// Every msgpack header width is accepted (fixarray/array16/array32,
// fixmap/map16/map32, fixstr/str8/str16/str32, bin8/bin16/bin32), because
// Fluent Bit's dynamic encoders reserve array32/map32 headers even for small
// counts.
//
// # Views and lifetimes
//
// Nothing in this package copies the input. [Record.Metadata], [Record.Body]
// and the value returned by [LookupString] are views into the buffer that was
// read: they are valid as long as that buffer is. Fluent Bit's data pointer is
// only valid until FlushCtx returns, so a caller that keeps anything longer
// (for example a Kafka message that is still in flight) must copy it first.
// Views are capped at their length, so appending to one copies it instead of
// overwriting the bytes that follow it in the chunk.
// Functions retain nothing after they return; a [Reader] keeps a reference to
// the buffer passed to [Reader.Reset] until the next Reset (Reset(nil) drops it).
//
// # Fast path and slow path
//
// The tail input without a parser produces records {"log": "<raw line>"}: the
// audit event's JSON line is a msgpack string, and [LookupString] returns it as
// a view without decoding or re-encoding anything. With "Parser json" the event
// arrives as a nested msgpack map, and [AppendJSON] re-encodes it as compact
// JSON (slower: it walks and formats every value).
//
// # Errors
//
// Errors are *[Error] values that say what was wrong, in which event and at
// which byte offset. msgpack has no resynchronisation point: when an event's
// framing is broken (the chunk is truncated, or an invalid msgpack byte
// appears) the rest of the chunk cannot be read, and [Reader.Next] keeps
// returning the same error. When the event is well-formed msgpack but not a
// valid Fluent Bit event (for example a string where the timestamp should be),
// the reader moves past it, sets [Error.Skipped], and the next call to Next
// continues with the following event. Malformed input never panics and never
// makes the reader loop: every event consumes at least one byte.
package chunk
