package gen

import (
	"bytes"
	"encoding/json"
)

// obj is a JSON object that keeps its keys in insertion order: API objects
// are serialised in Go struct order (kind, apiVersion, metadata, spec,
// status), and a realistic event keeps that order. It is a pointer type so
// that nested objects can still be grown after they were built (see pad.go).
type obj struct {
	members []member
}

type member struct {
	key string
	val any
}

// o builds an object from alternating keys and values.
func o(kv ...any) *obj {
	return (&obj{}).add(kv...)
}

// add sets each of the alternating keys and values in turn.
func (ob *obj) add(kv ...any) *obj {
	for i := 0; i+1 < len(kv); i += 2 {
		ob.set(kv[i].(string), kv[i+1])
	}
	return ob
}

// set replaces the value of key, or appends key at the end.
func (ob *obj) set(key string, val any) *obj {
	for i := range ob.members {
		if ob.members[i].key == key {
			ob.members[i].val = val
			return ob
		}
	}
	ob.members = append(ob.members, member{key, val})
	return ob
}

// get returns the value of key.
func (ob *obj) get(key string) (any, bool) {
	for _, m := range ob.members {
		if m.key == key {
			return m.val, true
		}
	}
	return nil, false
}

// child returns the object under key, creating it (at the end) if absent.
func (ob *obj) child(key string) *obj {
	if v, ok := ob.get(key); ok {
		if c, ok := v.(*obj); ok {
			return c
		}
	}
	c := &obj{}
	ob.set(key, c)
	return c
}

// childBefore is child, but a new object is inserted before the first of
// the keys in later that is present, to keep the struct order.
func (ob *obj) childBefore(key string, later ...string) *obj {
	if v, ok := ob.get(key); ok {
		if c, ok := v.(*obj); ok {
			return c
		}
	}
	c := &obj{}
	for i, m := range ob.members {
		for _, l := range later {
			if m.key == l {
				ob.members = append(ob.members[:i], append([]member{{key, c}}, ob.members[i:]...)...)
				return c
			}
		}
	}
	ob.set(key, c)
	return c
}

// MarshalJSON writes the members in order. encoding/json compacts and
// HTML-escapes the result like any other value.
func (ob *obj) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, m := range ob.members {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		v, err := json.Marshal(m.val)
		if err != nil {
			return nil, err
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// arr is a JSON array that can grow after it was placed in an object.
type arr struct {
	elems []any
}

func a(elems ...any) *arr { return &arr{elems: elems} }

func (ar *arr) MarshalJSON() ([]byte, error) {
	if ar.elems == nil {
		return []byte("[]"), nil
	}
	return json.Marshal(ar.elems)
}
