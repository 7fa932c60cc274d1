package benchmarks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/auditstream/auditstream/internal/kafkatest"
	"github.com/auditstream/auditstream/internal/testenv"
)

// fbConfig is what TestE2EConfigs reads of a Fluent Bit YAML configuration.
type fbConfig struct {
	Plugins  []string       `json:"plugins"`
	Service  map[string]any `json:"service"`
	Pipeline struct {
		Inputs  []map[string]any `json:"inputs"`
		Filters []map[string]any `json:"filters"`
		Outputs []map[string]any `json:"outputs"`
	} `json:"pipeline"`
}

func readFBConfig(t *testing.T, text string) fbConfig {
	t.Helper()
	var c fbConfig
	if err := yaml.UnmarshalStrict([]byte(text), &c); err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if len(c.Pipeline.Inputs) != 1 || len(c.Pipeline.Outputs) != 1 {
		t.Fatalf("want one input and one output:\n%s", text)
	}
	return c
}

// TestE2EConfigs checks the configurations the e2e benchmark runs: the
// filesystem buffering is examples/fluent-bit.yaml's, memory buffering is
// bounded by the mem_buf_limit the example recommends, and the json+Lua
// variant parses on tail and filters with the Lua script.
func TestE2EConfigs(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	exampleText, err := os.ReadFile(filepath.Join(root, "examples", "fluent-bit.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	example := readFBConfig(t, string(exampleText))
	dir := t.TempDir()
	b := &e2eBench{t: t, plugin: "out_auditstream.so", policy: "policy.yaml",
		luaPath: filepath.Join(root, "benchmarks", "testdata", "policy.lua"),
		logPath: filepath.Join(dir, "audit.log"), info: kafkatest.Info{Brokers: []string{"127.0.0.1:9092"}}}
	fs, mem := mustStorage(t, "filesystem"), mustStorage(t, "memory")
	plugin := e2eVariant{name: e2eAuditstream + "2", output: auditstreamOutput(2)}
	lua := e2eVariant{name: e2eJSONLua, output: kafkaJSONOutput, jsonLua: true}

	c := readFBConfig(t, b.config(dir, 2020, fs, plugin, "topic"))
	for _, key := range []string{"storage.max_chunks_up", "storage.backlog.mem_limit"} {
		if got, want := c.Service[key], example.Service[key]; got != want {
			t.Errorf("filesystem: service %s = %v, examples/fluent-bit.yaml has %v", key, got, want)
		}
	}
	if path, _ := c.Service["storage.path"].(string); !strings.HasPrefix(path, dir) {
		t.Errorf("filesystem: storage.path %q is not in the run's directory %s", path, dir)
	}
	if got, want := c.Pipeline.Inputs[0]["storage.type"], example.Pipeline.Inputs[0]["storage.type"]; got != want {
		t.Errorf("filesystem: tail storage.type = %v, examples/fluent-bit.yaml has %v", got, want)
	}
	if got, want := c.Pipeline.Outputs[0]["storage.total_limit_size"], example.Pipeline.Outputs[0]["storage.total_limit_size"]; got != want {
		t.Errorf("filesystem: output storage.total_limit_size = %v, examples/fluent-bit.yaml has %v", got, want)
	}

	c = readFBConfig(t, b.config(dir, 2020, mem, plugin, "topic"))
	if _, ok := c.Service["storage.path"]; ok {
		t.Error("memory: storage.path set")
	}
	in := c.Pipeline.Inputs[0]
	if in["storage.type"] != "memory" || in["mem_buf_limit"] != e2eMemBufLimit {
		t.Errorf("memory: tail storage.type %v, mem_buf_limit %v; want memory, %s", in["storage.type"], in["mem_buf_limit"], e2eMemBufLimit)
	}
	if !strings.Contains(string(exampleText), "# mem_buf_limit: "+e2eMemBufLimit+"\n") {
		t.Errorf("examples/fluent-bit.yaml does not recommend mem_buf_limit %s", e2eMemBufLimit)
	}

	c = readFBConfig(t, b.config(dir, 2020, fs, lua, "topic"))
	parsers, _ := c.Service["parsers_file"].(string)
	text, err := os.ReadFile(parsers)
	if err != nil {
		t.Fatalf("json+Lua: parsers_file: %v", err)
	}
	if c.Pipeline.Inputs[0]["parser"] != "audit_json" || !strings.Contains(string(text), "Name   audit_json\n    Format json") {
		t.Errorf("json+Lua: tail parser %v with parsers file:\n%s", c.Pipeline.Inputs[0]["parser"], text)
	}
	if len(c.Pipeline.Filters) != 1 || c.Pipeline.Filters[0]["name"] != "lua" ||
		c.Pipeline.Filters[0]["script"] != b.luaPath || c.Pipeline.Filters[0]["call"] != "audit_policy" {
		t.Errorf("json+Lua: filters %v", c.Pipeline.Filters)
	}
	script, err := os.ReadFile(b.luaPath)
	if err != nil || !strings.Contains(string(script), "function audit_policy(") {
		t.Errorf("json+Lua: %s has no audit_policy function (%v)", b.luaPath, err)
	}
	if out := c.Pipeline.Outputs[0]; out["name"] != "kafka" || out["format"] != "json" ||
		out["rdkafka.compression.codec"] != "snappy" || out["rdkafka.request.required.acks"] != "all" {
		t.Errorf("json+Lua: output %v", out)
	}
}

func mustStorage(t *testing.T, name string) e2eStorage {
	t.Helper()
	sts, err := parseE2EStorage(name)
	if err != nil || len(sts) != 1 || sts[0].name != name {
		t.Fatalf("parseE2EStorage(%q) = %v, %v", name, sts, err)
	}
	return sts[0]
}

func TestParseE2EStorage(t *testing.T) {
	for _, s := range []string{"", "both"} {
		sts, err := parseE2EStorage(s)
		if err != nil || len(sts) != 2 {
			t.Errorf("parseE2EStorage(%q) = %d types, %v; want memory and filesystem", s, len(sts), err)
		}
	}
	if sts, err := parseE2EStorage("all"); err != nil || len(sts) != 3 || sts[2].name != "unbounded" {
		t.Errorf("parseE2EStorage(all) = %v, %v; want memory, filesystem and unbounded", sts, err)
	}
	if _, err := parseE2EStorage("disk"); err == nil {
		t.Error(`parseE2EStorage("disk"): no error`)
	}
}
