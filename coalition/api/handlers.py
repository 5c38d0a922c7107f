"""Django's own error views, answering with problem details instead of HTML."""

import sys

from django.utils.translation import gettext as _

from coalition.core.db import is_outage

from .problems import outage_response, problem_response


def not_found(request, exception=None):
    return problem_response(request, status_code=404, slug="not-found", detail=_("Not found."))


def server_error(request):
    # Django calls this inside its ``except``: an outage raised outside a view (in a
    # middleware) is still a 503 the client may retry.
    if is_outage(sys.exc_info()[1]):
        return outage_response(request)
    # Never a stack trace or exception text: only the request id to quote to support.
    return problem_response(
        request, status_code=500, slug="server-error", detail=_("An unexpected error occurred. Quote the request id.")
    )


def bad_request(request, exception=None):
    return problem_response(request, status_code=400, slug="malformed-request", detail=_("Bad request."))


def permission_denied(request, exception=None):
    return problem_response(request, status_code=403, slug="forbidden", detail=_("Forbidden."))
