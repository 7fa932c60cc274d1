package pipeline

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Level is a log verbosity, ordered from the quietest.
type Level int8

// The verbosities, as Fluent Bit names them.
const (
	LevelError Level = iota
	LevelWarn
	LevelInfo
	LevelDebug
)

// levelTags are Fluent Bit's fixed-width tags: "[ warn]" lines up with "[error]".
var levelTags = [...]string{"error", " warn", " info", "debug"}

// ParseLevel maps "error", "warn", "info" or "debug" (any case) to a Level.
func ParseLevel(s string) (Level, error) {
	for i, t := range levelTags {
		if strings.EqualFold(strings.TrimSpace(t), strings.TrimSpace(s)) {
			return Level(i), nil
		}
	}
	return 0, fmt.Errorf("unknown verbosity %q, want error, warn, info or debug", s)
}

// Logger writes lines in Fluent Bit's format,
//
//	[2026/11/26 11:34:05] [ info] [output:auditstream:auditstream] message
//
// because a Go plugin cannot write into Fluent Bit's own log: its lines go to
// stderr next to Fluent Bit's, and should read the same. A Logger is safe for
// concurrent use; each line is written with one Write call.
type Logger struct {
	w      io.Writer
	level  Level
	prefix string // "[output:auditstream:NAME] "
	now    func() time.Time
	mu     sync.Mutex
}

// NewLogger returns a Logger that writes lines at level and below to w,
// tagged with component (for example "output:auditstream:auditstream").
func NewLogger(w io.Writer, level Level, component string) *Logger {
	return &Logger{w: w, level: level, prefix: "[" + component + "] ", now: time.Now}
}

// Enabled reports whether lines at lv are written; check it before building
// an expensive message.
func (l *Logger) Enabled(lv Level) bool { return l != nil && lv <= l.level }

// Errorf, Warnf, Infof and Debugf format a message with fmt.Sprintf and write
// it as one line at their level.
func (l *Logger) Errorf(format string, args ...any) { l.logf(LevelError, format, args) }
func (l *Logger) Warnf(format string, args ...any)  { l.logf(LevelWarn, format, args) }
func (l *Logger) Infof(format string, args ...any)  { l.logf(LevelInfo, format, args) }
func (l *Logger) Debugf(format string, args ...any) { l.logf(LevelDebug, format, args) }

func (l *Logger) logf(lv Level, format string, args []any) {
	if !l.Enabled(lv) {
		return
	}
	b := make([]byte, 0, 128+len(format))
	b = l.now().AppendFormat(append(b, '['), "2006/01/02 15:04:05")
	b = append(b, "] ["...)
	b = append(b, levelTags[lv]...)
	b = append(b, "] "...)
	b = append(b, l.prefix...)
	msg := len(b)
	b = fmt.Appendf(b, format, args...)
	// A message must stay one line: log collectors split Fluent Bit's log on
	// newlines (multi-line text such as a stack goes through Lines).
	for i := msg; i < len(b); i++ {
		if b[i] == '\n' || b[i] == '\r' {
			b[i] = ' '
		}
	}
	b = append(b, '\n')
	l.mu.Lock()
	l.w.Write(b) //nolint:errcheck // nowhere to report a failing stderr
	l.mu.Unlock()
}

// Lines writes each line of text as its own log line at lv, for multi-line
// text such as a goroutine stack.
func (l *Logger) Lines(lv Level, text string) {
	for line := range strings.Lines(text) {
		l.logf(lv, "%s", []any{strings.TrimRight(line, "\r\n")})
	}
}
