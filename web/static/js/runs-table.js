// runs-table.js: the "Compare checked" button of a runs table. It is enabled
// while at least two runs are checked and opens /compare?runs=<ids>.
(function () {
  "use strict";
  var button = document.getElementById("compare-checked");
  if (!button) return;

  function checkedIDs() {
    var boxes = document.querySelectorAll("input.run-select:checked");
    return Array.prototype.map.call(boxes, function (b) { return b.value; });
  }

  function update() {
    var n = checkedIDs().length;
    button.disabled = n < 2;
    button.textContent = n >= 2 ? "Compare " + n + " checked" : "Compare checked";
    button.title = n >= 2 ? "" : "Check at least two runs";
  }

  document.addEventListener("change", function (ev) {
    if (ev.target.classList && ev.target.classList.contains("run-select")) update();
  });
  button.addEventListener("click", function () {
    var ids = checkedIDs();
    if (ids.length >= 2) {
      window.location.href = "/compare?runs=" + ids.join(",");
    }
  });
  // The browser may restore checked boxes on back navigation.
  update();
  window.addEventListener("pageshow", update);
})();
