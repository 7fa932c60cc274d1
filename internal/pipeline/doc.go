// Package pipeline turns one Fluent Bit chunk into delivered Kafka messages:
// it walks the chunk's records, takes each audit event's JSON (the raw line
// under the log key, or the parsed record re-encoded), decides and rewrites
// it with the audit policy, and hands the kept events to the sink in one
// Deliver call. It holds no cgo: the plugin's exports and the CLI's ship
// command both drive it.
//
// # Outcomes
//
// Every record of a chunk ends in exactly one of three places: its stage
// topic (the policy keeps it), the dead-letter topic (it cannot be read: the
// record as it was read, with a reason naming where it was and what is
// wrong), or nowhere because the policy drops it. The dead-lettered events
// go in the same Deliver call as the kept ones, in chunk order.
//
// Flush reports one [Outcome] per chunk:
//
//   - [Delivered]: every event was acknowledged (or handled as the sink is
//     configured to handle undeliverable events). A malformed event never
//     fails a chunk: it is dead-lettered, counted and logged.
//   - [Retry]: the sink failed for a reason that can pass (broker down, leader
//     election, the deadline of one flush), or the flush panicked outside
//     the filtering of an event. The same chunk is worth trying again; its
//     events are produced again then.
//   - [Failed]: retrying the chunk cannot help: its msgpack framing broke part
//     way. The events read before the break are delivered first, and the
//     bytes from the break on dead-lettered as one message; Failed is
//     reported only once they are, so that nothing is lost silently and the
//     host's own error counters show the broken chunk. A sink error never
//     fails a chunk, even one retrying cannot fix (refused credentials):
//     dropping audit events for a configuration mistake would lose them, so
//     the chunk is retried, bounded by the host's retry limit.
//
// # Panics
//
// A panic while filtering one event dead-letters that event (reason
// "panic: <value>", the stack in the log) and the chunk goes on; a panic
// elsewhere in a flush makes it Retry. Goroutines the pipeline starts
// recover too: a panic on them would end the host process.
//
// # Memory
//
// The chunk is read in place: the raw line is a view into it. An event the
// policy keeps exactly as it was logged is handed to the sink as that view;
// a rewritten event, and the key and header fields of every event, are
// copied into scratch memory owned by the flush. The sink holds no
// reference to what it is given once Deliver returns (it copies what the
// producer may still need), so nothing references the chunk once Flush
// returns, and the scratch goes back to a free list. Each concurrent Flush takes
// its own scratch, including its own policy processor.
package pipeline
