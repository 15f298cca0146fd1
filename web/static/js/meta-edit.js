// meta-edit.js: tags and note of a run or an experiment, edited in place
// (PATCH), and its deletion after a confirmation (DELETE), on the section
// #meta whose data-api names the resource.
(function () {
  "use strict";
  var box = document.getElementById("meta");
  if (!box) return;
  var api = box.getAttribute("data-api");
  var $ = function (id) { return document.getElementById(id); };
  var form = $("meta-form"), view = $("meta-view"), err = $("meta-error");
  function show(editing) {
    form.hidden = !editing;
    view.hidden = editing;
    $("meta-edit").hidden = editing;
  }
  function render(tags, note) {
    var line = $("meta-tags");
    line.textContent = "";
    if (!tags.length) {
      var none = document.createElement("span");
      none.className = "muted";
      none.textContent = "No tags.";
      line.appendChild(none);
    }
    tags.forEach(function (t) {
      var s = document.createElement("span");
      s.className = "tag";
      s.textContent = t;
      line.appendChild(s);
    });
    $("meta-note").textContent = note;
    $("meta-tags-input").value = tags.join(", ");
    $("meta-note-input").value = note;
  }
  $("meta-edit").addEventListener("click", function () { show(true); $("meta-tags-input").focus(); });
  $("meta-cancel").addEventListener("click", function () { show(false); });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    err.textContent = $("meta-tags-error").textContent = $("meta-note-error").textContent = "";
    var tags = $("meta-tags-input").value.split(/[,\s]+/).filter(function (t) { return t; });
    fetch(api, { method: "PATCH", headers: window.trainyard.headers({ "Content-Type": "application/json" }), credentials: "same-origin",
      body: JSON.stringify({ tags: tags, note: $("meta-note-input").value }) })
      .then(function (res) { return res.json().then(function (body) { return { ok: res.ok, body: body }; }); })
      .then(function (r) {
        if (!r.ok) {
          var e = r.body.errors || {};
          $("meta-tags-error").textContent = e.tags || "";
          $("meta-note-error").textContent = e.note || "";
          if (!e.tags && !e.note) err.textContent = r.body.error || "Could not save.";
          return;
        }
        render(r.body.tags || [], r.body.note || "");
        show(false);
      })
      .catch(function () { err.textContent = "Could not reach the server."; });
  });
  var del = $("meta-delete");
  if (del) {
    del.addEventListener("click", function () {
      if (!window.confirm(box.getAttribute("data-confirm-delete"))) return;
      fetch(api, { method: "DELETE", headers: window.trainyard.headers({}), credentials: "same-origin" })
        .then(function (res) {
          if (res.status === 204) {
            window.location.href = box.getAttribute("data-after-delete") || "/";
            return;
          }
          return res.json().then(function (b) { err.textContent = b.error || "Could not delete."; });
        })
        .catch(function () { err.textContent = "Could not reach the server."; });
    });
  }
})();
