package filter

import (
	"strings"
	"testing"
)

// The cache answers as the parser does, for selectors seen again, evicted,
// too long to keep, valid and not; and a selector seen again costs no
// allocation.
func TestSelectorCache(t *testing.T) {
	selectors := []string{
		"app%3Dweb", "app=web,", "x%3Ey", "a b", "app in (a,b)", "!job-name", "-bad=1", "",
		"tier%3Dfront%2Cenv%21%3Dprod", "app in (", "k8s-app=kube-dns", "x>y",
		"app=" + strings.Repeat("v", 600), "app=" + strings.Repeat("v", 600) + ",",
	}
	var c selectorCache
	for round := range 3 {
		for _, s := range selectors {
			if got, want := c.valid([]byte(s)), validLabelSelector([]byte(s)); got != want {
				t.Fatalf("round %d, %q: cache says %v, the parser %v", round, s, got, want)
			}
		}
	}
	hit := []byte("app%3Dweb")
	c.valid(hit)
	if n := testing.AllocsPerRun(100, func() { c.valid(hit) }); n != 0 {
		t.Errorf("a cached selector: %v allocations; want 0", n)
	}
}
