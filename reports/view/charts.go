package view

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strings"
	"unicode/utf8"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Chart is one drawn chart: a name (the SVG file's stem), a title and the
// SVG document.
type Chart struct {
	Name  string
	Title string
	SVG   []byte
}

// Colours of the lanes; chosen to stay apart for colour-blind readers
// (blue / orange / grey rather than green / red alone).
var (
	colQuorate   = color.RGBA{0x2b, 0x83, 0xba, 0xff}
	colInquorate = color.RGBA{0xfd, 0xae, 0x61, 0xff}
	colDown      = color.RGBA{0xbb, 0xbb, 0xbb, 0xff}
	colLinkUp    = color.RGBA{0xab, 0xd9, 0xe9, 0xff}
	colLinkDown  = color.RGBA{0xd7, 0x19, 0x1c, 0xff}
	colActive    = color.RGBA{0x1a, 0x3a, 0x6b, 0xff}
	colMark      = color.RGBA{0x00, 0x00, 0x00, 0xff}
	colFault     = color.RGBA{0x99, 0x00, 0x99, 0xff}
	colPass      = color.RGBA{0x2b, 0x83, 0xba, 0xff}
	colFail      = color.RGBA{0xd7, 0x19, 0x1c, 0xff}
)

const chartWidth = vg.Length(760) // points

// newPlot is a plot in the house style: sans-serif text.
func newPlot(title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	for _, s := range []*text.Style{&p.Title.TextStyle, &p.X.Label.TextStyle, &p.Y.Label.TextStyle,
		&p.X.Tick.Label, &p.Y.Tick.Label, &p.Legend.TextStyle} {
		s.Font.Variant = "Sans"
	}
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.Title.Padding = vg.Points(6)
	return p
}

// render draws p on an SVG canvas of w x h with an optional legend band
// of swatches under it.
func render(p *plot.Plot, w, h vg.Length, legend []swatch) []byte {
	c := vgsvg.New(w, h)
	dc := draw.New(c)
	if len(legend) > 0 {
		const band = 22
		drawLegend(draw.Crop(dc, 0, 0, 0, -(h-band)), legend, p.X.Tick.Label)
		dc = draw.Crop(dc, 0, 0, band, 0)
	}
	p.Draw(dc)
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		// Writing to a bytes.Buffer does not fail.
		panic(err)
	}
	return b.Bytes()
}

// swatch is a legend entry: a colour and what it means. A thin swatch is
// drawn as a line (a marker rather than an area).
type swatch struct {
	col   color.Color
	label string
	thin  bool
	dash  bool
}

func drawLegend(c draw.Canvas, items []swatch, sty text.Style) {
	x := c.Min.X + vg.Points(40)
	y := c.Min.Y + (c.Max.Y-c.Min.Y)/2
	sty.XAlign, sty.YAlign = text.XLeft, text.YCenter
	for _, it := range items {
		switch {
		case it.thin:
			ls := draw.LineStyle{Color: it.col, Width: vg.Points(1.5)}
			if it.dash {
				ls.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
			}
			c.StrokeLine2(ls, x+vg.Points(5), y-vg.Points(6), x+vg.Points(5), y+vg.Points(6))
		default:
			c.FillPolygon(it.col, rect(x, y-vg.Points(5), x+vg.Points(14), y+vg.Points(5)))
		}
		x += vg.Points(18)
		c.FillText(sty, vg.Point{X: x, Y: y}, it.label)
		x += sty.Width(it.label) + vg.Points(16)
	}
}

func rect(x0, y0, x1, y1 vg.Length) []vg.Point {
	return []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}}
}

// chartLane is one row of a timeline chart.
type chartLane struct {
	name  string
	spans []Span    // the row's states, filled
	inner []Span    // drawn as a dark band inside the row (the active link)
	marks []float64 // ms: drawn as ticks across the row (membership changes)
}

// lanes is a gonum plotter that draws timeline rows: lane i at y = n-1-i,
// so the first lane is on top. x is in seconds.
type lanes struct {
	rows   []chartLane
	colors map[string]color.Color
	endS   float64
	faults []Fault
}

func (l *lanes) DataRange() (xmin, xmax, ymin, ymax float64) {
	return 0, math.Max(l.endS, 1e-3), -0.5, float64(len(l.rows)) - 0.5
}

func (l *lanes) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	n := len(l.rows)
	for i, row := range l.rows {
		y := float64(n - 1 - i)
		for _, s := range row.spans {
			col, ok := l.colors[s.State]
			if !ok {
				continue
			}
			c.FillPolygon(col, rect(trX(s.FromMs/1e3), trY(y-0.38), trX(s.ToMs/1e3), trY(y+0.38)))
		}
		for _, s := range row.inner {
			c.FillPolygon(colActive, rect(trX(s.FromMs/1e3), trY(y-0.12), trX(s.ToMs/1e3), trY(y+0.12)))
		}
		for _, m := range row.marks {
			c.StrokeLine2(draw.LineStyle{Color: colMark, Width: vg.Points(1.2)}, trX(m/1e3), trY(y-0.46), trX(m/1e3), trY(y+0.46))
		}
	}
	ls := draw.LineStyle{Color: colFault, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(3), vg.Points(2)}}
	sty := p.X.Tick.Label
	sty.Color, sty.XAlign, sty.YAlign = colFault, text.XCenter, text.YBottom
	for i, f := range l.faults {
		x := trX(f.TMs / 1e3)
		c.StrokeLine2(ls, x, trY(-0.5), x, trY(float64(n)-0.5))
		c.FillText(sty, vg.Point{X: x, Y: trY(float64(n)-0.5) + vg.Points(1)}, fmt.Sprintf("F%d", i+1))
	}
}

func timelineChart(name, title string, rows []chartLane, colors map[string]color.Color, endMs float64, faults []Fault, legend []swatch) Chart {
	p := newPlot(title)
	p.Title.Padding = vg.Points(14) // room for the fault labels
	l := &lanes{rows: rows, colors: colors, endS: endMs / 1e3, faults: faults}
	p.Add(l)
	names := make([]string, len(rows))
	for i, r := range rows {
		names[len(rows)-1-i] = r.name
	}
	p.NominalY(names...)
	p.X.Label.Text = "simulated time (s)"
	p.X.Min, p.X.Max = 0, l.endS
	p.X.Padding, p.Y.Padding = 0, laneLabelSlack(p.Y.Tick.Label, names)
	if len(faults) > 0 {
		legend = append(legend, swatch{col: colFault, label: "fault (F1, F2, … in the schedule)", thin: true, dash: true})
	}
	h := vg.Points(float64(len(rows))*18 + 110)
	return Chart{Name: name, Title: title, SVG: render(p, chartWidth, h, legend)}
}

// laneEm is the widest advance, in ems, that a lane label's characters
// (lower-case letters, digits, arrows) take in the sans-serif fonts a
// browser may substitute for the one the chart names (DejaVu Sans: "→"
// 0.84, digits 0.64); the label, 0.64 em a character on average at most.
const laneEm = 0.64

// laneLabelSlack is the room to leave between the lane labels and the
// lanes. The labels are placed right-aligned by the width of the font the
// SVG names; a browser without that font draws them wider, and the end of
// the label (the link number of "hp1→hp2 link 0") went under the lanes.
func laneLabelSlack(sty text.Style, names []string) vg.Length {
	var slack vg.Length
	for _, n := range names {
		worst := vg.Length(float64(utf8.RuneCountInString(n))*laneEm) * sty.Font.Size
		slack = max(slack, worst-sty.Width(n))
	}
	return slack + vg.Points(4)
}

// NodeChart draws one lane per node: quorate, inquorate or down, with a
// tick at each membership the node installed.
func NodeChart(r *RunReport) Chart {
	rows := make([]chartLane, len(r.Nodes))
	for i, n := range r.Nodes {
		rows[i] = chartLane{name: n.Node, spans: n.Spans}
		for _, c := range n.Changes {
			rows[i].marks = append(rows[i].marks, c.TMs)
		}
	}
	colors := map[string]color.Color{StateQuorate: colQuorate, StateInquorate: colInquorate, StateDown: colDown}
	legend := []swatch{{col: colQuorate, label: "quorate"}, {col: colInquorate, label: "not quorate"},
		{col: colDown, label: "down"}, {col: colMark, label: "membership change", thin: true}}
	return timelineChart("nodes", "Quorum and membership per node", rows, colors, r.SimulatedS*1e3, r.Faults, legend)
}

// maxLinkLanes bounds the link chart; beyond it only the links that went
// down during the run are drawn.
const maxLinkLanes = 48

// LinkChart draws one lane per node, peer and link: up or down, with a
// dark band while the link is the active one. It also returns how many
// quiet lanes were left out.
func LinkChart(r *RunReport) (Chart, int) {
	ls := r.Links
	omitted := 0
	if len(ls) > maxLinkLanes {
		var kept []LinkTimeline
		for _, l := range ls {
			if l.Downs > 0 {
				kept = append(kept, l)
			}
		}
		omitted = len(ls) - len(kept)
		ls = kept
		if len(ls) > maxLinkLanes {
			omitted += len(ls) - maxLinkLanes
			ls = ls[:maxLinkLanes]
		}
	}
	rows := make([]chartLane, len(ls))
	for i, l := range ls {
		rows[i] = chartLane{name: l.Name(), spans: l.Spans, inner: l.Active}
	}
	colors := map[string]color.Color{StateUp: colLinkUp, StateDown: colLinkDown, StateNotYet: colDown}
	legend := []swatch{{col: colLinkUp, label: "link up"}, {col: colLinkDown, label: "link down"},
		{col: colDown, label: "not up yet / node down"}, {col: colActive, label: "active link"}}
	title := "Link status (each node's view of each peer)"
	if omitted > 0 {
		title += fmt.Sprintf(" — %d quiet links not drawn", omitted)
	}
	return timelineChart("links", title, rows, colors, r.SimulatedS*1e3, r.Faults, legend), omitted
}

// seriesColors are the CDF line colours.
var seriesColors = []color.Color{
	color.RGBA{0x00, 0x00, 0x00, 0xff}, color.RGBA{0x2b, 0x83, 0xba, 0xff}, color.RGBA{0xd7, 0x19, 0x1c, 0xff},
	color.RGBA{0x1a, 0x96, 0x41, 0xff}, color.RGBA{0xfd, 0xae, 0x61, 0xff}, color.RGBA{0x7b, 0x32, 0x94, 0xff},
}

// LatencyChart draws the latency CDF of each series on a log scale,
// where a long tail (operations held up by a fault) and the fast common
// case both stay readable. Zero latencies (reads answered from the local
// replica) cannot sit on a log axis: they are drawn at its left edge.
func LatencyChart(l *Latency) Chart {
	p := newPlot("Operation latency CDF: ms of simulated time, log scale (0 ms at the left edge)")
	// No x label: gonum centres it at the arithmetic middle of the range,
	// far right on a log axis, and pads the plot to fit it.
	p.Y.Label.Text = "fraction of operations ≤ x"
	p.Y.Min, p.Y.Max = 0, 1
	lo, hi := math.Inf(1), 0.0
	for _, s := range l.Series {
		for _, pt := range s.CDF {
			if pt.Ms > 0 {
				lo, hi = math.Min(lo, pt.Ms), math.Max(hi, pt.Ms)
			}
		}
	}
	if math.IsInf(lo, 1) { // every operation took 0 ms
		lo, hi = 1, 10
	}
	floor := math.Pow(10, math.Floor(math.Log10(lo)))
	if floor == lo {
		floor /= 10
	}
	p.X.Scale, p.X.Tick.Marker = plot.LogScale{}, plot.LogTicks{Prec: -1}
	// Both ends on a power of ten: gonum pads the plot for tick labels
	// past the end of the axis, which would leave a blank margin.
	p.X.Min, p.X.Max = floor, math.Pow(10, math.Ceil(math.Log10(math.Max(hi*1.05, floor*10))))
	p.Add(plotter.NewGrid())
	for i, s := range l.Series {
		xys := make(plotter.XYs, 0, len(s.CDF)+2)
		xys = append(xys, plotter.XY{X: floor, Y: 0})
		for _, pt := range s.CDF {
			xys = append(xys, plotter.XY{X: math.Max(pt.Ms, floor), Y: pt.P})
		}
		xys = append(xys, plotter.XY{X: p.X.Max, Y: 1})
		line, err := plotter.NewLine(xys)
		if err != nil {
			continue // a NaN or Inf latency: not drawable, still in report.json
		}
		line.StepStyle = plotter.PostStep
		line.Color = seriesColors[i%len(seriesColors)]
		line.Width = vg.Points(1.5)
		if i == 0 && len(l.Series) > 1 {
			line.Width = vg.Points(3)
		}
		p.Add(line)
		p.Legend.Add(fmt.Sprintf("%s (n=%d, p50 %s ms, p99 %s ms)", s.Kind, s.N, fmtNum(s.P50Ms), fmtNum(s.P99Ms)), line)
	}
	p.Legend.Top = false
	p.Legend.Left = false
	p.Legend.XOffs = -vg.Points(10)
	p.Legend.YOffs = vg.Points(10)
	return Chart{Name: "latency", Title: p.Title.Text, SVG: render(p, chartWidth, vg.Points(340), nil)}
}

// heatGrid adapts a Heatmap to gonum's GridXYZ: column = x index, row =
// y index, NaN for cells with no value.
type heatGrid struct{ h *Heatmap }

func (g heatGrid) Dims() (c, r int) { return len(g.h.XValues), len(g.h.YValues) }
func (g heatGrid) X(c int) float64  { return float64(c) }
func (g heatGrid) Y(r int) float64  { return float64(r) }
func (g heatGrid) Z(c, r int) float64 {
	if v := g.h.At(c, r).Value; v != nil {
		return *v
	}
	return math.NaN()
}

// colFailedCell marks a heat map cell where most runs failed: black, apart
// from both ends of the blue-red scale and from the grey of "no data".
var colFailedCell = color.RGBA{0x1a, 0x1a, 0x1a, 0xff}

// failedCells paints the cells of the points where most runs failed.
type failedCells struct{ h *Heatmap }

func (f failedCells) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for yi := range f.h.YValues {
		for xi := range f.h.XValues {
			if f.h.At(xi, yi).FailedPoint {
				x, y := float64(xi), float64(yi)
				c.FillPolygon(colFailedCell, rect(trX(x-0.5), trY(y-0.5), trX(x+0.5), trY(y+0.5)))
			}
		}
	}
}

// HeatmapChart draws the heat map with the value written in each cell.
func HeatmapChart(h *Heatmap) Chart {
	title := fmt.Sprintf("%s (%s over the seeds)", h.Metric, h.Aggregate)
	p := newPlot(title)
	g := heatGrid{h}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range h.Cells {
		if c.Value != nil {
			lo, hi = math.Min(lo, *c.Value), math.Max(hi, *c.Value)
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = 0, 1
	}
	if hi == lo {
		hi = lo + 1
	}
	pal := moreland.SmoothBlueRed()
	pal.SetMin(lo)
	pal.SetMax(hi)
	hm := plotter.NewHeatMap(g, pal.Palette(64))
	hm.Min, hm.Max = lo, hi
	hm.NaN = colDown
	p.Add(hm, failedCells{h})
	var xys plotter.XYs
	var labels []string
	for yi := range h.YValues {
		for xi := range h.XValues {
			c := h.At(xi, yi)
			xys = append(xys, plotter.XY{X: float64(xi), Y: float64(yi)})
			switch {
			case c.FailedPoint:
				labels = append(labels, fmt.Sprintf("FAILED\n%d of %d", c.Failed, c.Runs))
			case c.Value == nil:
				labels = append(labels, "no data")
			case c.Failed > 0:
				labels = append(labels, fmt.Sprintf("%s\n(n=%d, %d failed)", fmtNum(*c.Value), c.N, c.Failed))
			default:
				labels = append(labels, fmt.Sprintf("%s\n(n=%d)", fmtNum(*c.Value), c.N))
			}
		}
	}
	lab, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err == nil {
		for i := range lab.TextStyle {
			lab.TextStyle[i].Font.Variant = "Sans"
			lab.TextStyle[i].Font.Size = vg.Points(10)
			lab.TextStyle[i].XAlign, lab.TextStyle[i].YAlign = text.XCenter, text.YCenter
			lab.TextStyle[i].Color = color.White
		}
		p.Add(lab)
	}
	p.NominalX(h.XValues...)
	p.NominalY(h.YValues...)
	p.X.Label.Text = h.XKey
	p.Y.Label.Text = h.YKey
	w := vg.Points(math.Min(760, 160+110*float64(len(h.XValues))))
	ht := vg.Points(math.Min(600, 110+60*float64(len(h.YValues))))
	return Chart{Name: "heatmap", Title: title, SVG: render(p, w, ht, nil)}
}

// PassFailChart draws passed and failed runs per grid point as stacked bars.
func PassFailChart(rows []PointRow) Chart {
	p := newPlot("Runs per grid point")
	pass := make(plotter.Values, len(rows))
	fail := make(plotter.Values, len(rows))
	names := make([]string, len(rows))
	for i, r := range rows {
		pass[i], fail[i], names[i] = float64(r.Passed), float64(r.Failed), r.Point
	}
	w := vg.Points(math.Max(8, math.Min(40, 500/float64(max(1, len(rows))))))
	bp, err1 := plotter.NewBarChart(pass, w)
	bf, err2 := plotter.NewBarChart(fail, w)
	if err1 == nil && err2 == nil {
		bp.Color, bp.LineStyle.Width = colPass, 0
		bf.Color, bf.LineStyle.Width = colFail, 0
		bf.StackOn(bp)
		p.Add(bp, bf)
	}
	p.NominalX(names...)
	p.Y.Label.Text = "runs"
	p.Y.Min = 0
	legend := []swatch{{col: colPass, label: "passed"}, {col: colFail, label: "failed"}}
	return Chart{Name: "passfail", Title: p.Title.Text, SVG: render(p, chartWidth, vg.Points(260), legend)}
}

// fmtNum prints a figure with as many decimals as a reader needs.
func fmtNum(v float64) string {
	switch a := math.Abs(v); {
	case v == math.Trunc(v) && a < 1e9:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 1:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
	default:
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", v), "0"), ".")
	}
}
