"""The API's documentation pages, Swagger UI and ReDoc, under the strict Content-Security-Policy.

Apart from ``docs.py``: drf-spectacular's views import that module's permission class
(``SERVE_PERMISSIONS``), so these subclasses of its views cannot live there.
"""

from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView


class SwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI under the strict CSP: its init script is served as a file (``?script``), no inline style."""

    template_name = "coalition/docs/swagger_ui.html"


class RedocView(SpectacularRedocView):
    """ReDoc under the strict CSP: an init script file, and its generated styles under this answer's nonce.

    ReDoc (styled-components) can only style itself by writing <style> elements; the
    route adds a per-answer nonce to ``style-src`` for them (coalition/urls.py), which
    allows nothing an attacker could inject. No Google Fonts: no third-party request.
    """

    template_name = "coalition/docs/redoc.html"
