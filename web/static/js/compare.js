// compare.js: the compare page. It overlays the runs' curves in four charts
// (a colour and a line style per run, legends toggle runs, cursors move
// together) against epochs or wall-clock time, keeps the "time to X%
// validation accuracy" column in step with X, and wires the "Only
// differences" checkbox of the parameter table.
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
  var series = runs.map(function (r) { return { label: r.label, colour: r.colour, dash: r.dash }; });

  // Multi-head runs (CAPTCHAs): accuracy is image accuracy (every head
  // right), and the character accuracy gets charts of its own.
  var multi = runs.some(function (r) { return r.heads > 1; });
  var charts = [
    ["chart-train-loss", "Training loss", "loss", false],
    ["chart-val-loss", "Validation loss", "val_loss", false],
    ["chart-train-accuracy", multi ? "Training image accuracy" : "Training accuracy", "accuracy", true],
    ["chart-val-accuracy", multi ? "Validation image accuracy" : "Validation accuracy", "val_accuracy", true],
    ["chart-train-char-accuracy", "Training character accuracy", "char_accuracy", true],
    ["chart-val-char-accuracy", "Validation character accuracy", "val_char_accuracy", true],
  ];

  // draw (re)draws every chart against epochs or, with time, against each
  // run's wall-clock training time (uPlot.join aligns the runs' x values).
  function draw(time) {
    charts.forEach(function (c) {
      var el = document.getElementById(c[0]);
      if (!el) return;
      if (n === 0) {
        C.empty(el, c[1] + ": no epoch has finished yet.");
        return;
      }
      if (el.uplot) { el.uplot.destroy(); el.uplot = null; }
      var data;
      if (time) {
        data = window.uPlot.join(runs.map(function (r) { return C.byTime(r.epochs || [], c[2]); }));
      } else {
        data = [C.range(n)].concat(runs.map(function (r) { return C.byEpoch(r.epochs || [], n, c[2]); }));
      }
      C.lineChart(el, { title: c[1], percent: c[3], sync: "compare", series: series, data: data, time: time });
      el.setAttribute("data-x", time ? "time" : "epoch");
    });
  }
  draw(false);
  document.querySelectorAll('input[name="x-axis"]').forEach(function (el) {
    el.addEventListener("change", function () { if (el.checked) draw(el.value === "time"); });
  });

  // The "time to X% validation accuracy" column follows the X typed above it.
  var target = document.getElementById("target");
  if (target) {
    target.addEventListener("input", function () {
      var x = Number(target.value) / 100;
      if (!(x > 0 && x <= 1)) return;
      var cells = document.querySelectorAll("#summary tbody tr");
      cells.forEach(function (tr, i) {
        var td = tr.querySelector("[data-time-to]");
        var r = runs[i];
        if (!td || !r) return;
        var t = 0, text = "–";
        (r.epochs || []).some(function (e) {
          t += e.seconds || 0;
          if (e.val_accuracy != null && e.val_accuracy >= x) {
            text = C.seconds(t) + " (epoch " + e.epoch + ")";
            return true;
          }
          return false;
        });
        td.textContent = text;
      });
    });
  }

  var only = document.getElementById("only-diff");
  var table = document.getElementById("params");
  if (only && table) {
    var apply = function () { table.classList.toggle("only-diff", only.checked); };
    only.addEventListener("change", apply);
    apply();
  }
})();
