// Package chaos drives auditstream as users run it (the `auditstream ship`
// command, and the plugin's .so loaded by the C harness as Fluent Bit's Go
// proxy loads it) through faults against a real Kafka broker, and checks an
// auditID ledger afterwards.
//
// The rule the ledger checks: every line read from the audit log ends in
// exactly one of three places. It is on its stage's topic (as the policy
// decided, at least once), or on the dead-letter topic with an "error"
// header saying why, or it is dropped because the policy says level None or
// omits its stage. Nothing else drops a line. Duplicates are allowed (the
// delivery is at least once) and counted.
//
// The faults: the broker killed with SIGKILL and restarted mid-stream, the
// broker frozen with SIGSTOP for longer than delivery_timeout, a stage topic
// deleted while in use (and created again), the shipper killed with SIGKILL
// in the middle of a flush and started again, and a hostile corpus mixed
// into a normal log.
//
// The suite kills its broker, so it runs its own: the instance "chaos" of
// scripts/kafka (KAFKA_INSTANCE=chaos, ports 39192-39194, state in
// .cache/kafka-chaos/), which it starts, restarts and stops itself. It runs
// only when AUDITSTREAM_CHAOS is set, to "short" (what CI runs) or "full"
// (`make test-chaos`); `go test ./...` skips it.
package chaos
