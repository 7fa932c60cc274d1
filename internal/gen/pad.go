package gen

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Bodies are padded to reach a target event size the way real objects get
// big: lists get more items, tables more rows, single objects more data
// entries (ConfigMaps, Secrets) or annotations.

var words = strings.Fields(`the quick brown fox jumps over a lazy dog while kube apiserver audits every
request of every user in each namespace and ships each event to kafka through fluent bit`)

// text returns about n bytes of words.
func (g objects) text(n int) string {
	var b strings.Builder
	for b.Len() < n {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(pick(g.r, words))
	}
	return b.String()
}

// growObject adds about n bytes to ob, in entries of at most 2 KB.
func (g objects) growObject(ob *obj, n int) {
	target := ob.child("metadata").childBefore("annotations", "ownerReferences", "finalizers", "managedFields")
	key := "example.com/note-%d"
	if _, ok := ob.get("data"); ok {
		target, key = ob.child("data"), "padding-%d.txt"
	}
	for i := len(target.members); n > 0; i++ {
		size := min(n, 2048)
		k := fmt.Sprintf(key, i)
		target.set(k, g.text(max(size-len(k)-6, 1)))
		n -= size
	}
}

// growArray calls add (which appends one element to ar) until the array
// has grown by about n bytes.
func growArray(ar *arr, n int, add func()) {
	for n > 0 {
		before := len(ar.elems)
		add()
		b, err := json.Marshal(ar.elems[before])
		if err != nil {
			panic(err)
		}
		n -= len(b) + 1
	}
}
