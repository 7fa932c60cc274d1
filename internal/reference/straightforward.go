package reference

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"

	jsoniter "github.com/json-iterator/go"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/apis/audit"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
)

// codec is the pair of JSON implementations a straightforward pipeline uses.
type codec struct {
	unmarshal func([]byte, any) error
	marshal   func(any) ([]byte, error)
	// decodeBody decodes a request or response object with numbers kept as
	// written, so that stripping managedFields does not rewrite them.
	decodeBody func([]byte, any) error
}

var stdCodec = codec{
	unmarshal: json.Unmarshal,
	marshal:   json.Marshal,
	decodeBody: func(data []byte, v any) error {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		return dec.Decode(v)
	},
}

var iterCodec = codec{
	unmarshal: jsoniter.ConfigCompatibleWithStandardLibrary.Unmarshal,
	marshal:   jsoniter.ConfigCompatibleWithStandardLibrary.Marshal,
	decodeBody: func(data []byte, v any) error {
		dec := jsoniter.ConfigCompatibleWithStandardLibrary.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		return dec.Decode(v)
	},
}

// StraightforwardPath is the naive pipeline the fast path is benchmarked
// against: encoding/json Unmarshal into the audit.k8s.io/v1 Event type,
// rebuild the attributes, evaluate the policy, drop or rewrite to the
// effective level (nil the bodies; with omitManagedFields decode the bodies
// generically, delete managedFields and encode them again), Marshal.
//
// The output is what an obvious implementation would produce, not a
// byte-preserving rewrite: fields the v1 Event type does not know (such as
// v1beta1's metadata and timestamp) are lost, a missing timestamp becomes
// null, and keys follow the Go struct. For a complete v1 event it is
// JSONEqual to Rewrite's output.
func StraightforwardPath(eval Evaluator, line []byte) ([]byte, bool, error) {
	return straightforward(stdCodec, eval, line)
}

// StraightforwardPathJSONIter is StraightforwardPath with
// github.com/json-iterator/go (ConfigCompatibleWithStandardLibrary) doing
// all decoding and encoding.
func StraightforwardPathJSONIter(eval Evaluator, line []byte) ([]byte, bool, error) {
	return straightforward(iterCodec, eval, line)
}

func straightforward(c codec, eval Evaluator, line []byte) ([]byte, bool, error) {
	var ev auditv1.Event
	if err := c.unmarshal(line, &ev); err != nil {
		return nil, false, err
	}
	logged, err := loggedLevel(string(ev.Level))
	if err != nil {
		return nil, false, err
	}
	attrs, err := EventAttributes(&ev)
	if err != nil {
		return nil, false, err
	}
	rac := eval.EvaluatePolicyRule(attrs)
	if rac.Level == audit.LevelNone || slices.Contains(rac.OmitStages, audit.Stage(ev.Stage)) {
		return nil, false, nil
	}
	level := effectiveLevel(rac.Level, logged)
	ev.Level = auditv1.Level(level)
	if level.Less(audit.LevelRequest) {
		ev.RequestObject = nil
	}
	if level.Less(audit.LevelRequestResponse) {
		ev.ResponseObject = nil
	}
	if level.Less(audit.LevelRequest) && !logged.Less(audit.LevelRequest) {
		maps.DeleteFunc(ev.Annotations, func(k, _ string) bool { return MetadataLacks(k) })
	}
	if rac.OmitManagedFields {
		if ev.Verb != "patch" {
			if err := c.stripBody(ev.RequestObject); err != nil {
				return nil, false, err
			}
		}
		if err := c.stripBody(ev.ResponseObject); err != nil {
			return nil, false, err
		}
	}
	out, err := c.marshal(&ev)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// stripBody removes managedFields from a logged body in place.
func (c codec) stripBody(body *runtime.Unknown) error {
	if body == nil || len(body.Raw) == 0 {
		return nil
	}
	var v any
	if err := c.decodeBody(body.Raw, &v); err != nil {
		return err
	}
	if _, ok := v.(map[string]any); !ok {
		return nil
	}
	stripManagedFields(v)
	raw, err := c.marshal(v)
	if err != nil {
		return err
	}
	body.Raw = raw
	return nil
}
