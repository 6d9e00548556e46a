package reports

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestWriteRingsLong: a timeline of more rings than the head and tail
// prints the first ringsHead and the last ringsTail, and one row that
// counts the rest and spans their times; a short one prints every ring.
func TestWriteRingsLong(t *testing.T) {
	mk := func(n int) []RingInstall {
		rs := make([]RingInstall, n)
		for i := range rs {
			rs[i] = RingInstall{RingID: fmt.Sprintf("1.%x", 4*(i+1)+1), Members: []string{"n1"}, FirstMs: float64(10 * i), LastMs: float64(10*i + 1), Nodes: 1}
		}
		return rs
	}
	for _, tt := range []struct {
		n, rows int
		more    string
	}{
		{ringsHead + ringsTail + 1, ringsHead + ringsTail + 1, ""},
		{ringsHead + ringsTail + 2, ringsHead + ringsTail + 1, "2 more rings"},
		{5000, ringsHead + ringsTail + 1, fmt.Sprintf("%d more rings", 5000-ringsHead-ringsTail)},
	} {
		var b bytes.Buffer
		rs := mk(tt.n)
		if err := writeRings(&b, rs); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		rows := strings.Count(out, "│ 1.") + strings.Count(out, "│ ...")
		if rows != tt.rows {
			t.Errorf("%d rings: %d rows, want %d:\n%s", tt.n, rows, tt.rows, out)
		}
		if tt.more == "" {
			if strings.Contains(out, "more rings") {
				t.Errorf("%d rings: a summary row where every ring fits:\n%s", tt.n, out)
			}
			continue
		}
		if !strings.Contains(out, tt.more) {
			t.Errorf("%d rings: no %q row:\n%s", tt.n, tt.more, out)
		}
		// The summary row spans from the first ring it stands for to the
		// last, and the last ring is shown.
		span := fmt.Sprintf("%.1f .. %.1f", rs[ringsHead].FirstMs, rs[tt.n-ringsTail-1].LastMs)
		if !strings.Contains(out, span) || !strings.Contains(out, rs[tt.n-1].RingID+" ") {
			t.Errorf("%d rings: want the span %s and the last ring %s:\n%s", tt.n, span, rs[tt.n-1].RingID, out)
		}
	}
}
