/* The clinic's repairs to what Django's admin and its widgets leave unnamed (WCAG 1.3.1, 4.1.2):
   the date and time boxes of a date-time field, the cells of a tabular inline, the search-as-you-type
   boxes (select2), and the filter boxes' icons. Widgets that appear later (select2 starts after the
   page, an inline row is added) are repaired as they appear. */
(function () {
  "use strict";

  function textOf(element) {
    return element ? element.textContent.replace(/[*:?]/g, "").replace(/\s+/g, " ").trim() : "";
  }

  function labelOfRow(element) {
    const row = element.closest(".form-row, .fieldBox, .form-multiline > div, fieldset > div");
    return row ? textOf(row.querySelector("label")) : "";
  }

  function nameDateTimeBoxes(root) {
    root.querySelectorAll("p.datetime").forEach(function (paragraph) {
      const field = labelOfRow(paragraph);
      const inputs = paragraph.querySelectorAll("input:not([type=hidden])");
      if (inputs.length === 2 && field) {
        if (!inputs[0].hasAttribute("aria-label")) inputs[0].setAttribute("aria-label", field + ", date");
        if (!inputs[1].hasAttribute("aria-label")) inputs[1].setAttribute("aria-label", field + ", time");
      }
    });
  }

  function nameTableCells(root) {
    root.querySelectorAll(".tabular table").forEach(function (table) {
      const headers = Array.from(table.querySelectorAll("thead th"));
      table.querySelectorAll("tbody tr").forEach(function (row, rowIndex) {
        Array.from(row.children).forEach(function (cell, column) {
          const header = textOf(headers[column]);
          if (!header) return;
          cell.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(function (control) {
            const labelled = control.labels && control.labels.length && textOf(control.labels[0]);
            if (!labelled && !control.hasAttribute("aria-label")) {
              control.setAttribute("aria-label", header + ", row " + (rowIndex + 1));
            }
          });
        });
      });
    });
    reachScrollingTables();
  }

  // A table wider than the screen (a phone's) scrolls; the keyboard must be able to reach and scroll it.
  function reachScrollingTables() {
    document.querySelectorAll(".inline-group").forEach(function (group) {
      if (group.scrollWidth > group.clientWidth) group.setAttribute("tabindex", "0");
      else if (group.getAttribute("tabindex") === "0") group.removeAttribute("tabindex");
    });
  }

  function nameSearchBoxes(root) {
    root.querySelectorAll(".select2-selection[role=combobox]:not([data-named])").forEach(function (box) {
      const container = box.closest(".select2");
      const select = container && container.previousElementSibling;
      if (!select || select.tagName !== "SELECT") return;
      let label = select.id ? document.querySelector('label[for="' + select.id + '"]') : null;
      if (!label && select.id) {
        label = Array.from(document.querySelectorAll("label")).find(function (each) { return each.htmlFor === select.id; });
      }
      if (label) {
        if (!label.id) label.id = select.id + "_label";
        const rendered = box.querySelector(".select2-selection__rendered");
        box.setAttribute("aria-labelledby", label.id + (rendered && rendered.id ? " " + rendered.id : ""));
        // select2 shows the choice in a read-only "textbox" of its own, which needs the name too.
        if (rendered) rendered.setAttribute("aria-labelledby", label.id);
      } else {
        const name = select.getAttribute("aria-label") || select.name.replace(/_/g, " ");
        box.setAttribute("aria-label", name);
        const rendered = box.querySelector(".select2-selection__rendered");
        if (rendered) rendered.setAttribute("aria-label", name);
      }
      box.setAttribute("data-named", "");
    });
  }

  function nameIcons(root) {
    root.querySelectorAll("span.help-tooltip[aria-label]:not([role])").forEach(function (icon) {
      icon.setAttribute("role", "img");
    });
  }

  function repair(root) {
    nameDateTimeBoxes(root);
    nameTableCells(root);
    nameSearchBoxes(root);
    nameIcons(root);
  }

  function start() {
    repair(document);
    window.addEventListener("resize", reachScrollingTables);
    let pending = false;
    new MutationObserver(function () {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () {
        pending = false;
        repair(document);
      });
    }).observe(document.body, { childList: true, subtree: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
