package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/auditstream/auditstream/internal/pipeline"
	"github.com/auditstream/auditstream/sink"
)

// Plugin keys and defaults. Fluent Bit consumes log_level itself, so the
// plugin's own verbosity has its own key.
const (
	keyPolicyFile      = "policy_file"
	keyLogKey          = "log_key"
	keyVerbosity       = "verbosity"
	keySummaryInterval = "summary_interval"
	keyInstanceName    = "instance_name"

	defaultSummaryInterval = time.Minute
	// flushMargin is added to the sink's delivery_timeout to bound a whole
	// flush: the sink gives up on its own at delivery_timeout, this is only
	// the backstop.
	flushMargin = 2 * time.Second
)

// settings is one [OUTPUT] instance's configuration.
type settings struct {
	policyFile      string
	logKey          string
	summaryInterval time.Duration
	sink            sink.Config
}

// instanceName is what the instance's log lines are tagged with: the
// instance_name key, else "auditstream". Fluent Bit keeps alias to itself
// and tells a Go plugin neither its instance's name nor its number, so
// several instances are told apart in the log by setting instance_name.
func instanceName(get func(string) string) string {
	if n := strings.TrimSpace(get(keyInstanceName)); n != "" {
		return n
	}
	return pluginName
}

// readVerbosity reads only the verbosity, so that the logger exists before
// any other key is checked and can report what is wrong with them.
func readVerbosity(get func(string) string) (pipeline.Level, error) {
	v := strings.TrimSpace(get(keyVerbosity))
	if v == "" {
		return pipeline.LevelInfo, nil
	}
	lv, err := pipeline.ParseLevel(v)
	if err != nil {
		return pipeline.LevelInfo, fmt.Errorf("%s: %w", keyVerbosity, err)
	}
	return lv, nil
}

// readSettings reads and checks every key but the verbosity. The error names
// the key and what is wrong with its value.
func readSettings(get func(string) string) (settings, error) {
	s := settings{
		policyFile:      strings.TrimSpace(get(keyPolicyFile)),
		logKey:          strings.TrimSpace(get(keyLogKey)),
		summaryInterval: defaultSummaryInterval,
	}
	if s.policyFile == "" {
		return s, errors.New(keyPolicyFile + ": required: the path of an audit.k8s.io/v1 Policy file")
	}
	if s.logKey == "" {
		s.logKey = pipeline.DefaultLogKey
	}
	if v := strings.TrimSpace(get(keySummaryInterval)); v != "" {
		d, err := parseInterval(v)
		if err != nil {
			return s, fmt.Errorf("%s: invalid value %q: want a duration such as 30s or 5m, or 0 to disable", keySummaryInterval, v)
		}
		s.summaryInterval = d
	}
	var err error
	if s.sink, err = sink.ConfigFromKeys(get); err != nil {
		return s, err
	}
	// ConfigFromKeys reports bad values; Validate reports what is missing
	// (brokers) or inconsistent, which sink.New would otherwise report later.
	if err := s.sink.Validate(); err != nil {
		return s, err
	}
	return s, nil
}

func parseInterval(v string) (time.Duration, error) {
	if v == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err == nil && d < 0 {
		err = errors.New("negative")
	}
	return d, err
}
