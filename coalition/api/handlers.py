"""Django's own error views, answering with problem details instead of HTML."""

from django.utils.translation import gettext as _

from .problems import problem_response


def not_found(request, exception=None):
    return problem_response(request, status_code=404, slug="not-found", detail=_("Not found."))


def server_error(request):
    # Never a stack trace or exception text: only the request id to quote to support.
    return problem_response(
        request, status_code=500, slug="server-error", detail=_("An unexpected error occurred. Quote the request id.")
    )


def bad_request(request, exception=None):
    return problem_response(request, status_code=400, slug="malformed-request", detail=_("Bad request."))


def permission_denied(request, exception=None):
    return problem_response(request, status_code=403, slug="forbidden", detail=_("Forbidden."))
