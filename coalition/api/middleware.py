"""Cross-cutting HTTP behaviour applied to every request."""

import re
import uuid

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from coalition.core.context import request_id as request_id_var
from coalition.core.db import is_outage

from .problems import log_outage, outage_response, problem_response

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Gives each request an id (the caller's ``X-Request-ID`` if well-formed), echoed back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        # For the audit trail and log lines. Not reset on the way out: Django logs a
        # 4xx/5xx after the middleware returns; ``request_finished`` clears it.
        request_id_var.set(request.request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request.request_id
        return response


class RequestBodyLimitMiddleware:
    """Refuses bodies over ``MAX_REQUEST_BODY_BYTES`` with 413 before anything reads them.

    DRF's parsers read the stream directly and would not apply Django's
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``; the WSGI input is already bounded by
    Content-Length, so checking the header is enough.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return problem_response(request, status_code=400, slug="malformed-request", detail=_("Invalid Content-Length."))
        if length > settings.MAX_REQUEST_BODY_BYTES:
            return problem_response(
                request,
                status_code=413,
                slug="payload-too-large",
                detail=_("The request body is larger than %(limit)d bytes.") % {"limit": settings.MAX_REQUEST_BODY_BYTES},
            )
        return self.get_response(request)


class NoStoreMiddleware:
    """API answers are never stored by browsers or proxies: they may hold case data or tokens."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith("/api/") or "HTTP_AUTHORIZATION" in request.META:
            response["Cache-Control"] = "no-store"
            response["Pragma"] = "no-cache"
        return response


# Generic problem for an error response that was not JSON: (slug, detail) by status.
# Lazy: translated per request, not once at import.
_FALLBACK_PROBLEMS = {
    400: ("malformed-request", gettext_lazy("Bad request.")),
    401: ("not-authenticated", gettext_lazy("Authentication credentials were not provided.")),
    403: ("forbidden", gettext_lazy("Forbidden.")),
    404: ("not-found", gettext_lazy("Not found.")),
    405: ("method-not-allowed", gettext_lazy("Method not allowed.")),
    406: ("not-acceptable", gettext_lazy("Not acceptable.")),
    413: ("payload-too-large", gettext_lazy("The request body is too large.")),
    415: ("unsupported-media-type", gettext_lazy("Unsupported media type.")),
    429: ("throttled", gettext_lazy("Too many requests.")),
    503: ("service-unavailable", gettext_lazy("The service is temporarily unavailable. Retry shortly.")),
}
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "X-Request-ID")


class ProblemFallbackMiddleware:
    """The API never answers an error in HTML, debug or not.

    Django's debug pages (technical 404 and 500) and any other non-JSON 4xx/5xx
    for API paths become the matching problem details; the generic body never
    carries a stack trace or exception text. A database outage raised by a view
    outside DRF is a 503 with ``Retry-After`` (DRF views get it from the exception
    handler), debug or not, logged by its error class only.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def process_exception(self, request, exception):
        if not is_outage(exception):
            return None
        log_outage(exception)
        return outage_response(request)

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code < 400 or not _is_api_path(request.path) or _is_json(response):
            return response
        status_code = response.status_code
        detail: str | Promise
        if status_code in _FALLBACK_PROBLEMS:
            slug, detail = _FALLBACK_PROBLEMS[status_code]
        elif status_code >= 500:
            slug, detail = "server-error", _("An unexpected error occurred. Quote the request id.")
        else:
            slug, detail = "error", _("The request could not be processed.")
        problem = problem_response(request, status_code=status_code, slug=slug, detail=str(detail))
        for header in _KEPT_HEADERS:
            if header in response:
                problem[header] = response[header]
        return problem


def _is_api_path(path: str) -> bool:
    return path.startswith("/api/") or path in ("/healthz", "/readyz")


def _is_json(response) -> bool:
    media_type = response.get("Content-Type", "").split(";")[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")
