"""Report files made from a `PivotResult` and its `UnderlyingRows` (docs/reporting.md, "Report
files"): CSV, XLSX with a native PivotTable, PDF. Renderers only lay out; they never query."""
