package reference

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"

	"k8s.io/apiserver/pkg/apis/audit"
)

// Rewrite applies the policy to one logged event line the slow, obvious way:
// decode the whole event into generic JSON, edit it, encode it again. It is
// the oracle for the fast path's byte-preserving rewrite; compare the two
// with JSONEqual, since key order and escaping differ.
//
// The event is dropped (kept false, out nil) when the policy's level is None
// or the event's stage is omitted. Otherwise it is rewritten to the effective
// level, the lower of the policy's and the logged one:
//
//   - "level" is set to the effective level;
//   - "requestObject" is removed below Request, "responseObject" below
//     RequestResponse;
//   - lowered from Request or RequestResponse to Metadata, it loses the
//     annotations a Metadata event cannot have (MetadataLacks), and
//     "annotations" goes if that empties it, as the apiserver omits an empty
//     map;
//   - with omitManagedFields, metadata.managedFields is removed from
//     requestObject and responseObject, from each element of their "items",
//     and from each rows[i].object of a Table, as the apiserver's
//     copyWithoutManagedFields does. A patch's requestObject is the raw
//     patch, which the apiserver never strips, so it is left alone.
func Rewrite(eval Evaluator, line []byte) (out []byte, kept bool, err error) {
	e, err := parseEvent(line)
	if err != nil {
		return nil, false, err
	}
	logged, err := loggedLevel(e.Level)
	if err != nil {
		return nil, false, err
	}
	d, err := decide(eval, e)
	if err != nil {
		return nil, false, err
	}
	if !d.Kept() {
		return nil, false, nil
	}

	doc, err := decodeGeneric(line)
	if err != nil {
		return nil, false, err
	}
	ev, ok := doc.(map[string]any)
	if !ok {
		return nil, false, errors.New("event: not a JSON object")
	}
	level := effectiveLevel(d.Level, logged)
	ev["level"] = string(level)
	if level.Less(audit.LevelRequest) {
		delete(ev, "requestObject")
	}
	if level.Less(audit.LevelRequestResponse) {
		delete(ev, "responseObject")
	}
	if level.Less(audit.LevelRequest) && !logged.Less(audit.LevelRequest) {
		if a, ok := ev["annotations"].(map[string]any); ok && len(a) > 0 {
			maps.DeleteFunc(a, func(k string, _ any) bool { return MetadataLacks(k) })
			if len(a) == 0 {
				delete(ev, "annotations")
			}
		}
	}
	if d.OmitManagedFields {
		if e.Verb != "patch" {
			stripManagedFields(ev["requestObject"])
		}
		stripManagedFields(ev["responseObject"])
	}
	out, err = json.Marshal(ev)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// MetadataLacks tells the annotations kube-apiserver never writes into an
// event at level Metadata: a mutating webhook's patch, recorded only at
// Request and above (AddAnnotationWithLevel(..., LevelRequest) in
// admission/plugin/webhook/mutating/dispatcher.go), and the truncate
// backend's mark, which it sets only on events at Request and above.
func MetadataLacks(key string) bool {
	return strings.HasPrefix(key, "patch.webhook.admission.k8s.io/") || key == "audit.k8s.io/truncated"
}

// decodeGeneric decodes exactly one JSON value (surrounding whitespace, such
// as a trailing newline, is allowed). Numbers stay json.Number so that they
// are re-encoded as written.
func decodeGeneric(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

// stripManagedFields removes metadata.managedFields from an API object in
// generic form, from each of its "items" (a list), and from each row object
// of a Table. It mirrors k8s.io/apiserver/pkg/audit/request.go:
// copyWithoutManagedFields, which works on the typed object: meta.Accessor
// (top level), meta.IsListType (items) and *metav1.Table (rows).
// Anything that is not an object (absent, null, a JSON-patch array) is left as is.
func stripManagedFields(v any) {
	obj, ok := v.(map[string]any)
	if !ok {
		return
	}
	deleteManagedFields(obj)
	if items, ok := obj["items"].([]any); ok {
		for _, item := range items {
			if item, ok := item.(map[string]any); ok {
				deleteManagedFields(item)
			}
		}
	}
	if obj["kind"] == "Table" {
		rows, _ := obj["rows"].([]any)
		for _, row := range rows {
			if row, ok := row.(map[string]any); ok {
				if rowObj, ok := row["object"].(map[string]any); ok {
					deleteManagedFields(rowObj)
				}
			}
		}
	}
}

func deleteManagedFields(obj map[string]any) {
	if meta, ok := obj["metadata"].(map[string]any); ok {
		delete(meta, "managedFields")
	}
}
