// compare-groups.js: the compare page's group chart. Each group's validation
// accuracy is a mean line with a ±1 std band (uPlot bands); "Show single
// runs" adds each run's own curve, dashed, in its group's colour.
(function () {
  "use strict";
  var node = document.getElementById("groups-data");
  var el = document.getElementById("chart-groups");
  var C = window.trainyardCharts;
  if (!node || !el || !window.uPlot || !C) return;
  var groups = JSON.parse(node.textContent) || [];
  var n = 0;
  groups.forEach(function (g) {
    (g.band.epochs || []).forEach(function (e) { n = Math.max(n, e); });
  });
  if (n === 0) {
    C.empty(el, "No epoch has finished yet.");
    return;
  }
  var xs = [];
  for (var i = 1; i <= n; i++) xs.push(i);
  function column(epochs, values) {
    var ys = new Array(n).fill(null);
    epochs.forEach(function (e, k) { if (e >= 1 && e <= n && values[k] != null) ys[e - 1] = values[k]; });
    return ys;
  }
  function alpha(hex, a) {
    var v = parseInt(hex.slice(1), 16);
    return "rgba(" + (v >> 16) + "," + ((v >> 8) & 255) + "," + (v & 255) + "," + a + ")";
  }
  var pctv = function (u, v) { return v == null ? "–" : (v * 100).toFixed(2) + "%"; };
  var series = [{ label: "epoch" }], data = [xs], bands = [], singles = [];
  groups.forEach(function (g) {
    var b = g.band, lo = [], hi = [];
    b.mean.forEach(function (m, k) {
      var s = b.std[k] == null ? 0 : b.std[k];
      lo.push(m - s);
      hi.push(m + s);
    });
    var base = series.length;
    series.push({ label: g.label + " (mean)", stroke: g.colour, width: 2, value: pctv, spanGaps: true });
    series.push({ label: g.label + " +1 std", stroke: alpha(g.colour, 0.35), width: 1, value: pctv, spanGaps: true });
    series.push({ label: g.label + " −1 std", stroke: alpha(g.colour, 0.35), width: 1, value: pctv, spanGaps: true });
    data.push(column(b.epochs, b.mean), column(b.epochs, hi), column(b.epochs, lo));
    bands.push({ series: [base + 1, base + 2], fill: alpha(g.colour, 0.15) });
    (g.runs || []).forEach(function (r) {
      singles.push(series.length);
      series.push({ label: r.label, stroke: g.colour, width: 1, dash: [4, 4], show: false, value: pctv, spanGaps: true });
      data.push(column(r.epochs, r.values));
    });
  });
  var plot = new uPlot({
    title: "Validation accuracy by group (mean ± 1 std)",
    width: Math.max(el.clientWidth, 300),
    height: 300,
    scales: { x: { time: false } },
    series: series,
    bands: bands,
    axes: [C.epochAxis(), {
      size: 70, grid: { stroke: "#eef0f3" },
      values: function (u, vals) { return C.tickLabels(vals, true); }
    }],
    legend: { live: true },
  }, data, el);
  el.uplot = plot;
  var toggle = document.getElementById("show-singles");
  if (toggle) {
    toggle.addEventListener("change", function () {
      singles.forEach(function (s) { plot.setSeries(s, { show: toggle.checked }); });
    });
  }
  if (window.ResizeObserver) {
    new ResizeObserver(function () {
      var w = Math.max(el.clientWidth, 300);
      if (w !== plot.width) plot.setSize({ width: w, height: 300 });
    }).observe(el);
  }
})();
