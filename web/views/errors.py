"""The web app's error pages (the API answers problem details; ``coalition.error_views`` picks by path).

The 500 and 503 pages are rendered without the request's context: they must not
touch the database (it may be what failed) and show nothing of the person or the
request but its id, to quote to support.
"""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import loader

from coalition.api.problems import OUTAGE_RETRY_AFTER_SECONDS
from coalition.core.db import is_outage


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "web/errors/404.html", status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "web/errors/403.html", status=403)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "web/errors/400.html", status=400)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without its CSRF token, or with an old one (a page left open across a sign-in)."""
    return render(request, "web/errors/csrf.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its ``except``: an outage in a middleware is a 503 too.
    if is_outage(sys.exc_info()[1]):
        return service_unavailable(request)
    return _bare(request, "web/errors/500.html", status=500)


def service_unavailable(request: HttpRequest) -> HttpResponse:
    response = _bare(request, "web/errors/503.html", status=503)
    response["Retry-After"] = str(OUTAGE_RETRY_AFTER_SECONDS)
    return response


def _bare(request: HttpRequest, template_name: str, *, status: int) -> HttpResponse:
    """A page from a template given only the request id: no session, user or database."""
    body = loader.get_template(template_name).render({"request_id": getattr(request, "request_id", "")})
    return HttpResponse(body, status=status)
