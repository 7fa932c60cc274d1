package gen

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

func TestMain(m *testing.M) {
	// RequestInfo logs an error through klog for a list query that does
	// not decode, which some generated events have on purpose.
	klog.SetLogger(logr.Discard())
	os.Exit(m.Run())
}
