package policyreload

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// settle is how long Watch waits after a file event before reloading: an
// editor or a ConfigMap update changes the directory in several steps, and
// the policy is read once they are done.
const settle = 200 * time.Millisecond

// Watch reloads the policy when its file changes and every interval (which
// must be positive), until the returned stop is called; stop waits for a
// running reload.
//
// It watches the directory that holds the file, not the file: a ConfigMap
// volume replaces the file by swapping the ..data symlink beside it, and an
// editor often writes a new file and renames it over the old one; neither
// touches the inode a file watch would follow. Where file events are not
// available (inotify limits, some network file systems) the periodic check
// alone catches the change.
func (h *Holder) Watch(interval time.Duration) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	w, err := fsnotify.NewWatcher()
	if err == nil {
		if err = w.Add(filepath.Dir(h.path)); err != nil {
			_ = w.Close()
		}
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if err != nil {
		h.log.Warnf("policy reload: cannot watch %s (%v); checking it every %v instead", h.path, err, interval)
		w = nil
	} else {
		events, errs = w.Events, w.Errors
	}
	go func() {
		defer close(stopped)
		if w != nil {
			defer func() { _ = w.Close() }() // nothing left to report to once stopped
		}
		h.loop(interval, events, errs, done)
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// concerns reports whether a change to the directory entry name may change
// the policy: the file itself (written, or replaced by a rename), or a
// ConfigMap volume's ..data symlink and the ..<timestamp> directories it
// points to. Other files in the directory (a log Fluent Bit writes there,
// the tail database) are ignored: reacting to them would reload on every
// line logged, and log the refusal of a broken policy in a loop.
func (h *Holder) concerns(name string) bool {
	base := filepath.Base(name)
	return base == filepath.Base(h.path) || strings.HasPrefix(base, "..")
}

func (h *Holder) loop(interval time.Duration, events <-chan fsnotify.Event, errs <-chan error, done <-chan struct{}) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	settled := time.NewTimer(settle)
	settled.Stop()
	defer settled.Stop()
	for {
		select {
		case <-done:
			return
		case ev, ok := <-events:
			if !ok { // the watcher failed for good: the ticker remains
				events = nil
				continue
			}
			if h.concerns(ev.Name) {
				settled.Reset(settle)
			}
		case err := <-errs:
			h.log.Warnf("policy reload: watching %s: %v", h.path, err)
		case <-settled.C:
			h.Reload()
		case <-tick.C:
			h.Reload()
		}
	}
}
