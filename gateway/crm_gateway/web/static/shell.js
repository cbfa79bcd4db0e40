/* The shell's menu button on narrow screens, the bell and copy buttons: the shell's script. Served from /static
   (the pages' CSP allows scripts from 'self' only). Without it the menu stays in the page. */
document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("menu-toggle");
  var sidebar = document.getElementById("sidebar");
  var scrim = document.getElementById("menu-scrim");
  if (!button || !sidebar) return;

  function setOpen(open, returnFocus) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    document.body.classList.toggle("menu-open", open);
    if (scrim) scrim.hidden = !open;
    if (open) {
      var current = sidebar.querySelector("a[aria-current]") || sidebar.querySelector("a");
      if (current) current.focus();
    } else if (returnFocus) {
      button.focus();
    }
  }

  button.addEventListener("click", function () {
    setOpen(button.getAttribute("aria-expanded") !== "true", false);
  });
  if (scrim) scrim.addEventListener("click", function () { setOpen(false, true); });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && document.body.classList.contains("menu-open")) setOpen(false, true);
  });
});

/* The bell: the unread count of follow-up reminders, asked again every 30 s while the page is
   visible (web/notifications.py, GET /app/notifications/count). */
document.addEventListener("DOMContentLoaded", function () {
  var counters = document.querySelectorAll("[data-bell-count]");
  if (!counters.length) return;
  function show(count) {
    counters.forEach(function (badge) {
      badge.textContent = count > 99 ? "99+" : String(count);
      badge.hidden = count === 0;
    });
  }
  function refresh() {
    if (document.hidden) return;
    fetch("/app/notifications/count", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (reply) { return reply.ok ? reply.json() : null; })
      .then(function (body) { if (body && typeof body.unread === "number") show(body.unread); })
      .catch(function () {});
  }
  refresh();
  setInterval(refresh, 30000);
  document.addEventListener("visibilitychange", refresh);
});

/* Copy buttons: <button data-copy="input id" data-copied="Copied"> copies the input's value. */
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var label = button.textContent;
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy"));
      if (!input) return;
      function done() {
        button.textContent = button.getAttribute("data-copied") || label;
        setTimeout(function () { button.textContent = label; }, 2000);
      }
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
});
