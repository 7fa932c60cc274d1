// Package deploy_test checks the deployment files against each other and
// against the code: every *.yaml under deploy/ decodes strictly with the
// Kubernetes API types (or, for kubeadm's configuration, structurally); the
// DaemonSet's ConfigMap, mounts and probe fit the Fluent Bit configuration it
// runs; that configuration is examples/fluent-bit.yaml, whose classic twin
// examples/fluent-bit.conf says the same; the policies compile without
// warnings; and the kube-apiserver variants (static Pod, kubeadm, systemd)
// set the same audit flags and write the log where the DaemonSet reads it.
package deploy_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/auditstream/auditstream/filter"
	"github.com/auditstream/auditstream/internal/setup"
)

// Files outside deploy/ that the manifests depend on, relative to this
// package's directory (go test runs in it).
const (
	exampleYAML    = "../examples/fluent-bit.yaml"
	exampleClassic = "../examples/fluent-bit.conf"
	examplePolicy  = "../examples/policy.yaml"
	dockerfile     = "../Dockerfile"
	systemdDropIn  = "kube-apiserver/kube-apiserver.service.d/audit.conf"
)

// What the DaemonSet must be, for the reasons its comments give.
const (
	imagePrefix       = "ghcr.io/auditstream/fluent-bit-auditstream:"
	controlPlaneLabel = "node-role.kubernetes.io/control-plane"
	masterTaint       = "node-role.kubernetes.io/master"
	healthPath        = "/api/v1/health"
	outputName        = "auditstream"
	// pluginExitSeconds bounds the plugin's exit hook (plugin/instance.go),
	// which runs after Fluent Bit's grace period.
	pluginExitSeconds = 4
)

// fluentBitOutputKeys are the output keys Fluent Bit consumes itself that the
// configurations may use.
var fluentBitOutputKeys = []string{
	"name", "match", "match_regex", "alias", "log_level",
	"workers", "retry_limit", "storage.total_limit_size",
}

// auditFlags are the kube-apiserver flags every variant must set.
var auditFlags = []string{
	"audit-policy-file", "audit-log-path", "audit-log-format",
	"audit-log-maxage", "audit-log-maxbackup", "audit-log-maxsize",
}

// ---------------------------------------------------------------------------
// Loading every manifest under deploy/.

// doc is one YAML document of a manifest file, decoded.
type doc struct {
	where   string // file and document index, for messages
	obj     runtime.Object
	kubeadm *kubeadmClusterConfiguration
}

// kubeadmClusterConfiguration is the part of kubeadm.k8s.io/v1beta4
// ClusterConfiguration the manifests use. kubeadm's types are not a Go
// module this repository can import, so the file is checked structurally:
// decoded strictly into this struct (a field it lacks is an error), whose
// JSON names follow kubeadm's v1beta4 types. Add fields here when the file
// uses more of them.
type kubeadmClusterConfiguration struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	APIServer  struct {
		ExtraArgs []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"extraArgs"`
		ExtraVolumes []struct {
			Name      string              `json:"name"`
			HostPath  string              `json:"hostPath"`
			MountPath string              `json:"mountPath"`
			ReadOnly  bool                `json:"readOnly"`
			PathType  corev1.HostPathType `json:"pathType"`
		} `json:"extraVolumes"`
	} `json:"apiServer"`
}

// manifests holds every object found under deploy/, by kind.
type manifests struct {
	namespaces      []*corev1.Namespace
	serviceAccounts []*corev1.ServiceAccount
	configMaps      []*corev1.ConfigMap
	secrets         []*corev1.Secret
	daemonSets      []*appsv1.DaemonSet
	pods            []*corev1.Pod
	kubeadm         []*kubeadmClusterConfiguration
}

// strictDecoder decodes the core/v1 and apps/v1 kinds and rejects unknown
// and duplicate fields, as `kubectl apply --validate=strict` would.
func strictDecoder() runtime.Decoder {
	scheme := runtime.NewScheme()
	utilruntime.Must(corev1.AddToScheme(scheme))
	utilruntime.Must(appsv1.AddToScheme(scheme))
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}

// loadManifests decodes every document of every *.yaml file under deploy/.
func loadManifests(t *testing.T) *manifests {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && p == monitoringDir {
			return filepath.SkipDir // Prometheus and Grafana files: monitoring_test.go
		}
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no *.yaml files under deploy/")
	}
	dec := strictDecoder()
	m := &manifests{}
	for _, f := range files {
		docs, err := decodeFile(dec, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			if err := m.add(d); err != nil {
				t.Fatalf("%s: %v", d.where, err)
			}
		}
	}
	return m
}

// decodeFile splits a file into its YAML documents and decodes each one.
func decodeFile(dec runtime.Decoder, file string) ([]doc, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []doc
	for i := 0; ; i++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		where := fmt.Sprintf("%s (document %d)", file, i+1)
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(raw, &tm); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if tm == (metav1.TypeMeta{}) {
			var empty map[string]any
			if err := yaml.Unmarshal(raw, &empty); err == nil && len(empty) == 0 {
				continue // only comments
			}
			return nil, fmt.Errorf("%s: no apiVersion and kind", where)
		}
		d := doc{where: where}
		if strings.HasPrefix(tm.APIVersion, "kubeadm.k8s.io/") {
			var cc kubeadmClusterConfiguration
			if err := yaml.UnmarshalStrict(raw, &cc); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			d.kubeadm = &cc
		} else {
			obj, _, err := dec.Decode(raw, nil, nil)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			d.obj = obj
		}
		docs = append(docs, d)
	}
	return docs, nil
}

func (m *manifests) add(d doc) error {
	if d.kubeadm != nil {
		if d.kubeadm.APIVersion != "kubeadm.k8s.io/v1beta4" || d.kubeadm.Kind != "ClusterConfiguration" {
			return fmt.Errorf("want kubeadm.k8s.io/v1beta4 ClusterConfiguration, got %s %s", d.kubeadm.APIVersion, d.kubeadm.Kind)
		}
		m.kubeadm = append(m.kubeadm, d.kubeadm)
		return nil
	}
	switch o := d.obj.(type) {
	case *corev1.Namespace:
		m.namespaces = append(m.namespaces, o)
	case *corev1.ServiceAccount:
		m.serviceAccounts = append(m.serviceAccounts, o)
	case *corev1.ConfigMap:
		m.configMaps = append(m.configMaps, o)
	case *corev1.Secret:
		m.secrets = append(m.secrets, o)
	case *appsv1.DaemonSet:
		m.daemonSets = append(m.daemonSets, o)
	case *corev1.Pod:
		m.pods = append(m.pods, o)
	default:
		return fmt.Errorf("unexpected kind %T: add a check for it to this test", o)
	}
	return nil
}

func (m *manifests) daemonSet(t *testing.T) *appsv1.DaemonSet {
	t.Helper()
	if len(m.daemonSets) != 1 {
		t.Fatalf("want exactly one DaemonSet under deploy/, got %d", len(m.daemonSets))
	}
	return m.daemonSets[0]
}

func (m *manifests) apiserverPod(t *testing.T) *corev1.Pod {
	t.Helper()
	for _, p := range m.pods {
		if p.Name == "kube-apiserver" && p.Namespace == "kube-system" {
			return p
		}
	}
	t.Fatal("no kube-system/kube-apiserver Pod under deploy/")
	return nil
}

func (m *manifests) configMap(ns, name string) *corev1.ConfigMap {
	for _, cm := range m.configMaps {
		if cm.Namespace == ns && cm.Name == name {
			return cm
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// Fluent Bit configurations.

// fluentBitYAML is Fluent Bit's YAML configuration format, as far as the
// examples use it; unknown sections fail the strict decoding.
type fluentBitYAML struct {
	Plugins  []string       `json:"plugins"`
	Service  map[string]any `json:"service"`
	Pipeline struct {
		Inputs  []map[string]any `json:"inputs"`
		Filters []map[string]any `json:"filters"`
		Outputs []map[string]any `json:"outputs"`
	} `json:"pipeline"`
}

func parseFluentBitYAML(data []byte) (*fluentBitYAML, error) {
	var c fluentBitYAML
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// section is a Fluent Bit section's properties, with lower-case keys and
// normalized values (see norm), so that the classic and the YAML format
// compare equal when they say the same thing.
type section map[string]string

// norm writes a value as Fluent Bit reads it: YAML's booleans and numbers
// (which sigs.k8s.io/yaml decodes as YAML 1.1 does, "on" being true) and the
// classic format's words for them compare equal.
func norm(v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "on"
		}
		return "off"
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		s := strings.TrimSpace(x)
		switch strings.ToLower(s) {
		case "on", "true", "yes":
			return "on"
		case "off", "false", "no":
			return "off"
		}
		return s
	}
	return fmt.Sprint(v)
}

func sectionOf(m map[string]any) section {
	s := section{}
	for k, v := range m {
		s[strings.ToLower(k)] = norm(v)
	}
	return s
}

// sections normalizes a YAML configuration into the classic format's sections.
func (c *fluentBitYAML) sections() map[string][]section {
	out := map[string][]section{"SERVICE": {sectionOf(c.Service)}}
	for _, in := range c.Pipeline.Inputs {
		out["INPUT"] = append(out["INPUT"], sectionOf(in))
	}
	for _, f := range c.Pipeline.Filters {
		out["FILTER"] = append(out["FILTER"], sectionOf(f))
	}
	for _, o := range c.Pipeline.Outputs {
		out["OUTPUT"] = append(out["OUTPUT"], sectionOf(o))
	}
	return out
}

func (c *fluentBitYAML) output(t *testing.T, where string) section {
	t.Helper()
	var found []section
	for _, o := range c.Pipeline.Outputs {
		if s := sectionOf(o); s["name"] == outputName {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%s: want one output named %q, got %d", where, outputName, len(found))
	}
	return found[0]
}

func (c *fluentBitYAML) tailInput(t *testing.T, where string) section {
	t.Helper()
	if len(c.Pipeline.Inputs) != 1 {
		t.Fatalf("%s: want one input, got %d", where, len(c.Pipeline.Inputs))
	}
	in := sectionOf(c.Pipeline.Inputs[0])
	if in["name"] != "tail" {
		t.Fatalf("%s: want a tail input, got %q", where, in["name"])
	}
	return in
}

// parseClassic reads Fluent Bit's classic format: [SECTION] headers, then
// "key value" lines; # starts a comment line. @INCLUDE and @SET are not
// used by the examples and are rejected.
func parseClassic(data []byte) (map[string][]section, error) {
	out := map[string][]section{}
	var cur section
	for i, line := range strings.Split(string(data), "\n") {
		l := strings.TrimSpace(line)
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
			continue
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			name := strings.ToUpper(strings.Trim(l, "[]"))
			cur = section{}
			out[name] = append(out[name], cur)
		case strings.HasPrefix(l, "@"):
			return nil, fmt.Errorf("line %d: %s is not supported by this test", i+1, l)
		case cur == nil:
			return nil, fmt.Errorf("line %d: property outside a section", i+1)
		default:
			k, v, _ := strings.Cut(l, " ")
			k = strings.ToLower(k)
			if _, dup := cur[k]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %s", i+1, k)
			}
			cur[k] = norm(v)
		}
	}
	return out, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// envRefs lists the ${VAR} references in a configuration's values.
func envRefs(sections map[string][]section) []string {
	var refs []string
	for _, list := range sections {
		for _, s := range list {
			for _, v := range s {
				for _, m := range envRef.FindAllStringSubmatch(v, -1) {
					refs = append(refs, m[1])
				}
			}
		}
	}
	slices.Sort(refs)
	return slices.Compact(refs)
}

func intValue(t *testing.T, where, key, v string) int {
	t.Helper()
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s: %s: want an integer, got %q", where, key, v)
	}
	return n
}

// checkFluentBitConfig checks what every configuration of the pipeline must
// have, whatever its format.
func checkFluentBitConfig(t *testing.T, where string, c *fluentBitYAML) {
	t.Helper()
	if len(c.Plugins) != 1 || path.Base(c.Plugins[0]) != "out_auditstream.so" {
		t.Errorf("%s: plugins: want the one path of out_auditstream.so, got %q", where, c.Plugins)
	}
	svc := sectionOf(c.Service)
	for _, k := range []string{"http_server", "health_check"} {
		if svc[k] != "on" {
			t.Errorf("%s: service.%s: want on, got %q", where, k, svc[k])
		}
	}
	if svc["storage.path"] == "" {
		t.Errorf("%s: service.storage.path is not set: filesystem buffering needs it", where)
	}

	in := c.tailInput(t, where)
	if _, ok := in["parser"]; ok {
		t.Errorf("%s: the tail input has a parser: the plugin's fast path needs the raw line under log_key", where)
	}
	for k, want := range map[string]string{
		"path":            "/var/log/kubernetes/audit/audit.log",
		"skip_long_lines": "on",
		"storage.type":    "filesystem",
	} {
		if in[k] != want {
			t.Errorf("%s: tail %s: want %q, got %q", where, k, want, in[k])
		}
	}
	for _, k := range []string{"db", "buffer_chunk_size", "buffer_max_size", "rotate_wait", "refresh_interval"} {
		if in[k] == "" {
			t.Errorf("%s: tail %s is not set", where, k)
		}
	}

	out := c.output(t, where)
	known := map[string]bool{}
	for _, k := range slices.Concat(setup.Keys(), fluentBitOutputKeys) {
		known[k] = true
	}
	for k := range out {
		if !known[k] {
			t.Errorf("%s: output %s: unknown key %q (the plugin ignores keys it does not read)", where, outputName, k)
		}
	}
	for k, want := range map[string]string{"retry_limit": "no_limits", "workers": "2"} {
		if out[k] != want {
			t.Errorf("%s: output %s: %s: want %q, got %q", where, outputName, k, want, out[k])
		}
	}
	for _, k := range []string{"brokers", "policy_file"} {
		if out[k] == "" {
			t.Errorf("%s: output %s: %s is not set", where, outputName, k)
		}
	}
	if lk := out["log_key"]; lk != "" && lk != "log" {
		t.Errorf("%s: log_key %q: tail without a parser puts the line under \"log\"", where, lk)
	}
}

// TestExampleConfigs checks examples/fluent-bit.yaml, and that the classic
// examples/fluent-bit.conf with its plugins.conf says the same.
func TestExampleConfigs(t *testing.T) {
	data, err := os.ReadFile(exampleYAML)
	if err != nil {
		t.Fatal(err)
	}
	y, err := parseFluentBitYAML(data)
	if err != nil {
		t.Fatalf("%s: %v", exampleYAML, err)
	}
	checkFluentBitConfig(t, exampleYAML, y)

	data, err = os.ReadFile(exampleClassic)
	if err != nil {
		t.Fatal(err)
	}
	classic, err := parseClassic(data)
	if err != nil {
		t.Fatalf("%s: %v", exampleClassic, err)
	}
	if len(classic["SERVICE"]) != 1 {
		t.Fatalf("%s: want one [SERVICE] section", exampleClassic)
	}
	svc := classic["SERVICE"][0]
	pluginsFile := svc["plugins_file"]
	if pluginsFile == "" {
		t.Fatalf("%s: no Plugins_File: the plugin would not be loaded", exampleClassic)
	}
	delete(svc, "plugins_file") // the YAML format has plugins: instead
	if want := y.sections(); !reflect.DeepEqual(classic, want) {
		t.Errorf("%s and %s differ:\nclassic: %v\nyaml:    %v", exampleClassic, exampleYAML, classic, want)
	}

	// A relative Plugins_File is found next to the configuration file.
	pf := filepath.Join(filepath.Dir(exampleClassic), pluginsFile)
	data, err = os.ReadFile(pf)
	if err != nil {
		t.Fatal(err)
	}
	plugins, err := parseClassic(data)
	if err != nil {
		t.Fatalf("%s: %v", pf, err)
	}
	var paths []string
	for _, s := range plugins["PLUGINS"] {
		paths = append(paths, s["path"])
	}
	if !slices.Equal(paths, y.Plugins) {
		t.Errorf("%s loads %q, %s loads %q", pf, paths, exampleYAML, y.Plugins)
	}

	// The image puts the plugin where the configurations load it from.
	copies := dockerfileCopies(t)
	for _, p := range y.Plugins {
		if !slices.Contains(copies, p) {
			t.Errorf("%s: no COPY puts the plugin at %s, which %s loads", dockerfile, p, exampleYAML)
		}
	}
	if pol := sectionOf(y.Pipeline.Outputs[0])["policy_file"]; !slices.Contains(copies, pol) {
		t.Errorf("%s: no COPY puts the policy at %s, which %s names", dockerfile, pol, exampleYAML)
	}
}

// dockerfileCopies lists the destination files of the Dockerfile's COPY
// instructions (a destination ending in / receives each source's base name).
func dockerfileCopies(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var dests []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 || f[0] != "COPY" {
			continue
		}
		var srcs []string
		for _, a := range f[1 : len(f)-1] {
			if !strings.HasPrefix(a, "--") {
				srcs = append(srcs, a)
			}
		}
		dst := f[len(f)-1]
		if !strings.HasSuffix(dst, "/") {
			dests = append(dests, dst)
			continue
		}
		for _, s := range srcs {
			dests = append(dests, dst+path.Base(s))
		}
	}
	return dests
}

// dockerfileCmd returns the exec-form CMD of the Dockerfile's last stage.
func dockerfileCmd(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var cmd []string
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "CMD "); ok {
			cmd = nil
			if err := json.Unmarshal([]byte(rest), &cmd); err != nil {
				t.Fatalf("%s: CMD is not in exec form: %v", dockerfile, err)
			}
		}
	}
	if cmd == nil {
		t.Fatalf("%s: no CMD", dockerfile)
	}
	return cmd
}

// TestPolicies compiles the policies the plugin loads, as it loads them: a
// warning means a field kube-apiserver would drop, which can widen a rule.
func TestPolicies(t *testing.T) {
	m := loadManifests(t)
	policies := map[string][]byte{}
	data, err := os.ReadFile(examplePolicy)
	if err != nil {
		t.Fatal(err)
	}
	policies[examplePolicy] = data
	for _, cm := range m.configMaps {
		if p, ok := cm.Data["policy.yaml"]; ok {
			policies["ConfigMap "+cm.Namespace+"/"+cm.Name+" policy.yaml"] = []byte(p)
		}
	}
	if len(policies) < 2 {
		t.Fatal("no ConfigMap under deploy/ has a policy.yaml")
	}
	for where, p := range policies {
		pol, warnings, err := filter.Compile(p)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		if len(warnings) > 0 {
			t.Errorf("%s: warnings: %q", where, warnings)
		}
		if pol.NumRules() == 0 {
			t.Errorf("%s: no rules", where)
		}
	}
}

// ---------------------------------------------------------------------------
// Paths through mounts.

// mounted is where a path inside a container comes from.
type mounted struct {
	mount  corev1.VolumeMount
	volume corev1.Volume
	rel    string // the path below the mount point ("" for the mount point)
}

// resolve finds the mount that holds p in a container (the longest mount
// path that is p or one of its parents) and its volume.
func resolve(mounts []corev1.VolumeMount, volumes []corev1.Volume, p string) (mounted, error) {
	p = path.Clean(p)
	var best *corev1.VolumeMount
	for i, vm := range mounts {
		mp := path.Clean(vm.MountPath)
		if (p == mp || strings.HasPrefix(p, mp+"/")) && (best == nil || len(mp) > len(path.Clean(best.MountPath))) {
			best = &mounts[i]
		}
	}
	if best == nil {
		return mounted{}, fmt.Errorf("%s is on no volume mount", p)
	}
	if best.SubPath != "" || best.SubPathExpr != "" {
		return mounted{}, fmt.Errorf("%s: mount %s uses subPath, which this test does not follow", p, best.Name)
	}
	for _, v := range volumes {
		if v.Name == best.Name {
			rel := strings.TrimPrefix(strings.TrimPrefix(p, path.Clean(best.MountPath)), "/")
			return mounted{mount: *best, volume: v, rel: rel}, nil
		}
	}
	return mounted{}, fmt.Errorf("%s: mount %s has no volume", p, best.Name)
}

// hostPath maps p in a container to the node's file system.
func hostPath(mounts []corev1.VolumeMount, volumes []corev1.Volume, p string) (string, mounted, error) {
	m, err := resolve(mounts, volumes, p)
	if err != nil {
		return "", m, err
	}
	if m.volume.HostPath == nil {
		return "", m, fmt.Errorf("%s: volume %s is not a hostPath", p, m.volume.Name)
	}
	return path.Join(m.volume.HostPath.Path, m.rel), m, nil
}

// configMapKey maps p in a container to the key of a ConfigMap volume.
func configMapKey(mounts []corev1.VolumeMount, volumes []corev1.Volume, p string) (*corev1.ConfigMapVolumeSource, string, error) {
	m, err := resolve(mounts, volumes, p)
	if err != nil {
		return nil, "", err
	}
	src := m.volume.ConfigMap
	if src == nil {
		return nil, "", fmt.Errorf("%s: volume %s is not a ConfigMap", p, m.volume.Name)
	}
	if len(src.Items) == 0 {
		return src, m.rel, nil
	}
	for _, it := range src.Items {
		if path.Clean(it.Path) == m.rel {
			return src, it.Key, nil
		}
	}
	return nil, "", fmt.Errorf("%s: ConfigMap volume %s has no item at %s", p, m.volume.Name, m.rel)
}

// ---------------------------------------------------------------------------
// kube-apiserver.

// podFlags reads --name=value flags from a container's command and args.
func podFlags(c corev1.Container) map[string]string {
	flags := map[string]string{}
	for _, a := range slices.Concat(c.Command, c.Args) {
		if rest, ok := strings.CutPrefix(a, "--"); ok {
			k, v, _ := strings.Cut(rest, "=")
			flags[k] = v
		}
	}
	return flags
}

func onlyAudit(flags map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range flags {
		if strings.HasPrefix(k, "audit-") {
			out[k] = v
		}
	}
	return out
}

// checkAuditFlags checks the flags' values, and returns the node paths of
// the policy and the log as seen through the mapping toHost.
func checkAuditFlags(t *testing.T, where string, flags map[string]string, toHost func(p string, writable bool) (string, error)) (policy, log string) {
	t.Helper()
	for _, f := range auditFlags {
		if flags[f] == "" {
			t.Errorf("%s: --%s is not set", where, f)
		}
	}
	if f := flags["audit-log-format"]; f != "json" {
		t.Errorf("%s: --audit-log-format=%s: the plugin reads json", where, f)
	}
	for _, f := range []string{"audit-log-maxage", "audit-log-maxbackup", "audit-log-maxsize"} {
		if n, err := strconv.Atoi(flags[f]); err != nil || n <= 0 {
			t.Errorf("%s: --%s=%s: want a positive integer", where, f, flags[f])
		}
	}
	var err error
	if policy, err = toHost(flags["audit-policy-file"], false); err != nil {
		t.Errorf("%s: --audit-policy-file: %v", where, err)
	}
	// kube-apiserver writes the log and creates its rotated files beside it.
	dir, err := toHost(path.Dir(flags["audit-log-path"]), true)
	if err != nil {
		t.Errorf("%s: --audit-log-path: %v", where, err)
	}
	return policy, path.Join(dir, path.Base(flags["audit-log-path"]))
}

// apiserverContainer returns the kube-apiserver Pod and its container.
func apiserverContainer(t *testing.T, m *manifests) (*corev1.Pod, corev1.Container) {
	t.Helper()
	pod := m.apiserverPod(t)
	for _, c := range pod.Spec.Containers {
		if c.Name == "kube-apiserver" {
			return pod, c
		}
	}
	t.Fatal("the kube-apiserver Pod has no kube-apiserver container")
	return nil, corev1.Container{}
}

// apiserverPaths checks the kube-apiserver Pod's audit flags and returns
// them, with the node paths of the policy and the log.
func apiserverPaths(t *testing.T, m *manifests) (audit map[string]string, policy, log string) {
	t.Helper()
	pod, c := apiserverContainer(t, m)
	toHost := func(p string, writable bool) (string, error) {
		hp, mt, err := hostPath(c.VolumeMounts, pod.Spec.Volumes, p)
		if err == nil && writable && mt.mount.ReadOnly {
			err = fmt.Errorf("%s: mount %s is read-only", p, mt.mount.Name)
		}
		return hp, err
	}
	flags := podFlags(c)
	policy, log = checkAuditFlags(t, "kube-apiserver Pod", flags, toHost)
	return onlyAudit(flags), policy, log
}

// TestKubeAPIServer checks that the static Pod, the kubeadm configuration
// and the systemd drop-in set the same audit flags, and that the paths they
// name are on the node where the Pod mounts them.
func TestKubeAPIServer(t *testing.T) {
	m := loadManifests(t)
	want, podPolicy, podLog := apiserverPaths(t, m)

	if len(m.kubeadm) != 1 {
		t.Fatalf("want one kubeadm ClusterConfiguration under deploy/, got %d", len(m.kubeadm))
	}
	cc := m.kubeadm[0]
	flags := map[string]string{}
	for _, a := range cc.APIServer.ExtraArgs {
		if _, dup := flags[a.Name]; dup {
			t.Errorf("kubeadm: extraArgs: %s twice", a.Name)
		}
		flags[a.Name] = a.Value
	}
	if got := onlyAudit(flags); !reflect.DeepEqual(got, want) {
		t.Errorf("kubeadm extraArgs differ from the Pod's flags:\nkubeadm: %v\npod:     %v", got, want)
	}
	var mounts []corev1.VolumeMount
	var volumes []corev1.Volume
	for _, v := range cc.APIServer.ExtraVolumes {
		pt := v.PathType
		mounts = append(mounts, corev1.VolumeMount{Name: v.Name, MountPath: v.MountPath, ReadOnly: v.ReadOnly})
		volumes = append(volumes, corev1.Volume{Name: v.Name, VolumeSource: corev1.VolumeSource{
			HostPath: &corev1.HostPathVolumeSource{Path: v.HostPath, Type: &pt},
		}})
	}
	toHost := func(p string, writable bool) (string, error) {
		hp, mt, err := hostPath(mounts, volumes, p)
		if err == nil && writable && mt.mount.ReadOnly {
			err = fmt.Errorf("%s: extraVolume %s is read-only", p, mt.mount.Name)
		}
		return hp, err
	}
	policy, log := checkAuditFlags(t, "kubeadm ClusterConfiguration", flags, toHost)
	if policy != podPolicy || log != podLog {
		t.Errorf("kubeadm puts the policy and log at %s and %s on the node, the Pod at %s and %s", policy, log, podPolicy, podLog)
	}

	// The systemd drop-in: kube-apiserver runs on the node, no mounts.
	env, execStarts := parseDropIn(t, systemdDropIn)
	const envName = "KUBE_APISERVER_AUDIT_ARGS"
	args, ok := env[envName]
	if !ok {
		t.Fatalf("%s: no Environment=%s=...", systemdDropIn, envName)
	}
	got := map[string]string{}
	for _, a := range strings.Fields(args) {
		k, v, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		got[k] = v
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: flags differ from the Pod's:\ndrop-in: %v\npod:     %v", systemdDropIn, got, want)
	}
	policy, log = checkAuditFlags(t, systemdDropIn, got, func(p string, _ bool) (string, error) { return p, nil })
	if policy != podPolicy || log != podLog {
		t.Errorf("%s puts the policy and log at %s and %s, the Pod at %s and %s", systemdDropIn, policy, log, podPolicy, podLog)
	}
	// A drop-in replaces ExecStart by clearing it first; $VAR (not ${VAR})
	// splits the flags into separate arguments.
	if len(execStarts) != 2 || execStarts[0] != "" || !slices.Contains(strings.Fields(execStarts[1]), "$"+envName) {
		t.Errorf("%s: want ExecStart= then one ExecStart=... $%s, got %q", systemdDropIn, envName, execStarts)
	}
}

// parseDropIn reads the [Service] section of a systemd unit file: its
// Environment= assignments and its ExecStart= lines in order.
func parseDropIn(t *testing.T, file string) (env map[string]string, execStarts []string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	env = map[string]string{}
	sectionName := ""
	var logical []string
	var cont strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		l := strings.TrimSpace(line)
		if cont.Len() == 0 && (l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";")) {
			continue
		}
		if rest, ok := strings.CutSuffix(l, "\\"); ok {
			cont.WriteString(rest + " ")
			continue
		}
		cont.WriteString(l)
		logical = append(logical, cont.String())
		cont.Reset()
	}
	for _, l := range logical {
		if strings.HasPrefix(l, "[") {
			sectionName = l
			continue
		}
		if sectionName != "[Service]" {
			t.Fatalf("%s: %q outside [Service]", file, l)
		}
		k, v, _ := strings.Cut(l, "=")
		switch strings.TrimSpace(k) {
		case "Environment":
			v = strings.TrimSpace(v)
			if uq, err := strconv.Unquote(v); err == nil {
				v = uq
			}
			name, val, _ := strings.Cut(v, "=")
			env[name] = val
		case "ExecStart":
			execStarts = append(execStarts, strings.TrimSpace(v))
		}
	}
	return env, execStarts
}

// ---------------------------------------------------------------------------
// The DaemonSet.

// TestDaemonSet checks the DaemonSet against its ConfigMap, the image and
// kube-apiserver's log path.
func TestDaemonSet(t *testing.T) {
	m := loadManifests(t)
	ds := m.daemonSet(t)
	spec := ds.Spec.Template.Spec
	ns := ds.Namespace

	if !slices.ContainsFunc(m.namespaces, func(n *corev1.Namespace) bool { return n.Name == ns }) {
		t.Errorf("DaemonSet namespace %q is not created under deploy/", ns)
	}
	if !slices.ContainsFunc(m.serviceAccounts, func(sa *corev1.ServiceAccount) bool {
		return sa.Namespace == ns && sa.Name == spec.ServiceAccountName
	}) {
		t.Errorf("ServiceAccount %s/%s is not created under deploy/", ns, spec.ServiceAccountName)
	}
	for k, v := range ds.Spec.Selector.MatchLabels {
		if ds.Spec.Template.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the Pod template's labels", k, v)
		}
	}

	// Two Pods on one node would share the tail db and the storage directory.
	if ru := ds.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.MaxSurge != nil {
		if surge := ru.MaxSurge.String(); surge != "0" && surge != "0%" {
			t.Errorf("updateStrategy.rollingUpdate.maxSurge %s: want 0", surge)
		}
	}

	// Scheduling onto control-plane nodes only.
	if v, ok := spec.NodeSelector[controlPlaneLabel]; !ok || v != "" {
		t.Errorf("nodeSelector: want %s: \"\"", controlPlaneLabel)
	}
	for _, key := range []string{controlPlaneLabel, masterTaint} {
		if !slices.ContainsFunc(spec.Tolerations, func(tol corev1.Toleration) bool {
			return tol.Key == key && tol.Operator == corev1.TolerationOpExists && tol.Effect == corev1.TaintEffectNoSchedule
		}) {
			t.Errorf("no toleration of %s:NoSchedule", key)
		}
	}
	if spec.PriorityClassName != "system-node-critical" {
		t.Errorf("priorityClassName: want system-node-critical, got %q", spec.PriorityClassName)
	}

	if len(spec.Containers) != 1 {
		t.Fatalf("want one container, got %d", len(spec.Containers))
	}
	c := spec.Containers[0]
	if !strings.HasPrefix(c.Image, imagePrefix) {
		t.Errorf("image %q: want the Dockerfile's image %s<version>", c.Image, imagePrefix)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("securityContext.readOnlyRootFilesystem: want true")
	}
	if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("securityContext.allowPrivilegeEscalation: want false")
	}
	if sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Error("securityContext.capabilities.drop: want ALL")
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Error("resources: want memory requests and limits")
	}

	// Every ConfigMap volume names a ConfigMap of the namespace that has the
	// keys it projects.
	for _, v := range spec.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		cm := m.configMap(ns, v.ConfigMap.Name)
		if cm == nil {
			t.Errorf("volume %s: ConfigMap %s/%s is not created under deploy/", v.Name, ns, v.ConfigMap.Name)
			continue
		}
		for _, it := range v.ConfigMap.Items {
			if _, ok := cm.Data[it.Key]; !ok {
				t.Errorf("volume %s: ConfigMap %s has no key %q", v.Name, cm.Name, it.Key)
			}
		}
	}

	// The configuration file Fluent Bit runs with: the image's CMD unless
	// the container sets args.
	args := c.Args
	if len(c.Command) == 0 && len(args) == 0 {
		args = dockerfileCmd(t)
	}
	i := slices.Index(args, "-c")
	if i < 0 || i+1 >= len(args) {
		t.Fatalf("Fluent Bit's arguments %q name no -c configuration", args)
	}
	confPath := args[i+1]
	data := configMapFile(t, m, ns, c, spec.Volumes, confPath)
	conf, err := parseFluentBitYAML([]byte(data))
	if err != nil {
		t.Fatalf("%s (from the ConfigMap): %v", confPath, err)
	}
	checkFluentBitConfig(t, "ConfigMap "+confPath, conf)

	// The ConfigMap's configuration is examples/fluent-bit.yaml (the image's),
	// comments aside.
	exData, err := os.ReadFile(exampleYAML)
	if err != nil {
		t.Fatal(err)
	}
	example, err := parseFluentBitYAML(exData)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := conf.sections(), example.sections(); !reflect.DeepEqual(got, want) || !slices.Equal(conf.Plugins, example.Plugins) {
		t.Errorf("the ConfigMap's %s differs from %s:\nconfigmap: %v %v\nexample:   %v %v", confPath, exampleYAML, conf.Plugins, got, example.Plugins, want)
	}

	// The policy file is the ConfigMap's, and compiles as the plugin will
	// compile it; the plugin is the image's: no mount may hide it.
	out := conf.output(t, confPath)
	policy := configMapFile(t, m, ns, c, spec.Volumes, out["policy_file"])
	if _, warnings, err := filter.Compile([]byte(policy)); err != nil || len(warnings) > 0 {
		t.Errorf("policy_file %s: error %v, warnings %q", out["policy_file"], err, warnings)
	}
	for _, p := range conf.Plugins {
		if _, err := resolve(c.VolumeMounts, spec.Volumes, p); err == nil {
			t.Errorf("plugin %s: a volume mount hides the image's file", p)
		}
		if !slices.Contains(dockerfileCopies(t), p) {
			t.Errorf("plugin %s: the Dockerfile does not put it there", p)
		}
	}

	// The tail input reads, read-only, the file kube-apiserver writes.
	in := conf.tailInput(t, confPath)
	tailHost, mt, err := hostPath(c.VolumeMounts, spec.Volumes, in["path"])
	if err != nil {
		t.Errorf("tail path: %v", err)
	} else {
		if _, _, want := apiserverPaths(t, m); tailHost != want {
			t.Errorf("tail reads %s on the node, kube-apiserver writes %s", tailHost, want)
		}
		if !mt.mount.ReadOnly {
			t.Errorf("mount %s of the audit log: want readOnly", mt.mount.Name)
		}
	}
	// The offsets and the buffer are on the node, writable.
	svc := sectionOf(conf.Service)
	for what, p := range map[string]string{"tail db": in["db"], "service storage.path": svc["storage.path"]} {
		if _, mt, err := hostPath(c.VolumeMounts, spec.Volumes, p); err != nil {
			t.Errorf("%s: %v", what, err)
		} else if mt.mount.ReadOnly {
			t.Errorf("%s %s: mount %s is read-only", what, p, mt.mount.Name)
		}
	}

	// Every ${VAR} the configuration uses is set in the container.
	for _, name := range envRefs(conf.sections()) {
		if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
			return e.Name == name && (e.Value != "" || e.ValueFrom != nil)
		}) {
			t.Errorf("the configuration uses ${%s}, which the container does not set", name)
		}
	}

	// The liveness probe asks Fluent Bit's health endpoint.
	lp := c.LivenessProbe
	if lp == nil || lp.HTTPGet == nil || lp.HTTPGet.Path != healthPath {
		t.Errorf("livenessProbe: want httpGet %s", healthPath)
	} else {
		port := lp.HTTPGet.Port.IntValue()
		if port == 0 { // a named port
			for _, p := range c.Ports {
				if p.Name == lp.HTTPGet.Port.String() {
					port = int(p.ContainerPort)
				}
			}
		}
		if want := intValue(t, confPath, "http_port", svc["http_port"]); port != want {
			t.Errorf("livenessProbe port %d, Fluent Bit listens on %d", port, want)
		}
	}

	// The kubelet waits for Fluent Bit's grace and the plugin's exit.
	grace := intValue(t, confPath, "grace", svc["grace"])
	if tg := spec.TerminationGracePeriodSeconds; tg == nil || *tg <= int64(grace+pluginExitSeconds) {
		t.Errorf("terminationGracePeriodSeconds: want more than grace %ds + %ds", grace, pluginExitSeconds)
	}
}

// configMapFile returns the content of the file at p in container c, which
// must come from a ConfigMap created under deploy/.
func configMapFile(t *testing.T, m *manifests, ns string, c corev1.Container, volumes []corev1.Volume, p string) string {
	t.Helper()
	src, key, err := configMapKey(c.VolumeMounts, volumes, p)
	if err != nil {
		t.Fatal(err)
	}
	cm := m.configMap(ns, src.Name)
	if cm == nil {
		t.Fatalf("%s: ConfigMap %s/%s is not created under deploy/", p, ns, src.Name)
	}
	data, ok := cm.Data[key]
	if !ok {
		t.Fatalf("%s: ConfigMap %s has no key %q", p, cm.Name, key)
	}
	return data
}
