package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/quorate/quorate/engine/wire"
)

// TestTraceHashWithoutText: the hash covers the binary records, built
// whether or not the JSON lines are, so a run gives the same hash with and
// without --out, and the end line of a written trace carries that hash.
func TestTraceHashWithoutText(t *testing.T) {
	sc := example(t, "link-flap.yaml")
	var buf bytes.Buffer
	written := runOK(t, sc, Options{Trace: &buf})
	bare := runOK(t, sc, Options{})
	if written.TraceSHA256 != bare.TraceSHA256 || written.Events != bare.Events {
		t.Fatalf("hash with the trace written %s (%d lines), without %s (%d lines)",
			written.TraceSHA256, written.Events, bare.TraceSHA256, bare.Events)
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	var end struct {
		K      string `json:"k"`
		Lines  uint64 `json:"lines"`
		SHA256 string `json:"sha256"`
	}
	if err := json.Unmarshal(lines[len(lines)-1], &end); err != nil || end.K != "end" {
		t.Fatalf("last line %s: %v", lines[len(lines)-1], err)
	}
	if end.SHA256 != bare.TraceSHA256 || end.Lines != uint64(len(lines)-1) {
		t.Fatalf("end line %+v, want sha256 %s over %d lines", end, bare.TraceSHA256, len(lines)-1)
	}
}

// TestTraceEncodingSeparates: lines that differ only in how their bytes are
// split into kind, keys, values and types, or in where a line ends, hash
// differently (the binary records are a prefix code).
func TestTraceEncodingSeparates(t *testing.T) {
	cases := map[string]func(tr *Trace){
		"str a=bc":       func(tr *Trace) { tr.Begin(1, "k").Str("a", "bc").End() },
		"str ab=c":       func(tr *Trace) { tr.Begin(1, "k").Str("ab", "c").End() },
		"kind ka":        func(tr *Trace) { tr.Begin(1, "ka").Str("", "bc").End() },
		"uint 5":         func(tr *Trace) { tr.Begin(1, "k").Uint("a", 5).End() },
		"int 5":          func(tr *Trace) { tr.Begin(1, "k").Int("a", 5).End() },
		"int -5":         func(tr *Trace) { tr.Begin(1, "k").Int("a", -5).End() },
		"bool true":      func(tr *Trace) { tr.Begin(1, "k").Bool("a", true).End() },
		"hexpair 1.2":    func(tr *Trace) { tr.Begin(1, "k").HexPair("a", 1, 2).End() },
		"hexpair 12.0":   func(tr *Trace) { tr.Begin(1, "k").HexPair("a", 0x12, 0).End() },
		"at 2":           func(tr *Trace) { tr.Begin(2, "k").Str("a", "bc").End() },
		"two lines":      func(tr *Trace) { tr.Begin(1, "k").End(); tr.Begin(1, "k").Str("a", "bc").End() },
		"fields swapped": func(tr *Trace) { tr.Begin(1, "k").Uint("x", 1).Uint("y", 2).End() },
		"fields in order": func(tr *Trace) {
			tr.Begin(1, "k").Uint("y", 2).Uint("x", 1).End()
		},
	}
	seen := map[string]string{}
	for name, f := range cases {
		tr := NewTrace(nil)
		f(tr)
		h := tr.Sum()
		if other, dup := seen[h]; dup {
			t.Errorf("%q and %q hash the same", name, other)
		}
		seen[h] = name
	}
	// Chunked hashing: the same records hash the same however many lines
	// came before the chunk boundary.
	a, b := NewTrace(nil), NewTrace(&bytes.Buffer{})
	for i := range 10000 {
		a.Begin(0, "send").Uint("id", uint64(i)).Str("node", "alpha").End()
		b.Begin(0, "send").Uint("id", uint64(i)).Str("node", "alpha").End()
		if i == 5000 && a.Sum() != b.Sum() {
			t.Fatal("hashes differ midway")
		}
	}
	if a.Sum() != b.Sum() || a.Lines() != 10000 {
		t.Fatalf("hash %s / %s over %d lines", a.Sum(), b.Sum(), a.Lines())
	}
}

// TestTraceBinaryRecord pins the binary record docs/scenarios.md
// describes, over lines that cross the chunk size and a string longer
// than a chunk.
func TestTraceBinaryRecord(t *testing.T) {
	long := strings.Repeat("scenario source ", 3000)
	var want []byte
	str := func(s string) {
		want = binary.AppendUvarint(want, uint64(len(s)))
		want = append(want, s...)
	}
	tr := NewTrace(nil)
	for i := range 3000 {
		tr.Begin(wire.Instant(i), "send").Uint("id", uint64(i)).Int("d", -int64(i)).Bool("b", i%2 == 0).
			HexPair("ring", 1, uint64(i)).Str("node", "alpha").End()
		str("send")
		want = binary.AppendVarint(want, int64(i))
		want = append(want, 2)
		str("id")
		want = binary.AppendUvarint(want, uint64(i))
		want = append(want, 1)
		str("d")
		want = binary.AppendVarint(want, -int64(i))
		want = append(want, 3)
		str("b")
		want = append(want, byte(1-i%2))
		want = append(want, 5)
		str("ring")
		want = binary.AppendUvarint(want, 1)
		want = binary.AppendUvarint(want, uint64(i))
		want = append(want, 4)
		str("node")
		str("alpha")
		want = append(want, 0)
		if i == 1500 {
			tr.Begin(0, "header").Str("source", long).End()
			str("header")
			want = binary.AppendVarint(want, 0)
			want = append(want, 4)
			str("source")
			str(long)
			want = append(want, 0)
		}
	}
	sum := sha256.Sum256(want)
	if got := tr.Sum(); got != hex.EncodeToString(sum[:]) {
		t.Fatalf("trace hash %s, want the SHA-256 of the documented records %x", got, sum)
	}
}

// TestTraceFastRecords: the compact records of sent and received packets
// and of ordered deliveries hash the bytes docs/scenarios.md describes,
// over values of every varint length, names of every length and across
// many chunks, and their JSON lines are the general calls' lines.
func TestTraceFastRecords(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 5))
	val := func() uint64 { return rng.Uint64() >> rng.UintN(64) }
	names := []string{"", "n1", "node-with-a-longer-name", strings.Repeat("x", 32), strings.Repeat("y", 33), strings.Repeat("z", 200)}
	fast := NewTrace(nil)
	var fastText, slowText bytes.Buffer
	fastW, slowW := NewTrace(&fastText), NewTrace(&slowText)
	var want []byte
	var lastAt wire.Instant
	var lastID uint64
	head := func(c byte, at wire.Instant) {
		want = append(want, 0, c)
		want = binary.AppendVarint(want, int64(at)-int64(lastAt))
		lastAt = at
	}
	for i := range 20000 {
		at := wire.Instant(int64(val()))
		switch i % 4 {
		case 0:
			id, from, to, l, n, crc := val(), val(), val(), val(), int64(val()), val()
			for _, f := range []*Trace{fast, fastW} {
				f.Send(at, id, from, to, l, n, crc)
			}
			slowW.Begin(at, "send").Uint("id", id).Uint("from", from).Uint("to", to).
				Uint("l", l).Int("len", n).Uint("crc", crc).End()
			head('s', at)
			want = binary.AppendVarint(want, int64(id-lastID))
			lastID = id
			for _, v := range []uint64{from, to, l} {
				want = binary.AppendUvarint(want, v)
			}
			want = binary.AppendVarint(want, n)
			want = binary.AppendUvarint(want, crc)
		case 1:
			id := val()
			for _, f := range []*Trace{fast, fastW} {
				f.Recv(at, id)
			}
			slowW.Begin(at, "recv").Uint("id", id).End()
			head('r', at)
			want = binary.AppendVarint(want, int64(id-lastID))
			lastID = id
		case 2:
			node := names[rng.IntN(len(names))]
			rep, seq, mseq, part, from, svc, id := val(), val(), val(), val(), val(), val(), val()
			if rng.IntN(3) == 0 {
				id = 0
			}
			if rng.IntN(2) == 0 {
				part = 0
			}
			for _, f := range []*Trace{fast, fastW} {
				f.DeliverMsg(at, node, rep, seq, mseq, part, from, svc, id)
			}
			l := slowW.Begin(at, "deliver").Str("node", node).HexPair("ring", rep, seq).Uint("seq", mseq)
			if part != 0 {
				l.Uint("part", part)
			}
			l.Uint("from", from).Uint("svc", svc)
			if id != 0 {
				l.Uint("id", id)
			}
			l.End()
			head('d', at)
			want = binary.AppendUvarint(want, uint64(len(node)))
			want = append(want, node...)
			for _, v := range []uint64{rep, seq, mseq, part, from, svc, id} {
				want = binary.AppendUvarint(want, v)
			}
		case 3:
			// A general line between them: its instant is the one the
			// next compact record counts from.
			for _, f := range []*Trace{fast, fastW, slowW} {
				f.Begin(at, "x").Uint("v", uint64(i)).End()
			}
			want = append(want, 1, 'x')
			want = binary.AppendVarint(want, int64(at))
			want = append(want, binUint, 1, 'v')
			want = binary.AppendUvarint(want, uint64(i))
			want = append(want, binEnd)
			lastAt = at
		}
	}
	sum := sha256.Sum256(want)
	if got := fast.Sum(); got != hex.EncodeToString(sum[:]) || fast.Lines() != 20000 {
		t.Fatalf("compact records hash %s over %d lines, want the SHA-256 of the documented records %x over 20000", got, fast.Lines(), sum)
	}
	if fastW.Sum() != fast.Sum() {
		t.Fatalf("with the JSON lines built the hash is %s, without %s", fastW.Sum(), fast.Sum())
	}
	fastW.Close(0)
	slowW.Close(0)
	// The end lines carry different hashes; every line before them is
	// the same.
	fl, sl := bytes.Split(fastText.Bytes(), []byte("\n")), bytes.Split(slowText.Bytes(), []byte("\n"))
	if len(fl) != len(sl) || len(fl) != 20002 {
		t.Fatalf("%d JSON lines from the compact records, %d from the general calls, want 20002", len(fl), len(sl))
	}
	for i := range 20000 {
		if !bytes.Equal(fl[i], sl[i]) {
			t.Fatalf("JSON line %d of the compact record:\n%s\ngeneral calls':\n%s", i+1, fl[i], sl[i])
		}
	}
}
