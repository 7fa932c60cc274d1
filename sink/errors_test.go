package sink

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"syscall"
	"testing"

	"github.com/segmentio/kafka-go"
)

func TestClassify(t *testing.T) {
	f := func(err error, want errClass, retryable bool) {
		t.Helper()
		if got := classify(err); got != want {
			t.Errorf("classify(%v) = %d; want %d", err, got, want)
		}
		if got := IsRetryable(err); got != retryable {
			t.Errorf("IsRetryable(%v) = %t; want %t", err, got, retryable)
		}
	}
	wrap := func(err error) error { return fmt.Errorf("kafka.(*Client).Produce: %w", err) }
	f(kafka.NotLeaderForPartition, classRetryable, true)
	f(wrap(kafka.NotEnoughReplicas), classRetryable, true)
	f(kafka.RequestTimedOut, classRetryable, true)
	f(kafka.LeaderNotAvailable, classRetryable, true)
	f(kafka.UnknownTopicOrPartition, classRetryable, true)
	f(wrap(syscall.ECONNREFUSED), classRetryable, true)
	f(io.ErrUnexpectedEOF, classRetryable, true)
	f(context.DeadlineExceeded, classRetryable, true)
	f(kafka.MessageSizeTooLarge, classTooLarge, false)
	f(kafka.MessageTooLargeError{}, classTooLarge, false)
	f(kafka.RecordListTooLarge, classTooLarge, false)
	// Only errors that judge a record dead-letter it.
	f(kafka.InvalidRecord, classBadRecord, false)
	f(wrap(kafka.InvalidMessage), classBadRecord, false) // CORRUPT_MESSAGE
	// Every other refusal keeps the batch, for a retry once it is fixed.
	f(kafka.TopicAuthorizationFailed, classRefused, true)
	f(kafka.InvalidTopic, classRefused, true)
	f(wrap(kafka.PolicyViolation), classRefused, true)
	f(kafka.UnsupportedVersion, classRefused, true)
	f(kafka.Unknown, classRefused, true) // UNKNOWN_SERVER_ERROR
	f(kafka.InvalidTimestamp, classRefused, true)
	f(kafka.InvalidPartitionNumber, classRefused, true)
	f(wrap(kafka.SASLAuthenticationFailed), classFatal, false)
	f(kafka.UnsupportedSASLMechanism, classFatal, false)
	f(wrap(x509.UnknownAuthorityError{}), classFatal, false)
	f(x509.HostnameError{Host: "k"}, classFatal, false)

	if IsRetryable(nil) || IsRetryable(ErrClosed) || IsRetryable(fmt.Errorf("x: %w", ErrClosed)) {
		t.Errorf("nil and ErrClosed are not retryable")
	}
	de := &DeliveryError{Failed: 1, Total: 2, Retryable: true, Err: kafka.SASLAuthenticationFailed}
	if !IsRetryable(fmt.Errorf("flush: %w", de)) {
		t.Errorf("a DeliveryError's own verdict wins")
	}
	if !errors.Is(de, kafka.SASLAuthenticationFailed) {
		t.Errorf("DeliveryError does not unwrap")
	}
}
