package benchmarks

// The Fluent Bit configurations TestE2EInsideFluentBit runs: the buffering
// (e2eStorage), the service and input every variant shares, and each
// variant's output.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// e2eMemBufLimit bounds tail's memory buffering: the value
// examples/fluent-bit.yaml recommends for storage.type memory.
const e2eMemBufLimit = "64M"

// e2eStorage is one way of buffering chunks.
type e2eStorage struct {
	name    string // as AUDITSTREAM_BENCH_E2E_STORAGE names it
	heading string // the table's heading
	// service and input are keys for those sections; output for the
	// output's entry.
	service, input, output func(dir string) string
}

// e2eStorages are the buffering types measured, by storage.type.
var e2eStorages = []e2eStorage{
	{
		name:    "memory",
		heading: "storage.type memory (tail's mem_buf_limit " + e2eMemBufLimit + ")",
		service: func(string) string { return "" },
		input: func(string) string {
			return "      storage.type: memory\n      mem_buf_limit: " + e2eMemBufLimit + "\n"
		},
		output: func(string) string { return "" },
	},
	{
		// examples/fluent-bit.yaml's storage keys, storage.path in the run's
		// directory.
		name:    "filesystem",
		heading: "storage.type filesystem (examples/fluent-bit.yaml's storage.max_chunks_up 64, storage.backlog.mem_limit 32M, storage.total_limit_size 4G)",
		service: func(dir string) string {
			return fmt.Sprintf("  storage.path: %q\n  storage.max_chunks_up: 64\n  storage.backlog.mem_limit: 32M\n  storage.metrics: on\n",
				filepath.Join(dir, "storage"))
		},
		input:  func(string) string { return "      storage.type: filesystem\n" },
		output: func(string) string { return "      storage.total_limit_size: 4G\n" },
	},
	{
		// Memory buffering without mem_buf_limit: tail reads as fast as it
		// can, whatever the output takes, so a run's rate is the output's
		// own ceiling rather than tail's pace under a limit and the
		// one-second flush. Not a setting to deploy (the whole log may end
		// up in memory); only here, and not in "both", to compare rates.
		name:    "unbounded",
		heading: "storage.type memory without mem_buf_limit (rates: each output's ceiling; peak RSS follows the backlog, not a deployable setting)",
		service: func(string) string { return "" },
		input:   func(string) string { return "      storage.type: memory\n" },
		output:  func(string) string { return "" },
	},
}

// parseE2EStorage reads AUDITSTREAM_BENCH_E2E_STORAGE: memory, filesystem,
// unbounded, both (memory and filesystem, also the default when empty) or
// all.
func parseE2EStorage(s string) ([]e2eStorage, error) {
	switch s {
	case "", "both":
		return e2eStorages[:2], nil
	case "all":
		return e2eStorages, nil
	}
	for _, st := range e2eStorages {
		if st.name == s {
			return []e2eStorage{st}, nil
		}
	}
	return nil, fmt.Errorf("%q: want memory, filesystem, unbounded, both or all", s)
}

// config is the pipeline of run v in dir: examples/fluent-bit.yaml's tail
// (no parser, 1M chunks, long lines skipped) reading the log from its head,
// buffering as st says, and no offsets db, so that every run reads the whole
// file; the HTTP server serves the metrics that say when null has every
// line. The json+Lua variant gets its parser on tail and its filter.
func (b *e2eBench) config(dir string, port int, st e2eStorage, v e2eVariant, topic string) string {
	output := v.output(b, topic) + st.output(dir)
	plugins := ""
	if strings.Contains(output, "name: auditstream") {
		// Loaded only where used, so that the baselines carry no Go runtime.
		plugins = fmt.Sprintf("plugins:\n  - %q\n\n", b.plugin)
	}
	service, parser, filters := st.service(dir), "", ""
	if v.jsonLua {
		service += fmt.Sprintf("  parsers_file: %q\n", b.writeParsers(dir))
		parser = "      parser: audit_json\n"
		filters = fmt.Sprintf(`  filters:
    - name: lua
      match: k8s-audit
      script: %q
      call: audit_policy

`, b.luaPath)
	}
	return fmt.Sprintf(`%sservice:
  flush: 1
  grace: 5
  log_level: info
  http_server: on
  http_listen: 127.0.0.1
  http_port: %d
%s
pipeline:
  inputs:
    - name: tail
      tag: k8s-audit
      path: %q
      read_from_head: true
      buffer_chunk_size: 1M
      buffer_max_size: 16M
      skip_long_lines: on
      refresh_interval: 1
%s%s
%s  outputs:
%s`, plugins, port, service, b.logPath, parser, st.input(dir), filters, output)
}

// writeParsers writes the json parser the Lua variant's tail uses into dir
// and returns its path. Without Time_Key the record keeps every field and
// its time is when it was read, as for the other variants.
func (b *e2eBench) writeParsers(dir string) string {
	path := filepath.Join(dir, "parsers.conf")
	const parsers = "[PARSER]\n    Name   audit_json\n    Format json\n"
	if err := os.WriteFile(path, []byte(parsers), 0o600); err != nil {
		b.t.Fatal(err)
	}
	return path
}

func nullOutput(*e2eBench, string) string {
	return `    - name: null
      match: k8s-audit
`
}

// kafkaOutput ships each raw line (tail's "log" key) as the message value,
// compressed with snappy and acknowledged by all replicas, as the plugin's
// defaults do.
func kafkaOutput(b *e2eBench, topic string) string {
	return kafkaOutputAs(b, topic, "format: raw\n      raw_log_key: log")
}

// kafkaJSONOutput ships each record the Lua filter kept, encoded as JSON
// again, with the same compression and acks as kafkaOutput.
func kafkaJSONOutput(b *e2eBench, topic string) string {
	return kafkaOutputAs(b, topic, "format: json")
}

// kafkaOutputAs is out_kafka to topic with the given format keys, snappy and
// acks all.
func kafkaOutputAs(b *e2eBench, topic, format string) string {
	return fmt.Sprintf(`    - name: kafka
      match: k8s-audit
      brokers: %q
      topics: %q
      %s
      rdkafka.compression.codec: snappy
      rdkafka.request.required.acks: all
      retry_limit: no_limits
`, strings.Join(b.info.Brokers, ","), topic, format)
}

// auditstreamOutput is the plugin with the given workers, the documentation's
// sample policy, its defaults otherwise (snappy, acks all), the stage topics
// under the run's prefix.
func auditstreamOutput(workers int) func(*e2eBench, string) string {
	return func(b *e2eBench, topic string) string {
		return fmt.Sprintf(`    - name: auditstream
      match: k8s-audit
      workers: %d
      retry_limit: no_limits
      policy_file: %q
      log_key: log
      brokers: %q
      topic: %q
      dead_letter_topic: %q
      compression: snappy
      required_acks: all
`, workers, b.policy, strings.Join(b.info.Brokers, ","), topic+".{stage}", topic+".dead-letter")
	}
}

// stageTopics are the plugin's topics under prefix: the four stages and the
// dead-letter topic, so that an event sent anywhere is counted.
func stageTopics(prefix string) []string {
	return []string{prefix + ".RequestReceived", prefix + ".ResponseStarted", prefix + ".ResponseComplete",
		prefix + ".Panic", prefix + ".dead-letter"}
}
