package invariant

import (
	"errors"
	"testing"
)

func TestAssert(t *testing.T) {
	Assert(true, "totem", "never fires")
	defer func() {
		p := recover()
		v, ok := p.(*Violation)
		if !ok {
			t.Fatalf("panicked with %T %v, want a *Violation", p, p)
		}
		if got, want := v.Error(), "quorum: invariant violated: quorum is at least 1 (quorum 0)"; got != want {
			t.Fatalf("Error() = %q, want %q", got, want)
		}
		var err error = v
		var target *Violation
		if !errors.As(err, &target) || target.Layer != "quorum" {
			t.Fatal("a Violation is not found as an error")
		}
	}()
	defer func() {
		p := recover()
		if v, ok := p.(*Violation); !ok || v.Error() != "totem: invariant violated: fires" {
			t.Fatalf("Assert(false) panicked with %v", p)
		}
		Fail("quorum", "quorum is at least 1", "quorum 0")
	}()
	Assert(false, "totem", "fires")
}
