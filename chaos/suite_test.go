package chaos

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/buildtest"
	"github.com/auditstream/auditstream/internal/testenv"
)

// EnvGate names the variable that turns the suite on: "short" or "full".
const EnvGate = "AUDITSTREAM_CHAOS"

// deliveryTimeout is the products' delivery_timeout in every run: short, so
// that a freeze can outlast it without making the suite slow.
const deliveryTimeout = 5 * time.Second

// size is how much one form of the suite does.
type size struct {
	events   int // events of the normal log per run
	rounds   int // times each fault is run, each time on a new log
	hugeLine int // body of the longest hostile line
	duration time.Duration
}

var sizes = map[string]size{
	// CI: every fault once, a few thousand events each.
	"short": {events: 2000, rounds: 1, hugeLine: 64 << 20, duration: 6 * time.Second},
	"full":  {events: 10000, rounds: 3, hugeLine: 64 << 20, duration: 15 * time.Second},
}

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// suite is what every run shares.
type suite struct {
	size    size
	dir     string
	art     buildtest.Artifacts
	broker  *broker
	policy  *filter.Policy
	polPath string

	mu      sync.Mutex
	results []runResult
}

// runResult is one row of the suite's report.
type runResult struct {
	driver, fault string
	round         int
	verdict       *verdict
}

// setUp checks the gate, builds the programs and starts the suite's broker.
func setUp(t *testing.T) *suite {
	t.Helper()
	form := os.Getenv(EnvGate)
	if form == "" {
		t.Skipf("kills and freezes its own Kafka broker: run with %s=short or %s=full (make test-chaos)", EnvGate, EnvGate)
	}
	sz, ok := sizes[form]
	if !ok {
		t.Fatalf("%s=%q: want short or full", EnvGate, form)
	}
	if n, err := strconv.Atoi(os.Getenv("AUDITSTREAM_CHAOS_EVENTS")); err == nil && n > 0 {
		sz.events = n
	}
	if n, err := strconv.Atoi(os.Getenv("AUDITSTREAM_CHAOS_ROUNDS")); err == nil && n > 0 {
		sz.rounds = n
	}
	s := &suite{size: sz, dir: t.TempDir()}
	art, err := buildtest.Build(s.dir)
	if err != nil {
		testenv.Missing(t, "cannot build the CLI, the plugin and the harness: %v", err)
	}
	s.art = art
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	// The documentation's sample policy: drops some users and stages,
	// Metadata for secrets, Request and RequestResponse for the rest.
	s.polPath = filepath.Join(root, "examples", "policy.yaml")
	if s.policy, _, err = filter.LoadFile(s.polPath); err != nil {
		t.Fatal(err)
	}
	s.broker = startBroker(t)
	return s
}

// topicsFor names the topics of one run.
func topicsFor(run string) runTopics {
	rt := runTopics{stage: map[string]string{}, deadLetter: "chaos-" + run + ".dead-letter"}
	for _, st := range []string{"RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"} {
		rt.stage[st] = "chaos-" + run + "." + st
	}
	return rt
}

func (s *suite) record(r runResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results = append(s.results, r)
}

// report logs the suite's table: per driver and fault, summed over rounds.
func (s *suite) report(t *testing.T) {
	t.Helper()
	type key struct{ driver, fault string }
	var order []key
	sums := map[key]*verdict{}
	runs := map[key]int{}
	survived := map[key]int{}
	for _, r := range s.results {
		k := key{r.driver, r.fault}
		if sums[k] == nil {
			sums[k] = &verdict{}
			order = append(order, k)
		}
		v := sums[k]
		v.Lines += r.verdict.Lines
		v.Kept += r.verdict.Kept
		v.Lost += r.verdict.Lost
		v.Duplicates += r.verdict.Duplicates
		v.DeadLettered += r.verdict.DeadLettered
		v.Unexpected += r.verdict.Unexpected
		v.Leaked += r.verdict.Leaked
		runs[k]++
		if r.verdict.ok() {
			survived[k]++
		}
	}
	var b strings.Builder
	b.WriteString("\n| driver | fault | runs survived | lines | kept | lost | duplicates | dead-lettered | unexpected | leaked |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, k := range order {
		v := sums[k]
		fmt.Fprintf(&b, "| %s | %s | %d/%d | %d | %d | %d | %d | %d | %d | %d |\n",
			k.driver, k.fault, survived[k], runs[k], v.Lines, v.Kept, v.Lost, v.Duplicates, v.DeadLettered, v.Unexpected, v.Leaked)
	}
	t.Log(b.String())
}

// keys are the plugin keys of every run, as `key=value`.
func (s *suite) keys(rt runTopics) []string {
	return []string{
		"policy_file=" + s.polPath,
		"brokers=" + strings.Join(s.broker.info.Brokers, ","),
		"topic=" + strings.TrimSuffix(rt.stage["Panic"], "Panic") + "{stage}",
		"dead_letter_topic=" + rt.deadLetter,
		"delivery_timeout=" + deliveryTimeout.String(),
		"summary_interval=0",
	}
}
