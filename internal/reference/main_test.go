package reference

import (
	"os"
	"testing"

	"github.com/auditstream/auditstream/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
