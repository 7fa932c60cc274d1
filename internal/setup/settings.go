package setup

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/pipeline"
	"github.com/auditstream/auditstream/sink"
)

// The keys of the pipeline around the sink's. Fluent Bit consumes log_level
// itself, so the plugin's own verbosity has its own key.
const (
	KeyPolicyFile      = "policy_file"
	KeyLogKey          = "log_key"
	KeyPathKey         = "path_key"
	KeyVerbosity       = "verbosity"
	KeySummaryInterval = "summary_interval"
	KeyInstanceName    = "instance_name"
	KeyParallelism     = "filter_parallelism"

	DefaultSummaryInterval = time.Minute
	// FlushMargin is added to the sink's delivery_timeout to bound a whole
	// flush: the sink gives up on its own at delivery_timeout, this is only
	// the backstop.
	FlushMargin = 2 * time.Second
	// maxParallelism bounds filter_parallelism: a 2 MB chunk has no more
	// than 32 parts of the least size worth one.
	maxParallelism = 32
)

// Keys lists every key Read and ReadVerbosity read: the pipeline's and the sink's.
func Keys() []string {
	keys := append([]string{KeyPolicyFile, KeyLogKey, KeyPathKey, KeyVerbosity, KeySummaryInterval, KeyInstanceName, KeyParallelism}, RedactKeys()...)
	return append(keys, sink.Keys()...)
}

// Settings is one pipeline's configuration: a plugin [OUTPUT] instance's, or
// the ship command's.
type Settings struct {
	PolicyFile string
	LogKey     string
	// PathKey is the record key tail's Path_Key writes the file name to,
	// quoted in the reasons of dead-lettered events; empty: none.
	PathKey         string
	SummaryInterval time.Duration
	// FilterParallelism is pipeline.Config's: how many goroutines may
	// filter one large chunk.
	FilterParallelism int
	// Redaction is applied to the events the policy keeps; nil when off.
	Redaction *filter.Redaction
	Sink      sink.Config
}

// InstanceName is what the instance's log lines are tagged with: the
// instance_name key, else "auditstream". Fluent Bit keeps alias to itself
// and tells a Go plugin neither its instance's name nor its number, so
// several instances are told apart in the log by setting instance_name.
func InstanceName(get func(string) string) string {
	if n := strings.TrimSpace(get(KeyInstanceName)); n != "" {
		return n
	}
	return "auditstream"
}

// ReadVerbosity reads only the verbosity, so that the logger exists before
// any other key is checked and can report what is wrong with them.
func ReadVerbosity(get func(string) string) (pipeline.Level, error) {
	v := strings.TrimSpace(get(KeyVerbosity))
	if v == "" {
		return pipeline.LevelInfo, nil
	}
	lv, err := pipeline.ParseLevel(v)
	if err != nil {
		return pipeline.LevelInfo, fmt.Errorf("%s: %w", KeyVerbosity, err)
	}
	return lv, nil
}

// Read reads and checks every key but the verbosity. The error names
// the key and what is wrong with its value.
func Read(get func(string) string) (Settings, error) {
	s := Settings{
		PolicyFile:      strings.TrimSpace(get(KeyPolicyFile)),
		LogKey:          strings.TrimSpace(get(KeyLogKey)),
		PathKey:         strings.TrimSpace(get(KeyPathKey)),
		SummaryInterval: DefaultSummaryInterval,
	}
	if s.PolicyFile == "" {
		return s, errors.New(KeyPolicyFile + ": required: the path of an audit.k8s.io/v1 Policy file")
	}
	if s.LogKey == "" {
		s.LogKey = pipeline.DefaultLogKey
	}
	if v := strings.TrimSpace(get(KeySummaryInterval)); v != "" {
		d, err := parseInterval(v)
		if err != nil {
			return s, fmt.Errorf("%s: invalid value %q: want a duration such as 30s or 5m, or 0 to disable", KeySummaryInterval, v)
		}
		s.SummaryInterval = d
	}
	s.FilterParallelism = pipeline.DefaultFilterParallelism
	if v := strings.TrimSpace(get(KeyParallelism)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxParallelism {
			return s, fmt.Errorf("%s: invalid value %q: want a whole number from 1 to %d", KeyParallelism, v, maxParallelism)
		}
		s.FilterParallelism = n
	}
	var err error
	if s.Redaction, err = ReadRedaction(get); err != nil {
		return s, err
	}
	// ConfigFromKeys validates too: a missing broker fails here, at init,
	// rather than at the first flush.
	s.Sink, err = sink.ConfigFromKeys(get)
	return s, err
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
