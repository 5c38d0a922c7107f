"""Cross-cutting HTTP behaviour applied to every request."""

import re
import uuid

from django.conf import settings
from django.utils.translation import gettext as _

from .problems import problem_response

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Gives each request an id (the caller's ``X-Request-ID`` if well-formed), echoed back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
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
