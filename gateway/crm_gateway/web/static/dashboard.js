/* The home dashboard's charts (templates/dashboard.html): each panel's JSON (web/dashboard.py
   Panel.as_json) drawn with the vendored ECharts, a data-table view, PNG download, and a click on a
   slice or bar that opens the customer list for exactly that point (the panel gives its link). */
(function () {
  "use strict";
  if (typeof echarts === "undefined") { return; }
  var lang = document.documentElement.lang || "en";
  var zh = lang.indexOf("zh") === 0;
  var palette = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6", "#14b8a6", "#f97316",
    "#64748b", "#ec4899", "#84cc16", "#06b6d4"];
  var textColor = "#3d4350";
  var charts = [];

  function narrow() { return window.matchMedia("(max-width: 860px)").matches; }

  function money(value, currency, compact) {
    try {
      return new Intl.NumberFormat(lang, { style: "currency", currency: currency,
        notation: compact ? "compact" : "standard", maximumFractionDigits: compact ? 1 : 2 }).format(value);
    } catch (e) { return value + " " + currency; }
  }
  function number(value) { return new Intl.NumberFormat(lang).format(value); }
  function shorten(text, max) { return text.length > max ? text.slice(0, max - 1) + "…" : text; }

  function pieOption(panel) {
    var small = narrow();
    var data = panel.categories.map(function (name, i) { return { name: name, value: panel.series[0].values[i] }; });
    return {
      color: palette,
      tooltip: { trigger: "item", formatter: function (p) { return p.name + ": " + number(p.value) + " (" + p.percent + "%)"; } },
      legend: { type: "scroll", orient: small ? "horizontal" : "vertical", bottom: small ? 0 : "middle",
        right: small ? "center" : 8, left: small ? "center" : "auto", textStyle: { color: textColor },
        formatter: function (name) { return shorten(name, 14); } },
      series: [{ type: "pie", radius: small ? ["34%", "58%"] : ["42%", "70%"],
        center: small ? ["50%", "42%"] : ["36%", "52%"], avoidLabelOverlap: true,
        itemStyle: { borderColor: "#fff", borderWidth: 2, borderRadius: 4 },
        label: { show: !small, formatter: "{d}%", color: textColor },
        data: data }]
    };
  }

  function lineOption(panel) {
    var small = narrow();
    var currencyOf = function (i) { return panel.series[i] && panel.series[i].currency; };
    // Currencies are never added up or converted: the second one gets its own axis on the right.
    var axes = panel.series.slice(0, 2).map(function (s, i) {
      return { type: "value", position: i ? "right" : "left", splitLine: { show: !i, lineStyle: { color: "#eef0f3" } },
        axisLabel: { color: textColor, formatter: function (v) { return money(v, s.currency || "CNY", true); } } };
    });
    return {
      color: palette,
      grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0, textStyle: { color: textColor } },
      tooltip: { trigger: "axis", formatter: function (items) {
        return [items[0].axisValue].concat(items.map(function (p) {
          return p.marker + p.seriesName + ": " + money(p.value, currencyOf(p.seriesIndex), false);
        })).join("<br>");
      } },
      xAxis: { type: "category", data: panel.categories, axisLabel: { color: textColor, rotate: small && panel.categories.length > 4 ? 40 : 0 } },
      yAxis: axes.length ? axes : [{ type: "value" }],
      series: panel.series.map(function (s, i) {
        return { name: s.name, type: "line", smooth: 0.2, symbolSize: 7, data: s.values, yAxisIndex: i < 2 ? i : 0,
          areaStyle: { opacity: i ? 0 : 0.08 } };
      })
    };
  }

  function columnOption(panel) {
    var small = narrow();
    return {
      color: palette,
      grid: { left: 8, right: 8, top: 16, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: function (items) {
        return items[0].name + "<br>" + items[0].marker + number(items[0].value);
      } },
      xAxis: { type: "category", data: panel.categories, axisLabel: { color: textColor, interval: 0,
        rotate: panel.categories.length > (small ? 3 : 6) ? 35 : 0,
        formatter: function (name) { return shorten(name, small ? 6 : 10); } } },
      yAxis: { type: "value", minInterval: 1, axisLabel: { color: textColor }, splitLine: { lineStyle: { color: "#eef0f3" } } },
      series: [{ type: "bar", data: panel.series[0].values, barMaxWidth: 36,
        itemStyle: { borderRadius: [4, 4, 0, 0], color: function (p) { return palette[p.dataIndex % palette.length]; } },
        label: { show: true, position: "top", color: textColor } }]
    };
  }

  function funnelOption(panel) {
    var small = narrow();
    var series = panel.series[0];
    var data = panel.categories.map(function (name, i) { return { name: name, value: series.values[i] }; });
    return {
      color: ["#4f46e5", "#0ea5e9", "#10b981"],
      tooltip: { trigger: "item", formatter: function (p) {
        var rate = series.rates[p.dataIndex];
        return p.name + ": " + number(p.value) + (rate ? " (" + rate + ")" : "");
      } },
      series: [{ type: "funnel", left: small ? "4%" : "20%", right: small ? "4%" : "20%", top: 8, bottom: 8,
        minSize: small ? "52%" : "34%", sort: "none", gap: 4, funnelAlign: "center",
        label: { show: true, position: "inside", color: "#fff", fontWeight: 600, formatter: function (p) {
          var rate = series.rates[p.dataIndex];
          return p.name + "  " + number(p.value) + (rate ? "  ↓" + rate : "");
        } },
        itemStyle: { borderColor: "#fff", borderWidth: 1 },
        data: data }]
    };
  }

  function barOption(panel) {
    var small = narrow();
    var series = panel.series[0];
    var format = function (v) { return series.currency ? money(v, series.currency, true) : number(v); };
    return {
      color: palette,
      grid: { left: 8, right: small ? 16 : 80, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, formatter: function (items) {
        var p = items[0];
        return p.name + "<br>" + p.marker + (series.currency ? money(p.value, series.currency, false) : number(p.value));
      } },
      xAxis: { type: "value", axisLabel: { color: textColor, formatter: format, hideOverlap: true },
        splitLine: { lineStyle: { color: "#eef0f3" } } },
      yAxis: { type: "category", inverse: true, data: panel.categories,
        axisLabel: { color: textColor, formatter: function (name) { return shorten(name, small ? 8 : 18); } } },
      series: [{ type: "bar", data: series.values, barMaxWidth: 22, itemStyle: { borderRadius: [0, 4, 4, 0] },
        label: { show: !small, position: "right", color: textColor, formatter: function (p) { return format(p.value); } } }]
    };
  }

  var builders = { pie: pieOption, line: lineOption, bar: columnOption, hbar: barOption, funnel: funnelOption };

  function draw(section) {
    var data = section.querySelector(".panel-data");
    var holder = section.querySelector(".chart");
    if (!data || !holder) { return; }
    var panel = JSON.parse(data.textContent);
    var build = builders[panel.kind];
    if (!build) { return; }
    if (panel.empty) {
      holder.hidden = true;
      section.querySelector(".chart-empty").hidden = false;
      return;
    }
    var chart = echarts.init(holder, null, { locale: zh ? "ZH" : "EN", renderer: "canvas" });
    chart.setOption(build(panel));
    chart.on("click", function (p) {
      var link = panel.links && panel.links[p.dataIndex];
      if (link) { window.location.assign(link); }
    });
    holder.setAttribute("data-drawn", "1");
    charts.push({ chart: chart, panel: panel, build: build });

    var tableButton = section.querySelector("[data-action=table]");
    var table = section.querySelector(".panel-table");
    tableButton.addEventListener("click", function () {
      var showTable = tableButton.getAttribute("aria-pressed") !== "true";
      tableButton.setAttribute("aria-pressed", showTable ? "true" : "false");
      table.hidden = !showTable;
      holder.hidden = showTable;
      if (!showTable) { chart.resize(); }
    });
    section.querySelector("[data-action=png]").addEventListener("click", function () {
      var link = document.createElement("a");
      link.href = chart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#fff" });
      link.download = panel.key + ".png";
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
  }

  document.querySelectorAll(".dash-panel[data-panel]").forEach(function (section) {
    var data = section.querySelector(".panel-data");
    if (!data) { return; }
    draw(section);
  });
  // Tables only: sections whose panel is empty keep the table button working.
  document.querySelectorAll(".dash-panel .chart[hidden]").forEach(function (holder) {
    var section = holder.closest(".dash-panel");
    var button = section.querySelector("[data-action=table]");
    var png = section.querySelector("[data-action=png]");
    if (png) { png.hidden = true; }
    if (button) { button.hidden = true; }
  });

  var wasNarrow = narrow();
  window.addEventListener("resize", function () {
    var nowNarrow = narrow();
    charts.forEach(function (c) {
      if (nowNarrow !== wasNarrow) { c.chart.setOption(c.build(c.panel), true); }
      c.chart.resize();
    });
    wasNarrow = nowNarrow;
  });

  // The custom range's month inputs show only while "Custom" is chosen.
  var form = document.getElementById("dashboard-filters");
  var range = document.getElementById("dash-range");
  if (form && range) {
    var sync = function () { form.classList.toggle("custom-range", range.value === "custom"); };
    range.addEventListener("change", sync);
    sync();
  }
})();
