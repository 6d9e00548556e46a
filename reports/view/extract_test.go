package view

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func mustTrace(t *testing.T, lines ...string) *Trace {
	t.Helper()
	src := `{"t":0,"k":"header","format":2,"scenario":"x","seed":1}` + "\n" + strings.Join(lines, "\n") + "\n"
	tr, err := ReadTrace(strings.NewReader(src), "trace.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestReadTraceErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"empty", "", "trace.jsonl: empty trace"},
		{"no header", `{"t":0,"k":"boot","node":"a"}`, "trace.jsonl:1: a trace starts with a header line"},
		{"not json", `{"t":0,"k":"header"}` + "\n" + `{"t":1,"k":"boot",`, "trace.jsonl:2: not a trace line"},
		{"no time", `{"t":0,"k":"header"}` + "\n" + `{"k":"boot"}`, "trace.jsonl:2: a trace line needs"},
		{"bad skipped kind", `{"t":0,"k":"header"}` + "\n" + `{"t":1,"k":"send","id":}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadTrace(strings.NewReader(tc.src), "trace.jsonl")
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("packet lines are skipped unread, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestReadTraceKeepsUsedKinds(t *testing.T) {
	tr := mustTrace(t,
		`{"t":1000000,"k":"boot","node":"a"}`,
		`{"t":2000000,"k":"send","id":1,"from":1}`,
		`{"t":3000000,"k":"totem","node":"a","detail":"state GATHER"}`,
		`{"t":4000000,"k":"link_up","node":"a","peer":"b","link":1}`,
		`{"t":5000000,"k":"link_up","node":"a","peer":7,"link":0}`,
		`{"t":9000000,"k":"end","lines":5,"sha256":"00"}`)
	if len(tr.Events) != 3 || tr.EndMs != 9 || !reflect.DeepEqual(tr.Nodes, []string{"a"}) {
		t.Fatalf("events %+v end %v nodes %v", tr.Events, tr.EndMs, tr.Nodes)
	}
	if e := tr.Events[1]; e.Kind != "link_up" || e.TMs != 4 || e.Peer != "b" || e.Link != 1 {
		t.Fatalf("link_up decoded as %+v", e)
	}
	if tr.Events[2].Peer != "7" {
		t.Fatalf("a numeric peer reads as its number, got %q", tr.Events[2].Peer)
	}
}

func TestNodeTimelines(t *testing.T) {
	tr := mustTrace(t,
		`{"t":0,"k":"boot","node":"a"}`,
		`{"t":0,"k":"quorum","node":"a","detail":"sync ring=1.5 quorate=no E=2 H=2 T=1 Q=2 members=1"}`,
		`{"t":0,"k":"membership","node":"a","nodes":"a","detail":"membership A new membership (1.5) was formed."}`,
		`{"t":1000000000,"k":"boot","node":"b"}`,
		`{"t":2000000000,"k":"membership","node":"a","nodes":"a,b","detail":"membership A new membership (1.9) was formed."}`,
		`{"t":2000000000,"k":"quorum","node":"a","detail":"quorate ring=1.9 quorate=yes E=2 H=2 T=2 Q=2"}`,
		`{"t":2000000000,"k":"quorum","node":"b","detail":"quorate ring=1.9 quorate=yes E=2 H=2 T=2 Q=2"}`,
		`{"t":2500000000,"k":"quorum","node":"b","detail":"votes changed"}`,
		`{"t":3000000000,"k":"down","node":"b","why":"crash"}`,
		`{"t":3000000000,"k":"quorum","node":"b","detail":"quorate=yes"}`,
		`{"t":3500000000,"k":"quorum","node":"a","detail":"sync ring=1.a quorate=no"}`,
		`{"t":5000000000,"k":"end","lines":9,"sha256":"00"}`)
	got := NodeTimelines(tr, []string{"a", "b", "c"})
	want := []NodeTimeline{
		{Node: "a", Spans: []Span{{0, 2000, StateInquorate}, {2000, 3500, StateQuorate}, {3500, 5000, StateInquorate}},
			Changes: []MemberChange{{0, "1.5", []string{"a"}}, {2000, "1.9", []string{"a", "b"}}}},
		{Node: "b", Spans: []Span{{0, 1000, StateDown}, {1000, 2000, StateInquorate}, {2000, 3000, StateQuorate}, {3000, 5000, StateDown}},
			Changes: []MemberChange{}},
		{Node: "c", Spans: []Span{{0, 5000, StateDown}}, Changes: []MemberChange{}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
}

func TestLinkTimelines(t *testing.T) {
	tr := mustTrace(t,
		`{"t":0,"k":"boot","node":"a"}`,
		`{"t":0,"k":"boot","node":"b"}`,
		`{"t":1000000000,"k":"link_up","node":"b","peer":"a","link":0}`,
		`{"t":1000000000,"k":"link_up","node":"a","peer":"b","link":0}`,
		`{"t":1000000000,"k":"active_link","node":"a","peer":"b","active":0}`,
		`{"t":1100000000,"k":"link_up","node":"a","peer":"b","link":1}`,
		`{"t":4000000000,"k":"link_down","node":"a","peer":"b","link":0}`,
		`{"t":4000000000,"k":"active_link","node":"a","peer":"b","active":1}`,
		`{"t":6000000000,"k":"link_down","node":"a","peer":"b","link":1}`,
		`{"t":6000000000,"k":"active_link","node":"a","peer":"b","active":-1}`,
		`{"t":7000000000,"k":"down","node":"b"}`,
		`{"t":10000000000,"k":"end","lines":9,"sha256":"00"}`)
	got := LinkTimelines(tr, []string{"a", "b"})
	want := []LinkTimeline{
		{Node: "a", Peer: "b", Link: 0, Downs: 1,
			Spans:  []Span{{0, 1000, StateNotYet}, {1000, 4000, StateUp}, {4000, 10000, StateDown}},
			Active: []Span{{1000, 4000, "active"}}},
		{Node: "a", Peer: "b", Link: 1, Downs: 1,
			Spans:  []Span{{0, 1100, StateNotYet}, {1100, 6000, StateUp}, {6000, 10000, StateDown}},
			Active: []Span{{4000, 6000, "active"}}},
		{Node: "b", Peer: "a", Link: 0,
			Spans:  []Span{{0, 1000, StateNotYet}, {1000, 7000, StateUp}, {7000, 10000, StateNotYet}},
			Active: []Span{}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if got[0].Name() != "a→b link 0" {
		t.Fatalf("lane name %q", got[0].Name())
	}
}

func TestOperationsAndCDF(t *testing.T) {
	tr := mustTrace(t,
		`{"t":1000000,"k":"kv","node":"a","op":"write","key":"k0","value":"a-1","op_id":1}`,
		`{"t":1000000,"k":"kv","node":"b","op":"write","key":"k0","value":"b-1","op_id":1}`,
		`{"t":2000000,"k":"kv","node":"a","op":"read_local","key":"k0","out":""}`,
		`{"t":3000000,"k":"kv_done","node":"b","op_id":1,"ok":true,"err":""}`,
		`{"t":5000000,"k":"kv_done","node":"a","op_id":1,"ok":true,"err":""}`,
		`{"t":6000000,"k":"kv","node":"c","op":"write","key":"k1","value":"c-1","refused":"store: not quorate: read-only"}`,
		`{"t":7000000,"k":"kv","node":"a","op":"cas","key":"k1","value":"a-2","op_id":2}`,
		`{"t":8000000,"k":"kv","node":"b","op":"read","key":"k1","op_id":2}`,
		`{"t":9000000,"k":"kv_timeout","node":"a","op_id":2}`,
		`{"t":9000000,"k":"kv_done","node":"a","op_id":2,"ok":true}`,
		`{"t":9500000,"k":"kv","node":"b","op":"write","key":"k1","op_id":3}`,
		`{"t":10000000,"k":"kv_done","node":"b","op_id":2,"ok":false,"err":"ring changed"}`)
	ops, c := Operations(tr)
	if c != (OpCounts{Completed: 4, Refused: 1, TimedOut: 1, Open: 1}) {
		t.Fatalf("counts %+v", c)
	}
	var lat []float64
	for _, o := range ops {
		lat = append(lat, o.LatencyMs())
	}
	if !reflect.DeepEqual(lat, []float64{4, 2, 0, 2}) {
		t.Fatalf("latencies %v (ops %+v)", lat, ops)
	}
	if ops[3].OK || ops[3].Kind != "read" {
		t.Fatalf("a failed read keeps its latency and its verdict: %+v", ops[3])
	}
	if got, want := CDF(lat), []CDFPoint{{0, 0.25}, {2, 0.75}, {4, 1}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("CDF %v, want %v", got, want)
	}
	if got := CDF(nil); len(got) != 0 {
		t.Fatalf("CDF of nothing: %v", got)
	}
	l := LatencyOf(ops, c)
	var kinds []string
	for _, s := range l.Series {
		kinds = append(kinds, s.Kind)
	}
	if !reflect.DeepEqual(kinds, []string{"all", "read", "read_local", "write"}) {
		t.Fatalf("series %v", kinds)
	}
	if all := l.Series[0]; all.N != 4 || all.P50Ms != 2 || all.MaxMs != 4 || all.P99Ms != 4 {
		t.Fatalf("all: %+v", all)
	}
	if one := LatencyOf(ops[:2], c); len(one.Series) != 1 {
		t.Fatalf("a single kind gets only the \"all\" series: %+v", one.Series)
	}
}

func sweepFixture() *SweepInput {
	nan := math.NaN()
	in := &SweepInput{Scenario: "s", File: "s.yaml", Seeds: "1-2",
		Axes: []Axis{{Key: "nodes", Values: []string{"3", "5"}}, {Key: "latency", Values: []string{"1ms", "9ms"}}}}
	for i, p := range [][2]string{{"3", "1ms"}, {"3", "9ms"}, {"5", "1ms"}, {"5", "9ms"}} {
		in.Points = append(in.Points, PointInput{Name: "p" + string(rune('1'+i)), Settings: map[string]string{"nodes": p[0], "latency": p[1]}})
	}
	run := func(point string, seed uint64, ok bool, changes, simS float64) RunFigures {
		r := RunFigures{Point: point, Seed: seed, OK: ok, MembershipChanges: changes, SimulatedS: simS, SettleMs: nan, Ops: nan, OpsOK: nan}
		if !ok {
			r.Failure, r.Reproduce = "expectation failed", "quorate run points/"+point+".yaml --seed "+string(rune('0'+seed))
		}
		return r
	}
	in.Runs = []RunFigures{
		run("p1", 1, true, 1, 60), run("p1", 2, true, 3, 60),
		run("p2", 1, false, 2, 60), run("p2", 2, true, 2, 60),
		run("p3", 1, true, 4, 120), run("p3", 2, true, 6, nan), // an old record without simulated_s
		// p4: no runs (a shard that held none of its seeds)
	}
	in.Runs[4].SettleMs, in.Runs[5].SettleMs = 100, 300
	return in
}

func TestHeatmapGrid(t *testing.T) {
	in := sweepFixture()
	m, _ := MetricByName("membership_changes_per_hour")
	h := HeatmapOf(in, m)
	type cell struct {
		x, y  string
		value float64 // -1: none
		n     int
	}
	var got []cell
	for _, c := range h.Cells {
		v := -1.0
		if c.Value != nil {
			v = *c.Value
		}
		got = append(got, cell{c.X, c.Y, v, c.N})
	}
	// Median of {60, 180} is the lower middle value (a measured one).
	want := []cell{{"3", "1ms", 60, 2}, {"5", "1ms", 120, 1}, {"3", "9ms", 120, 1}, {"5", "9ms", -1, 0}} // p2: its failed run is left out
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %v\nwant %v", got, want)
	}
	if h.At(1, 0).Point != "p3" || h.At(0, 1).Point != "p2" {
		t.Fatalf("At: x index first: %+v %+v", h.At(1, 0), h.At(0, 1))
	}
	fr, _ := MetricByName("fail_rate")
	if v := HeatmapOf(in, fr).At(0, 1).Value; v == nil || *v != 0.5 || HeatmapOf(in, fr).Aggregate != "mean" {
		t.Fatalf("fail_rate of p2 is the mean of 1 and 0: %v", v)
	}
	st, _ := MetricByName("settle_ms")
	if v := HeatmapOf(in, st).At(1, 0).Value; v == nil || *v != 100 {
		t.Fatalf("settle_ms median of {100, 300}: %v", v)
	}
	in.Axes = in.Axes[:1]
	if HeatmapOf(in, m) != nil {
		t.Fatal("a one-key sweep has no heat map")
	}
	if _, err := MetricByName("nope"); err == nil || !strings.Contains(err.Error(), "membership_changes_per_hour") {
		t.Fatalf("unknown metric: %v", err)
	}
}

func TestPassFail(t *testing.T) {
	rows, failed := PassFail(sweepFixture())
	want := []PointRow{
		{"p1", []string{"3", "1ms"}, 2, 2, 0}, {"p2", []string{"3", "9ms"}, 2, 1, 1},
		{"p3", []string{"5", "1ms"}, 2, 2, 0}, {"p4", []string{"5", "9ms"}, 0, 0, 0},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Fatalf("rows %+v", rows)
	}
	if len(failed) != 1 || failed[0].Point != "p2" || failed[0].Seed != 1 || failed[0].Reproduce == "" {
		t.Fatalf("failed %+v", failed)
	}
}

func TestThin(t *testing.T) {
	var xs []float64
	for i := range 10000 {
		xs = append(xs, float64(i%2500)) // 2500 distinct values
	}
	full := CDF(xs)
	thin := Thin(full, 100)
	if len(thin) > 100 || len(thin) < 90 {
		t.Fatalf("kept %d points, want about 100", len(thin))
	}
	if thin[0] != full[0] || thin[len(thin)-1] != full[len(full)-1] {
		t.Fatalf("the ends are kept: %v .. %v", thin[0], thin[len(thin)-1])
	}
	orig := map[CDFPoint]bool{}
	for _, p := range full {
		orig[p] = true
	}
	for i, p := range thin {
		if !orig[p] {
			t.Fatalf("point %v is not a point of the CDF", p)
		}
		if i > 0 && (p.P-thin[i-1].P > 0.0101+1.0/2500 || p.P <= thin[i-1].P) {
			t.Fatalf("gap %v -> %v", thin[i-1], p)
		}
	}
	if short := Thin(full[:50], 100); len(short) != 50 {
		t.Fatalf("a short CDF is kept whole: %d", len(short))
	}
}
