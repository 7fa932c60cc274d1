package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/auditstream/auditstream/internal/auditlog"
	"github.com/auditstream/auditstream/internal/chunk"
	"github.com/auditstream/auditstream/internal/metrics"
	"github.com/auditstream/auditstream/internal/pipeline"
	"github.com/auditstream/auditstream/internal/setup"
)

// shipOptions are the ship command's own flags; every pipeline setting is a
// plugin key (--config, --set, and the shortcuts --policy, --brokers, --topic).
type shipOptions struct {
	configFile   string
	set          []string
	policy       string
	brokers      string
	topic        string
	chunkEvents  int
	chunkBytes   int
	workers      int
	retryTimeout time.Duration
	// metricsListen serves the plugin's metrics endpoint while ship runs.
	metricsListen string
}

func newShipCommand() *cobra.Command {
	var o shipOptions
	cmd := &cobra.Command{
		Use:   "ship --policy POLICY --brokers HOST:PORT [FILE|DIR ...]",
		Short: "Send an audit log to Kafka through the plugin's own pipeline",
		Long: `Ships a log (a backfill, or a node without Fluent Bit) exactly as the Fluent
Bit plugin would: the log is cut into chunks of tail records, and each chunk
goes through the same pipeline (policy, rewrite, Kafka sink, retries) and the
same settings, named by the plugin's keys. Settings come from --config (a YAML
map of plugin keys), then --set key=value, then the shortcut flags.

A chunk Kafka cannot take yet is retried, as Fluent Bit would, until
--retry-timeout. A line that is not an audit event goes to the dead-letter
topic, its file and line in the error header. The exit code is 0 only if
every line was acknowledged on its stage topic or dropped by the policy; 1
if any was not delivered, dead-lettered, dropped by the sink or too long to
read, with the count of each.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runShip(cmd, &o, args)
		},
	}
	addKeyFlags(cmd, &o)
	f := cmd.Flags()
	f.IntVar(&o.chunkEvents, "chunk-events", 2048, "events per chunk, as Fluent Bit would batch them")
	f.IntVar(&o.chunkBytes, "chunk-bytes", 2<<20, "bytes per chunk at most (Fluent Bit's chunks are about 2 MB)")
	f.IntVar(&o.workers, "workers", 2, "chunks delivered at once, as Fluent Bit's workers deliver them; 1 keeps the log's order within each partition")
	f.DurationVar(&o.retryTimeout, "retry-timeout", 5*time.Minute, "how long to keep retrying a chunk Kafka cannot take")
	f.StringVar(&o.metricsListen, "metrics-listen", "", "serve the plugin's Prometheus metrics, /healthz and /readyz on host:port while shipping (the metrics_listen key)")
	return cmd
}

// addKeyFlags adds the flags that give plugin keys, which ship and verify
// share so that verify reads back what ship was told to write.
func addKeyFlags(cmd *cobra.Command, o *shipOptions) {
	f := cmd.Flags()
	f.StringVar(&o.configFile, "config", "", "YAML file of plugin keys (policy_file, brokers, topic, compression, ...)")
	f.StringArrayVar(&o.set, "set", nil, "a plugin key, as key=value (repeatable)")
	f.StringVar(&o.policy, "policy", "", "audit policy file (the policy_file key)")
	f.StringVar(&o.brokers, "brokers", "", "Kafka brokers, comma-separated (the brokers key)")
	f.StringVar(&o.topic, "topic", "", "topic template with {stage} (the topic key)")
}

// shipKeys merges the settings, later sources overriding earlier ones.
func shipKeys(o *shipOptions) (map[string]string, error) {
	keys := map[string]string{}
	if o.configFile != "" {
		data, err := os.ReadFile(o.configFile)
		if err != nil {
			return nil, err
		}
		var file map[string]any
		if err := yaml.UnmarshalStrict(data, &file); err != nil {
			return nil, fmt.Errorf("%s: %w", o.configFile, err)
		}
		for k, v := range file {
			keys[strings.ToLower(k)] = fmt.Sprint(v)
		}
	}
	for _, kv := range o.set {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("--set %q: want key=value", kv)
		}
		keys[strings.ToLower(strings.TrimSpace(k))] = v
	}
	for k, v := range map[string]string{setup.KeyPolicyFile: o.policy, "brokers": o.brokers, "topic": o.topic, setup.KeyMetricsListen: o.metricsListen} {
		if v != "" {
			keys[k] = v
		}
	}
	known := setup.Keys()
	for k := range keys {
		if !slices.Contains(known, k) {
			return nil, fmt.Errorf("unknown key %q: want one of %s", k, strings.Join(known, ", "))
		}
	}
	return keys, nil
}

func runShip(cmd *cobra.Command, o *shipOptions, args []string) error {
	keys, err := shipKeys(o)
	if err != nil {
		return err
	}
	get := func(k string) string { return keys[k] }
	stderr := cmd.ErrOrStderr()
	lv, err := setup.ReadVerbosity(get)
	if err != nil {
		return err
	}
	s, err := setup.Read(get)
	if err != nil {
		return err
	}
	s.SummaryInterval = 0 // ship prints one summary at the end
	if get(setup.KeyReloadInterval) == "" {
		s.ReloadInterval = 0 // a backfill is filtered by one policy unless asked otherwise
	}
	log := pipeline.NewLogger(stderr, lv, "ship")
	p, err := setup.Build(&s, log)
	if err != nil {
		return err
	}
	if s.MetricsListen != "" {
		reg := metrics.NewRegistry()
		if err := reg.Add(p.Metrics, s.MetricsListen); err != nil {
			return errors.Join(err, p.Close(context.Background()))
		}
		defer reg.Remove(p.Metrics)
		log.Infof("serving metrics on http://%s/metrics", reg.Addr())
	}
	inputs, err := auditlog.ExpandRotated(args)
	if err != nil {
		return errors.Join(err, p.Close(context.Background()))
	}
	in := auditlog.NewReader(inputs, cmd.InOrStdin())
	defer in.Close()
	progress := newProgress(stderr, inputs)
	in.OnProgress(progress.set)

	sh := shipper{p: p, o: o, log: log, logKey: s.LogKey}
	shipErr := sh.run(in)
	progress.finish()
	ctx, cancel := context.WithTimeout(context.Background(), s.Sink.DeliveryTimeout+setup.FlushMargin)
	defer cancel()
	closeErr := p.Close(ctx)
	c, ss := sh.counts, p.Sink.Stats().Total()
	fmt.Fprintf(cmd.OutOrStdout(), "shipped: %d events read, %d kept, %d dropped by policy, %d not audit events, %d lines too long; "+
		"%d sent to Kafka (%s), %d dead-lettered, %d dropped by the sink, %d truncated, %d retried (%d resends), %d refused by the brokers\n",
		c.Events, c.Kept, c.Dropped, c.Malformed, sh.tooLong, ss.Sent, bytesIEC(int64(ss.SentBytes)),
		c.DeadLettered, c.SinkDropped, ss.Truncated, ss.Retried, ss.Resends, ss.Refused)
	fmt.Fprintln(cmd.OutOrStdout(), ruleMatchesLine(p.Decisions(), p.Policy.Current().Policy.NumRules()))
	if err := errors.Join(shipErr, closeErr); err != nil {
		return err
	}
	return sh.verdict()
}

// shipper cuts the log into chunks and flushes them as Fluent Bit would:
// up to workers chunks at once, while the next one is read.
type shipper struct {
	p       chunkFlusher
	o       *shipOptions
	log     *pipeline.Logger
	logKey  string
	tooLong int // read by the reader only, until run returns
	// mu guards counts, which add up, per chunk, the counters of its last
	// flush: a chunk retried is counted once, as it finally went.
	mu     sync.Mutex
	counts pipeline.Stats
	// backoff is the first wait before a retry; it doubles up to 30s.
	backoff time.Duration
}

// chunkFlusher is the part of the pipeline ship drives.
type chunkFlusher interface {
	FlushCounted(data []byte, where pipeline.Locator) (pipeline.Outcome, pipeline.Stats)
}

// shipChunk is one chunk of the log and where its events were read.
type shipChunk struct {
	data []byte
	// positions are where the events were read, for the reasons of the
	// dead-lettered ones; notes replace them for the lines too long to
	// read whole, by index (nil when there are none).
	positions []auditlog.Position
	notes     map[int]string
}

// where names the file and line of the chunk's event i.
func (c *shipChunk) where(i int) string {
	if note, ok := c.notes[i]; ok {
		return note
	}
	if i < 0 || i >= len(c.positions) {
		return "record " + strconv.Itoa(i)
	}
	return c.positions[i].String()
}

// events is how many events the chunk holds.
func (c *shipChunk) events() int { return len(c.positions) }

func (c *shipChunk) reset() {
	c.data, c.positions, c.notes = c.data[:0], c.positions[:0], nil
}

// run reads the log and delivers it. Reading the next chunk overlaps the
// delivery of the ones before, as Fluent Bit's input does with its
// workers: one chunk at a time would leave the reading waiting on every
// acknowledgement. The first chunk that cannot be delivered stops the run
// once the chunks in flight are done.
func (sh *shipper) run(in *auditlog.Reader) error {
	workers := max(sh.o.workers, 1)
	free := make(chan *shipChunk, workers+1)
	for range workers + 1 {
		free <- &shipChunk{}
	}
	work := make(chan *shipChunk)
	stop := make(chan struct{})
	var (
		wg       sync.WaitGroup
		stopOnce sync.Once
		flushErr error
	)
	for range workers {
		wg.Go(func() {
			for c := range work {
				if err := sh.flush(c); err != nil {
					stopOnce.Do(func() { flushErr = err; close(stop) })
				}
				c.reset()
				free <- c
			}
		})
	}
	readErr := sh.read(in, free, work, stop)
	close(work)
	wg.Wait()
	return errors.Join(flushErr, readErr)
}

// read cuts the log into chunks from free and hands each to work, until
// the log ends or stop is closed.
func (sh *shipper) read(in *auditlog.Reader, free <-chan *shipChunk, work chan<- *shipChunk, stop <-chan struct{}) error {
	var c *shipChunk
	select {
	case c = <-free:
	case <-stop:
		return nil
	}
	hand := func() bool {
		select {
		case work <- c:
		case <-stop:
			return false
		}
		select {
		case c = <-free:
			return true
		case <-stop:
			return false
		}
	}
	for {
		line, pos, err := in.Next()
		if errors.Is(err, io.EOF) {
			if c.events() > 0 {
				hand()
			}
			return nil
		}
		if errors.Is(err, auditlog.ErrLineTooLong) {
			// Its start goes on, to be dead-lettered: it does not parse,
			// and its reason says what became of the rest.
			sh.tooLong++
			sh.log.Warnf("%v: its first %d bytes go to the dead-letter topic", err, len(line))
			if c.notes == nil {
				c.notes = map[int]string{}
			}
			c.notes[c.events()] = fmt.Sprintf("%v; the message holds its first %d bytes", err, len(line))
		} else if err != nil {
			return err
		}
		if len(line) == 0 {
			continue
		}
		c.data = chunk.AppendTailEvent(c.data, time.Now(), sh.logKey, line)
		c.positions = append(c.positions, pos)
		if c.events() >= sh.o.chunkEvents || len(c.data) >= sh.o.chunkBytes {
			if !hand() {
				return nil
			}
		}
	}
}

// flush delivers the chunk, retrying with backoff while the outcome is Retry.
func (sh *shipper) flush(c *shipChunk) error {
	deadline := time.Now().Add(sh.o.retryTimeout)
	backoff := sh.backoff
	if backoff <= 0 {
		backoff = time.Second
	}
	for {
		out, attempt := sh.p.FlushCounted(c.data, c.where)
		switch out {
		case pipeline.Delivered:
			sh.count(&attempt)
			return nil
		case pipeline.Failed:
			sh.count(&attempt)
			return fmt.Errorf("a chunk of %d events could not be delivered", c.events())
		}
		remaining := time.Until(deadline)
		if remaining <= 0 {
			sh.count(&attempt)
			return fmt.Errorf("a chunk of %d events was still not delivered after %s (--retry-timeout)", c.events(), sh.o.retryTimeout)
		}
		wait := min(backoff, remaining)
		sh.log.Warnf("chunk of %d events not delivered yet; retrying in %s", c.events(), wait)
		time.Sleep(wait)
		backoff = min(2*backoff, 30*time.Second)
	}
}

// count adds the counters of a chunk's last flush to the run's.
func (sh *shipper) count(d *pipeline.Stats) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	c := &sh.counts
	c.Events += d.Events
	c.Kept += d.Kept
	c.Dropped += d.Dropped
	c.Malformed += d.Malformed
	c.Delivered += d.Delivered
	c.DeadLettered += d.DeadLettered
	c.SinkDropped += d.SinkDropped
}

// verdict fails the run when a line of the log did not reach its stage
// topic, and the policy did not drop it either: an event not acknowledged,
// dead-lettered (a line that is not an audit event, or an event Kafka
// cannot take) or dropped by the sink, or a line too long to read.
func (sh *shipper) verdict() error {
	c := &sh.counts
	var problems []string
	if c.Kept > c.Delivered {
		problems = append(problems, fmt.Sprintf("%d of %d kept events were not acknowledged on their topic", c.Kept-c.Delivered, c.Kept))
	}
	if c.DeadLettered > 0 {
		problems = append(problems, fmt.Sprintf("%d events were dead-lettered (%d lines are not audit events)", c.DeadLettered, c.Malformed))
	}
	if c.SinkDropped > 0 {
		problems = append(problems, fmt.Sprintf("%d events were dropped by the sink", c.SinkDropped))
	}
	if sh.tooLong > 0 {
		problems = append(problems, fmt.Sprintf("%d lines were too long to read whole (their starts were dead-lettered)", sh.tooLong))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// ruleMatchesLine says how many events each rule decided, numbered as check
// and simulate number the rules (simulate's "matched"), and how many no rule
// matched: the numbers of auditstream_policy_rule_matches_total.
func ruleMatchesLine(d pipeline.Decisions, rules int) string {
	b := []byte("by rule:")
	for i := range max(rules, len(d.Rules)) {
		var n uint64
		if i < len(d.Rules) {
			n = d.Rules[i]
		}
		b = fmt.Appendf(b, " #%d %d,", i, n)
	}
	return string(fmt.Appendf(b, " no match %d", d.NoRule))
}
