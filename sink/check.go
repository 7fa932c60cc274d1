package sink

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol/metadata"
)

// Check asks the brokers for the metadata of every configured topic, the
// dead-letter topic included, within ctx: it reports, at start rather than at
// the first flush, brokers that cannot be reached, rejected credentials or
// certificates, and missing topics. With auto_create_topics it asks the
// brokers to create the missing ones, as the first message to each would, so
// that the dead-letter topic exists before anything needs it. Its error is
// classified like Deliver's (IsRetryable).
func (s *Sink) Check(ctx context.Context) (err error) {
	defer func() {
		// The plugin runs Check in a goroutine of its own at start.
		if r := recover(); r != nil {
			err = &DeliveryError{Err: s.recovered("Check", r)}
		}
		err = s.redact.err(err)
	}()
	call(s.hooks.beforeCheck)
	return s.check(ctx)
}

func (s *Sink) check(ctx context.Context) error {
	addr := kafka.TCP(s.cfg.Brokers...)
	req := &metadata.Request{TopicNames: s.topics, AllowAutoTopicCreation: s.cfg.AutoCreateTopics}
	for attempt := 0; ; attempt++ {
		res, err := s.transport.RoundTrip(ctx, addr, req)
		if err != nil {
			retryable := classify(err) != classFatal
			if !retryable {
				err = explain(err)
			}
			return &DeliveryError{Retryable: retryable, Err: fmt.Errorf("cannot read metadata from %s: %w", strings.Join(s.cfg.Brokers, ","), err)}
		}
		err = s.topicErrors(res.(*metadata.Response))
		if err == nil {
			return nil
		}
		retryable := classify(err) == classRetryable
		// A topic the broker is creating has no leader for a moment.
		if !retryable || attempt >= checkAttempts-1 || !sleep(ctx, checkBackoff) {
			return &DeliveryError{Retryable: retryable, Err: err}
		}
	}
}

// Attempts of Check while topics being created have no leader yet.
const (
	checkAttempts = 5
	checkBackoff  = 200 * time.Millisecond
)

// topicErrors joins the errors of the sink's topics in a metadata answer, each
// naming its topic, and what to do when it is missing.
func (s *Sink) topicErrors(res *metadata.Response) error {
	var errs []error
	for _, t := range res.Topics {
		if t.ErrorCode == 0 {
			continue
		}
		code := kafka.Error(t.ErrorCode)
		err := fmt.Errorf("topic %q: %w", t.Name, code)
		switch {
		case code == kafka.UnknownTopicOrPartition:
			err = fmt.Errorf("%w (%s)", err, s.missingTopicHint())
		case classify(code) == classRefused:
			err = fmt.Errorf("%w (%s)", err, refusalHint(code))
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// missingTopicHint says what to do about a topic that does not exist.
func (s *Sink) missingTopicHint() string {
	if s.cfg.AutoCreateTopics {
		return "the brokers did not create it: create it, or set auto.create.topics.enable=true on the brokers"
	}
	return "create it, or set auto_create_topics on to let the brokers create it"
}
