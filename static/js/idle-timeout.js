/*
 * The warning before the automatic logoff. The server signs a person out after a stretch without
 * any request (iop.middleware.IdleLogoutMiddleware); this script only announces it a minute
 * ahead and offers "Stay signed in", which posts to the keep-alive address. When the time is up
 * the page reloads, the server signs the person out, and the sign-in page says why.
 *
 * Settings come from <meta name="idle-timeout"> (templates/includes/idle_timeout.html). Several
 * tabs share one deadline through localStorage, so activity in one keeps the others open.
 */
(function () {
  "use strict";

  var meta = document.querySelector('meta[name="idle-timeout"]');
  if (!meta || !window.fetch) {
    return;
  }
  var STORE_KEY = "iop-idle-deadline";
  // After the server's limit: the reload must find the login already over.
  var MARGIN_MS = 2000;
  var limitMs = Number(meta.dataset.limitSeconds) * 1000;
  var warningMs = Number(meta.dataset.warningSeconds) * 1000;
  var deadline = Date.now() + Number(meta.content) * 1000;
  var dialog = null;
  var countdown = null;
  var button = null;
  var focusBefore = null;
  var ticking = null;

  function shareDeadline() {
    try {
      var stored = Number(window.localStorage.getItem(STORE_KEY)) || 0;
      if (stored > deadline) {
        deadline = stored;
      } else {
        window.localStorage.setItem(STORE_KEY, String(deadline));
      }
    } catch (error) {
      // Storage may be switched off; each tab then keeps its own deadline.
    }
  }

  function buildDialog() {
    dialog = document.createElement("div");
    dialog.className = "idle-warning";
    dialog.hidden = true;
    dialog.setAttribute("role", "alertdialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.setAttribute("aria-labelledby", "idle-warning-title");
    dialog.setAttribute("aria-describedby", "idle-warning-text");

    var box = document.createElement("div");
    box.className = "idle-warning-box";
    var title = document.createElement("h2");
    title.id = "idle-warning-title";
    title.textContent = meta.dataset.title || "Are you still there?";
    var text = document.createElement("p");
    text.id = "idle-warning-text";
    countdown = document.createElement("span");
    text.append(
      (meta.dataset.textBefore || "To protect your information you will be signed out in") + " ",
      countdown,
      " " + (meta.dataset.textAfter || "seconds.")
    );
    button = document.createElement("button");
    button.type = "button";
    button.textContent = meta.dataset.stay || "Stay signed in";
    button.addEventListener("click", staySignedIn);
    dialog.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        staySignedIn();
      } else if (event.key === "Tab") {
        // One button: focus stays on it while the dialog is open.
        event.preventDefault();
        button.focus();
      }
    });
    box.append(title, text, button);
    dialog.append(box);
    document.body.append(dialog);
  }

  function showWarning(msLeft) {
    countdown.textContent = String(Math.max(0, Math.ceil(msLeft / 1000)));
    if (dialog.hidden) {
      focusBefore = document.activeElement;
      dialog.hidden = false;
      button.focus();
    }
  }

  function hideWarning() {
    if (!dialog.hidden) {
      dialog.hidden = true;
      if (focusBefore && typeof focusBefore.focus === "function") {
        focusBefore.focus();
      }
    }
  }

  function signOutNow() {
    window.clearInterval(ticking);
    // A fresh request: the server ends the login and sends the page to sign-in, which says why.
    window.location.assign(window.location.href.split("#")[0]);
  }

  function tick() {
    shareDeadline();
    var msLeft = deadline - Date.now();
    if (msLeft + MARGIN_MS <= 0) {
      signOutNow();
    } else if (msLeft <= warningMs) {
      showWarning(msLeft);
    } else {
      hideWarning();
    }
  }

  function staySignedIn() {
    button.disabled = true;
    fetch(meta.dataset.keepAliveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": meta.dataset.csrfToken },
      redirect: "manual",
    })
      .then(function (response) {
        if (response.status === 204) {
          deadline = Date.now() + limitMs;
          try {
            window.localStorage.setItem(STORE_KEY, String(deadline));
          } catch (error) {
            // See shareDeadline.
          }
          hideWarning();
        } else {
          signOutNow();
        }
      })
      .catch(function () {
        // Offline: keep counting; the next tick tries again or ends the login.
      })
      .finally(function () {
        button.disabled = false;
      });
  }

  buildDialog();
  shareDeadline();
  ticking = window.setInterval(tick, 1000);
  tick();
})();
