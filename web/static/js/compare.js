// compare.js: the compare page. It overlays the runs' curves in four charts
// (one colour per run, legends toggle runs, cursors move together) and wires
// the "Only differences" checkbox of the parameter table.
(function () {
  "use strict";
  var C = window.trainyardCharts;
  var node = document.getElementById("compare-data");
  if (!C || !node || !window.uPlot) return;
  var runs = JSON.parse(node.textContent) || [];

  var n = 0;
  runs.forEach(function (r) {
    (r.epochs || []).forEach(function (e) { n = Math.max(n, e.epoch); });
  });
  var xs = C.range(n);
  var series = runs.map(function (r) { return { label: r.label, colour: r.colour }; });

  // Multi-head runs (CAPTCHAs): accuracy is image accuracy (every head
  // right), and the character accuracy gets charts of its own.
  var multi = runs.some(function (r) { return r.heads > 1; });
  [
    ["chart-train-loss", "Training loss", "loss", false],
    ["chart-val-loss", "Validation loss", "val_loss", false],
    ["chart-train-accuracy", multi ? "Training image accuracy" : "Training accuracy", "accuracy", true],
    ["chart-val-accuracy", multi ? "Validation image accuracy" : "Validation accuracy", "val_accuracy", true],
    ["chart-train-char-accuracy", "Training character accuracy", "char_accuracy", true],
    ["chart-val-char-accuracy", "Validation character accuracy", "val_char_accuracy", true],
  ].forEach(function (c) {
    var el = document.getElementById(c[0]);
    if (!el) return;
    var data = [xs].concat(runs.map(function (r) { return C.byEpoch(r.epochs || [], n, c[2]); }));
    C.lineChart(el, { title: c[1], percent: c[3], sync: "compare", series: series, data: data });
  });

  var only = document.getElementById("only-diff");
  var table = document.getElementById("params");
  if (only && table) {
    var apply = function () { table.classList.toggle("only-diff", only.checked); };
    only.addEventListener("change", apply);
    apply();
  }
})();
