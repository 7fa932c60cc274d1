package filter

import "bytes"

// selectorCache remembers whether the last few label selectors it was
// asked about parse. A list that names its object through a field selector
// and also selects labels is decided only once its label selector is known
// to parse as ListOptions decoding parses it, with apimachinery's parser,
// which allocates and runs regular expressions: about 5 µs a selector.
// Controllers and kubelets repeat the same few selectors, so a processor
// keeps the verdicts of the last ones. It belongs to one Processor, used by
// one goroutine.
type selectorCache struct {
	entries [selectorCacheSize]selectorEntry
	next    int // the entry to replace next
}

type selectorEntry struct {
	raw   []byte // the raw (still percent-encoded) query value
	valid bool
	used  bool
}

const (
	selectorCacheSize = 8
	// maxCachedSelector bounds what an entry keeps; a longer selector is
	// parsed every time.
	maxCachedSelector = 512
)

// valid reports whether the raw query value raw parses as a label selector
// (validLabelSelector), from the cache when raw was seen recently.
func (c *selectorCache) valid(raw []byte) bool {
	for i := range c.entries {
		if e := &c.entries[i]; e.used && bytes.Equal(e.raw, raw) {
			return e.valid
		}
	}
	v := validLabelSelector(raw)
	if len(raw) <= maxCachedSelector {
		e := &c.entries[c.next]
		e.raw = append(e.raw[:0], raw...)
		e.valid, e.used = v, true
		c.next = (c.next + 1) % len(c.entries)
	}
	return v
}
