package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditstream/auditstream/internal/setup"
	"github.com/auditstream/auditstream/internal/testenv"
)

// TestHarnessRegister registers the plugin with the register struct of each
// Fluent Bit generation. Up to Fluent Bit 4.2.2 the struct is 32 bytes of
// malloc: "pre5guard" puts its end against an inaccessible page, so a write
// past it (as current fluent-bit-go master does with event_type) crashes the
// harness. The control plugin badregister.so shows that the guard bites.
func TestHarnessRegister(t *testing.T) {
	so, _, badreg := artifacts(t)
	for _, abi := range []string{"pre5guard", "pre5", "v5", "v511", "v511canary"} {
		t.Run(abi, func(t *testing.T) {
			r := runHarness(t, time.Minute, "load "+so+"\nregister "+abi+"\nunregister\n")
			r.ok(t)
			got := r.result(t, "register")
			want := map[string]string{"rc": "0", "type": "2", "proxy": "11", "flags": "0", "name": "auditstream"}
			if abi == "v5" || abi == "v511" {
				want["event_type"] = "0"
			}
			if abi == "v511" {
				want["config_map"] = "nil"
			}
			if abi == "v511canary" { // untouched: 0x5a5a
				want["event_type"], want["config_map"] = "23130", "canary"
			}
			for k, v := range want {
				if got[k] != v {
					t.Fatalf("register %s: %s=%q; want %q", abi, k, got[k], v)
				}
			}
			l := r.result(t, "load")
			for _, sym := range []string{"register", "init", "flush_ctx", "exit_ctx", "exit", "unregister"} {
				if l[sym] != "1" {
					t.Fatalf("symbol for %s not exported: %v", sym, l)
				}
			}
		})
	}
	t.Run("the guard catches a write past 32 bytes", func(t *testing.T) {
		r := runHarness(t, time.Minute, "load "+badreg+"\nregister pre5guard\n")
		if r.err == nil || strings.Contains(strings.Join(r.lines, "\n"), "register rc=") {
			t.Fatalf("the control plugin wrote past the guard without a fault: %v", r.err)
		}
	})
}

// TestHarnessRegisterValgrind checks the same under valgrind with the plain
// malloc of Fluent Bit up to 4.2.2. The Go runtime itself upsets memcheck (stack
// copying, async preemption), so only errors about the 32-byte block count.
// It is an extra check beside the guard page above, run by `make
// test-valgrind`, which sets VALGRIND to the valgrind binary and fails where
// there is none.
func TestHarnessRegisterValgrind(t *testing.T) {
	vg := os.Getenv("VALGRIND")
	if vg == "" {
		t.Skip("VALGRIND is not set: run make test-valgrind")
	}
	so, _, badreg := artifacts(t)
	wrap := []string{vg, "--error-limit=no"}
	const past32 = "after a block of size 32 alloc'd"
	r := runHarness(t, 3*time.Minute, "load "+badreg+"\nregister pre5\n", wrap...)
	if !strings.Contains(r.stderr, past32) {
		t.Fatalf("valgrind did not report the control plugin's write past the struct")
	}
	r = runHarness(t, 3*time.Minute, "load "+so+"\nregister pre5\nunregister\n", wrap...)
	r.ok(t)
	if strings.Contains(r.stderr, past32) {
		t.Fatalf("the plugin writes past the register struct of Fluent Bit up to 4.2.2")
	}
}

// TestHarnessInitErrors: a bad configuration fails FLBPluginInit with
// FLB_ERROR and one line naming the key and the problem.
func TestHarnessInitErrors(t *testing.T) {
	so, _, _ := artifacts(t)
	dir := t.TempDir()
	pol := writeFile(t, dir, "policy.yaml", testenv.Policy)
	badPol := writeFile(t, dir, "bad.yaml", "apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Loud\n")
	cases := []struct{ kv, want string }{
		{"policy_file=" + pol + " brokers=127.0.0.1:1 compression=brotli",
			`cannot start: compression: unknown value "brotli": want one of none, gzip, snappy, lz4, zstd`},
		{"policy_file=" + badPol + " brokers=127.0.0.1:1",
			`cannot start: policy_file: ` + badPol + `: rules[0].level: Unsupported value: "Loud"`},
		{"policy_file=" + dir + "/missing.yaml brokers=127.0.0.1:1",
			`cannot start: policy_file: cannot read audit policy: open ` + dir + `/missing.yaml: no such file or directory`},
		{"brokers=127.0.0.1:1", "cannot start: policy_file: required"},
		{"policy_file=" + pol, "cannot start: brokers: at least one broker (host:port) is required"},
		{"policy_file=" + pol + " brokers=127.0.0.1:1 Verbosity=chatty", `cannot start: verbosity: unknown verbosity "chatty"`},
		{"policy_file=" + pol + " brokers=127.0.0.1:1 summary_interval=often", `cannot start: summary_interval: invalid value "often"`},
	}
	var script strings.Builder
	script.WriteString("load " + so + "\nregister v511\n")
	for i, c := range cases {
		fmt.Fprintf(&script, "init bad%d instance_name=bad%d %s\n", i, i, c.kv)
	}
	script.WriteString("init good instance_name=good policy_file=" + pol + " brokers=127.0.0.1:1\nexit good\nunregister\n")
	r := runHarness(t, time.Minute, script.String())
	r.ok(t)
	for i, c := range cases {
		if rc := r.result(t, fmt.Sprintf("init bad%d", i))["rc"]; rc != "0" {
			t.Errorf("case %d (%s): init rc %s; want 0 (FLB_ERROR)", i, c.kv, rc)
		}
		line := fmt.Sprintf("] [error] [output:auditstream:bad%d] %s", i, c.want)
		if !strings.Contains(r.stderr, line) {
			t.Errorf("case %d: no line containing %q", i, line)
		}
	}
	if g := r.result(t, "init good"); g["rc"] != "1" || g["remote_context"] != "set" {
		t.Fatalf("good init: %v", g)
	}
}

// TestHarnessNoCrashOnGarbage: chunks that are not Fluent Bit chunks never
// crash the plugin. The broker is unreachable on purpose: what cannot be
// read is bound for the dead-letter topic, so such a chunk is kept
// (FLB_RETRY) rather than acknowledged or failed, and only a chunk with
// nothing to ship is FLB_OK. TestHarnessDeadLetters shows the same chunks
// against the real broker.
func TestHarnessNoCrashOnGarbage(t *testing.T) {
	so, _, _ := artifacts(t)
	dir := t.TempDir()
	pol := writeFile(t, dir, "policy.yaml", testenv.Policy)
	dropped := writeFile(t, dir, "dropped.jsonl",
		auditLine("d1", "ResponseComplete", "system:kube-proxy", "watch", "default", "endpoints")+"\n"+
			auditLine("d2", "RequestReceived", "alice", "get", "default", "pods")+"\n")
	script := `load ` + so + `
register v5
init g policy_file=` + pol + ` brokers=127.0.0.1:1 delivery_timeout=1s
random junk 42 65536
hex invalid c1
hex empty ` + `
hex notevent a3666f6f
hex nilrecord 92d7000000000100000000c0
hex stringlog 9292d70000000001000000008081a36c6f67a46a756e6b
chunk onlydropped v2 wide raw ` + dropped + ` 50 markers
chunk onlydroppedparsed v1 fix parsedbin ` + dropped + ` 50
flush g junk threads=2 times=5
flush g invalid
flush g notevent
flush g nilrecord
flush g stringlog
flush g empty
flush g onlydropped threads=2 times=2
flush g onlydroppedparsed
exit g
exitlegacy
unregister
`
	r := runHarness(t, time.Minute, script)
	r.ok(t)
	f := func(chunk, code string) {
		t.Helper()
		res := r.result(t, "flush g chunk="+chunk)
		if res[code] != res["calls"] {
			t.Errorf("chunk %s: %v; want every call %s", chunk, res, code)
		}
	}
	f("junk", "retry")      // the unreadable bytes wait for the dead-letter topic
	f("invalid", "retry")   // likewise
	f("notevent", "retry")  // well-formed msgpack, not an event: likewise
	f("nilrecord", "retry") // likewise
	f("stringlog", "retry") // {"log": "junk"}: not an audit event, likewise
	f("empty", "ok")
	f("onlydropped", "ok") // every event dropped by the policy: nothing to deliver
	f("onlydroppedparsed", "ok")
	if rc := r.result(t, "exitlegacy")["rc"]; rc != "1" {
		t.Errorf("FLBPluginExit: rc %s; want 1", rc)
	}
	if !strings.Contains(r.stderr, "malformed audit event") || !strings.Contains(r.stderr, "unreadable chunk") {
		t.Fatalf("problems not logged")
	}
}

// TestHarnessUnreachableBroker: with the broker refusing connections, or
// accepting them and never answering, a flush returns FLB_RETRY within
// delivery_timeout plus the margin, and exit stays within Fluent Bit's grace.
func TestHarnessUnreachableBroker(t *testing.T) {
	so, _, _ := artifacts(t)
	dir := t.TempDir()
	pol := writeFile(t, dir, "policy.yaml", testenv.Policy)
	events := writeFile(t, dir, "events.jsonl", auditLine("u1", "ResponseComplete", "alice", "get", "default", "pods")+"\n")

	// A listener that accepts and then says nothing: a hung broker.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	// A port nobody listens on: connection refused.
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedAddr := refused.Addr().String()
	refused.Close()

	script := `load ` + so + `
register pre5
init refused instance_name=refused policy_file=` + pol + ` brokers=` + refusedAddr + ` delivery_timeout=1s
init silent instance_name=silent policy_file=` + pol + ` brokers=` + silent.Addr().String() + ` delivery_timeout=1s
chunk c v2 fix raw ` + events + ` 10
flush refused c threads=2 times=2
flush silent c threads=2
exit refused
exit silent
unregister
`
	r := runHarness(t, 2*time.Minute, script)
	r.ok(t)
	const deadline = 1*time.Second + setup.FlushMargin + time.Second // delivery_timeout, margin, slack
	for _, name := range []string{"refused", "silent"} {
		res := r.result(t, "flush "+name)
		if res["retry"] != res["calls"] {
			t.Errorf("%s: %v; want every call FLB_RETRY", name, res)
		}
		if max := time.Duration(atoi(t, res["max_ns"])); max > deadline {
			t.Errorf("%s: a flush took %s; want under %s", name, max, deadline)
		}
		// Exit must end within Fluent Bit's 5 s grace (Grace's default).
		ex := r.result(t, "exit "+name)
		if ms, err := strconv.ParseFloat(ex["ms"], 64); err != nil || ex["rc"] != "1" || ms >= 5000 {
			t.Errorf("%s: exit %v; want rc 1 within 5000 ms", name, ex)
		}
	}
	if !strings.Contains(r.stderr, "[ warn] [output:auditstream:silent] delivery failed, will retry") {
		t.Fatalf("no retry warning for the silent broker")
	}
}
