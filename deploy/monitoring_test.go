package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/auditstream/auditstream/internal/metrics"
	"github.com/auditstream/auditstream/internal/pipeline"
	"github.com/auditstream/auditstream/internal/setup"
)

// The monitoring files: not Kubernetes objects, so loadManifests skips them.
const (
	monitoringDir = "monitoring"
	alertsFile    = "monitoring/alerts.yaml"
	dashboardFile = "monitoring/dashboard.json"
)

// fluentBitOutputMetrics are the output metrics of Fluent Bit's own
// endpoint (/api/v2/metrics/prometheus) the dashboard may show beside the
// plugin's; they are Fluent Bit's, not the plugin's to serve.
var fluentBitOutputMetrics = []string{
	"fluentbit_output_proc_records_total", "fluentbit_output_retries_total",
	"fluentbit_output_errors_total", "fluentbit_output_dropped_records_total",
}

// ruleFile is Prometheus's rule file format, the part the alerts use.
type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

// metricName finds the metric names in a PromQL expression: the plugin's
// and Fluent Bit's all start with their prefix.
var metricName = regexp.MustCompile(`\b(?:auditstream|fluentbit)_[a-z0-9_]+`)

// servedMetrics builds a real pipeline (its brokers are never reached) on
// the example policy, registers it as the plugin does, and returns the
// names its endpoint serves, a histogram also under its _bucket, _sum and
// _count series.
func servedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	s, err := setup.Read(func(k string) string {
		return map[string]string{"policy_file": examplePolicy, "brokers": "127.0.0.1:1", "summary_interval": "0",
			"policy_reload_interval": "0", "instance_name": "k8s-audit"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := setup.Build(&s, pipeline.NewLogger(&bytes.Buffer{}, pipeline.LevelError, "t"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	r := metrics.NewRegistry()
	if err := r.Add(b.Metrics, ""); err != nil {
		t.Fatal(err)
	}
	families, err := r.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	served := map[string]bool{}
	for _, f := range families {
		served[f.GetName()] = true
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				served[f.GetName()+suffix] = true
			}
		}
	}
	return served
}

// TestMonitoringUsesServedMetrics: every metric the alerts and the dashboard
// query is one the endpoint serves (or Fluent Bit's own), and each alert
// the README promises is there.
func TestMonitoringUsesServedMetrics(t *testing.T) {
	served := servedMetrics(t)
	for _, name := range []string{"auditstream_events_total", "auditstream_policy_rule_matches_total",
		"auditstream_events_by_level_total", "auditstream_kafka_messages_total", "auditstream_kafka_bytes_total",
		"auditstream_flush_seconds", "auditstream_kafka_ack_seconds", "auditstream_policy_reloads_total",
		"auditstream_policy_last_reload_success_timestamp_seconds", "auditstream_policy_info",
		"process_cpu_seconds_total", "go_goroutines"} {
		if !served[name] {
			t.Errorf("the endpoint does not serve %s", name)
		}
	}
	check := func(where, expr string) {
		t.Helper()
		names := metricName.FindAllString(expr, -1)
		if len(names) == 0 {
			t.Errorf("%s: no metric in %q", where, expr)
		}
		for _, n := range names {
			if !served[n] && !slices.Contains(fluentBitOutputMetrics, n) {
				t.Errorf("%s: %s is not served", where, n)
			}
		}
	}

	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules ruleFile
	if err := yaml.UnmarshalStrict(data, &rules); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	var alerts []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			check(alertsFile+" "+r.Alert, r.Expr)
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("%s %s: wants a severity and a summary", alertsFile, r.Alert)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s %s: for %q: %v", alertsFile, r.Alert, r.For, err)
				}
			}
		}
	}
	for _, want := range []string{"AuditstreamEventsDeadLettered", "AuditstreamFlushesRetrying",
		"AuditstreamPolicyReloadFailed", "AuditstreamNoEvents"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("%s lacks the alert %s", alertsFile, want)
		}
	}

	data, err = os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	exprs := 0
	walkExprs(dash, "", func(where, expr string) {
		exprs++
		check(dashboardFile+" "+where, expr)
	})
	if exprs < 10 {
		t.Errorf("%s: only %d queries found", dashboardFile, exprs)
	}
}

// walkExprs calls f with every PromQL query of a Grafana dashboard: the
// expr of targets and annotations, and the query of template variables;
// where is the title of the nearest panel, variable or annotation.
func walkExprs(v any, where string, f func(where, expr string)) {
	switch v := v.(type) {
	case map[string]any:
		if title, ok := v["title"].(string); ok {
			where = title
		} else if name, ok := v["name"].(string); ok {
			where = name
		}
		if e, ok := v["expr"].(string); ok {
			f(where, e)
		}
		if q, ok := v["query"].(map[string]any); ok {
			if e, ok := q["query"].(string); ok {
				f(where, e)
			}
		}
		for k, c := range v {
			if k != "query" {
				walkExprs(c, where, f)
			}
		}
	case []any:
		for _, c := range v {
			walkExprs(c, where, f)
		}
	}
}

// TestMonitoringNamesNoUnknownAlert guards the other direction: the README's
// list of alerts is the file's.
func TestMonitoringNamesNoUnknownAlert(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules ruleFile
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatal(err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if !strings.Contains(string(readme), "`"+r.Alert+"`") {
				t.Errorf("README does not describe the alert %s", r.Alert)
			}
		}
	}
}

// TestDaemonSetServesMetrics: the DaemonSet's Pods expose the plugin's
// endpoint where metrics_listen puts it, reachable from Prometheus (a Pod's
// loopback is not), announce it to annotation-based scraping, and take
// readiness from /readyz.
func TestDaemonSetServesMetrics(t *testing.T) {
	data, err := os.ReadFile(exampleYAML)
	if err != nil {
		t.Fatal(err)
	}
	conf, err := parseFluentBitYAML(data)
	if err != nil {
		t.Fatal(err)
	}
	listen := conf.output(t, exampleYAML)["metrics_listen"]
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		t.Fatalf("%s: metrics_listen %q: %v", exampleYAML, listen, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		t.Errorf("%s: metrics_listen %s is a Pod's loopback, which Prometheus cannot scrape", exampleYAML, listen)
	}

	ds := loadManifests(t).daemonSet(t)
	var c *corev1.Container
	for i := range ds.Spec.Template.Spec.Containers {
		if ds.Spec.Template.Spec.Containers[i].Name == "fluent-bit" {
			c = &ds.Spec.Template.Spec.Containers[i]
		}
	}
	if c == nil {
		t.Fatal("the DaemonSet has no fluent-bit container")
	}
	var named string
	for _, p := range c.Ports {
		if strconv.Itoa(int(p.ContainerPort)) == port {
			named = p.Name
		}
	}
	if named == "" {
		t.Errorf("no container port %s (metrics_listen %s)", port, listen)
	}
	ann := ds.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != port || ann["prometheus.io/path"] != "/metrics" {
		t.Errorf("scrape annotations %v; want scrape true, port %s, path /metrics", ann, port)
	}
	rp := c.ReadinessProbe
	if rp == nil || rp.HTTPGet == nil || rp.HTTPGet.Path != "/readyz" || (rp.HTTPGet.Port.String() != named && rp.HTTPGet.Port.String() != port) {
		t.Errorf("readinessProbe %+v; want httpGet /readyz on port %s", rp, named)
	}
}
