// captcha-run.js: the run page's per-head curves (from the stored epochs in
// #run-data), the prediction form (#predict-form, POST /api/runs/:id/predict)
// and the evaluation form (#evaluate-form, POST /api/runs/:id/evaluate).
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }

  function drawHeads() {
    var node = $("run-data");
    var C = window.trainyardCharts;
    if (!node || !C || !window.uPlot || !$("chart-head-loss")) return;
    var run = JSON.parse(node.textContent);
    var epochs = run.epochs || [];
    var heads = run.heads || 1;
    var n = 0;
    epochs.forEach(function (e) { n = Math.max(n, e.epoch); });
    var xs = C.range(n);
    var colours = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#be185d", "#4d7c0f"];
    function cols(metric) {
      var out = [xs];
      for (var h = 0; h < heads; h++) {
        var ys = new Array(n).fill(null);
        epochs.forEach(function (e) {
          if (e.heads && e.heads[h] && e.epoch >= 1) ys[e.epoch - 1] = e.heads[h][metric];
        });
        out.push(ys);
      }
      return out;
    }
    var series = [];
    for (var h = 0; h < heads; h++) series.push({ label: "head " + (h + 1), colour: colours[h % colours.length] });
    C.lineChart($("chart-head-loss"), { title: "Validation loss per head", series: series, data: cols("val_loss"), sync: "heads" });
    C.lineChart($("chart-head-accuracy"), { title: "Validation accuracy per head", percent: true, series: series, data: cols("val_accuracy"), sync: "heads" });
  }

  function show(el, html) { el.innerHTML = html; }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]; }); }

  function predict() {
    var form = $("predict-form");
    if (!form) return;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var out = $("predict-result");
      show(out, '<p class="muted">Predicting…</p>');
      fetch(form.dataset.url, { method: "POST", headers: trainyard.headers(), body: new FormData(form) })
        .then(function (res) { return res.json().then(function (b) { return { ok: res.ok, body: b }; }); })
        .then(function (r) {
          if (!r.ok) { show(out, '<div class="alert error" role="alert">' + esc(r.body.error || "prediction failed") + "</div>"); return; }
          var chars = (r.body.chars || []).map(function (c) {
            return "<li><b>" + esc(c.char) + "</b> " + (c.p * 100).toFixed(1) + "%</li>";
          }).join("");
          show(out, '<p class="stat-value" id="predict-text">' + esc(r.body.text) + '</p><ol class="predict-chars">' + chars + "</ol>");
        })
        .catch(function (e) { show(out, '<div class="alert error">' + esc(e.message) + "</div>"); });
    });
  }

  function pct(x) { return x == null ? "–" : (x * 100).toFixed(2) + "%"; }
  function stat(cls, label, value, note) {
    return '<div class="stat ' + cls + '"><span class="stat-label">' + label + '</span><span class="stat-value">' + esc(value) + "</span>" +
      (note ? '<span class="stat-note">' + esc(note) + "</span>" : "") + "</div>";
  }

  function evaluate() {
    var form = $("evaluate-form");
    if (!form) return;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var out = $("evaluate-result");
      var button = form.querySelector("button");
      button.disabled = true;
      show(out, '<p class="muted">Evaluating every image of the dataset…</p>');
      fetch(form.dataset.url, {
        method: "POST",
        headers: trainyard.headers({ "Content-Type": "application/json" }),
        body: JSON.stringify({ dataset_id: parseInt($("evaluate-dataset").value, 10) || 0 }),
      })
        .then(function (res) { return res.json().then(function (b) { return { ok: res.ok, body: b }; }); })
        .then(function (r) {
          if (!r.ok) {
            var msg = r.body.error || (r.body.errors && Object.values(r.body.errors).join("; ")) || "evaluation failed";
            show(out, '<div class="alert error" role="alert">' + esc(msg) + "</div>");
            return;
          }
          var b = r.body;
          show(out, '<div class="stats eval-stats">' +
            stat("primary eval-image-acc", "Image accuracy", pct(b.image_accuracy || 0), "all characters right") +
            stat("eval-char-acc", "Char accuracy", pct(b.char_accuracy || 0)) +
            stat("eval-ms", "Inference", b.ms_per_image.toFixed(3) + " ms", "per image") +
            stat("eval-images", "Images", String(b.images)) + "</div>");
        })
        .catch(function (e) { show(out, '<div class="alert error">' + esc(e.message) + "</div>"); })
        .then(function () { button.disabled = false; });
    });
  }

  // Deferred scripts run before DOMContentLoaded, so charts.js and uPlot
  // (included after this script) are there by then.
  function start() { drawHeads(); predict(); evaluate(); }
  if (document.readyState === "complete") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
