package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/auditstream/auditstream/internal/auditlog"
)

// maxReportedLines bounds the per-line error messages; the total is always reported.
const maxReportedLines = 20

// fatal marks an error of readAll's fn that must end the run (a failed
// write), as opposed to a line that is not an audit event.
type fatal struct{ error }

func (f fatal) Unwrap() error { return f.error }

// readAll calls fn for every non-empty line of in. A line fn returns an
// error for, or one too long to read, is not an audit event: it is reported
// on stderr with its position (the first maxReportedLines of them) and
// skipped, or with strict it ends the run with exit code 2. A read error
// or a fatal error from fn ends the run as it is.
func readAll(in *auditlog.Reader, stderr io.Writer, strict bool, fn func([]byte, auditlog.Position) error) error {
	bad := 0
	for {
		line, pos, err := in.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil && len(line) == 0 {
			continue
		}
		if err == nil {
			if err = fn(line, pos); err != nil {
				if f, ok := errors.AsType[fatal](err); ok {
					return f.error
				}
				err = fmt.Errorf("%s: %w", pos, err)
			}
		} else if !errors.Is(err, auditlog.ErrLineTooLong) {
			return err
		}
		if err == nil {
			continue
		}
		if strict {
			return &exitError{code: exitBadInput, err: err}
		}
		if bad++; bad <= maxReportedLines {
			fmt.Fprintln(stderr, "skipped:", err)
		}
	}
	if bad > 0 {
		fmt.Fprintf(stderr, "skipped %d lines that are not audit events\n", bad)
	}
	return nil
}
