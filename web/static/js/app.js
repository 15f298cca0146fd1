// app.js: behaviour every page shares.
// A form with a data-confirm attribute asks before it submits.
// Scripts that change something send the session's CSRF token (the layout's
// <meta name="csrf-token">) as X-CSRF-Token: fetch through
// trainyard.headers({...}); htmx requests get it on their own.
(function () {
  "use strict";
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    var msg = form.getAttribute && form.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) {
      ev.preventDefault();
    }
  });

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  window.trainyard = window.trainyard || {};
  // headers returns h (or a new object) with the CSRF token added when there is one.
  window.trainyard.headers = function (h) {
    h = h || {};
    var t = csrfToken();
    if (t) h["X-CSRF-Token"] = t;
    return h;
  };
  document.addEventListener("htmx:configRequest", function (ev) {
    var t = csrfToken();
    if (t) ev.detail.headers["X-CSRF-Token"] = t;
  });
})();
