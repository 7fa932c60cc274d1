package gen

import (
	"math"
	"math/rand/v2"
)

// pick returns a uniformly drawn element of xs.
func pick[T any](r *rand.Rand, xs []T) T {
	return xs[r.IntN(len(xs))]
}

// chance is true with probability p.
func chance(r *rand.Rand, p float64) bool {
	return r.Float64() < p
}

// weighted is one choice of a weighted draw.
type weighted[T any] struct {
	w int
	v T
}

// pickWeighted draws one of the choices with probability proportional to its weight.
func pickWeighted[T any](r *rand.Rand, choices []weighted[T]) T {
	total := 0
	for _, c := range choices {
		total += c.w
	}
	n := r.IntN(total)
	for _, c := range choices {
		if n < c.w {
			return c.v
		}
		n -= c.w
	}
	panic("unreachable")
}

// some returns between lo and hi distinct elements of xs, in a random order.
func some[T any](r *rand.Rand, xs []T, lo, hi int) []T {
	hi = min(hi, len(xs))
	n := lo + r.IntN(hi-lo+1)
	out := make([]T, 0, n)
	for _, i := range r.Perm(len(xs))[:n] {
		out = append(out, xs[i])
	}
	return out
}

// logUniform draws an integer in [lo, hi] whose logarithm is uniform:
// small and large sizes are drawn equally often per order of magnitude.
func logUniform(r *rand.Rand, lo, hi int) int {
	l, h := math.Log(float64(lo)), math.Log(float64(hi))
	return int(math.Exp(l + r.Float64()*(h-l)))
}

const hexDigits = "0123456789abcdef"

// hexString returns n random lower-case hex digits.
func hexString(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[r.IntN(16)]
	}
	return string(b)
}

// uuid returns a random version-4 UUID, as the apiserver uses for auditIDs and uids.
func uuid(r *rand.Rand) string {
	return hexString(r, 8) + "-" + hexString(r, 4) + "-4" + hexString(r, 3) + "-" +
		string("89ab"[r.IntN(4)]) + hexString(r, 3) + "-" + hexString(r, 12)
}

// alnum returns n random lower-case letters and digits, as in generated names.
func alnum(r *rand.Rand, n int) string {
	const chars = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[r.IntN(len(chars))]
	}
	return string(b)
}
