package filter

import "unsafe"

// ReleaseScratch drops each scratch buffer of the processor whose capacity
// is over limit bytes, and returns the bytes its buffers still hold. A
// processor keeps the buffers the largest event it read needed (about six
// times its requestURI for the decoded path and selectors), so one huge
// event would otherwise pin them for as long as the processor is reused;
// callers that pool processors release them between uses. It must not be
// called while views the processor returned (Fields, a Result's strings)
// are still in use: they may point into the dropped buffers.
// ReleaseScratch(math.MaxInt) only measures.
func (pr *Processor) ReleaseScratch(limit int) (retained int) {
	size := func(n, elem uintptr) int { return int(n * elem) }
	if cap(pr.scratch) > limit {
		// Fields and groups are views of scratch: drop them too, or they
		// would keep it alive.
		pr.scratch, pr.groups, pr.fields = nil, nil, Fields{}
	}
	if size(uintptr(cap(pr.groups)), unsafe.Sizeof([]byte(nil))) > limit {
		pr.groups, pr.fields = nil, Fields{}
	}
	if size(uintptr(cap(pr.scan.groups)), unsafe.Sizeof(strSpan{})) > limit {
		pr.scan.groups = nil
	}
	if size(uintptr(cap(pr.scan.members)), unsafe.Sizeof(objMember{})) > limit {
		pr.scan.members = nil
	}
	if size(uintptr(cap(pr.edits.edits)), unsafe.Sizeof(edit{})) > limit {
		pr.edits.edits = nil
	}
	if size(uintptr(cap(pr.edits.members)), unsafe.Sizeof(objMember{})) > limit {
		pr.edits.members = nil
	}
	return cap(pr.scratch) +
		size(uintptr(cap(pr.groups)), unsafe.Sizeof([]byte(nil))) +
		size(uintptr(cap(pr.scan.groups)), unsafe.Sizeof(strSpan{})) +
		size(uintptr(cap(pr.scan.members)), unsafe.Sizeof(objMember{})) +
		size(uintptr(cap(pr.edits.edits)), unsafe.Sizeof(edit{})) +
		size(uintptr(cap(pr.edits.members)), unsafe.Sizeof(objMember{}))
}
