// Package faulttest holds the sink's tests that stop, restart or freeze the
// real test broker of `make kafka-up` (scripts/kafka). They would break any
// other test using that broker at the same time, so they run only when
// AUDITSTREAM_FAULT_TESTS=1, on their own, after the rest of the suite:
//
//	AUDITSTREAM_FAULT_TESTS=1 go test -count=1 -v ./sink/faulttest
//
// The broker is left running when they end.
package faulttest
