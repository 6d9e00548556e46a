package view

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// dejaVuAdvance is DejaVu Sans's advance width, in ems, of the characters
// of lane labels: the font a browser without Liberation Sans draws them in.
var dejaVuAdvance = map[rune]float64{
	'→': 0.838, ' ': 0.318, 'l': 0.278, 'i': 0.278, 'n': 0.634, 'k': 0.579,
	'h': 0.634, 'p': 0.635, 'v': 0.592, 'e': 0.615, 'o': 0.612, 'd': 0.635,
}

var svgText = regexp.MustCompile(`<text x="([-0-9.]+)"[^>]*font-size:([0-9.]+)px">([^<]*)</text>`)

// TestLinkLaneLabelsVisible: every lane of the link chart is labelled with
// its link number, and the label ends left of the lanes even in a wider
// fallback font. The labels used to run under the lanes, hiding the link
// number ("hp1→hp2 link").
func TestLinkLaneLabelsVisible(t *testing.T) {
	r, err := LoadRun("testdata/run")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := LinkChart(r)
	var lanesAt float64 = -1
	var labels int
	ms := svgText.FindAllStringSubmatch(string(c.SVG), -1)
	for _, m := range ms {
		if m[3] == "0" { // the time axis starts where the lanes do
			x, _ := strconv.ParseFloat(m[1], 64)
			size, _ := strconv.ParseFloat(m[2], 64)
			lanesAt = x + 0.636*size/2
		}
	}
	if lanesAt < 0 {
		t.Fatal("no time axis tick 0 in the link chart")
	}
	for _, m := range ms {
		if !strings.Contains(m[3], "→") {
			continue
		}
		labels++
		if !regexp.MustCompile(`link [0-9]$`).MatchString(m[3]) {
			t.Errorf("lane label %q does not end in its link number", m[3])
		}
		x, _ := strconv.ParseFloat(m[1], 64)
		size, _ := strconv.ParseFloat(m[2], 64)
		w := 0.0
		for _, ch := range m[3] {
			adv, ok := dejaVuAdvance[ch]
			if !ok {
				adv = 0.636 // digits
			}
			w += adv * size
		}
		if x+w > lanesAt {
			t.Errorf("lane label %q ends at %.1f in DejaVu Sans, under the lanes that start at %.1f", m[3], x+w, lanesAt)
		}
	}
	if labels != len(r.Links) || labels == 0 {
		t.Fatalf("%d lane labels for %d links", labels, len(r.Links))
	}
}
