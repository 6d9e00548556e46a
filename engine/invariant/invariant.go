// Package invariant is the engine's one assertion (TigerBeetle's style,
// docs/TIGER_STYLE.md there): a broken internal invariant panics with a
// typed Violation instead of carrying on with corrupt state. Odd input
// from the network or a caller is never a violation -- it is dropped and
// counted, or refused with an error; a Violation says the engine itself is
// wrong.
//
// Assertions stay on in production. The simulator recovers the panic,
// fails the run with the Violation (its layer, what must hold and the
// values that broke it), and prints the seed and the command that
// reproduces it, like any failed check; the real driver lets the process
// die, as corosync does on a failed assert.
package invariant

// Violation is the value a failed assertion panics with.
type Violation struct {
	// Layer is the package whose invariant broke: engine, totem, quorum
	// or store.
	Layer string
	// What is the invariant, in words: what must hold.
	What string
	// Detail holds the values that broke it ("" when What says all).
	Detail string
}

// Error prints "LAYER: invariant violated: WHAT (DETAIL)".
func (v *Violation) Error() string {
	s := v.Layer + ": invariant violated: " + v.What
	if v.Detail != "" {
		s += " (" + v.Detail + ")"
	}
	return s
}

// String is Error, for panics printed with %v.
func (v *Violation) String() string { return v.Error() }

// Assert panics with a Violation of layer when cond is false. what says
// what must hold; it should be a constant, so that a passing assertion
// costs one branch.
func Assert(cond bool, layer, what string) {
	if !cond {
		panic(&Violation{Layer: layer, What: what})
	}
}

// Fail panics with a Violation carrying the values that broke it; callers
// test the condition themselves (if !ok { invariant.Fail(...) }) so that
// the detail is built only on failure.
func Fail(layer, what, detail string) {
	panic(&Violation{Layer: layer, What: what, Detail: detail})
}
