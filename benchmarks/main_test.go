package benchmarks

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

// TestMain silences klog: the apiserver's RequestInfo parser, run by the
// reference, logs a line for every list query that does not decode, which
// the generated events include on purpose.
func TestMain(m *testing.M) {
	klog.SetLogger(logr.Discard())
	os.Exit(m.Run())
}
