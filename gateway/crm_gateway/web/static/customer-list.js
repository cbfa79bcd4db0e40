// The customer list's "select all on this page" box and the bulk bar's count of selected rows.
// Without this script every row's box still works; the select-all box stays hidden.
(function () {
  "use strict";
  var all = document.getElementById("select-all");
  var rows = Array.prototype.slice.call(document.querySelectorAll("input.row-select"));
  if (!all || rows.length === 0) { return; }
  all.hidden = false;
  function sync() {
    var checked = rows.filter(function (box) { return box.checked; }).length;
    all.checked = checked === rows.length;
    all.indeterminate = checked > 0 && checked < rows.length;
  }
  all.addEventListener("change", function () {
    rows.forEach(function (box) { box.checked = all.checked; });
    sync();
  });
  rows.forEach(function (box) { box.addEventListener("change", sync); });
  sync();
})();
