// The web app's only script besides htmx. Loaded with defer; nothing inline (the CSP forbids it).
"use strict";

// drafts: a form marked data-draft-url is saved for its author while they type (web/drafts.py).
// Every 20 s and when a field changes, the form's fields are posted there, but only when they
// changed since the last save: an idle page sends nothing and so never keeps a session alive.
// A submitted form is not saved again (its page deletes the draft on success).
(function () {
  var INTERVAL_MS = 20000;

  function fields(form) {
    var data = new FormData(form);
    data.delete("csrfmiddlewaretoken");
    return data;
  }

  function fingerprint(data) {
    var parts = [];
    data.forEach(function (value, name) { parts.push(name + "=" + value); });
    return parts.join("&");
  }

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function keepDrafts(form) {
    var url = form.getAttribute("data-draft-url");
    // What the page came with is already kept, unless it says otherwise (a restored draft,
    // a form sent back with errors): then the first tick saves it.
    var last = form.hasAttribute("data-draft-unsaved") ? null : fingerprint(fields(form));
    var submitted = false;
    var saving = false;

    function save() {
      if (submitted || saving) { return; }
      var data = fields(form);
      var now = fingerprint(data);
      if (now === last) { return; }
      saving = true;
      fetch(url, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        redirect: "manual",  // an ended session answers with the sign-in page: not saved
        headers: { "X-CSRFToken": csrfToken(form) }
      }).then(function (response) {
        if (response.status === 204) { last = now; }
      }).catch(function () { /* offline: the next tick tries again */ })
        .finally(function () { saving = false; });
    }

    form.addEventListener("change", save);
    form.addEventListener("submit", function () { submitted = true; });
    window.setInterval(save, INTERVAL_MS);
  }

  function start() {
    document.querySelectorAll("form[data-draft-url]").forEach(keepDrafts);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
/* --- inbox and referral page ------------------------------------------------------------
   A refused action or message answers 422 with its card and the errors beside their fields:
   swap it in like a success (htmx leaves 4xx answers out by default). */
document.addEventListener("htmx:beforeSwap", function (event) {
  if (event.detail.xhr.status === 422) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
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
