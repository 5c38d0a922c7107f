// Starts ReDoc on /api/redoc/ (a file, not an inline script: the CSP allows none). ReDoc's
// styled-components write <style> elements: they carry the nonce of this answer's CSP.
"use strict";
(function () {
  var container = document.getElementById("redoc-container");
  Redoc.init(container.dataset.specUrl, { nonce: container.dataset.cspNonce }, container);
}());
