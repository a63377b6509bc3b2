/*
 * "Copy link" beside the client's calendar link (templates/scheduling/week.html). The button is
 * hidden in the page and shown here, so a browser without script shows only the link, which
 * wraps and can be selected by hand. Its words come from the button's data attributes, in the
 * client's language.
 */
(function () {
  "use strict";

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copyBySelection(element) {
    selectText(element);
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var source = document.getElementById(button.dataset.copyTarget);
    var status = button.parentElement.querySelector("[data-copy-status]");
    if (!source) {
      return;
    }
    function say(words) {
      if (status) {
        status.textContent = words;
      }
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = source.textContent.trim();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () {
            say(button.dataset.copied);
          },
          function () {
            say(copyBySelection(source) ? button.dataset.copied : button.dataset.copyFailed);
          }
        );
      } else {
        say(copyBySelection(source) ? button.dataset.copied : button.dataset.copyFailed);
      }
    });
  });
})();
