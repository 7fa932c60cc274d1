package filter

// CompileInternal exposes compile to the external tests, which feed it the
// apiserver's internal policy types directly.
var CompileInternal = compile
