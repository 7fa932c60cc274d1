package setup

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/auditstream/auditstream/internal/pipeline"
)

// TestBuildWatchesThePolicy: the built pipeline's policy follows its file
// unless policy_reload_interval is 0.
func TestBuildWatchesThePolicy(t *testing.T) {
	for _, interval := range []string{"1h", "0"} {
		t.Run(interval, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "policy.yaml")
			policy := func(level string) []byte {
				return []byte("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: " + level + "\n")
			}
			if err := os.WriteFile(path, policy("Metadata"), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := Read(keys{"policy_file": path, "brokers": "127.0.0.1:1", "summary_interval": "0",
				"policy_reload_interval": interval}.get)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Build(&s, pipeline.NewLogger(&bytes.Buffer{}, pipeline.LevelError, "t"))
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				_ = b.Close(ctx)
			}()
			first := b.Policy.Current().SHA256
			if err := os.WriteFile(path, policy("Request"), 0o644); err != nil {
				t.Fatal(err)
			}
			reloaded := false
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline) && !reloaded; time.Sleep(20 * time.Millisecond) {
				reloaded = b.Policy.Current().SHA256 != first
			}
			if want := interval != "0"; reloaded != want {
				t.Errorf("policy_reload_interval %s: reloaded %v; want %v", interval, reloaded, want)
			}
			if got := strconv.FormatUint(b.Policy.Stats().Successes, 10); reloaded && got != "1" {
				t.Errorf("%s reloads counted", got)
			}
		})
	}
}
