// srm's checklist, with JavaScript: a row saves as soon as its owner or
// completion changes, a control's details open in place below its row and
// close again, and the keyboard focus stays where the person is. Without
// JavaScript (or htmx) none of this runs and nothing is lost: the
// checklist and each of its layers have a Save changes button, and a
// control's details are a page of their own.
(function () {
  "use strict";
  if (typeof htmx === "undefined") {
    return;
  }
  var rowField = /^[oc](\d+)$/;

  // A row's field changed: save that row (save=<control>), through the
  // checklist's form, so its version and filter go along.
  document.addEventListener("change", function (e) {
    var el = e.target;
    var m = el && el.form && el.form.id === "ck" && rowField.exec(el.name || "");
    if (!m) {
      return;
    }
    htmx.ajax("POST", el.form.getAttribute("hx-post"), { source: el.form, values: { save: m[1] } });
  });

  // The checklist is swapped whole after a save: put the focus back on
  // the same field of the same row (its fields have names, not ids).
  var focused = null;
  document.addEventListener("htmx:beforeSwap", function () {
    var a = document.activeElement;
    focused = null;
    if (a && a.form && a.form.id === "ck" && a.name) {
      focused = '[name="' + CSS.escape(a.name) + '"]';
    }
  });
  document.addEventListener("htmx:afterSwap", function () {
    if (focused && (!document.activeElement || document.activeElement === document.body)) {
      var el = document.querySelector("#ck " + focused);
      if (el) {
        el.focus();
      }
    }
    focused = null;
  });

  // A control's title opens its details in place, below its row.
  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest(".rows > li > a");
    if (!link || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) {
      return;
    }
    e.preventDefault();
    var row = link.parentElement;
    var box = row.querySelector(":scope > .ck-details");
    if (!box) {
      box = document.createElement("div");
      box.className = "ck-details";
      row.appendChild(box);
    }
    htmx.ajax("GET", link.getAttribute("href"), { source: link, target: box, swap: "innerHTML" }).then(function () {
      var art = box.querySelector("article");
      if (art) {
        art.setAttribute("tabindex", "-1");
        art.focus();
      }
    });
  });

  // Close: the details go, and the focus returns to the row's title.
  function close(box) {
    var row = box.closest(".rows > li");
    box.remove();
    var link = row && row.querySelector(":scope > a");
    if (link) {
      link.focus();
    }
  }
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-close-details]");
    var box = btn && btn.closest(".ck-details");
    if (box) {
      e.preventDefault();
      close(box);
    }
  });
  document.addEventListener("keydown", function (e) {
    var box = e.key === "Escape" && e.target.closest && e.target.closest(".ck-details");
    if (box) {
      close(box);
    }
  });
})();
