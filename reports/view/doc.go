// Package view turns what a run or a sweep left on disk into reports that
// people read and programs reuse: charts drawn with gonum.org/v1/plot as
// SVG, one self-contained HTML page (inline SVG and CSS, no network), a
// Markdown page with the same tables and the SVG files beside it, and a
// JSON file with the numbers behind every chart.
//
// The data is extracted first (timelines from trace.jsonl, latency CDFs,
// the heat map grid of a sweep) into plain structs that the tests check
// and report.json carries; the renderers only draw those structs. The
// package reads trace.jsonl and result.json by their documented keys
// (scenario-format.md); a sweep arrives as a SweepInput that the caller
// fills from sweep.json, so that this package stays below the sweep and
// sim packages.
package view
