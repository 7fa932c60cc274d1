package chaos

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// run is one driver shipping one log through one fault.
type run struct {
	s       *suite
	t       *testing.T
	name    string // unique to the run, part of its topics and auditIDs
	f       fault
	rt      runTopics
	lines   []logLine
	dir     string
	logPath string // the whole log as a file

	exps []expectation // the ledger's expectations of lines
	// exit is the last process's exit status, for a driver whose exit
	// status promises something (ship's: 0 when every kept line arrived).
	exit        error
	exitChecked bool
	col         *collector

	mu       sync.Mutex
	signalFn func(syscall.Signal) error // signals the driver's current process

	once    sync.Once
	started bool       // the strike started (set inside once)
	struck  chan error // the strike's result
}

// driver ships r.lines through the product, calling r.progress as it hands
// lines over, and returns once everything is delivered or given up on.
type driver struct {
	name  string
	drive func(r *run) error
}

// setProcess tells the run which process the driver runs now (nil: none),
// for the faults that kill or reload it.
func (r *run) setProcess(p *os.Process) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.signalFn = nil
	if p != nil {
		r.signalFn = func(sig syscall.Signal) error { return p.Signal(sig) }
	}
}

// signalDriver sends sig to the driver's current process.
func (r *run) signalDriver(sig syscall.Signal) error {
	r.mu.Lock()
	fn := r.signalFn
	r.mu.Unlock()
	if fn == nil {
		return errors.New("no driver process to signal")
	}
	return fn(sig)
}

// killDriver kills the driver's current process with SIGKILL.
func (r *run) killDriver() error { return r.signalDriver(syscall.SIGKILL) }

// missing is how many lines the ledger finds nowhere yet, for a driver
// that cannot tell by itself when everything is delivered (Fluent Bit).
func (r *run) missing() int {
	return check(r.exps, r.rt, r.col.snapshot()).Lost
}

// progress tells the run that done lines were handed to the product; the
// fault strikes, beside the driver, once its share is reached.
func (r *run) progress(done int) {
	if r.f.strike == nil || float64(done) < r.f.at*float64(len(r.lines)) {
		return
	}
	r.once.Do(func() {
		r.started = true
		r.t.Logf("%s: strikes after %d of %d lines", r.f.name, done, len(r.lines))
		go func() { r.struck <- r.f.strike(r) }()
	})
}

// runFault runs one driver through one fault on a new log and checks the
// ledger.
func (s *suite) runFault(t *testing.T, d driver, f fault, round int) {
	// Letters and digits only: the name is part of topics and auditIDs.
	name := strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			return c
		}
		return -1
	}, fmt.Sprintf("%s%d%s", d.name, round, strings.ToLower(f.name)))
	if len(name) > 40 {
		name = name[:40]
	}
	r := &run{s: s, t: t, name: name, f: f, rt: topicsFor(name), dir: t.TempDir(), struck: make(chan error, 1)}
	r.lines = corpus(uint64(round)<<8|uint64(len(s.results)), "cx-"+name, s.size.events, f.hostile, s.size.hugeLine)
	r.logPath = filepath.Join(r.dir, "audit.log")
	if err := os.WriteFile(r.logPath, logFile(r.lines), 0o600); err != nil {
		t.Fatal(err)
	}
	brokers := s.broker.info.Brokers
	if err := createTopics(brokers, r.rt.all()...); err != nil {
		t.Fatal(err)
	}
	r.exps = expect(s.policy, r.lines)
	r.col = startCollector(t, brokers, r.rt.all())

	start := time.Now()
	driveErr := d.drive(r)
	r.once.Do(func() {}) // a strike that has not started by now never will
	var strikeErr error
	switch {
	case f.strike == nil:
	case !r.started:
		strikeErr = errors.New("the fault never struck: the driver finished first")
	default:
		select {
		case strikeErr = <-r.struck:
		case <-time.After(3 * time.Minute):
			strikeErr = errors.New("the fault did not end in 3 minutes")
		}
	}
	if driveErr != nil {
		t.Errorf("driver: %v", driveErr)
	}
	arrivals := r.col.finish(t, brokers, r.rt.all())
	v := check(r.exps, r.rt, arrivals)
	s.record(runResult{driver: d.name, fault: f.name, round: round, verdict: v})
	t.Logf("%s / %s, round %d, %s: %s", d.name, f.name, round, time.Since(start).Round(time.Second), v)
	for _, d := range v.details {
		t.Log("  " + d)
	}
	if r.exitChecked && v.ok() && v.DeadLettered == 0 && v.Undecidable == 0 && r.exit != nil {
		t.Errorf("%s exited with %v although every line it was given arrived", d.name, r.exit)
	}
	if strikeErr != nil {
		t.Errorf("fault: %v", strikeErr)
	}
	if !v.ok() {
		t.Errorf("the ledger does not balance: %s", v)
	}
}
