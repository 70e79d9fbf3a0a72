"use strict";
(function () {
  document.documentElement.classList.add("js");
  var table = document.getElementById("cases");
  var rows = table ? Array.prototype.slice.call(table.querySelectorAll("tbody tr.case-row")) : [];
  var search = document.getElementById("search");
  var selects = {
    status: document.getElementById("filter-status"),
    fixture: document.getElementById("filter-fixture"),
    dimension: document.getElementById("filter-dimension"),
    severity: document.getElementById("filter-severity")
  };
  var shown = document.getElementById("shown");

  function value(el) { return el ? el.value : ""; }

  function apply() {
    var text = value(search).trim().toLowerCase();
    var status = value(selects.status), fixture = value(selects.fixture);
    var dimension = value(selects.dimension), severity = value(selects.severity);
    var count = 0;
    rows.forEach(function (row) {
      var ok = (!text || (row.dataset.fixture + " " + row.dataset["case"]).toLowerCase().indexOf(text) >= 0)
        && (!status || row.dataset.status === status)
        && (!fixture || row.dataset.fixture === fixture)
        && (!dimension || (" " + row.dataset.dimensions + " ").indexOf(" " + dimension + " ") >= 0)
        && (!severity || row.dataset.severity === severity);
      row.hidden = !ok;
      if (ok) { count += 1; }
    });
    if (shown) { shown.textContent = count + " of " + rows.length + " cases shown"; }
  }

  if (search) { search.addEventListener("input", apply); }
  Object.keys(selects).forEach(function (key) {
    if (selects[key]) { selects[key].addEventListener("change", apply); }
  });

  var headers = table ? Array.prototype.slice.call(table.querySelectorAll("th[data-sort]")) : [];
  headers.forEach(function (th) {
    th.setAttribute("tabindex", "0");
    function sort() {
      var key = th.dataset.sort;
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var body = table.tBodies[0];
      var sorted = rows.slice().sort(function (a, b) {
        var x = a.dataset[key], y = b.dataset[key];
        var order;
        if (key === "score") { order = parseFloat(x) - parseFloat(y); }
        else if (key === "status") { order = parseInt(a.dataset.rank, 10) - parseInt(b.dataset.rank, 10); }
        else { order = x < y ? -1 : (x > y ? 1 : 0); }
        if (order === 0) { order = parseInt(a.dataset.order, 10) - parseInt(b.dataset.order, 10); }
        return ascending ? order : -order;
      });
      sorted.forEach(function (row) { body.appendChild(row); });
    }
    th.addEventListener("click", sort);
    th.addEventListener("keydown", function (event) { if (event.key === "Enter") { sort(); } });
  });

  function openHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    if (!id) { return; }
    var target = document.getElementById(id);
    if (target && target.tagName === "DETAILS") {
      target.open = true;
      target.scrollIntoView({block: "start"});
    }
  }
  window.addEventListener("hashchange", openHash);
  document.querySelectorAll("a.case-link").forEach(function (link) {
    link.addEventListener("click", function () {
      var target = document.getElementById(link.getAttribute("href").slice(1));
      if (target) { target.open = true; }
    });
  });
  var toggle = document.getElementById("expand-all");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var cases = document.querySelectorAll("details.case");
      var open = toggle.getAttribute("aria-pressed") !== "true";
      cases.forEach(function (d) { d.open = open; });
      toggle.setAttribute("aria-pressed", open ? "true" : "false");
      toggle.textContent = open ? "Collapse all" : "Expand all";
    });
  }
  openHash();
  apply();
})();
