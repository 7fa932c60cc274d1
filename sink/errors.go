package sink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// ErrClosed is returned by Deliver once Close has been called. It is not
// retryable: this Sink will never deliver again.
var ErrClosed = errors.New("sink: closed")

// DeliveryError reports a Deliver call that returned before every event was
// acknowledged, dead-lettered or dropped.
type DeliveryError struct {
	// Failed events were neither acknowledged nor dead-lettered nor dropped:
	// retrying the batch would send them again. Total is the batch's size.
	Failed, Total int
	// Retryable says whether retrying the batch later can help: true for
	// broker outages, timeouts and refused topics (which a change on the
	// brokers fixes), false when the sink cannot reach Kafka as configured
	// (authentication, certificates).
	Retryable bool
	// Err is the cause, from the last attempt.
	Err error
	// After is how long the call tried.
	After time.Duration
}

func (e *DeliveryError) Error() string {
	if e.Retryable {
		return fmt.Sprintf("sink: %d of %d events not acknowledged after %s (retryable): %v",
			e.Failed, e.Total, e.After.Round(time.Millisecond), e.Err)
	}
	return fmt.Sprintf("sink: cannot deliver %d of %d events (not retryable): %v", e.Failed, e.Total, e.Err)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// IsRetryable reports whether delivering the same batch again later can
// succeed where err failed: true for a *DeliveryError that says so, for
// transient Kafka and network errors and for topics the brokers refuse, false
// for nil, ErrClosed, records the broker judged bad, and configuration or
// authentication failures.
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, ErrClosed) {
		return false
	}
	var de *DeliveryError
	if errors.As(err, &de) {
		return de.Retryable
	}
	c := classify(err)
	return c == classRetryable || c == classRefused
}

// errClass is what the sink does with a message that failed with an error.
type errClass uint8

const (
	// classRetryable: the broker or the network may recover: retry the
	// message after a backoff, until the call's deadline.
	classRetryable errClass = iota
	// classTooLarge: the broker refused the message or its batch as too
	// large: resend it alone, then truncate it, then dead-letter it.
	classTooLarge
	// classBadRecord: the broker rejected a record of the batch for its
	// content: resend the message alone, to learn whether it is the one, then
	// dead-letter it.
	classBadRecord
	// classRefused: the broker refuses the topic or the request (not
	// authorized, invalid topic, policy, version): no message of the topic
	// can be delivered until its configuration changes, and none is to
	// blame. Stop the call with a retryable error, so that the batch is kept.
	classRefused
	// classFatal: no message can be delivered as the sink is configured
	// (authentication, certificates): stop the call, not retryable.
	classFatal
)

// classify sorts an error from kafka-go. Only the broker error codes that
// judge one record dead-letter it; every other code that is not transient
// (kafka.Error.Temporary) is a refusal that keeps the data. Errors with no
// code (network, timeouts, unknown) are taken as transient, so that a doubt
// keeps the data rather than dropping it.
func classify(err error) errClass {
	// kafka-go's own check of a message against the writer's batch_bytes;
	// the sink sends larger ones through its one-message writer, so this
	// is a safety net that resends the call's messages alone.
	var tooLarge kafka.MessageTooLargeError
	if errors.As(err, &tooLarge) {
		return classTooLarge
	}
	var pe *panicError
	if errors.As(err, &pe) {
		return classFatal
	}
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		switch kerr {
		// The record is larger than the topic's max.message.bytes, or the
		// batch than the log segment.
		case kafka.MessageSizeTooLarge, kafka.RecordListTooLarge:
			return classTooLarge
		// INVALID_RECORD: the broker's record validation failed (no key
		// for a compacted topic, a bad header). CORRUPT_MESSAGE
		// (kafka-go's InvalidMessage): a CRC mismatch, or on old brokers
		// the same validation. Both judge records, and a batch is
		// rejected whole for one of them; the resend alone also retries
		// a corruption on the way once.
		case kafka.InvalidRecord, kafka.InvalidMessage:
			return classBadRecord
		case kafka.SASLAuthenticationFailed, kafka.UnsupportedSASLMechanism, kafka.IllegalSASLState,
			kafka.ClusterAuthorizationFailed, kafka.UnsupportedCompressionType, kafka.InvalidRequiredAcks:
			return classFatal
		}
		// Not listed above, and so refusals: INVALID_TIMESTAMP, which
		// judges this node's clock (the record time is the time of
		// delivery) against the topic's bounds, not the event;
		// TOPIC_AUTHORIZATION_FAILED, INVALID_TOPIC_EXCEPTION,
		// POLICY_VIOLATION, UNSUPPORTED_VERSION, UNKNOWN_SERVER_ERROR and
		// the rest, which say nothing against one record.
		if kerr.Temporary() {
			return classRetryable
		}
		return classRefused
	}
	if isTLSFailure(err) {
		return classFatal
	}
	return classRetryable
}

// refusalHint says what to check when the broker refuses a topic.
func refusalHint(err error) string {
	var kerr kafka.Error
	errors.As(err, &kerr)
	switch kerr {
	case kafka.TopicAuthorizationFailed:
		return "grant the producer's principal WRITE and DESCRIBE on the topic"
	case kafka.InvalidTopic:
		return "the brokers refuse this topic name (an internal topic, or one that collides with another topic): check the topic settings"
	case kafka.InvalidTimestamp:
		return "the record time (this node's clock) is outside the topic's message.timestamp.before.max.ms/after.max.ms: check the node's clock"
	case kafka.PolicyViolation:
		return "a policy on the brokers refuses the request: check the topic and the brokers' policies"
	case kafka.UnsupportedVersion:
		return "the brokers do not support this request (Kafka 0.11 or later is needed)"
	}
	return "check the topic and the brokers' logs"
}

// isTLSFailure reports errors of the TLS handshake that a retry cannot fix:
// an untrusted or mismatched certificate, or TLS spoken to a plaintext port.
func isTLSFailure(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		recordHeader     tls.RecordHeaderError
		alert            tls.AlertError
	)
	return errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verification) || errors.As(err, &recordHeader) || errors.As(err, &alert)
}

// explain wraps a fatal error with the settings to check, so that the log line
// tells the operator what to fix.
func explain(err error) error {
	var kerr kafka.Error
	switch {
	case errors.As(err, &kerr) && (kerr == kafka.SASLAuthenticationFailed || kerr == kafka.IllegalSASLState):
		return fmt.Errorf("kafka rejected the SASL credentials (check sasl_username and the password source): %w", err)
	case errors.As(err, &kerr) && kerr == kafka.UnsupportedSASLMechanism:
		return fmt.Errorf("the broker does not offer this SASL mechanism (check sasl_mechanism): %w", err)
	case errors.As(err, &kerr) && kerr == kafka.UnsupportedCompressionType:
		return fmt.Errorf("the broker does not accept this codec (check compression): %w", err)
	case isTLSFailure(err):
		return fmt.Errorf("TLS handshake with the broker failed (check kafka_ca_file, kafka_server_name, "+
			"kafka_cert_file, and that the broker port speaks TLS): %w", err)
	}
	return err
}

// isContextErr reports whether err is only the call's own deadline or
// cancellation, which says nothing about Kafka.
func isContextErr(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}
