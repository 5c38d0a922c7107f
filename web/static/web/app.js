// The web app's only script besides htmx. Loaded with defer; nothing inline (the CSP forbids it).
"use strict";

// account: one-time links
// An invitation or password-reset mail links to /app/invitation/#token=… (the fragment never
// reaches a server or its logs). Copy the token into the form's field, then drop it from
// the address bar and the history, so it is not left on screen or in the browser's history.
(function () {
  var form = document.querySelector("form[data-one-time-link]");
  var match = /^#token=([A-Za-z0-9_-]+)$/.exec(window.location.hash);
  if (!form || !match) { return; }
  var field = form.querySelector("input[name=token]");
  if (field && !field.value) { field.value = match[1]; }
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  var next = form.querySelector("input[type=password]");
  if (next) { next.focus(); }
}());
