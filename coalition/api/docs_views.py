"""The API documentation pages (Swagger UI, ReDoc) as they must be under the site's CSP.

The Content-Security-Policy (settings: nothing but this origin, no inline script or
style) covers every response, these pages included. drf-spectacular's own pages break
under it (Swagger UI's inline start script, ReDoc's injected styles) and ReDoc's loads
web fonts from Google. These serve the same pages with neither; the browser tests
(tests/browser/test_api_docs.py) load them in Chromium and fail on a CSP violation or
a request to another origin.

Apart from the permission (coalition.api.docs), which drf-spectacular imports while its
own views module is still loading.
"""

from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

# The one inline <style> of drf-spectacular's swagger_ui.html (box-sizing, background), by its hash.
SWAGGER_UI_STYLE_HASH = "'sha256-MMpT0iDxyjALd9PdfepImGX3DBfJPXZ4IlDWdPAgtn0='"


class SwaggerUIView(SpectacularSwaggerSplitView):
    """Swagger UI with its start script served as a file of its own (``?script``), never inline."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response._csp_update = {"style-src": [SWAGGER_UI_STYLE_HASH]}
        return response


class RedocView(SpectacularRedocView):
    """ReDoc without Google's web fonts or an inline script (coalition/templates/coalition/redoc.html).

    ReDoc styles itself by injecting <style> elements, which only ``'unsafe-inline'``
    allows, and its search runs in a worker made from a blob: URL. This page (the public
    API's documentation, no data) gets both; its "API docs by Redocly" logo (cdn.redoc.ly) stays
    blocked by img-src.
    """

    template_name = "coalition/redoc.html"

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response._csp_update = {"style-src": ["'unsafe-inline'"], "worker-src": ["'self'", "blob:"]}
        return response
