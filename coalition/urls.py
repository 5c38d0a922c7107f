from django.conf import settings
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from coalition.api.docs_views import RedocView, SwaggerUIView
from coalition.api.health import HealthzView, ReadyzView

urlpatterns = [
    # The web app is the front door; only GET and HEAD (the page matrix refuses the rest).
    path("", RedirectView.as_view(url="/app/", http_method_names=["get", "head"]), name="root"),
    path("app/", include("web.urls")),
    path("healthz", HealthzView.as_view(), name="healthz"),
    path("readyz", ReadyzView.as_view(), name="readyz"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SwaggerUIView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", RedocView.as_view(url_name="schema"), name="redoc"),
    path("api/v1/", include("partners.api.urls")),
    path("api/v1/", include("referrals.api.urls")),
    path("api/v1/", include("coalition.oversight.api.urls")),
    path("api/v1/", include("coalition.audit.api.urls")),
    path("api/v1/", include("coalition.events.api.urls")),
]

if settings.BENCH_MODE:  # the benchmark's framework floor; never mounted in production
    # By name, not by import: nothing in the application imports bench (pyproject.toml, import-linter).
    urlpatterns.append(path("", include("bench.urls")))

handler400 = "coalition.api.handlers.bad_request"
handler403 = "coalition.api.handlers.permission_denied"
handler404 = "coalition.api.handlers.not_found"
handler500 = "coalition.api.handlers.server_error"
