/* The report builder's chart (templates/report_builder.html): the result's first row dimension as
   categories, one series per column value (stacked bars) or per measure, drawn with the vendored
   ECharts; a click on a bar or slice opens the customer list for exactly those customers when the
   page gave a link. */
(function () {
  "use strict";
  var holder = document.getElementById("report-chart");
  var source = document.getElementById("report-chart-data");
  if (!holder || !source || typeof echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var lang = document.documentElement.lang || "en";
  var palette = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6", "#f97316",
    "#64748b", "#ec4899", "#84cc16", "#06b6d4"];
  var textColor = "#3d4350";
  function narrow() { return window.matchMedia("(max-width: 860px)").matches; }
  function shorten(text, max) { text = String(text); return text.length > max ? text.slice(0, max - 1) + "…" : text; }
  function format(value, s) {
    if (value === null || value === undefined) { return "—"; }
    if (s && s.kind === "money") {
      try { return new Intl.NumberFormat(lang, { style: "currency", currency: s.currency || "CNY" }).format(value); }
      catch (e) { return String(value); }
    }
    if (s && s.kind === "percent") { return (value * 100).toFixed(1) + "%"; }
    return new Intl.NumberFormat(lang).format(value);
  }
  function option() {
    var small = narrow();
    if (data.type === "pie") {
      var s = data.series[0];
      return {
        color: palette,
        tooltip: { trigger: "item", formatter: function (p) { return p.name + ": " + format(p.value, s) + " (" + p.percent + "%)"; } },
        legend: { type: "scroll", orient: small ? "horizontal" : "vertical", bottom: small ? 0 : "middle",
          right: small ? "center" : 8, left: small ? "center" : "auto", textStyle: { color: textColor },
          formatter: function (name) { return shorten(name, 14); } },
        series: [{ type: "pie", radius: small ? ["30%", "55%"] : ["40%", "70%"], center: small ? ["50%", "40%"] : ["36%", "52%"],
          itemStyle: { borderColor: "#fff", borderWidth: 2, borderRadius: 4 }, label: { show: !small, formatter: "{d}%" },
          data: data.categories.map(function (name, i) { return { name: name, value: s.values[i] }; }) }]
      };
    }
    var twoAxes = !data.stacked && data.series.some(function (s) { return s.kind !== data.series[0].kind; });
    var rotate = data.categories.length > (small ? 3 : 6) ? 35 : 0;
    return {
      color: palette,
      grid: { left: 8, right: 8, top: data.series.length > 1 ? 40 : 16, bottom: 8, containLabel: true },
      legend: data.series.length > 1 ? { type: "scroll", top: 0, textStyle: { color: textColor } } : undefined,
      tooltip: { trigger: "axis", axisPointer: { type: data.type === "bar" ? "shadow" : "line" },
        formatter: function (items) {
          return [items[0].name].concat(items.map(function (p) {
            return p.marker + p.seriesName + ": " + format(p.value, data.series[p.seriesIndex]);
          })).join("<br>");
        } },
      xAxis: { type: "category", data: data.categories, axisLabel: { color: textColor, interval: 0, rotate: rotate,
        formatter: function (name) { return shorten(name, small ? 6 : 12); } } },
      // A measure of another kind than the first (money beside counts) gets its own axis on the right.
      yAxis: [0, 1].slice(0, twoAxes ? 2 : 1).map(function (i) {
        return { type: "value", position: i ? "right" : "left", axisLabel: { color: textColor },
          splitLine: { show: !i, lineStyle: { color: "#eef0f3" } } };
      }),
      series: data.series.map(function (s) {
        return { name: s.name, type: data.type, data: s.values, barMaxWidth: 40, smooth: 0.2,
          yAxisIndex: twoAxes && s.kind !== data.series[0].kind ? 1 : 0,
          stack: data.stacked && data.type === "bar" ? "total" : undefined };
      })
    };
  }
  var chart = echarts.init(holder, null, { renderer: "canvas" });
  chart.setOption(option());
  chart.on("click", function (p) {
    var link = data.links && data.links[p.dataIndex];
    if (link) { window.location.href = link; }
  });
  window.addEventListener("resize", function () { chart.setOption(option(), true); chart.resize(); });
})();
