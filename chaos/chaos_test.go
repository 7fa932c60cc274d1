package chaos

import (
	"os"
	"testing"

	"github.com/auditstream/auditstream/internal/fluentbit"
)

// TestChaos runs each driver through each fault, sz.rounds times, and checks
// the ledger of every run. The table at the end is the suite's report. With
// FLUENT_BIT_BIN set, a real Fluent Bit is a driver too.
func TestChaos(t *testing.T) {
	s := setUp(t)
	type plan struct {
		d      driver
		faults []fault
	}
	plans := []plan{{shipDriver, faults}, {harnessDriver, faults}}
	if os.Getenv(fluentbit.EnvBin) != "" {
		if why := fluentBitMissing(); why != "" {
			t.Fatal(why)
		}
		v, err := fluentbit.Version(os.Getenv(fluentbit.EnvBin))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("Fluent Bit: %s", v)
		plans = append(plans, plan{fluentBitDriver, append(append([]fault(nil), faults...), fluentBitFaults...)})
	}
	for _, p := range plans {
		for _, f := range p.faults {
			for round := 1; round <= s.size.rounds; round++ {
				t.Run(p.d.name+"/"+f.name, func(t *testing.T) { s.runFault(t, p.d, f, round) })
			}
		}
	}
	s.report(t)
}
