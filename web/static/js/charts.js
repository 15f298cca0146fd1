// charts.js: line charts of per-epoch metrics on top of uPlot, shared by the
// run and compare pages. It defines window.trainyardCharts.
(function () {
  "use strict";

  var HEIGHT = 280;

  function fmtValue(percent) {
    return function (u, v) {
      if (v == null) return "–";
      return percent ? (v * 100).toFixed(2) + "%" : v.toFixed(4);
    };
  }

  // tickLabels writes an axis's tick values (fractions shown as percentages
  // when percent) with the fewest decimals that keep every label distinct
  // and true: 0.975 reads "97.5%", never "98%", at any zoom.
  // epochAxis is the x axis of a chart by epoch: whole epochs only, never
  // "1.05".
  function epochAxis() {
    return { label: "epoch", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000], grid: { stroke: "#eef0f3" } };
  }

  // empty puts a note where a chart would be, for charts with nothing to
  // draw yet (a blank frame of the chart's height says nothing).
  function empty(el, text) {
    el.textContent = "";
    var p = document.createElement("p");
    p.className = "muted chart-empty";
    p.textContent = text;
    el.appendChild(p);
  }

  function tickLabels(vals, percent) {
    var scale = percent ? 100 : 1, suffix = percent ? "%" : "";
    var xs = vals.map(function (v) { return v == null ? null : v * scale; });
    for (var d = 0; d <= 10; d++) {
      var seen = {}, ok = true;
      var out = xs.map(function (x) {
        if (x == null) return "";
        var s = x.toFixed(d);
        if (s === "-0" || /^-0\.0+$/.test(s)) s = s.slice(1);
        if (seen[s] || Math.abs(parseFloat(s) - x) > 1e-9 * Math.max(1, Math.abs(x))) ok = false;
        seen[s] = true;
        return s + suffix;
      });
      if (ok) return out;
    }
    return xs.map(function (x) { return x == null ? "" : String(x) + suffix; });
  }

  // axisSize is the width a y axis needs for its longest label.
  function axisSize(u, values) {
    var longest = 0;
    (values || []).forEach(function (v) { longest = Math.max(longest, String(v).length); });
    return Math.max(48, 28 + longest * 7.5);
  }

  // lineChart draws a chart into el. spec: {title, percent, sync, series:
  // [{label, colour, dash}], data: [xs, ys0, ys1, ...]} where a missing value is null.
  // With spec.time the x values are seconds of training (wall-clock time
  // from the run's start), else epochs. A series' dash (uPlot's dash array)
  // shows in its legend marker too: solid, dashed, dotted or dash-dot.
  function lineChart(el, spec) {
    var xLabel = spec.time ? "training time" : "epoch";
    var series = [{ label: xLabel, value: function (u, v) { return v == null ? "–" : spec.time ? seconds(v) : v; } }];
    spec.series.forEach(function (s) {
      series.push({
        label: s.label,
        stroke: s.colour,
        width: 2,
        dash: s.dash,
        spanGaps: true,
        points: { size: 5, fill: s.colour },
        value: fmtValue(spec.percent),
      });
    });
    var opts = {
      title: spec.title,
      width: Math.max(el.clientWidth, 300),
      height: HEIGHT,
      scales: { x: { time: false } },
      series: series,
      axes: [
        spec.time
          ? { label: "training time", grid: { stroke: "#eef0f3" }, values: function (u, vals) { return vals.map(function (v) { return v == null ? "" : seconds(v); }); } }
          : epochAxis(),
        {
          size: axisSize,
          grid: { stroke: "#eef0f3" },
          values: function (u, vals) { return tickLabels(vals, spec.percent); },
        },
      ],
      cursor: { drag: { x: true, y: false }, sync: spec.sync ? { key: spec.sync, setSeries: true } : undefined },
      legend: { live: true, markers: { dash: markerDash } },
    };
    var plot = new uPlot(opts, spec.data, el);
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        var w = Math.max(el.clientWidth, 300);
        if (w !== plot.width) plot.setSize({ width: w, height: HEIGHT });
      }).observe(el);
    }
    el.uplot = plot; // for the page's scripts and the browser tests
    return plot;
  }

  // markerDash is the CSS border style of a series' legend marker, from its dash array.
  function markerDash(u, i) {
    var d = u.series[i].dash;
    if (!d || d.length === 0) return "solid";
    return d[0] <= 2 ? "dotted" : d.length > 2 ? "double" : "dashed";
  }

  // byTime turns a run's epochs into [xs, ys]: cumulative epoch seconds
  // (its wall-clock training time at the end of each epoch) and the metric.
  function byTime(epochs, metric) {
    var xs = [], ys = [], t = 0;
    epochs.forEach(function (e) {
      t += e.seconds || 0;
      xs.push(t);
      ys.push(e[metric] == null ? null : e[metric]);
    });
    return [xs, ys];
  }

  // byEpoch turns epochs into aligned columns: xs = 1..n and one array per
  // metric name, with null where an epoch is missing.
  function byEpoch(epochs, n, metric) {
    var ys = new Array(n).fill(null);
    epochs.forEach(function (e) {
      if (e.epoch >= 1 && e.epoch <= n) ys[e.epoch - 1] = e[metric];
    });
    return ys;
  }

  function range(n) {
    var xs = [];
    for (var i = 1; i <= n; i++) xs.push(i);
    return xs;
  }

  // seconds writes a duration the way the Go side does ("42.1 s", "3m 05s").
  function seconds(s) {
    if (!(s > 0)) return "–";
    if (s < 1) return Math.round(s * 1000) + " ms";
    if (s < 60) return s.toFixed(1) + " s";
    if (s < 3600) {
      var m = Math.floor(s / 60), r = Math.floor(s - m * 60);
      return m + "m " + (r < 10 ? "0" : "") + r + "s";
    }
    var h = Math.floor(s / 3600), mm = Math.floor((s - h * 3600) / 60);
    return h + "h " + (mm < 10 ? "0" : "") + mm + "m";
  }

  window.trainyardCharts = { lineChart: lineChart, byEpoch: byEpoch, byTime: byTime, range: range, seconds: seconds, tickLabels: tickLabels, epochAxis: epochAxis, empty: empty };
})();
