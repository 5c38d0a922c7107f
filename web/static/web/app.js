// The web app's only script besides htmx. Loaded with defer; nothing inline (the CSP forbids it).
"use strict";

/* --- inbox and referral page ------------------------------------------------------------
   A refused action or message answers 422 with its card and the errors beside their fields:
   swap it in like a success (htmx leaves 4xx answers out by default). */
document.addEventListener("htmx:beforeSwap", function (event) {
  if (event.detail.xhr.status === 422) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
