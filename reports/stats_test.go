package reports

import "testing"

func TestQuantile(t *testing.T) {
	seq := make([]float64, 100)
	for i := range seq {
		seq[i] = float64(100 - i) // 100 .. 1, unsorted
	}
	for _, tc := range []struct {
		name     string
		xs       []float64
		n        int
		p50, p99 float64
	}{
		{"one", []float64{7}, 1, 7, 7},
		{"odd", []float64{3, 1, 2}, 3, 2, 3},
		{"hundred", seq, 100, 50, 99},
	} {
		q := Quantile(tc.xs)
		if q == nil || q.N != tc.n || q.P50 != tc.p50 || q.P99 != tc.p99 {
			t.Errorf("%s: got %+v, want n=%d p50=%g p99=%g", tc.name, q, tc.n, tc.p50, tc.p99)
		}
	}
	if q := Quantile(nil); q != nil {
		t.Errorf("empty sample: %+v, want nil", q)
	}
}
