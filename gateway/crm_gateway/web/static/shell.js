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

/* Copy buttons: <button data-copy="element id" data-copied="Copied"> copies the element's value (an
   input) or text. */
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var label = button.textContent;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) return;
      var text = "value" in source ? source.value : source.textContent.trim();
      function done() {
        button.textContent = button.getAttribute("data-copied") || label;
        setTimeout(function () { button.textContent = label; }, 2000);
      }
      function fallback() {
        if ("select" in source) {
          source.select();
        } else {
          var range = document.createRange();
          range.selectNodeContents(source);
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
        }
        document.execCommand("copy");
        done();
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, fallback);
      } else {
        fallback();
      }
    });
  });
});

/* Tab rows that scroll sideways on a phone (.fu-tabs) show their current tab. */
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".fu-tabs").forEach(function (tabs) {
    var current = tabs.querySelector("a.active");
    if (current && tabs.scrollWidth > tabs.clientWidth) {
      tabs.scrollLeft = current.offsetLeft - tabs.offsetLeft - 16;
    }
  });
});
