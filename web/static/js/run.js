// run.js: the run page. It draws the loss and accuracy curves from the stored
// epochs and, while the run is queued or running, listens to the run's
// server-sent events (/api/runs/:id/events, through htmx's SSE extension):
//   progress {epoch, epochs, batch, batches, images_per_sec, eta_seconds}
//   epoch    {a runs.Epoch}
//   status   {status, error, worker}
// and keeps the progress bars, curves and badge current. When the status
// becomes final the page reloads once to show the results.
(function () {
  "use strict";
  var C = window.trainyardCharts;
  var node = document.getElementById("run-data");
  if (!node) return;
  var run = JSON.parse(node.textContent);
  var epochs = (run.epochs || []).slice();
  var FINAL = { succeeded: true, failed: true, cancelled: true, stopped: true };

  function $(id) { return document.getElementById(id); }
  function setText(id, text) { var el = $(id); if (el) el.textContent = text; }

  // Charts.
  // A multi-head model (a CAPTCHA) has image accuracy (every head right)
  // and character accuracy; both are drawn, named as such.
  var multi = (run.heads || 1) > 1;
  var lossChart = null, accChart = null;
  function columns() {
    var n = 0;
    epochs.forEach(function (e) { n = Math.max(n, e.epoch); });
    var xs = C.range(n);
    var acc = [xs, C.byEpoch(epochs, n, "accuracy"), C.byEpoch(epochs, n, "val_accuracy")];
    if (multi) acc.push(C.byEpoch(epochs, n, "char_accuracy"), C.byEpoch(epochs, n, "val_char_accuracy"));
    return { loss: [xs, C.byEpoch(epochs, n, "loss"), C.byEpoch(epochs, n, "val_loss")], acc: acc };
  }
  if (C && window.uPlot) {
    var cols = columns();
    var lines = [
      { label: "train", colour: "#2563eb" },
      { label: "validation", colour: "#ea580c" },
    ];
    var accLines = multi ? [
      { label: "train image", colour: "#2563eb" },
      { label: "validation image", colour: "#ea580c" },
      { label: "train char.", colour: "#2563eb", dash: [6, 4] },
      { label: "validation char.", colour: "#ea580c", dash: [6, 4] },
    ] : lines;
    if ($("chart-loss")) lossChart = C.lineChart($("chart-loss"), { title: "Loss", series: lines, data: cols.loss, sync: "run" });
    if ($("chart-accuracy")) accChart = C.lineChart($("chart-accuracy"), { title: multi ? "Accuracy: image (all characters) and character" : "Accuracy", percent: true, series: accLines, data: cols.acc, sync: "run" });
  }
  function redraw() {
    var cols = columns();
    if (lossChart) lossChart.setData(cols.loss);
    if (accChart) accChart.setData(cols.acc);
    var none = $("no-epochs");
    if (none && epochs.length) none.hidden = true;
    epochRows();
  }

  // The epochs table: one row per finished epoch, formatted as the server
  // formats it (web/format.go), and the count in its heading.
  function pct(v) { return v == null ? "–" : (v * 100).toFixed(2) + "%"; }
  function fixed(v, n) { return v == null ? "–" : v.toFixed(n); }
  function epochRows() {
    var body = $("epochs-body");
    if (!body) return;
    var cells = function (e) {
      var out = [String(e.epoch), fixed(e.loss, 4), pct(e.accuracy)];
      if (multi) out.push(pct(e.char_accuracy));
      out.push(fixed(e.val_loss, 4), pct(e.val_accuracy));
      if (multi) out.push(pct(e.val_char_accuracy));
      out.push(String(e.learning_rate), C.seconds(e.seconds));
      return out;
    };
    var rows = [];
    epochs.forEach(function (e) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-epoch", e.epoch);
      cells(e).forEach(function (text) {
        var td = document.createElement("td");
        td.className = "num";
        td.textContent = text;
        tr.appendChild(td);
      });
      rows.push(tr);
    });
    body.replaceChildren.apply(body, rows);
    setText("epochs-count", String(epochs.length));
  }

  // Status badge.
  function setStatus(status, worker) {
    if (worker) {
      setText("worker", worker);
      var line = $("worker-line");
      if (line) line.hidden = false;
    }
    if (status !== "queued") {
      var waiting = $("run-waiting");
      if (waiting) waiting.hidden = true;
    }
    var holder = $("status");
    var badge = holder && holder.querySelector(".badge");
    if (badge) {
      badge.className = "badge badge-" + status;
      badge.textContent = status;
      badge.setAttribute("data-status", status);
    }
    if (status !== "queued") {
      var q = $("queued-note");
      if (q) q.hidden = true;
    }
  }

  // Progress bars.
  function setProgress(p) {
    setText("p-epoch", p.epoch);
    setText("p-epochs", p.epochs);
    setText("p-batch", p.batch);
    setText("p-batches", p.batches > 0 ? p.batches : "–");
    var ep = $("epoch-progress");
    if (ep && p.epochs > 0) {
      ep.max = p.epochs;
      var within = p.batches > 0 ? p.batch / p.batches : 0;
      ep.value = Math.min(p.epochs, Math.max(0, p.epoch - 1) + within);
    }
    var bp = $("batch-progress");
    if (bp && p.batches > 0) {
      bp.max = p.batches;
      bp.value = p.batch;
    }
    setText("p-speed", p.images_per_sec > 0 ? Math.round(p.images_per_sec).toLocaleString("en-US") + " images/s" : "– images/s");
    setText("p-eta", p.eta_seconds > 0 ? C.seconds(p.eta_seconds) + " left" : "– left");
  }

  // A final status reloads the page once (never in a loop, should the server
  // still report the run as live right after).
  function finish(status) {
    var key = "trainyard-reloaded-" + run.id;
    try {
      if (sessionStorage.getItem(key) === status) {
        setText("live-state", "finished: reload the page for the results");
        return;
      }
      sessionStorage.setItem(key, status);
    } catch (e) { /* storage off: reload anyway */ }
    window.location.reload();
  }

  // htmx's SSE extension holds the connection (hx-ext="sse" sse-connect on
  // #live) and re-fires each server-sent event on #live-events as
  // "sse:<kind>", with the message in ev.detail.
  var live = $("live"), events = $("live-events");
  if (FINAL[run.status] || !live || !events) return;
  var closed = false;
  live.addEventListener("htmx:sseOpen", function () { setText("live-state", "live"); });
  live.addEventListener("htmx:sseError", function () {
    if (!closed) setText("live-state", "reconnecting…");
  });
  function data(ev) { return JSON.parse(ev.detail.data); }
  events.addEventListener("sse:progress", function (ev) {
    setProgress(data(ev));
    setStatus("running");
  });
  events.addEventListener("sse:epoch", function (ev) {
    var e = data(ev);
    epochs = epochs.filter(function (x) { return x.epoch !== e.epoch; });
    epochs.push(e);
    epochs.sort(function (a, b) { return a.epoch - b.epoch; });
    redraw();
  });
  events.addEventListener("sse:status", function (ev) {
    var s = data(ev);
    setStatus(s.status, s.worker);
    if (FINAL[s.status] && !closed) {
      closed = true;
      htmx.trigger(live, "htmx:beforeCleanupElement"); // closes the event source
      finish(s.status);
    }
  });
})();
