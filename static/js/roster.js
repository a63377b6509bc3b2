/* The attendance page: after a save that was refused, the keyboard and a screen reader start at the
   summary of what to correct (its links lead to each field). */
(function () {
  "use strict";
  const summary = document.querySelector("#attendance-missing");
  if (summary) summary.focus();
})();

/* A link of the summary puts the keyboard in its field, not only the page's scroll. */
document.addEventListener("click", function (event) {
  const link = event.target.closest("#attendance-missing a[href^='#']");
  const field = link && document.getElementById(link.getAttribute("href").slice(1));
  if (field) {
    event.preventDefault();
    field.focus();
  }
});
