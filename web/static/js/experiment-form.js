// experiment-form.js: the new-experiment form. It fills the form from a
// preset, edits the layer list (add, remove, move, change type), shows the
// Keras-style summary and every field error live from POST /api/summary, and
// on submit writes the whole spec as JSON into the hidden spec_json field.
(function () {
  "use strict";
  var form = document.getElementById("experiment-form");
  var dataNode = document.getElementById("form-data");
  if (!form || !dataNode) return;
  var data = JSON.parse(dataNode.textContent);
  var presets = {};
  (data.presets || []).forEach(function (p) { presets[p.name] = p; });
  var maxRepeats = data.max_repeats || 20;

  function $(id) { return document.getElementById(id); }
  function clone(v) { return JSON.parse(JSON.stringify(v)); }

  // base holds what the form does not edit (heads, source, preprocessing,
  // min_delta): it comes from the spec first drawn, then from a chosen preset.
  var base = clone(data.spec || {});
  var layersEl = $("layers");
  var template = $("layer-template");

  // Layer defaults when a row changes to a type whose inputs are empty.
  var defaults = {
    dense: { units: 64, activation: "relu" },
    conv2d: { filters: 32, kernel: 3, padding: "same", activation: "relu" },
    maxpool2d: { pool: 2 },
    dropout: { rate: 0.25 },
  };
  // Which fields each layer type sends.
  var fieldsOf = {
    dense: ["units", "activation"],
    conv2d: ["filters", "kernel", "padding", "activation"],
    maxpool2d: ["pool"],
    dropout: ["rate"],
    flatten: [],
    batchnorm: [],
  };
  var intFields = { units: true, filters: true, kernel: true, pool: true };
  // Layer fields that take a list or a range (a sweep).
  var sweepable = { units: true, filters: true, rate: true };

  // Errors the page found itself (not from /api/summary), by key.
  var localErrors = {};
  // Errors only the server knows (after a 422) that stay until their input changes.
  var serverOnly = {};
  ["name", "preset", "repeats"].forEach(function (k) {
    if (data.errors && data.errors[k]) serverOnly[k] = data.errors[k];
  });
  var lastErrors = data.errors || {};

  // ---- reading numbers ----

  function readNumber(el, key, whole) {
    var v = el.value.trim();
    if (v === "") return 0;
    var n = Number(v);
    if (!isFinite(n)) {
      localErrors[key] = "enter a number";
      return 0;
    }
    if (whole && Math.floor(n) !== n) {
      localErrors[key] = "enter a whole number";
      return Math.round(n);
    }
    return n;
  }

  // ---- sweeps: a field may hold a list or a range ----

  // sweepParams collects, while readSpec runs, the fields that hold a list
  // ("0.001, 0.0003") or a range ("0.0001..0.01") instead of one value.
  var sweepParams = {};

  // readSweepable reads a field that takes one value, a list or a range.
  // The spec gets the first value (a range's low end); a list or range is
  // recorded in sweepParams under name. Bad input is marked under key.
  function readSweepable(el, key, whole, name) {
    var v = el.value.trim();
    if (v.indexOf("..") >= 0) {
      var ends = v.split("..");
      var lo = Number(ends[0].trim()), hi = Number((ends[1] || "").trim());
      if (ends.length !== 2 || ends[0].trim() === "" || ends[1].trim() === "" || !isFinite(lo) || !isFinite(hi) || !(lo < hi)) {
        localErrors[key] = "a range is low..high with low < high, e.g. 0.0001..0.01";
        return 0;
      }
      if (name === "learning_rate") {
        if (lo <= 0) { localErrors[key] = "a learning-rate range is log-uniform: its low end must be above 0"; return 0; }
        sweepParams[name] = { log_uniform: [lo, hi] };
      } else {
        sweepParams[name] = { uniform: [lo, hi] };
      }
      return whole ? Math.round(lo) : lo;
    }
    if (v.indexOf(",") >= 0) {
      var parts = v.split(",").map(function (x) { return x.trim(); }).filter(function (x) { return x !== ""; });
      var list = [];
      for (var i = 0; i < parts.length; i++) {
        var n = Number(parts[i]);
        if (!isFinite(n)) { localErrors[key] = "a list is numbers separated by commas: " + JSON.stringify(parts[i]) + " is not one"; return 0; }
        if (whole && Math.floor(n) !== n) { localErrors[key] = "enter whole numbers: " + parts[i] + " is not one"; return 0; }
        list.push(n);
      }
      if (list.length === 0) return 0;
      if (list.length > 1) sweepParams[name] = list;
      return list[0];
    }
    return readNumber(el, key, whole);
  }

  // sweepOf is the sweep the fields make, or null when every field holds one value.
  function sweepOf() {
    var names = Object.keys(sweepParams);
    if (names.length === 0) return null;
    var mode = $("sweep_mode").value;
    var steps = Number($("sweep_steps").value) || 3;
    var params = {};
    names.forEach(function (n) {
      var p = sweepParams[n];
      if (!Array.isArray(p) && mode === "grid") p.steps = steps;
      params[n] = p;
    });
    var sw = { mode: mode, params: params };
    if (mode === "random") {
      sw.samples = readNumber($("sweep_samples"), "sweep.samples", true);
    }
    if (checked("asha_enabled")) {
      sw.asha = {
        metric: $("asha_metric").value,
        min_epochs: readNumber($("asha_min_epochs"), "sweep.asha.min_epochs", true),
        eta: readNumber($("asha_eta"), "sweep.asha.eta", true),
      };
    }
    return sw;
  }

  // ---- layer rows ----

  function rows() { return Array.prototype.slice.call(layersEl.querySelectorAll(".layer-row")); }

  function input(row, field) { return row.querySelector('[data-field="' + field + '"]'); }

  function newRow(layer) {
    var row = template.content.querySelector(".layer-row").cloneNode(true);
    row.classList.remove("invalid-row");
    setRow(row, layer);
    return row;
  }

  function setRow(row, layer) {
    var type = layer.type || "dense";
    var typeSel = input(row, "type");
    if (!Array.prototype.some.call(typeSel.options, function (o) { return o.value === type; })) {
      var opt = document.createElement("option");
      opt.value = opt.textContent = type;
      typeSel.appendChild(opt);
    }
    typeSel.value = type;
    row.setAttribute("data-type", type);
    ["units", "filters", "kernel", "pool"].forEach(function (f) {
      input(row, f).value = layer[f] ? String(layer[f]) : "";
    });
    input(row, "rate").value = layer.rate != null ? String(layer.rate) : "0";
    input(row, "padding").value = layer.padding || "same";
    input(row, "activation").value = layer.activation || "";
  }

  function readRow(row, i) {
    var type = input(row, "type").value;
    var layer = { type: type };
    (fieldsOf[type] || []).forEach(function (f) {
      var el = input(row, f);
      if (el.tagName === "SELECT") {
        if (el.value !== "") layer[f] = el.value;
      } else {
        var key = "layers[" + i + "]." + f;
        layer[f] = sweepable[f] ? readSweepable(el, key, !!intFields[f], key) : readNumber(el, key, !!intFields[f]);
      }
    });
    return layer;
  }

  function renumber() {
    var all = rows();
    all.forEach(function (row, i) {
      row.setAttribute("data-index", i);
      row.querySelector(".layer-num").textContent = i + 1;
      row.querySelectorAll("[data-field]").forEach(function (el) {
        el.id = "layer-" + i + "-" + el.getAttribute("data-field");
      });
      row.querySelector('[data-action="up"]').disabled = i === 0;
      row.querySelector('[data-action="down"]').disabled = i === all.length - 1;
    });
  }

  function setLayers(layers) {
    layersEl.innerHTML = "";
    (layers || []).forEach(function (l) { layersEl.appendChild(newRow(l)); });
    renumber();
  }

  layersEl.addEventListener("click", function (ev) {
    var btn = ev.target.closest("button[data-action]");
    if (!btn) return;
    var row = btn.closest(".layer-row");
    var action = btn.getAttribute("data-action");
    if (action === "remove") {
      row.remove();
    } else if (action === "up" && row.previousElementSibling) {
      layersEl.insertBefore(row, row.previousElementSibling);
    } else if (action === "down" && row.nextElementSibling) {
      layersEl.insertBefore(row.nextElementSibling, row);
    }
    renumber();
    changed();
  });

  layersEl.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.getAttribute("data-field") !== "type") return;
    var row = el.closest(".layer-row");
    row.setAttribute("data-type", el.value);
    var d = defaults[el.value] || {};
    Object.keys(d).forEach(function (f) {
      var inp = input(row, f);
      if (inp.tagName !== "SELECT" && (inp.value === "" || inp.value === "0")) inp.value = String(d[f]);
    });
  });

  $("add-layer").addEventListener("click", function () {
    // New layers go before the output layer, where hidden layers belong.
    var all = rows();
    var row = newRow({ type: "dense", units: 64, activation: "relu" });
    if (all.length > 0) {
      layersEl.insertBefore(row, all[all.length - 1]);
    } else {
      layersEl.appendChild(row);
    }
    renumber();
    input(row, "units").focus();
    changed();
  });

  // ---- the whole spec ----

  function checked(id) { var el = $(id); return !!(el && el.checked); }

  function readSpec() {
    localErrors = {};
    sweepParams = {};
    var spec = clone(base);
    spec.dataset = $("dataset").value;
    spec.layers = rows().map(readRow);
    spec.optimizer = $("optimizer").value;
    spec.device = $("device").value;
    spec.epochs = readSweepable($("epochs"), "epochs", true, "epochs");
    spec.batch_size = readSweepable($("batch_size"), "batch_size", true, "batch_size");
    spec.learning_rate = readSweepable($("learning_rate"), "learning_rate", false, "learning_rate");
    spec.train_fraction = readNumber($("train_fraction"), "train_fraction", false);
    spec.val_fraction = readNumber($("val_fraction"), "val_fraction", false);
    spec.train_limit = readNumber($("train_limit"), "train_limit", true);
    if (!spec.train_limit) delete spec.train_limit;
    spec.seed = readNumber($("seed"), "seed", true);
    if (window.trainyardCaptcha) window.trainyardCaptcha.apply(spec); // captcha-form.js
    if (checked("es_enabled")) {
      spec.early_stopping = {
        patience: readNumber($("es_patience"), "early_stopping.patience", true),
        min_delta: (base.early_stopping && base.early_stopping.min_delta) || 0,
        restore_best: checked("es_restore_best"),
      };
    } else {
      delete spec.early_stopping;
    }
    if (checked("rlr_enabled")) {
      spec.reduce_lr = {
        factor: readNumber($("rlr_factor"), "reduce_lr.factor", false),
        patience: readNumber($("rlr_patience"), "reduce_lr.patience", true),
        min_lr: readNumber($("rlr_min_lr"), "reduce_lr.min_lr", false),
      };
    } else {
      delete spec.reduce_lr;
    }
    var reps = readNumber($("repeats"), "repeats", true);
    if (!localErrors.repeats && (reps < 1 || reps > maxRepeats)) {
      localErrors.repeats = "repeats must be 1.." + maxRepeats;
    }
    return spec;
  }

  function setValue(id, v) { var el = $(id); if (el) el.value = v == null ? "" : String(v); }

  function fillForm(spec) {
    base = clone(spec);
    setValue("dataset", spec.dataset);
    setLayers(spec.layers);
    setValue("optimizer", spec.optimizer);
    setValue("device", spec.device || "any");
    setValue("epochs", spec.epochs);
    setValue("batch_size", spec.batch_size);
    setValue("learning_rate", spec.learning_rate);
    setValue("train_fraction", spec.train_fraction);
    setValue("val_fraction", spec.val_fraction);
    setValue("train_limit", spec.train_limit || "");
    setValue("seed", spec.seed);
    $("es_enabled").checked = !!spec.early_stopping;
    if (spec.early_stopping) {
      setValue("es_patience", spec.early_stopping.patience);
      $("es_restore_best").checked = !!spec.early_stopping.restore_best;
    }
    $("rlr_enabled").checked = !!spec.reduce_lr;
    if (spec.reduce_lr) {
      setValue("rlr_factor", spec.reduce_lr.factor);
      setValue("rlr_patience", spec.reduce_lr.patience);
      setValue("rlr_min_lr", spec.reduce_lr.min_lr);
    }
    syncCallbacks();
  }

  function syncCallbacks() {
    $("asha_fields").classList.toggle("off", !checked("asha_enabled"));
    $("es_fields").classList.toggle("off", !checked("es_enabled"));
    $("rlr_fields").classList.toggle("off", !checked("rlr_enabled"));
  }

  $("preset").addEventListener("change", function () {
    var p = presets[this.value];
    var desc = $("preset-description");
    if (desc) desc.textContent = p ? p.description : "";
    delete serverOnly.preset;
    if (p) fillForm(p.spec);
    changed();
  });

  $("dataset").addEventListener("change", function () {
    if (this.value === "captcha") {
      base.heads = base.heads > 1 ? base.heads : 4;
      var d = data.captcha_defaults || {};
      base.source = base.source || { kind: d.kind, images: d.images, seed: d.seed };
      base.preprocessing = base.preprocessing || d.preprocessing;
    } else {
      base.heads = 1;
      delete base.source;
      delete base.preprocessing;
    }
  });

  // ---- errors ----

  var inputFor = {
    "early_stopping.patience": "es_patience",
    "reduce_lr.factor": "rlr_factor",
    "reduce_lr.patience": "rlr_patience",
    "reduce_lr.min_lr": "rlr_min_lr",
    "sweep.mode": "sweep_mode",
    "sweep.samples": "sweep_samples",
    "sweep.asha.metric": "asha_metric",
    "sweep.asha.min_epochs": "asha_min_epochs",
    "sweep.asha.eta": "asha_eta",
  };
  var layerKey = /^layers\[(\d+)\](?:\.(\w+))?$/;

  function showErrors(errs) {
    lastErrors = errs;
    form.querySelectorAll("[data-error-for]").forEach(function (el) { el.textContent = ""; });
    form.querySelectorAll(".invalid").forEach(function (el) { el.classList.remove("invalid"); });
    form.querySelectorAll(".invalid-row").forEach(function (el) { el.classList.remove("invalid-row"); });
    form.querySelectorAll(".row-errors").forEach(function (el) { el.innerHTML = ""; });
    var list = $("form-errors-list");
    list.innerHTML = "";
    var all = rows();
    var keys = Object.keys(errs).sort();
    keys.forEach(function (key) {
      var msg = errs[key];
      // A swept setting's error (sweep.params.learning_rate) shows at its field.
      if (key.indexOf("sweep.params.") === 0) {
        var at = key.slice("sweep.params.".length);
        if (layerKey.test(at) || form.querySelector('[data-error-for="' + at + '"]')) {
          msg = key + ": " + msg;
          key = at;
        }
      }
      var m = layerKey.exec(key);
      if (m && all[+m[1]]) {
        var row = all[+m[1]];
        row.classList.add("invalid-row");
        var li = document.createElement("li");
        li.setAttribute("data-key", key);
        if (m[2]) {
          var b = document.createElement("b");
          b.textContent = m[2] + ": ";
          li.appendChild(b);
          var inp = input(row, m[2]);
          if (inp) inp.classList.add("invalid");
        }
        li.appendChild(document.createTextNode(msg));
        row.querySelector(".row-errors").appendChild(li);
        return;
      }
      var slot = form.querySelector('[data-error-for="' + key + '"]');
      if (slot) {
        slot.textContent = msg;
        var target = $(inputFor[key] || key);
        if (target) target.classList.add("invalid");
        return;
      }
      var item = document.createElement("li");
      item.setAttribute("data-key", key);
      var code = document.createElement("code");
      code.textContent = key;
      item.appendChild(code);
      item.appendChild(document.createTextNode(": " + msg));
      list.appendChild(item);
    });
    $("form-errors").classList.toggle("hidden", keys.length === 0);
  }

  function merged(specErrors) {
    var out = {};
    Object.keys(serverOnly).forEach(function (k) { out[k] = serverOnly[k]; });
    Object.keys(specErrors || {}).forEach(function (k) { out[k] = specErrors[k]; });
    Object.keys(localErrors).forEach(function (k) { out[k] = localErrors[k]; });
    return out;
  }

  // ---- the live summary ----

  function fmtInt(n) { return (n || 0).toLocaleString("en-US"); }

  function showSummary(sum) {
    var body = $("model-summary-body");
    body.innerHTML = "";
    (sum.layers || []).forEach(function (l) {
      var tr = document.createElement("tr");
      var name = document.createElement("td");
      name.textContent = l.name + " ";
      var type = document.createElement("span");
      type.className = "muted";
      type.textContent = "(" + l.type + ")";
      name.appendChild(type);
      var shape = document.createElement("td");
      var code = document.createElement("code");
      code.textContent = l.output_shape;
      shape.appendChild(code);
      var params = document.createElement("td");
      params.className = "num";
      params.textContent = fmtInt(l.params);
      tr.appendChild(name);
      tr.appendChild(shape);
      tr.appendChild(params);
      body.appendChild(tr);
    });
    $("model-summary-total").textContent = fmtInt(sum.total_params);
    $("model-summary-trainable").textContent = fmtInt(sum.trainable_params);
    $("model-summary-nontrainable").textContent = fmtInt((sum.total_params || 0) - (sum.trainable_params || 0));
  }

  var timer = null;
  var seq = 0;
  var state = $("summary-state");

  function refresh() {
    var spec = readSpec();
    var mine = ++seq;
    state.textContent = "updating…";
    fetch("/api/summary", {
      method: "POST",
      headers: trainyard.headers({ "Content-Type": "application/json", "Accept": "application/json" }),
      body: JSON.stringify(spec),
    }).then(function (res) {
      if (!res.ok && res.status !== 422) throw new Error("HTTP " + res.status);
      return res.json();
    }).then(function (out) {
      if (mine !== seq) return;
      if (out.summary) showSummary(out.summary);
      if (typeof out.estimate_text === "string") $("model-estimate").textContent = out.estimate_text;
      showErrors(merged(out.errors));
      state.textContent = "";
      return preview(spec, mine, out.errors || {});
    }).catch(function () {
      if (mine !== seq) return;
      showErrors(merged(lastErrorsOfSpec()));
      state.textContent = "(could not update)";
    });
  }

  // preview asks the server what the form would queue (how many runs, their
  // estimated total time) and shows it, with the sweep's own errors.
  function preview(spec, mine, specErrors) {
    var sw = sweepOf();
    var reps = Number($("repeats").value);
    var body = { preset: $("preset").value, spec: spec, repeats: reps >= 1 && Math.floor(reps) === reps ? reps : 1, sweep: sw };
    var el = $("sweep-summary");
    return fetch("/api/experiments/preview", {
      method: "POST",
      headers: trainyard.headers({ "Content-Type": "application/json", "Accept": "application/json" }),
      body: JSON.stringify(body),
    }).then(function (res) {
      if (!res.ok) throw new Error("HTTP " + res.status);
      return res.json();
    }).then(function (out) {
      if (mine !== seq) return;
      el.textContent = out.text || "";
      el.setAttribute("data-runs", out.runs || 0);
      el.classList.toggle("invalid-text", Object.keys(out.errors || {}).length > 0);
      var all = {};
      Object.keys(specErrors).forEach(function (k) { all[k] = specErrors[k]; });
      Object.keys(out.errors || {}).forEach(function (k) { if (k.indexOf("sweep") === 0) all[k] = out.errors[k]; });
      showErrors(merged(all));
    }).catch(function () {
      if (mine === seq) el.textContent = "(could not count the runs)";
    });
  }

  // lastErrorsOfSpec keeps the spec errors last shown when the summary could
  // not be fetched, so a network blip does not hide them.
  function lastErrorsOfSpec() {
    var out = {};
    Object.keys(lastErrors).forEach(function (k) {
      if (!(k in serverOnly) && k !== "repeats") out[k] = lastErrors[k];
    });
    return out;
  }

  // batchNote says how many images an epoch trains when the training image
  // cap is not a multiple of the batch size (runs.WholeBatchesNote).
  function batchNote() {
    var el = $("train-limit-batches");
    if (!el) return;
    var limit = Number($("train_limit").value), batch = Number($("batch_size").value);
    var text = "";
    if (limit > 0 && batch > 0 && Math.floor(limit) === limit && Math.floor(batch) === batch && limit % batch !== 0) {
      var n = Math.ceil(limit / batch) * batch;
      text = "Epochs train whole batches: " + fmtInt(limit) + " images at batch size " + batch + " train " + fmtInt(n) +
        " per epoch (the last batch is topped up from the start of the shuffled order). Use a multiple of " + batch + " for exactly the cap.";
    }
    el.textContent = text;
  }

  function changed() {
    batchNote();
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  form.addEventListener("input", function (ev) {
    var id = ev.target.id;
    if (id === "name" || id === "repeats") {
      delete serverOnly[id];
      if (id === "name") {
        var slot = $("name-error");
        if (slot) slot.textContent = "";
        ev.target.classList.remove("invalid");
        return;
      }
    }
    changed();
  });
  form.addEventListener("change", function (ev) {
    if (ev.target.id === "es_enabled" || ev.target.id === "rlr_enabled" || ev.target.id === "asha_enabled") syncCallbacks();
    if (ev.target.id !== "name" && ev.target.id !== "preset") changed();
  });

  // Submit sends nothing the page has marked invalid: a value it would have
  // to round or guess (batch size 64.5) keeps the form here with the field
  // named, and only a clean spec is written to spec_json.
  form.addEventListener("submit", function (ev) {
    var spec = readSpec();
    if (Object.keys(localErrors).length > 0) {
      ev.preventDefault();
      $("spec_json").value = "";
      showErrors(merged(lastErrorsOfSpec()));
      var first = form.querySelector(".invalid");
      if (first && first.focus) first.focus();
      return;
    }
    $("spec_json").value = JSON.stringify(spec);
    var sw = sweepOf();
    $("sweep_json").value = sw ? JSON.stringify(sw) : "";
  });

  renumber();
  syncCallbacks();
  batchNote();
  refresh();
})();
