package main

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows a progress bar on stderr for large inputs when stderr is a
// terminal, and nothing otherwise (pipes, CI logs).
type progress struct {
	bar *progressbar.ProgressBar
}

// progressMinBytes is the input size below which a bar is not worth drawing.
const progressMinBytes = 16 << 20

func newProgress(stderr io.Writer, inputs []string) *progress {
	if !isTerminal(stderr) {
		return &progress{}
	}
	total := int64(0)
	for _, name := range inputs {
		st, err := os.Stat(name)
		if name == "-" || err != nil {
			total = -1 // unknown: a spinner
			break
		}
		total += st.Size()
	}
	if total >= 0 && total < progressMinBytes {
		return &progress{}
	}
	return &progress{bar: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(200e6),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetDescription("reading"),
	)}
}

func (p *progress) set(n int64) {
	if p.bar != nil {
		_ = p.bar.Set64(n)
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}

func isTerminalFd(fd uintptr) bool { return term.IsTerminal(int(fd)) }
