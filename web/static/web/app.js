// The web app's only script besides htmx. Loaded with defer; nothing inline (the CSP forbids it).
"use strict";
