package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/auditstream/auditstream/internal/testenv"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpGet(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// TestOneEndpointPerProcess: instances of one process share the endpoint
// the first of them with metrics_listen started; a second instance of the
// same name is refused at init; the endpoint stops with the exit of the last
// instance that asked for it.
func TestOneEndpointPerProcess(t *testing.T) {
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(pol, []byte(testenv.Policy), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	var log bytes.Buffer
	start := func(name, listen string) (*instance, error) {
		return newInstance(keys{"policy_file": pol, "brokers": "127.0.0.1:1", "instance_name": name,
			"summary_interval": "0", "metrics_listen": listen}.get, &log, buildPipeline)
	}
	main, err := start("main", addr)
	if err != nil {
		t.Fatal(err)
	}
	backup, err := start("backup", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := start("main", ""); err == nil || !strings.Contains(err.Error(), `instance_name "main" is already used`) {
		t.Errorf("a second instance named main: %v; want it refused", err)
	}
	if !strings.Contains(log.String(), "cannot start: instance_name \"main\"") {
		t.Errorf("the refusal is not logged:\n%s", log.String())
	}

	code, body, err := httpGet("http://" + addr + "/metrics")
	if err != nil || code != 200 {
		t.Fatalf("/metrics: %d %v", code, err)
	}
	for _, name := range []string{"main", "backup"} {
		if !strings.Contains(body, `auditstream_policy_info{instance="`+name+`",sha256=`) {
			t.Errorf("/metrics lacks the policy of %s", name)
		}
	}
	if code, _, _ := httpGet("http://" + addr + "/healthz"); code != 200 {
		t.Errorf("/healthz %d; want 200", code)
	}

	backup.exit()
	_, body, _ = httpGet("http://" + addr + "/metrics")
	if strings.Contains(body, `instance="backup"`) {
		t.Error("the series of an exited instance are still served")
	}
	main.exit()
	if _, _, err := httpGet("http://" + addr + "/metrics"); err == nil {
		t.Error("the endpoint still answers after the last instance with metrics_listen exited")
	}
}
