package policyreload

import (
	"path/filepath"
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
			defer w.Close()
		}
		h.loop(interval, events, errs, done)
	}()
	return func() {
		close(done)
		<-stopped
	}
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
		case _, ok := <-events:
			if !ok { // the watcher failed for good: the ticker remains
				events = nil
				continue
			}
			// Any change in the directory may be the policy's (the file
			// itself, ..data, a rename): the content hash tells.
			settled.Reset(settle)
		case err := <-errs:
			h.log.Warnf("policy reload: watching %s: %v", h.path, err)
		case <-settled.C:
			h.Reload()
		case <-tick.C:
			h.Reload()
		}
	}
}
