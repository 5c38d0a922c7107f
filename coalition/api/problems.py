"""One error contract: every error is an RFC 9457 problem details document.

Domain code raises ``coalition.core.errors`` (never DRF's exceptions);
``problem_exception_handler`` maps each of them, and DRF's own exceptions, to
``application/problem+json`` with a stable ``type``. Django-level
errors (no route, unhandled exception) get the same shape from ``problem_response``.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.exceptions import ErrorDetail
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from coalition.core import errors
from coalition.core.db import is_outage

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:coalition:problem:"

TITLES = {
    400: _("Bad request"),
    401: _("Not authenticated"),
    403: _("Forbidden"),
    404: _("Not found"),
    405: _("Method not allowed"),
    406: _("Not acceptable"),
    409: _("Conflict"),
    412: _("Precondition failed"),
    413: _("Request body too large"),
    415: _("Unsupported media type"),
    422: _("Business rule violated"),
    429: _("Too many requests"),
    500: _("Server error"),
    503: _("Service unavailable"),
}

logger = logging.getLogger("coalition.api")

# Seconds a client is told to wait after an outage answer (nginx's 503 page says 5 too).
OUTAGE_RETRY_AFTER_SECONDS = 5



class DomainProblem(exceptions.APIException):
    """A domain error (``coalition.core.errors``) on its way to becoming a problem response."""

    def __init__(self, error: errors.DomainError) -> None:
        self.status_code = _status_for(error)
        self.slug = error.code
        if error.retry_after:
            self.wait = error.retry_after
        super().__init__(detail=str(error.message), code=error.code)  # DRF makes it a str all the same


# Most specific first: the first class an error is an instance of decides its status.
_DOMAIN_STATUS: tuple[tuple[type[errors.DomainError], int], ...] = (
    (errors.InvalidCredentials, status.HTTP_401_UNAUTHORIZED),
    (errors.LockedOut, status.HTTP_429_TOO_MANY_REQUESTS),
    (errors.Forbidden, status.HTTP_403_FORBIDDEN),
    (errors.NotFound, status.HTTP_404_NOT_FOUND),
    (errors.PreconditionFailed, status.HTTP_412_PRECONDITION_FAILED),
    (errors.Conflict, status.HTTP_409_CONFLICT),
    (errors.BusinessRuleViolation, status.HTTP_422_UNPROCESSABLE_ENTITY),
    (errors.DomainError, status.HTTP_400_BAD_REQUEST),
)


def _status_for(error: errors.DomainError) -> int:
    return next(code for cls, code in _DOMAIN_STATUS if isinstance(error, cls))


def api_exception_for(error: errors.DomainError) -> exceptions.APIException:
    """The one mapping from a domain error to the API's exception, hence to its problem details."""
    if isinstance(error, errors.InvalidInput):
        return exceptions.ValidationError(
            {
                field or "non_field_errors": [ErrorDetail(str(message), code=error.field_code) for message in messages]
                for field, messages in error.errors.items()
            }
        )
    if isinstance(error, errors.NotFound) and error.message is errors.NotFound.default_message:
        return exceptions.NotFound()  # DRF's own wording, as every other 404
    return DomainProblem(error)


class ServiceUnavailable(exceptions.APIException):
    """The database is away or busy (down, restarting, pool exhausted, SQLite locked): retry shortly."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = _("The service is temporarily unavailable. Retry shortly.")
    default_code = "service-unavailable"

    def __init__(self):
        super().__init__()
        self.wait = OUTAGE_RETRY_AFTER_SECONDS


def log_outage(exc: BaseException) -> None:
    """Logs the error class only: a driver message may name hosts, users or query values."""
    logger.warning("Database unavailable (%s); answered 503.", type(exc).__name__)


def outage_response(request) -> JsonResponse:
    """The 503 problem outside DRF (middleware, handler500), with ``Retry-After``."""
    response = problem_response(
        request, status_code=503, slug="service-unavailable", detail=str(ServiceUnavailable.default_detail)
    )
    response["Retry-After"] = str(OUTAGE_RETRY_AFTER_SECONDS)
    return response


class MfaEnrolmentRequired(exceptions.PermissionDenied):
    default_detail = _("Enrol and confirm a TOTP device, then log in again with a one-time code.")
    default_code = "mfa-enrolment-required"


# Codes for DRF's own exceptions, so that ``type`` is stable whatever the message.
_DRF_TYPES: dict[type[exceptions.APIException], str] = {
    exceptions.ParseError: "malformed-request",
    exceptions.ValidationError: "validation-error",
    exceptions.NotAuthenticated: "not-authenticated",
    exceptions.AuthenticationFailed: "authentication-failed",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not-found",
    exceptions.MethodNotAllowed: "method-not-allowed",
    exceptions.NotAcceptable: "not-acceptable",
    exceptions.UnsupportedMediaType: "unsupported-media-type",
    exceptions.Throttled: "throttled",
}


def problem_type(slug: str) -> str:
    return PROBLEM_TYPE_BASE + slug


def _problem_slug(exc: exceptions.APIException) -> str:
    if isinstance(exc, DomainProblem):
        return exc.slug
    own_code = getattr(type(exc), "default_code", None)
    if type(exc) not in _DRF_TYPES and own_code and "-" in str(own_code):
        return str(own_code)
    for cls in type(exc).__mro__:
        if cls in _DRF_TYPES:
            return _DRF_TYPES[cls]
    return str(own_code or "error")


def _pointer_errors(detail: Any, path: str = "") -> list[dict[str, str]]:
    """Flatten DRF's nested error detail into JSON-pointer field errors."""
    if isinstance(detail, dict):
        out: list[dict[str, str]] = []
        for key, value in detail.items():
            sub = path if key == "non_field_errors" else f"{path}/{key}"
            out.extend(_pointer_errors(value, sub))
        return out
    if isinstance(detail, list):
        out = []
        for index, value in enumerate(detail):
            if isinstance(value, (dict, list)):
                out.extend(_pointer_errors(value, f"{path}/{index}"))
            else:
                out.extend(_pointer_errors(value, path))
        return out
    return [{"pointer": "#" + path, "detail": str(detail), "code": getattr(detail, "code", "invalid")}]


def problem_body(*, status_code: int, slug: str, detail: str, request=None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": str(TITLES.get(status_code, _("Error"))),
        "status": status_code,
        "detail": detail,
    }
    request_id = getattr(request, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    body.update(extra)
    return body


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: any API error becomes a problem details response."""
    if isinstance(exc, errors.DomainError):
        exc = api_exception_for(exc)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif is_outage(exc):
        log_outage(exc)
        exc = ServiceUnavailable()
    if not isinstance(exc, exceptions.APIException):
        return None  # unhandled: Django's handler500 answers with a problem too

    request = context.get("request")
    headers: dict[str, str] = {}
    auth_header, wait = getattr(exc, "auth_header", None), getattr(exc, "wait", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    if wait:
        headers["Retry-After"] = str(int(wait))

    extra: dict[str, Any] = {}
    if isinstance(exc, exceptions.ValidationError):
        detail_text = str(_("The request has invalid fields."))
        extra["errors"] = _pointer_errors(exc.detail)
    elif isinstance(exc.detail, (list, dict)):
        detail_text = str(_("The request could not be processed."))
        extra["errors"] = _pointer_errors(exc.detail)
    else:
        detail_text = str(exc.detail)

    status_code = exc.status_code
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)) or status_code == 401:
        status_code = status.HTTP_401_UNAUTHORIZED
        headers.setdefault("WWW-Authenticate", 'Bearer realm="api", Api-Key realm="api"')
    body = problem_body(status_code=status_code, slug=_problem_slug(exc), detail=detail_text, request=request, **extra)
    if request is not None and not isinstance(getattr(request, "accepted_renderer", None), JSONRenderer):
        # Views that render HTML or YAML (API docs, schema) would otherwise write the
        # problem in that format under a problem+json content type.
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), PROBLEM_CONTENT_TYPE
    return Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def problem_response(request, *, status_code: int, slug: str, detail: str) -> JsonResponse:
    """A problem response outside DRF (middleware, URL resolver, server errors)."""
    return JsonResponse(
        problem_body(status_code=status_code, slug=slug, detail=detail, request=request),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )
