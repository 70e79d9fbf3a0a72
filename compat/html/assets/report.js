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

  // A case's details are laid out when it is first opened: its values side by side and
  // its conversation from the JSON block it carries, its drawings from their <template>.
  // Every text goes in as text (textContent), never as markup.
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function cell(side, differs) {
    var box = el("div", differs ? "differs" : "");
    box.appendChild(el("pre", "", JSON.stringify(side, null, 1)));
    return box;
  }

  function sideBySide(section, tables, engines) {
    tables.forEach(function (table) {
      section.appendChild(el("h4", "", table[0]));
      var entries = table[1];
      if (!entries.length) { section.appendChild(el("p", "muted", "none on either side")); return; }
      var grid = el("div", "side");
      ["key", engines[0], engines[1]].forEach(function (head) { grid.appendChild(el("div", "head", head)); });
      entries.forEach(function (entry) {
        var key = entry[0], differs = entry[1] === 1, how = entry[2];
        grid.appendChild(el("div", differs ? "differs" : "", key));
        if (how === "=") {
          var both = cell(entry[3], differs);
          both.classList.add("both");
          both.title = "the same on both engines";
          grid.appendChild(both);
          return;
        }
        var absent = el("div", "differs");
        absent.appendChild(el("span", "absent", "absent"));
        if (how === "2") { grid.appendChild(cell(entry[3], differs)); grid.appendChild(cell(entry[4], differs)); }
        else if (how === "p") { grid.appendChild(cell(entry[3], true)); grid.appendChild(absent); }
        else { grid.appendChild(absent); grid.appendChild(cell(entry[3], true)); }
      });
      section.appendChild(grid);
    });
  }

  function conversation(section, transcript) {
    if (!transcript) {
      section.appendChild(el("p", "muted", "No transcript: neither engine recorded a conversation for this case."));
      return;
    }
    section.querySelector("h3").textContent = "Conversation (" + transcript.engine + ")";
    var box = el("div", "conversation");
    transcript.said.forEach(function (said) {
      var message = el("div", "msg " + said[0]);
      message.appendChild(el("small", "", said[0] + (said[1] ? " · " + said[1] : "")));
      message.appendChild(document.createTextNode(said[2]));
      box.appendChild(message);
    });
    section.appendChild(box);
  }

  function render(details) {
    if (details.dataset.rendered) { return; }
    details.dataset.rendered = "true";
    details.querySelectorAll("template.deferred").forEach(function (template) {
      template.replaceWith(template.content.cloneNode(true));
    });
    var block = details.querySelector("script.case-data");
    if (!block) { return; }
    var data = JSON.parse(block.textContent);
    var values = details.querySelector("section.values");
    if (values) { sideBySide(values, data.values, data.engines); }
    var transcript = details.querySelector("section.transcript");
    if (transcript) { conversation(transcript, data.transcript); }
  }

  // The script runs before the cases' details are parsed (it follows the overview), so it
  // reaches them through the document: `toggle` does not bubble, but is seen on capture.
  document.addEventListener("toggle", function (event) {
    var details = event.target;
    if (details.tagName === "DETAILS" && details.classList.contains("case") && details.open) {
      render(details);
    }
  }, true);

  function openHash() {
    var id = decodeURIComponent(location.hash.slice(1));
    if (!id) { return; }
    var target = document.getElementById(id);
    if (target && target.tagName === "DETAILS") {
      target.open = true;
      render(target);
      target.scrollIntoView({block: "start"});
    }
  }
  window.addEventListener("hashchange", openHash);
  document.querySelectorAll("a.case-link").forEach(function (link) {
    link.addEventListener("click", function () {
      var target = document.getElementById(link.getAttribute("href").slice(1));
      if (target && target.tagName === "DETAILS") { target.open = true; render(target); }
    });
  });
  var toggle = document.getElementById("expand-all");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var cases = document.querySelectorAll("details.case");
      var open = toggle.getAttribute("aria-pressed") !== "true";
      cases.forEach(function (d) { d.open = open; if (open) { render(d); } });
      toggle.setAttribute("aria-pressed", open ? "true" : "false");
      toggle.textContent = open ? "Collapse all" : "Expand all";
    });
  }
  apply();
  // The cases' details (and so the one an address names) exist once the page is parsed.
  function opened() {
    document.querySelectorAll("details.case[open]").forEach(render);
    openHash();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", opened);
  } else {
    opened();
  }
  // The case table is wired: what bench/html_report.py times the page to.
  if (window.performance && performance.mark) { performance.mark("compat:wired"); }
})();
