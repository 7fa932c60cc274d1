package reference

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
)

func TestMain(m *testing.M) {
	// RequestInfo logs an error through klog when a list query does not
	// decode; some tests do that on purpose.
	klog.SetLogger(logr.Discard())
	os.Exit(m.Run())
}
