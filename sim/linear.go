package sim

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// The linearizability check runs porcupine over the kv history, one
// partition per key (each key's state is its value alone; writes carry
// unique values, so a version the store compares maps to one value). An
// unknown outcome is the maintainer's recipe: the operation may have taken
// effect at any point after its invocation, so it returns "at infinity"
// and the model accepts any output for it while allowing both its effect
// and its absence.

type kvIn struct {
	kind   kvKind
	key    string
	value  string
	expect string // "?" when the client did not know the value it compared against
}

type kvOut struct {
	unknown bool
	ok      bool
	value   string
}

// kvModel is a nondeterministic register per key: the state is a value
// ("" = absent).
func kvModel() porcupine.Model {
	nm := porcupine.NondeterministicModel{
		Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
			by := map[string][]porcupine.Operation{}
			for _, op := range h {
				k := op.Input.(kvIn).key
				by[k] = append(by[k], op)
			}
			out := make([][]porcupine.Operation, 0, len(by))
			for _, k := range slices.Sorted(maps.Keys(by)) {
				out = append(out, by[k])
			}
			return out
		},
		Init: func() []any { return []any{""} },
		Step: func(state, input, output any) []any {
			s, in, out := state.(string), input.(kvIn), output.(kvOut)
			switch in.kind {
			case kvRead:
				if out.unknown || out.value == s {
					return []any{s}
				}
				return nil
			case kvWrite:
				if out.unknown {
					return []any{s, in.value}
				}
				return []any{in.value}
			default: // cas
				matches := in.expect == "?" || in.expect == s
				switch {
				case out.unknown:
					if matches {
						return []any{s, in.value}
					}
					return []any{s}
				case out.ok && matches:
					return []any{in.value}
				case !out.ok && (in.expect == "?" || in.expect != s):
					return []any{s}
				}
				return nil
			}
		},
		Equal: func(a, b any) bool { return a.(string) == b.(string) },
		DescribeOperation: func(input, output any) string {
			in, out := input.(kvIn), output.(kvOut)
			res := "?"
			if !out.unknown {
				res = fmt.Sprint(out.ok)
			}
			switch in.kind {
			case kvRead:
				if out.unknown {
					return fmt.Sprintf("read %s -> ?", in.key)
				}
				return fmt.Sprintf("read %s -> %q", in.key, out.value)
			case kvWrite:
				return fmt.Sprintf("write %s = %q -> %s", in.key, in.value, res)
			}
			return fmt.Sprintf("cas %s %q => %q -> %s", in.key, in.expect, in.value, res)
		},
		DescribeState: func(state any) string { return fmt.Sprintf("%q", state.(string)) },
	}
	return nm.ToModel()
}

// history converts the recorded operations.
func (r *run) history() []porcupine.Operation {
	var h []porcupine.Operation
	for _, op := range r.kv.ops {
		if op.kind == 0 || !op.done {
			if op.kind != 0 && !op.done {
				// Still open at the end of the run: unknown.
				op.unknown = true
			} else {
				continue
			}
		}
		ret := int64(op.ret)
		if op.unknown {
			ret = math.MaxInt64
		}
		h = append(h, porcupine.Operation{
			ClientId: op.pid,
			Input:    kvIn{kind: op.kind, key: op.key, value: op.value, expect: op.expect},
			Call:     int64(op.call),
			Output:   kvOut{unknown: op.unknown, ok: op.ok, value: op.out},
			Return:   ret,
		})
	}
	return h
}

// checkLinearizable runs porcupine; on failure it names the shortest
// failing key's operations and, when path is set, writes porcupine's
// visualisation there.
func (r *run) checkLinearizable(path string) checkResult {
	h := r.history()
	model := kvModel()
	if porcupine.CheckOperations(model, h) {
		return pass()
	}
	// Find the failing keys and report the shortest one's history.
	var worst []porcupine.Operation
	for _, part := range model.Partition(h) {
		if !porcupine.CheckOperations(model, part) && (worst == nil || len(part) < len(worst)) {
			worst = part
		}
	}
	if path != "" {
		res, info := porcupine.CheckOperationsVerbose(model, worst, 30*time.Second)
		if res != porcupine.Ok {
			_ = porcupine.VisualizePath(model, info, path)
		}
	}
	slices.SortFunc(worst, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
	key := worst[0].Input.(kvIn).key
	describe := func(op porcupine.Operation) string {
		ret := "unknown"
		if op.Return != math.MaxInt64 {
			ret = time.Duration(op.Return).String()
		}
		return fmt.Sprintf("  client %d [%v .. %s] %s", op.ClientId, time.Duration(op.Call), ret, model.DescribeOperation(op.Input, op.Output))
	}
	if w1, w2, rd, ok := staleRead(worst); ok {
		return fail("linearizability: stale read of key %s: the read returned a value that an acknowledged write had already replaced before the read began:\n%s\n%s\n%s\n(%d operations on the key; history.html shows them all)",
			key, describe(w1), describe(w2), describe(rd), len(worst))
	}
	var lines []string
	for i, op := range worst {
		if i == 20 {
			lines = append(lines, fmt.Sprintf("  … %d more", len(worst)-20))
			break
		}
		lines = append(lines, describe(op))
	}
	return fail("linearizability: key %s has no linear order (%d operations):\n%s", key, len(worst), strings.Join(lines, "\n"))
}

// staleRead looks for the plainest counterexample: a completed read that
// returns the value of a write w1 although another write w2 was invoked
// after w1 completed and was acknowledged before the read was invoked.
func staleRead(ops []porcupine.Operation) (w1, w2, rd porcupine.Operation, ok bool) {
	var writes []porcupine.Operation
	for _, op := range ops {
		in, out := op.Input.(kvIn), op.Output.(kvOut)
		if in.kind != kvRead && (out.ok || out.unknown) {
			writes = append(writes, op)
		}
	}
	for _, r := range ops {
		in, out := r.Input.(kvIn), r.Output.(kvOut)
		if in.kind != kvRead || out.unknown {
			continue
		}
		for _, a := range writes {
			if a.Input.(kvIn).value != out.value || a.Return == math.MaxInt64 {
				continue
			}
			for _, b := range writes {
				if b.Output.(kvOut).ok && !b.Output.(kvOut).unknown && b.Call > a.Return && b.Return < r.Call {
					return a, b, r, true
				}
			}
		}
	}
	return w1, w2, rd, false
}

// ackedWritesLost counts keys whose final value is none of the values an
// acknowledged write could have left: the last acknowledged write, or any
// write that may be ordered after it (one that had not completed when the
// last acknowledged write began, acknowledged or unknown).
func (r *run) ackedWritesLost(final map[string]string) int64 {
	type w struct {
		call, ret int64
		value     string
		acked     bool
	}
	byKey := map[string][]w{}
	for _, op := range r.kv.ops {
		open := !op.done // still open when the run ended: unknown
		if (op.kind == kvWrite || op.kind == kvCAS) && (open || op.ok || op.unknown) {
			ret := int64(op.ret)
			if op.unknown || open {
				ret = math.MaxInt64
			}
			byKey[op.key] = append(byKey[op.key], w{int64(op.call), ret, op.value, op.done && op.ok && !op.unknown})
		}
	}
	var lost int64
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		ws := byKey[k]
		var last *w
		for i := range ws {
			if ws[i].acked && (last == nil || ws[i].ret > last.ret) {
				last = &ws[i]
			}
		}
		if last == nil {
			continue
		}
		ok := final[k] == last.value
		for _, x := range ws {
			if x.ret > last.call && final[k] == x.value {
				ok = true
			}
		}
		if !ok {
			lost++
		}
	}
	return lost
}
