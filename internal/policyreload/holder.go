package policyreload

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/pipeline"
)

// Version is one compiled policy and where it came from. It is immutable.
type Version struct {
	Policy *filter.Policy
	// SHA256 is the hex sha256 of the file's content: what the log lines
	// and the policy_info metric name it by.
	SHA256   string
	LoadedAt time.Time
	pipeline pipeline.PolicyVersion
}

// Stats counts a Holder's reloads. The load at start is not a reload, but it
// sets LastSuccess, so that the time of the policy in force is always known.
type Stats struct {
	Successes, Failures uint64
	LastSuccess         time.Time
	SHA256              string
	// Refused is true while the file holds a policy that was refused: the
	// policy in force is not the file's.
	Refused bool
}

// Holder holds the policy in force for one pipeline. Its methods are safe for
// concurrent use.
type Holder struct {
	path string
	log  *pipeline.Logger
	now  func() time.Time
	// redaction is applied to every version; nil: none.
	redaction *filter.Redaction

	cur       atomic.Pointer[Version]
	mu        sync.Mutex // serializes Reload, guards refused
	successes atomic.Uint64
	failures  atomic.Uint64
	// refused is the sha256 of the file content last refused, "" if the
	// file holds the policy in force: a refused file is counted and logged
	// once, not at every check until it is fixed.
	refused      string
	refusedState atomic.Bool
}

// Load compiles the policy file at path, as kube-apiserver would, and returns
// a Holder with it in force. Warnings (fields the apiserver would drop) are
// logged; the error names the file and, where it can be told, the line.
func Load(path string, log *pipeline.Logger) (*Holder, error) {
	return LoadRedacted(path, nil, log)
}

// LoadRedacted is Load with the redaction r (nil: none) applied to the
// policy, and to every policy a reload brings.
func LoadRedacted(path string, r *filter.Redaction, log *pipeline.Logger) (*Holder, error) {
	h := &Holder{path: path, log: log, now: time.Now, redaction: r}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read audit policy: %w", err)
	}
	v, err := h.compile(data, 1)
	if err != nil {
		return nil, err
	}
	h.cur.Store(v)
	return h, nil
}

// compile compiles data, the content of the policy file, as version
// generation.
func (h *Holder) compile(data []byte, generation uint64) (*Version, error) {
	pol, warnings, err := filter.Compile(data)
	for _, w := range warnings {
		h.log.Warnf("%s: %s", h.path, w)
	}
	if err != nil {
		if line := errorLine(data, err); line > 0 {
			return nil, fmt.Errorf("%s: line %d: %w", h.path, line, err)
		}
		return nil, fmt.Errorf("%s: %w", h.path, err)
	}
	pol = pol.WithRedaction(h.redaction)
	sum := sha256.Sum256(data)
	v := &Version{Policy: pol, SHA256: hex.EncodeToString(sum[:]), LoadedAt: h.now()}
	v.pipeline = pipeline.PolicyVersion{
		Generation:   generation,
		NewProcessor: func() pipeline.Processor { return pol.NewProcessor() },
	}
	return v, nil
}

// Current returns the policy in force.
func (h *Holder) Current() *Version { return h.cur.Load() }

// PipelineVersion is pipeline.Config's Policy: the version in force.
func (h *Holder) PipelineVersion() *pipeline.PolicyVersion { return &h.cur.Load().pipeline }

// Path is the policy file's path.
func (h *Holder) Path() string { return h.path }

// Reload reads the file again. If its content differs from the policy in
// force, it is compiled as at start: a valid policy replaces the old one
// for every flush that starts afterwards; an invalid one is refused with one
// error line, and the old one stays. It reports whether the policy changed.
// A file that holds the policy in force, or the content last refused, is no
// new reload and counts nothing.
func (h *Holder) Reload() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	old := h.cur.Load()
	data, err := os.ReadFile(h.path)
	if err != nil {
		h.refuse("read:"+err.Error(), old, fmt.Errorf("cannot read audit policy: %w", err))
		return false
	}
	sum := sha256.Sum256(data)
	switch hash := hex.EncodeToString(sum[:]); hash {
	case old.SHA256:
		h.setRefused("") // back to the policy in force
		return false
	case h.refused:
		return false
	default:
		v, err := h.compile(data, old.pipeline.Generation+1)
		if err != nil {
			h.refuse(hash, old, err)
			return false
		}
		h.cur.Store(v)
		h.setRefused("")
		h.successes.Add(1)
		h.log.Infof("policy reloaded from %s: sha256 %s, %d rules (was sha256 %s)", h.path, v.SHA256, v.Policy.NumRules(), old.SHA256)
		return true
	}
}

// refuse counts and logs a refused reload of the content identified by key.
func (h *Holder) refuse(key string, old *Version, err error) {
	if key == h.refused {
		return
	}
	h.setRefused(key)
	h.failures.Add(1)
	h.log.Errorf("policy reload refused, sha256 %s stays in force: %v", old.SHA256, err)
}

func (h *Holder) setRefused(key string) {
	h.refused = key
	h.refusedState.Store(key != "")
}

// Stats returns the reload counters and the policy in force.
func (h *Holder) Stats() Stats {
	v := h.cur.Load()
	return Stats{
		Successes:   h.successes.Load(),
		Failures:    h.failures.Load(),
		LastSuccess: v.LoadedAt,
		SHA256:      v.SHA256,
		Refused:     h.refusedState.Load(),
	}
}
