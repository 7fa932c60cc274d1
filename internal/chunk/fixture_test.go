package chunk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"testing"

	"github.com/tinylib/msgp/msgp"
)

// auditLine is one line of a kube-apiserver audit log (RequestResponse level,
// about 2 KB), with characters that JSON escaping must handle.
const auditLine = `{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse","auditID":"5b7c1c9e-3f0a-4c1e-9b7e-1f2d3c4b5a69","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/payments/configmaps/app-config?fieldManager=kubectl-client-side-apply&fieldValidation=Strict","verb":"update","user":{"username":"system:serviceaccount:ci:deployer","uid":"0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0","groups":["system:serviceaccounts","system:serviceaccounts:ci","system:authenticated"],"extra":{"authentication.kubernetes.io/pod-name":["runner-7f9c6d5b8-x2k4q"],"authentication.kubernetes.io/pod-uid":["9a8b7c6d-5e4f-3a2b-1c0d-ef1234567890"]}},"sourceIPs":["10.12.3.45"],"userAgent":"kubectl/v1.37.2 (linux/amd64) kubernetes/2a3b4c5","objectRef":{"resource":"configmaps","namespace":"payments","name":"app-config","uid":"77f0e1d2-c3b4-4a59-8687-98a9bacbdcde","apiVersion":"v1","resourceVersion":"918273"},"responseStatus":{"metadata":{},"code":200},"requestObject":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"app-config","namespace":"payments","resourceVersion":"918273","labels":{"app.kubernetes.io/name":"payments","tier":"backend"},"annotations":{"note":"<b>rollout</b> & \"canary\" — ünïcödé ☃ \u2028 end"}},"data":{"LOG_LEVEL":"info","RATIO":"0.25","RETRIES":"3","TEMPLATE":"line1\nline2\ttab\\ \u0001"}},"responseObject":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"app-config","namespace":"payments","uid":"77f0e1d2-c3b4-4a59-8687-98a9bacbdcde","resourceVersion":"918301","creationTimestamp":"2026-11-20T09:14:02Z","labels":{"app.kubernetes.io/name":"payments","tier":"backend"},"managedFields":[{"manager":"kubectl-client-side-apply","operation":"Update","apiVersion":"v1","time":"2026-11-26T11:34:05Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:LOG_LEVEL":{},"f:RATIO":{},"f:RETRIES":{},"f:TEMPLATE":{}},"f:metadata":{"f:labels":{".":{},"f:app.kubernetes.io/name":{},"f:tier":{}}}}}]},"data":{"LOG_LEVEL":"info","RATIO":"0.25","RETRIES":"3","TEMPLATE":"line1\nline2\ttab\\ \u0001"}},"requestReceivedTimestamp":"2026-11-26T11:34:05.118293Z","stageTimestamp":"2026-11-26T11:34:05.131847Z","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by RoleBinding \"deployer/payments\" of ClusterRole \"edit\" to ServiceAccount \"deployer/ci\"","pod-security.kubernetes.io/enforce-policy":"restricted:latest"},"weight":1.5,"retries":-3,"big":18446744073709551615,"tiny":1e-7,"huge":1e+21,"flag":true,"none":null,"empty":[],"emptyObj":{}}`

// jsonConv converts JSON text to msgpack the way Fluent Bit's JSON parser
// does (keys in order, map headers of the chosen width, strings as str or
// bin), and writes at the same time the JSON that encoding/json produces for
// the same values (json.Marshal of each string and number), keys in order.
type jsonConv struct {
	dec      *json.Decoder
	mapWidth int  // fix, 16 or 32
	binStr   bool // strings as bin instead of str
}

func toMsgpack(t testing.TB, text string, mapWidth int, binStr bool) (mp, want []byte) {
	t.Helper()
	c := jsonConv{dec: json.NewDecoder(bytes.NewReader([]byte(text))), mapWidth: mapWidth, binStr: binStr}
	c.dec.UseNumber()
	tok, err := c.dec.Token()
	if err != nil {
		t.Fatal(err)
	}
	mp, want, err = c.value(tok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.dec.Token(); err != io.EOF {
		t.Fatalf("trailing data: %v", err)
	}
	return mp, want
}

func (c *jsonConv) str(v string) (mp, js []byte) {
	if c.binStr {
		mp = msgp.AppendBytes(nil, []byte(v))
	} else {
		mp = msgp.AppendString(nil, v)
	}
	js, _ = json.Marshal(v)
	return mp, js
}

func (c *jsonConv) value(tok json.Token) (mp, js []byte, err error) {
	switch v := tok.(type) {
	case json.Delim:
		var body []byte
		n := 0
		if v == '{' {
			js = append(js, '{')
			for c.dec.More() {
				k, err := c.dec.Token()
				if err != nil {
					return nil, nil, err
				}
				kmp, kjs := c.str(k.(string))
				vt, err := c.dec.Token()
				if err != nil {
					return nil, nil, err
				}
				vmp, vjs, err := c.value(vt)
				if err != nil {
					return nil, nil, err
				}
				if n > 0 {
					js = append(js, ',')
				}
				body = cat(body, kmp, vmp)
				js = append(append(append(js, kjs...), ':'), vjs...)
				n++
			}
			js = append(js, '}')
			w := c.mapWidth
			if w == fix && n > 15 {
				w = 16
			}
			mp = cat(mapHdr(w, n), body)
		} else {
			js = append(js, '[')
			for c.dec.More() {
				et, err := c.dec.Token()
				if err != nil {
					return nil, nil, err
				}
				emp, ejs, err := c.value(et)
				if err != nil {
					return nil, nil, err
				}
				if n > 0 {
					js = append(js, ',')
				}
				body = append(body, emp...)
				js = append(js, ejs...)
				n++
			}
			js = append(js, ']')
			mp = cat(arrHdr(32, n), body) // dynamic encoders reserve array32
		}
		_, err := c.dec.Token() // the closing delimiter
		return mp, js, err
	case string:
		mp, js = c.str(v)
		return mp, js, nil
	case json.Number:
		if i, err := v.Int64(); err == nil {
			js, _ = json.Marshal(i)
			return msgp.AppendInt64(nil, i), js, nil
		}
		if u, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			js, _ = json.Marshal(u)
			return msgp.AppendUint64(nil, u), js, nil
		}
		f, err := v.Float64()
		if err != nil {
			return nil, nil, err
		}
		js, _ = json.Marshal(f)
		return msgp.AppendFloat64(nil, f), js, nil
	case bool:
		js, _ = json.Marshal(v)
		return msgp.AppendBool(nil, v), js, nil
	case nil:
		return msgp.AppendNil(nil), []byte("null"), nil
	}
	return nil, nil, fmt.Errorf("unexpected token %v", tok)
}
