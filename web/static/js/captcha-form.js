// captcha-form.js: the CAPTCHA fields of the experiment form (#captcha-fields).
// It shows them while the dataset is "captcha", fills the imported datasets
// from /api/datasets, follows the chosen preset's source and preprocessing,
// draws a preview from /api/preview, and gives experiment-form.js the values
// through window.trainyardCaptcha.apply(spec).
(function () {
  "use strict";
  function $(id) { return document.getElementById(id); }
  var box = $("captcha-fields");
  if (!box) return;
  var state = JSON.parse(box.dataset.spec || "{}");
  // The defaults come from the server (experiments.DefaultCaptchaSource).
  var defaults = JSON.parse(box.dataset.defaults || "{}");
  var presets = {};

  function isCaptcha() { return $("dataset") && $("dataset").value === "captcha"; }

  function fill(s) {
    $("captcha_source").value = s.kind || defaults.kind;
    $("captcha_images").value = s.images || defaults.images;
    $("captcha_seed").value = s.seed || defaults.seed;
    $("captcha_pre").value = s.preprocessing || defaults.preprocessing;
    if (s.dataset_id) $("captcha_dataset").value = String(s.dataset_id);
    sync();
  }

  function sync() {
    box.hidden = !isCaptcha();
    var kind = $("captcha_source").value;
    box.querySelectorAll("[data-source]").forEach(function (el) { el.hidden = el.dataset.source !== kind; });
  }

  var datasetsLoaded = false;

  function source() {
    if ($("captcha_source").value === "dataset") {
      // Until /api/datasets answers, the list is empty: the spec's own
      // dataset stands in for the choice it will show.
      var id = parseInt($("captcha_dataset").value, 10) || (datasetsLoaded ? 0 : state.dataset_id) || 0;
      return { kind: "dataset", dataset_id: id };
    }
    return { kind: "synthetic", images: parseInt($("captcha_images").value, 10) || 0, seed: parseInt($("captcha_seed").value, 10) || 0 };
  }

  window.trainyardCaptcha = {
    apply: function (spec) {
      if (spec.dataset !== "captcha") return spec;
      spec.source = source();
      spec.preprocessing = $("captcha_pre").value;
      spec.heads = spec.heads > 1 ? spec.heads : 4;
      return spec;
    },
  };

  var timer = null;
  function preview() {
    clearTimeout(timer);
    timer = setTimeout(function () {
      if (!isCaptcha()) return;
      var src = source();
      var q = "mode=" + encodeURIComponent($("captcha_pre").value) + "&n=6";
      q += src.kind === "dataset" ? "&source=dataset&dataset_id=" + src.dataset_id : "&source=synthetic&seed=" + src.seed;
      var out = $("captcha-preview");
      fetch("/api/preview?" + q)
        .then(function (res) { return res.json().then(function (b) { return { ok: res.ok, body: b }; }); })
        .then(function (r) {
          out.textContent = "";
          if (!r.ok) { out.textContent = r.body.error || "no preview"; return; }
          r.body.images.forEach(function (im) {
            var fig = document.createElement("figure");
            [im.original, im.processed].forEach(function (b64, i) {
              var img = document.createElement("img");
              img.src = "data:image/png;base64," + b64;
              img.alt = (i ? "preprocessed " : "original ") + im.label;
              fig.appendChild(img);
            });
            var cap = document.createElement("figcaption");
            var label = document.createElement("b");
            label.textContent = im.label;
            var what = document.createElement("span");
            what.textContent = "original → " + $("captcha_pre").value;
            cap.appendChild(label);
            cap.appendChild(what);
            fig.appendChild(cap);
            out.appendChild(fig);
          });
        })
        .catch(function (e) { out.textContent = e.message; });
    }, 250);
  }

  function start() {
    fetch("/api/datasets").then(function (r) { return r.json(); }).then(function (ds) {
      var sel = $("captcha_dataset");
      (ds || []).forEach(function (d) {
        var o = document.createElement("option");
        o.value = String(d.id);
        o.textContent = d.name + " (" + d.images + " images)";
        sel.appendChild(o);
      });
      if (!ds || !ds.length) {
        var o = document.createElement("option");
        o.value = "";
        o.textContent = "none imported yet";
        sel.appendChild(o);
      }
      if (state.dataset_id) sel.value = String(state.dataset_id);
      datasetsLoaded = true;
      // The experiment form reads the choice now shown.
      sel.dispatchEvent(new Event("change", { bubbles: true }));
    }).catch(function () { datasetsLoaded = true; });
    fetch("/api/presets").then(function (r) { return r.json(); }).then(function (ps) {
      (ps || []).forEach(function (p) { presets[p.name] = p.spec; });
    }).catch(function () {});
    $("dataset").addEventListener("change", function () { sync(); preview(); });
    var preset = $("preset");
    if (preset) preset.addEventListener("change", function () {
      var s = presets[preset.value];
      if (s && s.dataset === "captcha") {
        var src = s.source || {};
        fill({ kind: src.kind, images: src.images, seed: src.seed, dataset_id: src.dataset_id, preprocessing: s.preprocessing });
      } else {
        sync();
      }
      preview();
    });
    box.addEventListener("change", function () { sync(); preview(); });
    box.addEventListener("input", preview);
    preview();
  }
  // The fields hold the spec's values before experiment-form.js (the next
  // deferred script) reads them for its first summary.
  fill(state);
  if (document.readyState === "complete") start();
  else document.addEventListener("DOMContentLoaded", start);
})();
