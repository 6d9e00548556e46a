package view

import (
	"bytes"
	"html/template"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// htmlTable is a table as the page template consumes it.
type htmlTable struct {
	Title  string
	Header []string
	Rows   [][]htmlCell
	Note   string
	Bare   bool
}

type htmlCell struct {
	Text string
	Code bool
	Bad  bool // a failed verdict: drawn in red
}

func (t table) html() htmlTable {
	h := htmlTable{Title: t.title, Header: t.header, Note: t.note, Bare: t.bare}
	for _, r := range t.rows {
		var row []htmlCell
		for i, c := range r {
			cell := htmlCell{Text: c, Code: t.code[i]}
			if len(c) > 1 && strings.HasPrefix(c, "`") && strings.HasSuffix(c, "`") {
				cell.Text, cell.Code = c[1:len(c)-1], true
			}
			cell.Bad = c == "FAILED" || strings.HasPrefix(c, "FAILED:")
			row = append(row, cell)
		}
		h.Rows = append(h.Rows, row)
	}
	return h
}

type htmlChart struct {
	Title string
	SVG   template.HTML
}

type page struct {
	Title   string
	Verdict string
	OK      bool
	Lead    htmlTable
	Charts  []htmlChart
	Notes   []string
	Tables  []htmlTable
	Links   []string // files beside the page worth opening
}

var (
	xmlDecl = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?s)^\s*<\?xml[^>]*\?>\s*(<!--.*?-->\s*)?`) })
	svgOpen = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^<svg `) })
)

// inlineSVG makes a standalone SVG document fit for an HTML page: no XML
// declaration, and a class and label the page's script and readers use.
func inlineSVG(c Chart) template.HTML {
	s := xmlDecl().ReplaceAllString(string(c.SVG), "")
	s = svgOpen().ReplaceAllString(s, `<svg class="chart" data-chart="`+template.HTMLEscapeString(c.Name)+
		`" role="img" aria-label="`+template.HTMLEscapeString(c.Title)+`" `)
	// The SVG comes from gonum/plot, which escapes the text it draws.
	return template.HTML(s)
}

func charts(cs []Chart) []htmlChart {
	out := make([]htmlChart, len(cs))
	for i, c := range cs {
		out[i] = htmlChart{Title: c.Title, SVG: inlineSVG(c)}
	}
	return out
}

func runHTML(b *bytes.Buffer, r *RunReport, cs []Chart) error {
	ts := runTables(r)
	p := page{Title: "Run report: " + r.Scenario + ", seed " + strconv.FormatUint(r.Seed, 10), Verdict: r.Verdict, OK: r.OK,
		Lead: ts[0].html(), Charts: charts(cs)}
	for _, t := range ts[1:] {
		p.Tables = append(p.Tables, t.html())
	}
	if r.History != "" {
		p.Links = append(p.Links, r.History)
	}
	return pageTmpl().Execute(b, p)
}

func sweepHTML(b *bytes.Buffer, r *SweepReport, cs []Chart) error {
	ts := sweepTables(r)
	p := page{Title: "Sweep report: " + r.Scenario + ", seeds " + r.Seeds, Verdict: r.Verdict, OK: r.Failed == 0,
		Lead: ts[0].html(), Charts: charts(cs)}
	if r.HeatmapNote != "" {
		p.Notes = append(p.Notes, r.HeatmapNote)
	}
	for _, t := range ts[1:] {
		p.Tables = append(p.Tables, t.html())
	}
	return pageTmpl().Execute(b, p)
}

// pageTmpl is the page: inline CSS, inline SVG, and one small script that
// counts the charts the browser laid out (a drawn SVG has a non-empty
// bounding box) and writes the count into the footer, where a headless
// browser's DOM dump can read it.
var pageTmpl = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI","Liberation Sans",sans-serif;margin:0 auto;max-width:1100px;padding:1.2em 1.5em;color:#222;line-height:1.4}
h1{font-size:1.5em;margin:.2em 0}
h2{font-size:1.15em;margin:1.6em 0 .5em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.verdict{display:inline-block;padding:.35em .8em;border-radius:4px;font-weight:600;margin:.3em 0 .8em}
.ok{background:#e3f1fa;color:#15527a;border:1px solid #2b83ba}
.bad{background:#fde7e7;color:#9b1114;border:1px solid #d7191c}
table{border-collapse:collapse;margin:.4em 0;font-size:.92em}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}
td.fail{color:#b01316;font-weight:600}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:.9em;background:#f6f6f6;padding:0 .2em;overflow-wrap:break-word}
figure{margin:1em 0}
svg.chart{max-width:100%;height:auto;display:block}
/* gonum/plot lays text out with Liberation Sans metrics: fall back to fonts that share them */
svg.chart text{font-family:"Liberation Sans",Arimo,Arial,Helvetica,sans-serif!important}
.note{color:#555;font-size:.9em}
footer{margin-top:2em;color:#777;font-size:.85em}
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<div class="verdict {{if .OK}}ok{{else}}bad{{end}}">{{.Verdict}}</div>
{{template "table" .Lead}}
{{range .Links}}<p>See also <a href="{{.}}">{{.}}</a> (the operation history and its linearizability check).</p>
{{end}}{{range .Notes}}<p class="note">{{.}}</p>
{{end}}{{range .Charts}}<figure>
{{.SVG}}
</figure>
{{end}}{{range .Tables}}{{template "table" .}}{{end}}
<footer>Charts drawn: <span id="charts-rendered">(script did not run)</span></footer>
<script>
(function(){
  var n = 0, all = document.querySelectorAll("svg.chart");
  for (var i = 0; i < all.length; i++) {
    var b = all[i].getBoundingClientRect();
    if (b.width > 0 && b.height > 0 && all[i].querySelector("path,text")) n++;
  }
  var s = document.getElementById("charts-rendered");
  s.textContent = n + " of " + all.length;
  s.setAttribute("data-rendered", String(n));
})();
</script>
</body>
</html>
{{define "table"}}<h2>{{.Title}}</h2>
{{if .Rows}}<table>
{{if not .Bare}}<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{end}}{{range .Rows}}<tr>{{range .}}<td{{if .Bad}} class="fail"{{end}}>{{if .Code}}<code>{{.Text}}</code>{{else}}{{.Text}}{{end}}</td>{{end}}</tr>
{{end}}</table>
{{else}}<p class="note">(none)</p>
{{end}}{{with .Note}}<p class="note">{{.}}</p>
{{end}}{{end}}
`))
})
