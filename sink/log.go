package sink

import "time"

// LogLevel is the severity of a log line.
type LogLevel int8

// Levels, in increasing severity.
const (
	LogDebug LogLevel = iota
	LogInfo
	LogWarn
	LogError
)

func (l LogLevel) String() string {
	switch l {
	case LogDebug:
		return "debug"
	case LogInfo:
		return "info"
	case LogWarn:
		return "warn"
	default:
		return "error"
	}
}

// Logger receives the sink's log lines, already formatted, so that the caller
// can print them in its own format (the plugin uses Fluent Bit's). It must be
// safe for concurrent use. The sink logs on start, on close and on failures,
// never per delivered event, and never a password. A nil Logger discards.
type Logger func(level LogLevel, msg string)

// logEvery is how often one cause of dropped or dead-lettered events is logged.
const logEvery = time.Minute
