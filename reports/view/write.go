package view

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Formats are the report formats, in the order they are written.
var Formats = []string{"html", "md", "json"}

// ParseFormats reads a --format list such as "html,md".
func ParseFormats(s string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		ok := false
		for _, k := range Formats {
			ok = ok || f == k
		}
		if !ok {
			return nil, fmt.Errorf("--format %q: %q is not a format (formats: %s)", s, f, strings.Join(Formats, ","))
		}
		out[f] = true
	}
	return out, nil
}

// RunCharts draws the charts of a run report: the node lanes, the link
// lanes and, for a kv workload, the latency CDF.
func RunCharts(r *RunReport) []Chart {
	lc, _ := LinkChart(r)
	cs := []Chart{NodeChart(r)}
	if len(r.Links) > 0 {
		cs = append(cs, lc)
	}
	if r.Latency != nil && len(r.Latency.Series) > 0 {
		cs = append(cs, LatencyChart(r.Latency))
	}
	return cs
}

// SweepCharts draws the charts of a sweep report.
func SweepCharts(r *SweepReport) []Chart {
	cs := []Chart{PassFailChart(r.Points)}
	if r.Heatmap != nil && r.HeatmapNote == "" {
		cs = append(cs, HeatmapChart(r.Heatmap))
	}
	return cs
}

// chartFile is the name of a chart's SVG file beside report.md.
func chartFile(c Chart) string { return "report-" + c.Name + ".svg" }

// WriteRun writes the run report in the formats asked into dir and
// returns the files written.
func WriteRun(r *RunReport, dir string, formats map[string]bool) ([]string, error) {
	charts := RunCharts(r)
	return write(dir, formats, charts, r, func(b *bytes.Buffer) { runMarkdown(b, r, charts) },
		func(b *bytes.Buffer) error { return runHTML(b, r, charts) }, func(names []string) { r.Charts = names })
}

// WriteSweep writes the sweep report in the formats asked into dir.
func WriteSweep(r *SweepReport, dir string, formats map[string]bool) ([]string, error) {
	charts := SweepCharts(r)
	return write(dir, formats, charts, r, func(b *bytes.Buffer) { sweepMarkdown(b, r, charts) },
		func(b *bytes.Buffer) error { return sweepHTML(b, r, charts) }, func(names []string) { r.Charts = names })
}

func write(dir string, formats map[string]bool, charts []Chart, data any,
	md func(*bytes.Buffer), html func(*bytes.Buffer) error, setCharts func([]string)) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	put := func(name string, b []byte) error {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
		written = append(written, p)
		return nil
	}
	names := []string{}
	if formats["md"] {
		for _, c := range charts {
			names = append(names, chartFile(c))
		}
	}
	setCharts(names)
	if formats["html"] {
		var b bytes.Buffer
		if err := html(&b); err != nil {
			return written, err
		}
		if err := put("report.html", b.Bytes()); err != nil {
			return written, err
		}
	}
	if formats["md"] {
		var b bytes.Buffer
		md(&b)
		if err := put("report.md", b.Bytes()); err != nil {
			return written, err
		}
		for _, c := range charts {
			if err := put(chartFile(c), c.SVG); err != nil {
				return written, err
			}
		}
	}
	if formats["json"] {
		b, err := json.MarshalIndent(data, "", "  ")
		if err != nil {
			return written, err
		}
		if err := put("report.json", append(b, '\n')); err != nil {
			return written, err
		}
	}
	return written, nil
}
