/* The attendance page: after a save that was refused, the keyboard and a screen reader start at the
   summary of what to correct (its links lead to each field). */
(function () {
  "use strict";
  const summary = document.querySelector("#attendance-missing, #attendance-errors");
  if (summary) summary.focus();
})();
