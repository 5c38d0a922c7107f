from csp.constants import NONCE
from csp.decorators import csp_update
from django.conf import settings
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from coalition.api.docs_views import RedocView, SwaggerView
from coalition.api.health import HealthzView, ReadyzView

# ReDoc styles itself by writing <style> elements (styled-components) and runs its search in
# a worker made from a blob: only this page lets in style elements carrying this answer's
# nonce and workers of its own making (coalition/api/docs_views.py).
REDOC_CSP = {"style-src": [NONCE], "worker-src": ["'self'", "blob:"]}

urlpatterns = [
    # The web app is the front door; only GET and HEAD (the page matrix refuses the rest).
    path("", RedirectView.as_view(url="/app/", http_method_names=["get", "head"]), name="root"),
    path("app/", include("web.urls")),
    path("healthz", HealthzView.as_view(), name="healthz"),
    path("readyz", ReadyzView.as_view(), name="readyz"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Both under the strict CSP (coalition/api/docs.py): no inline script, no third-party request.
    path("api/docs/", SwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", csp_update(REDOC_CSP)(RedocView.as_view(url_name="schema")), name="redoc"),
    path("api/v1/", include("partners.api.urls")),
    path("api/v1/", include("referrals.api.urls")),
    path("api/v1/", include("coalition.oversight.api.urls")),
    path("api/v1/", include("coalition.audit.api.urls")),
    path("api/v1/", include("coalition.events.api.urls")),
    path("api/v1/", include("coalition.notifications.api.urls")),
]

if settings.BENCH_MODE:  # the benchmark's framework floor; never mounted in production
    # By name, not by import: nothing in the application imports bench (pyproject.toml, import-linter).
    urlpatterns.append(path("", include("bench.urls")))

# HTML pages for the web app under /app/, problem details for everything else.
handler400 = "coalition.error_views.bad_request"
handler403 = "coalition.error_views.permission_denied"
handler404 = "coalition.error_views.not_found"
handler500 = "coalition.error_views.server_error"
