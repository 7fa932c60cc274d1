package pipeline

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/tinylib/msgp/msgp"
)

// TestDeadLetterReasonSaysWhere: the reason of a dead-lettered event names
// where it came from: the flush's Locator (the ship command's file and
// line), its index in the chunk, and the file the record names under
// PathKey (tail's Path_Key), and what is wrong with it: the field and its
// offset.
func TestDeadLetterReasonSaysWhere(t *testing.T) {
	fs := &fakeSink{}
	p, _ := newTestPipeline(t, fs, func(c *Config) { c.PathKey = "path" })
	c := &chunkBuilder{v2: true}
	c.raw(auditLine(1, "ResponseComplete", "alice", "get", "default", "pods"))
	bad := strings.Replace(auditLine(2, "ResponseComplete", "alice", "get", "default", "pods"), `"verb":"get"`, `"verb":7`, 1)
	c.head(1)
	c.mapHdr(2)
	c.str("log")
	c.str(bad)
	c.str("path")
	c.str("/var/log/kubernetes/audit/audit.log")
	where := func(i int) string { return "audit.log:" + strconv.Itoa(i+40) }
	if out := p.FlushFrom(c.b, where); out != Delivered {
		t.Fatalf("outcome %s", out)
	}
	got := fs.events()
	if len(got) != 2 || got[1].value != bad {
		t.Fatalf("sink got %+v; want the good event, then the bad line as it was", got)
	}
	want := "audit.log:41 (record 1 of the chunk) from /var/log/kubernetes/audit/audit.log: verb (offset "
	if !strings.HasPrefix(got[1].deadLetter, want) {
		t.Fatalf("reason %q; want it to start %q", got[1].deadLetter, want)
	}
}

// TestDeadLetterRecordWithoutJSON: a parsed record that has no JSON form (a
// NaN) goes to the dead-letter topic as its raw msgpack, and the reason says
// so; a value that is not an event at all goes as its raw msgpack too.
func TestDeadLetterRecordWithoutJSON(t *testing.T) {
	fs := &fakeSink{}
	p, _ := newTestPipeline(t, fs, nil)
	c := &chunkBuilder{v2: true}
	c.head(1)
	start := len(c.b)
	c.mapHdr(1)
	c.str("kind")
	c.b = msgp.AppendFloat64(c.b, math.NaN())
	body := string(c.b[start:])
	notEvent := len(c.b)
	c.b = msgp.AppendArrayHeader(c.b, 2)
	c.b = msgp.AppendString(c.b, "not a timestamp")
	c.b = msgp.AppendMapHeader(c.b, 0)
	notEventEnd := len(c.b)
	c.raw(auditLine(1, "ResponseComplete", "alice", "get", "default", "pods"))
	if out := p.Flush(c.b); out != Delivered {
		t.Fatalf("outcome %s", out)
	}
	got := fs.events()
	if len(got) != 3 || got[2].deadLetter != "" {
		t.Fatalf("sink got %d events; want two dead-lettered, then the good one", len(got))
	}
	if got[0].value != body || !strings.HasSuffix(got[0].deadLetter, "(the message is the record's raw msgpack: it has no JSON form)") {
		t.Fatalf("record without JSON: %q, %q", got[0].value, got[0].deadLetter)
	}
	if got[1].value != string(c.b[notEvent:notEventEnd]) || !strings.Contains(got[1].deadLetter, "timestamp") ||
		!strings.HasPrefix(got[1].deadLetter, "record 1 of the chunk: ") {
		t.Fatalf("value that is not an event: %q, %q", got[1].value, got[1].deadLetter)
	}
	if st := p.Stats(); st.Malformed != 2 || st.DeadLettered != 2 || st.Delivered != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestDeadLetterCutsBodiesWhenRedacting: with redaction on, a line cut short
// inside a Secret's body (the apiserver stopped mid-write) reaches the
// dead-letter topic without its body, whatever the body key's case, and the
// reason says how much was left out; without it the line goes whole.
func TestDeadLetterCutsBodiesWhenRedacting(t *testing.T) {
	const secret = "c2VjcmV0LXRva2Vu"
	full := strings.Replace(auditLine(1, "ResponseComplete", "alice", "create", "default", "secrets"),
		`"stage":`, `"RequestObject":{"kind":"Secret","data":{"token":"`+secret+`"}},"stage":`, 1)
	cutShort := full[:strings.Index(full, secret)+len(secret)]
	head := cutShort[:strings.Index(cutShort, `"RequestObject"`)]
	for _, cut := range []bool{true, false} {
		fs := &fakeSink{}
		p, _ := newTestPipeline(t, fs, func(c *Config) { c.CutUnreadableBodies = cut })
		c := &chunkBuilder{v2: true}
		c.raw(cutShort)
		c.raw(auditLine(2, "ResponseComplete", "alice", "get", "default", "pods"))
		if out := p.Flush(c.b); out != Delivered {
			t.Fatalf("outcome %s", out)
		}
		got := fs.events()
		if len(got) != 2 || got[0].deadLetter == "" {
			t.Fatalf("sink got %+v; want the cut-short line dead-lettered, then the good event", got)
		}
		switch {
		case cut && got[0].value != head:
			t.Errorf("dead letter %q; want only what precedes the body, %q", got[0].value, head)
		case cut && !strings.Contains(got[0].deadLetter, "before its first request or response body"):
			t.Errorf("reason %q does not say the body was left out", got[0].deadLetter)
		case !cut && got[0].value != cutShort:
			t.Errorf("dead letter %q; want the line as it was read", got[0].value)
		}
	}
}

func TestFirstBodyKey(t *testing.T) {
	for in, want := range map[string]int{
		`{"a":1}`:                      -1,
		`{"a":1,"requestObject":{}}`:   7,
		`{"a":1,"RESPONSEobject":{}}`:  7,
		`x` + "\xadrequestObject\xa0":  2, // a msgpack key: no quote before it
		`{"requestUri":"/requestob"}`:  -1,
		`{"b":"x","responseObjec":1}`:  -1,
		`{"response":"requestObject"}`: 12,
	} {
		if got := firstBodyKey([]byte(in)); got != want {
			t.Errorf("firstBodyKey(%q) = %d, want %d", in, got, want)
		}
	}
}
