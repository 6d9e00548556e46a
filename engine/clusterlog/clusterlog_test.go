package clusterlog

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestEncodeDecode(t *testing.T) {
	for _, e := range []Entry{
		{UID: 1, Time: 1700000000, Pri: 6, Tag: "cluster", PID: 0, Node: "alpha", User: "root@pam", Msg: "starting task"},
		{UID: 1 << 31, Time: -1, Pri: 0, Tag: "", Node: "", User: "", Msg: "x"},
		{UID: 7, Time: 5, Pri: 7, Tag: strings.Repeat("t", MaxField), Node: "ü", User: "漢字", Msg: "quote \" and \\ and \n and 😀"},
	} {
		got, err := Decode(e.Encode())
		if err != nil || got != e {
			t.Errorf("Decode(Encode(%+v)) = %+v, %v", e, got, err)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	good := Entry{UID: 1, Time: 2, Pri: 3, Tag: "t", Node: "n", User: "u", Msg: "m"}.Encode()
	for _, tt := range []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"version", append([]byte{9}, good[1:]...), ErrVersion},
		{"truncated", good[:len(good)-1], ErrShort},
		{"trailing", append(append([]byte{}, good...), 'x'), ErrShort},
		{"fixed part only", good[:fixedLen-1], ErrShort},
		{"priority", func() []byte { b := append([]byte{}, good...); b[13] = 8; return b }(), ErrPriority},
		{"not utf-8", Entry{Pri: 1, Msg: "\xff"}.Encode(), ErrEncoding},
		{"empty message", Entry{Pri: 1, Msg: "  "}.Encode(), ErrEmpty},
		{"too large", Entry{Pri: 1, Msg: strings.Repeat("m", MaxEntry)}.Encode(), ErrTooLarge},
	} {
		if _, err := Decode(tt.b); !errors.Is(err, tt.want) {
			t.Errorf("%s: err %v, want %v", tt.name, err, tt.want)
		}
	}
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add(Entry{UID: 1, Time: 2, Pri: 3, Tag: "t", Node: "n", User: "u", Msg: "m"}.Encode())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			return
		}
		if again, err := Decode(e.Encode()); err != nil || again != e {
			t.Fatalf("round trip: %+v -> %+v, %v", e, again, err)
		}
	})
}

// TestLogBound: the log keeps the newest entries within MaxBytes, and
// Newest returns them newest first.
func TestLogBound(t *testing.T) {
	l := Log{MaxBytes: 10 * (fixedLen + 2)}
	for i := range 25 {
		l.Append(Entry{UID: uint32(i + 1), Node: "n", Msg: "m"})
	}
	if l.Len() != 10 || l.Dropped() != 15 {
		t.Fatalf("kept %d, dropped %d; want 10 and 15", l.Len(), l.Dropped())
	}
	got := l.Newest(3)
	if len(got) != 3 || got[0].UID != 25 || got[1].UID != 24 || got[2].UID != 23 {
		t.Fatalf("Newest(3) = %+v", got)
	}
	if all := l.Newest(0); len(all) != 10 || all[9].UID != 16 {
		t.Fatalf("Newest(0) = %+v", all)
	}
	// One entry larger than the bound is still kept alone.
	l.Append(Entry{UID: 99, Node: "n", Msg: strings.Repeat("m", 400)})
	if l.Len() != 1 || l.Newest(1)[0].UID != 99 {
		t.Fatalf("after a large entry: %d entries", l.Len())
	}
	var d Log
	for i := range 5000 {
		d.Append(Entry{UID: uint32(i), Node: "alpha", Tag: "cluster", Msg: strings.Repeat("x", 100)})
	}
	if bytes := d.Len() * (fixedLen + 5 + 7 + 100); bytes > DefaultBytes || bytes < DefaultBytes-200 {
		t.Fatalf("the default bound keeps %d entries, %d bytes", d.Len(), bytes)
	}
}

// TestJSON: pmxcfs's layout, parseable, newest first, strings escaped.
func TestJSON(t *testing.T) {
	if got, want := string(JSON(nil)), "{\n\"data\": [\n]\n}\n"; got != want {
		t.Errorf("empty: %q, want %q", got, want)
	}
	es := []Entry{
		{UID: 2, Time: 1700000001, Pri: 5, Tag: "quorum", Node: "bravo", User: "root@pam", Msg: "say \"hi\"\tnow é 😀"},
		{UID: 1, Time: 1700000000, Pri: 6, Tag: "cluster", PID: 42, Node: "alpha", User: "", Msg: "first"},
	}
	out := string(JSON(es))
	want := "{\n\"data\": [\n" +
		`{"uid": 2, "time": 1700000001, "pri": 5, "tag": "quorum", "pid": 0, "node": "bravo", "user": "root@pam", "msg": "say \"hi\"\u0009now \u00e9 \ud83d\ude00"},` + "\n" +
		`{"uid": 1, "time": 1700000000, "pri": 6, "tag": "cluster", "pid": 42, "node": "alpha", "user": "", "msg": "first"}` + "\n]\n}\n"
	if out != want {
		t.Errorf("JSON:\n%s\nwant\n%s", out, want)
	}
	var parsed struct{ Data []Entry }
	if err := json.Unmarshal([]byte(out), &parsed); err != nil || !reflect.DeepEqual(parsed.Data, es) {
		t.Fatalf("parse: %v\n%+v", err, parsed.Data)
	}
}
