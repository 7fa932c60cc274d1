package pipeline

import (
	"strings"
	"testing"
)

// TestPooledScratchIsCapped: an event with a 1 MB request URI grows the
// policy processor's own scratch to megabytes; the scratch that goes back to
// the pool keeps no more than the bound of it, so that one such event does
// not pin that memory in every pooled scratch for the life of the process.
func TestPooledScratchIsCapped(t *testing.T) {
	fs := &fakeSink{}
	p, _ := newTestPipeline(t, fs, nil)
	huge := strings.Replace(auditLine(1, "ResponseComplete", "alice", "get", "default", "pods"),
		`"/api/v1/namespaces/default/pods"`, `"/api/v1/namespaces/default/pods?x=`+strings.Repeat("a", 1<<20)+`"`, 1)
	c := (&chunkBuilder{v2: true}).raw(huge)
	c.raw(auditLine(2, "ResponseComplete", "alice", "get", "default", "pods"))

	s := p.pool.Get().(*scratch)
	var tl tally
	if err := p.readChunk(s, c.b, &tl); err != nil || tl.kept != 2 {
		t.Fatalf("read: %v, %d kept; want both events kept", err, tl.kept)
	}
	if grown := s.footprint(); grown < 4<<20 {
		t.Fatalf("the scratch holds only %d bytes after the huge event: the test does not test the cap", grown)
	}
	p.put(s)
	if kept := s.footprint(); kept > maxPooledProcessorBytes+(256<<10) {
		t.Fatalf("the pooled scratch keeps %d bytes; want at most about %d", kept, maxPooledProcessorBytes)
	}
	// It still works, and grows again when it must.
	if out := p.Flush(c.b); out != Delivered || len(fs.events()) != 2 {
		t.Fatalf("flush after the release: %s, %d events", out, len(fs.events()))
	}
}
