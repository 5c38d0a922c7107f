"""Django's error views for the whole project: HTML pages under /app/, problem details elsewhere.

The web app's pages (``web.views.errors``) are for people in a browser; every other
path is the API's or a probe's, which never answers in HTML (``coalition.api.handlers``).
"""

from django.views.csrf import csrf_failure as django_csrf_failure

from coalition.api import handlers as api
from web.middleware import is_web_path
from web.views import errors as web


def not_found(request, exception=None):
    return (web.not_found if is_web_path(request.path) else api.not_found)(request, exception)


def permission_denied(request, exception=None):
    return (web.permission_denied if is_web_path(request.path) else api.permission_denied)(request, exception)


def bad_request(request, exception=None):
    return (web.bad_request if is_web_path(request.path) else api.bad_request)(request, exception)


def server_error(request):
    return (web.server_error if is_web_path(request.path) else api.server_error)(request)


def csrf_failure(request, reason=""):
    """``CSRF_FAILURE_VIEW``: only the web app's forms are checked (DRF's views are exempt)."""
    if is_web_path(request.path):
        return web.csrf_failure(request, reason)
    return django_csrf_failure(request, reason)
