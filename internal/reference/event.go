package reference

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"k8s.io/apiserver/pkg/authentication/user"
)

// loggedEvent is what the reference reads from an event line: the fields
// that decide the policy outcome. Everything else is carried through untouched.
type loggedEvent struct {
	Level      string
	Stage      string
	Verb       string
	RequestURI string
	// User is the authenticated user as logged, nil for "user":{} (see userFrom).
	User user.Info
}

// parseEvent decodes the fields of an audit event line that the policy
// depends on. Both audit.k8s.io/v1 and the legacy v1beta1 shape are accepted:
// they agree on every field read here.
//
// The line is first split into a map keyed by the exact JSON keys. Decoding
// straight into a struct would be shorter, but encoding/json matches struct
// fields case-insensitively, so {"Verb":"x"} would be read as the verb; the
// apiserver never writes such keys, and a ground truth should not invent a
// meaning for them.
func parseEvent(line []byte) (*loggedEvent, error) {
	top, err := objectFields(line)
	if err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	var ev loggedEvent
	for _, f := range []struct {
		key      string
		dst      *string
		required bool
	}{
		{"level", &ev.Level, false},
		{"stage", &ev.Stage, false},
		{"verb", &ev.Verb, true},
		{"requestURI", &ev.RequestURI, true},
	} {
		raw, ok := top[f.key]
		if !ok {
			if f.required {
				return nil, fmt.Errorf("event: no %q", f.key)
			}
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			return nil, fmt.Errorf("event: %q: %w", f.key, err)
		}
	}
	if ev.User, err = userFrom(top["user"]); err != nil {
		return nil, fmt.Errorf("event: user: %w", err)
	}
	return &ev, nil
}

// userFrom rebuilds the authenticated user the policy saw from the logged
// "user" object. The apiserver writes "user":{} when there was no user at all
// (failed authentication), and the policy then saw a nil user, which rules with
// users or userGroups never match. Since every UserInfo field is omitempty,
// "empty" means no username, uid, groups or extra; a missing or null "user"
// is treated the same way.
func userFrom(raw json.RawMessage) (user.Info, error) {
	if len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	fields, err := objectFields(raw)
	if err != nil {
		return nil, err
	}
	var u user.DefaultInfo
	for key, dst := range map[string]any{
		"username": &u.Name,
		"uid":      &u.UID,
		"groups":   &u.Groups,
		"extra":    &u.Extra,
	} {
		if raw, ok := fields[key]; ok {
			if err := json.Unmarshal(raw, dst); err != nil {
				return nil, fmt.Errorf("%q: %w", key, err)
			}
		}
	}
	if u.Name == "" && u.UID == "" && len(u.Groups) == 0 && len(u.Extra) == 0 {
		return nil, nil
	}
	return &u, nil
}

// objectFields splits a JSON object into its members, keyed exactly. For a
// duplicated key the last value wins, as in encoding/json.
func objectFields(data []byte) (map[string]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errors.New("not a JSON object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &m); err != nil {
		return nil, err
	}
	return m, nil
}
