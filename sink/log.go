package sink

import (
	"sync"
	"time"
)

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

// limiter logs a recurring cause at most once per logEvery, with the number of
// occurrences since the last line, so that a misconfigured topic produces one
// line a minute rather than one per event.
type limiter struct {
	mu    sync.Mutex
	last  map[string]time.Time
	count map[string]int
}

// allow records n occurrences of cause and reports whether to log now, with
// the occurrences since the last line (including these).
func (l *limiter) allow(cause string, n int, now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last, l.count = make(map[string]time.Time), make(map[string]int)
	}
	l.count[cause] += n
	if t, ok := l.last[cause]; ok && now.Sub(t) < logEvery {
		return 0, false
	}
	total := l.count[cause]
	l.last[cause], l.count[cause] = now, 0
	// Causes are few (a topic and an error code each), but forget old ones
	// so that the maps cannot grow without bound.
	if len(l.last) > 1000 {
		for k, t := range l.last {
			if now.Sub(t) >= logEvery {
				delete(l.last, k)
				delete(l.count, k)
			}
		}
	}
	return total, true
}
