// Command plugin is the auditstream output plugin for Fluent Bit, built with
// `go build -buildmode=c-shared` into out_auditstream.so (make plugin) and
// loaded by Fluent Bit's Go proxy as output "auditstream".
//
// This package is only the cgo boundary: the exports Fluent Bit calls
// (exports.go), the reading of an instance's keys (internal/setup) and the
// mapping of outcomes to FLB_OK, FLB_RETRY and FLB_ERROR (instance.go). The
// work of a flush is internal/pipeline's.
//
// # Keys
//
// Fluent Bit matches keys case-insensitively. Besides every key of the Kafka
// sink (brokers, topic, compression, ...; see package sink), an instance reads:
//
//	policy_file       the audit.k8s.io/v1 Policy to apply (required)
//	log_key           the record key holding the raw audit line; default log.
//	                  Records without it are taken as parsed events (Parser json).
//	path_key          the record key tail's Path_Key writes the file name to;
//	                  a dead-lettered event's reason names that file. Default
//	                  none.
//	verbosity         error, warn, info (default) or debug: log_level is Fluent
//	                  Bit's own and never reaches a plugin.
//	summary_interval  period of the summary line, a Go duration; default 60s,
//	                  0 disables it. A last summary is logged at exit.
//	filter_parallelism  how many goroutines filter one chunk of 128 KB or
//	                  more, each a part of it, less one per other flush
//	                  filtering at the same time; default 2, 1 to filter on
//	                  the flush's own thread only.
//
// A bad key fails the instance's init with one line naming the key.
//
// # Return codes
//
//	FLB_OK     every kept event of the chunk is acknowledged by Kafka (events
//	           the policy drops never fail a chunk, and malformed events go
//	           to the dead-letter topic with the reason)
//	FLB_RETRY  Kafka is unavailable, slow, or refuses the configuration
//	           (credentials, certificates; logged as an error), or a flush
//	           panicked (a bug, logged with its stack): nothing is lost, the
//	           chunk comes back, within Fluent Bit's Retry_Limit
//	FLB_ERROR  retrying cannot help: the chunk's msgpack breaks part way (the
//	           events before the break are delivered first, the bytes after
//	           it go to the dead-letter topic as one message)
//
// A flush returns within the sink's delivery_timeout plus 2s; the exit hook
// within 4s, inside Fluent Bit's default 5s Grace.
//
// # State
//
// Every [OUTPUT] instance owns its policy, producer and counters, reached
// through the handle Fluent Bit passes to each call. The only package-level
// mutable state is the table of those handles (handles.go), which holds the
// running instances only: an instance's exit removes it. That matters with
// Fluent Bit's hot reload, which closes every instance and starts new ones
// in the same process and the same Go runtime.
package main

func main() {}
