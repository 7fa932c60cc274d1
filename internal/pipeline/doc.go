// Package pipeline turns one Fluent Bit chunk into delivered Kafka messages:
// it walks the chunk's records, takes each audit event's JSON (the raw line
// under the log key, or the parsed record re-encoded), decides and rewrites
// it with the audit policy, and hands the kept events to the sink in one
// Deliver call. It holds no cgo: the plugin's exports and the CLI's ship
// command both drive it.
//
// # Outcomes
//
// Flush reports one [Outcome] per chunk:
//
//   - [Delivered]: every kept event was acknowledged (or handled as the sink is
//     configured to handle undeliverable events). Malformed events and events
//     the policy drops never fail a chunk: they are counted and logged.
//   - [Retry]: the sink failed for a reason that can pass (broker down, leader
//     election, the deadline of one flush). The same chunk is worth trying
//     again; the kept events are produced again then.
//   - [Failed]: retrying the chunk cannot help: its msgpack framing broke part
//     way. The events read before the break are delivered first, and Failed
//     is reported only once they are, so that nothing readable is lost and
//     the host's own error counters show that the tail of the chunk was. A
//     sink error never fails a chunk, even one retrying cannot fix (refused
//     credentials): dropping audit events for a configuration mistake would
//     lose them, so the chunk is retried, bounded by the host's retry limit.
//
// # Memory
//
// The chunk is read in place: the raw line is a view into it. An event the
// policy keeps exactly as it was logged is handed to the sink as that view;
// a rewritten event, and the key and header fields of every event, are
// copied into scratch memory owned by the flush. The sink holds no
// reference to what it is given once Deliver returns (it copies what the
// producer may still need), so nothing references the chunk once Flush
// returns, and the scratch goes back to a pool. Each concurrent Flush takes
// its own scratch, including its own policy processor.
package pipeline
