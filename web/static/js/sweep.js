// sweep.js: the sweep section of an experiment page. A parallel-coordinates
// plot of the swept settings and test accuracy (drag along an axis to brush
// a range: the table keeps only the configurations inside every brush), a
// scatter of test accuracy against one setting, and a table sorted by any
// column. Data comes from the page's #sweep-data JSON; no inline script.
(function () {
  "use strict";
  var dataEl = document.getElementById("sweep-data");
  if (!dataEl) return;
  var data = JSON.parse(dataEl.textContent);
  var params = data.params, rows = data.rows, best = data.best;
  var NS = "http://www.w3.org/2000/svg";
  var W = 640, H = 280, PAD = { l: 48, r: 48, t: 22, b: 30 };
  // Axes: each setting, then test accuracy (the metric).
  var axes = params.map(function (name, i) {
    return { name: name, value: function (r) { return r.values[i]; } };
  });
  axes.push({ name: "test accuracy", metric: true, value: function (r) { return r.test_accuracy; } });
  var brushes = axes.map(function () { return null; }); // [lo, hi] in data units

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(v) {
    if (v === null || v === undefined) return "–";
    var a = Math.abs(v);
    if (a !== 0 && (a < 0.01 || a >= 1e5)) return v.toExponential(1);
    return String(Math.round(v * 1e4) / 1e4);
  }
  function pct(v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(2) + "%"; }
  // Log scale for a setting whose values span more than 20x and are positive.
  function scaleOf(axis) {
    var vs = rows.map(axis.value).filter(function (v) { return v !== null && v !== undefined; });
    var lo = Math.min.apply(null, vs), hi = Math.max.apply(null, vs);
    if (!vs.length) { lo = 0; hi = 1; }
    var log = !axis.metric && lo > 0 && hi / lo > 20;
    var f = log ? Math.log : function (x) { return x; };
    var a = f(lo), b = f(hi);
    if (a === b) { a -= 1; b += 1; }
    return {
      lo: lo, hi: hi, log: log,
      y: function (v) { return PAD.t + (1 - (f(v) - a) / (b - a)) * (H - PAD.t - PAD.b); },
      inv: function (y) {
        var t = 1 - (y - PAD.t) / (H - PAD.t - PAD.b);
        var x = a + t * (b - a);
        return log ? Math.exp(x) : x;
      }
    };
  }
  var scales = axes.map(scaleOf);
  // Colour by test accuracy: low red, high blue; grey while unknown.
  var ms = scales[scales.length - 1];
  function colour(r) {
    if (r.test_accuracy === null) return "#9ca3af";
    var t = ms.hi > ms.lo ? (r.test_accuracy - ms.lo) / (ms.hi - ms.lo) : 1;
    return "hsl(" + Math.round(10 + t * 200) + ", 70%, 45%)";
  }
  function inBrushes(r) {
    for (var i = 0; i < axes.length; i++) {
      var b = brushes[i];
      if (!b) continue;
      var v = axes[i].value(r);
      if (v === null || v < b[0] || v > b[1]) return false;
    }
    return true;
  }

  var par = document.getElementById("sweep-parallel");
  par.setAttribute("viewBox", "0 0 " + W + " " + H);
  function axisX(i) { return PAD.l + i * (W - PAD.l - PAD.r) / Math.max(axes.length - 1, 1); }
  function drawParallel() {
    while (par.firstChild) par.removeChild(par.firstChild);
    rows.forEach(function (r, ri) {
      var pts = [];
      axes.forEach(function (a, i) {
        var v = a.value(r);
        if (v !== null && v !== undefined) pts.push(axisX(i) + "," + scales[i].y(v).toFixed(1));
      });
      var on = inBrushes(r);
      el("polyline", {
        points: pts.join(" "), fill: "none", stroke: on ? colour(r) : "#e5e7eb",
        "stroke-width": ri === best ? 3.5 : 1.6, opacity: on ? 0.9 : 0.5, "data-row": ri,
        class: ri === best ? "sweep-line best" : "sweep-line"
      }, par);
    });
    axes.forEach(function (a, i) {
      var x = axisX(i), s = scales[i];
      el("line", { x1: x, x2: x, y1: PAD.t, y2: H - PAD.b, stroke: "#374151" }, par);
      var t = el("text", { x: x, y: H - 8, "text-anchor": "middle", class: "axis-label" }, par);
      t.textContent = a.name + (s.log ? " (log)" : "");
      // The axis's range: its top value above it, its bottom one below, so
      // that no line crosses them.
      [[s.hi, PAD.t - 6], [s.lo, H - PAD.b + 12]].forEach(function (p) {
        var lab = el("text", { x: x, y: p[1], "text-anchor": "middle", class: "tick" }, par);
        lab.textContent = a.metric ? pct(p[0]) : fmt(p[0]);
      });
      if (brushes[i]) {
        var y1 = s.y(brushes[i][1]), y2 = s.y(brushes[i][0]);
        el("rect", { x: x - 7, width: 14, y: Math.min(y1, y2), height: Math.abs(y2 - y1), class: "brush" }, par);
      }
      // The hit area of the axis, for brushing.
      el("rect", { x: x - 12, width: 24, y: PAD.t, height: H - PAD.t - PAD.b, fill: "transparent", "data-axis": i, class: "axis-hit" }, par);
    });
  }
  function svgY(ev) {
    var r = par.getBoundingClientRect();
    return (ev.clientY - r.top) * H / r.height;
  }
  var drag = null;
  par.addEventListener("pointerdown", function (ev) {
    var i = ev.target.getAttribute && ev.target.getAttribute("data-axis");
    if (i === null || i === undefined) return;
    drag = { axis: +i, y0: svgY(ev) };
    par.setPointerCapture(ev.pointerId);
    ev.preventDefault();
  });
  par.addEventListener("pointermove", function (ev) {
    if (!drag) return;
    var s = scales[drag.axis], a = s.inv(drag.y0), b = s.inv(svgY(ev));
    brushes[drag.axis] = [Math.min(a, b), Math.max(a, b)];
    update();
  });
  par.addEventListener("pointerup", function (ev) {
    if (!drag) return;
    if (Math.abs(svgY(ev) - drag.y0) < 3) brushes[drag.axis] = null; // a click clears the brush
    drag = null;
    update();
  });

  var scatter = document.getElementById("sweep-scatter");
  var xsel = document.getElementById("sweep-x");
  scatter.setAttribute("viewBox", "0 0 " + W + " " + H);
  function drawScatter() {
    while (scatter.firstChild) scatter.removeChild(scatter.firstChild);
    var xi = Math.max(params.indexOf(xsel.value), 0);
    var sx = scales[xi], sy = ms;
    var x0 = PAD.l, x1 = W - PAD.r;
    function X(v) {
      var f = sx.log ? Math.log : function (z) { return z; };
      var a = f(sx.lo), b = f(sx.hi);
      if (a === b) { a -= 1; b += 1; }
      return x0 + (f(v) - a) / (b - a) * (x1 - x0);
    }
    el("line", { x1: x0, x2: x1, y1: H - PAD.b, y2: H - PAD.b, stroke: "#374151" }, scatter);
    el("line", { x1: x0, x2: x0, y1: PAD.t, y2: H - PAD.b, stroke: "#374151" }, scatter);
    var xl = el("text", { x: (x0 + x1) / 2, y: H - 6, "text-anchor": "middle", class: "axis-label" }, scatter);
    xl.textContent = params[xi] + (sx.log ? " (log)" : "");
    [sx.lo, sx.hi].forEach(function (v) {
      var t = el("text", { x: X(v), y: H - PAD.b + 14, "text-anchor": "middle", class: "tick" }, scatter);
      t.textContent = fmt(v);
    });
    [sy.lo, sy.hi].forEach(function (v) {
      var t = el("text", { x: x0 - 4, y: sy.y(v) + 4, "text-anchor": "end", class: "tick" }, scatter);
      t.textContent = pct(v);
    });
    rows.forEach(function (r, ri) {
      if (r.test_accuracy === null) return;
      var c = el("circle", {
        cx: X(r.values[xi]).toFixed(1), cy: sy.y(r.test_accuracy).toFixed(1), r: ri === best ? 7 : 4.5,
        fill: inBrushes(r) ? colour(r) : "#e5e7eb", stroke: ri === best ? "#111827" : "none", "stroke-width": 2,
        class: "sweep-point", "data-row": ri
      }, scatter);
      var title = el("title", {}, c);
      title.textContent = params.map(function (n, i) { return n + " " + fmt(r.values[i]); }).join(", ") + ": " + pct(r.test_accuracy);
    });
  }
  xsel.addEventListener("change", drawScatter);

  var table = document.getElementById("sweep-table");
  var tbody = table.tBodies[0];
  var trs = Array.prototype.slice.call(tbody.rows);
  var sortState = { col: "test", desc: true };
  function key(r, col) {
    if (col === "test") return r.test_accuracy;
    if (col === "val") return r.best_val_accuracy;
    return r.values[+col];
  }
  function sortTable() {
    var order = trs.slice().sort(function (a, b) {
      var ra = rows[+a.getAttribute("data-row")], rb = rows[+b.getAttribute("data-row")];
      var x = key(ra, sortState.col), y = key(rb, sortState.col);
      if (x === null && y === null) return 0;
      if (x === null) return 1; // unknown last either way
      if (y === null) return -1;
      return sortState.desc ? y - x : x - y;
    });
    order.forEach(function (tr) { tbody.appendChild(tr); });
    table.querySelectorAll("button.sort").forEach(function (b) {
      var on = b.getAttribute("data-col") === sortState.col;
      b.closest("th").setAttribute("aria-sort", on ? (sortState.desc ? "descending" : "ascending") : "none");
    });
  }
  table.querySelectorAll("button.sort").forEach(function (b) {
    b.addEventListener("click", function () {
      var col = b.getAttribute("data-col");
      sortState = { col: col, desc: sortState.col === col ? !sortState.desc : true };
      sortTable();
    });
  });
  function filterTable() {
    var shown = 0;
    trs.forEach(function (tr) {
      var on = inBrushes(rows[+tr.getAttribute("data-row")]);
      tr.hidden = !on;
      if (on) shown++;
    });
    table.setAttribute("data-shown", shown);
  }
  function update() { drawParallel(); drawScatter(); filterTable(); }
  sortTable();
  update();
})();
