"""What every web page request goes through: the session check, the person's language, no caching.

Only paths under ``/app/`` are concerned; the API authenticates by header and never
reads the session cookie.
"""

from __future__ import annotations

from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout as django_logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from coalition.api.problems import log_outage
from coalition.core.db import is_outage

from . import auth
from .views.errors import service_unavailable

WEB_PREFIX = "/app/"

# The pages an enrolment-only session may open (as an enrolment-only token reaches
# enrolment, /me/ and logout); the public pages need no session at all.
ENROLMENT_PAGES = frozenset(
    {"web:second-factor", "web:sign-out", "web:language", "web:sign-in", "web:invitation", "web:password-reset"}
)


def is_web_path(path: str) -> bool:
    return path.startswith(WEB_PREFIX)


class WebSessionMiddleware:
    """Every web request of a signed-in browser: is its login still standing? Else it ends here.

    A session whose login was revoked (sign-out, deactivation, role change, password or
    TOTP reset: ``partners.tokens.revoke_all_tokens``), has passed its absolute lifetime
    or the person's token version, or has been idle longer than
    ``WEB_SESSION_IDLE_MINUTES`` is flushed; the request goes on without a person, so
    a page that needs one sends the browser to sign in, saying "Your session ended".
    An enrolment-only session opens nothing but the second-factor page and sign-out.
    Answers under /app/ are never stored by the browser or a proxy.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_web_path(request.path):
            return self.get_response(request)
        ended = self._check(request)
        if ended and request.headers.get("HX-Request"):
            response = self._htmx_to_sign_in(request)
        else:
            response = self.get_response(request)
        response["Cache-Control"] = "no-store"
        return response

    def _check(self, request: HttpRequest) -> bool:
        """True when a signed-in session ended on this request."""
        had_login = auth.LOGIN_SESSION_KEY in request.session
        if not request.user.is_authenticated:
            if had_login:  # Django dropped it (a changed password hash): it ended all the same
                request.session.flush()
                messages.info(request, _("Your session ended. Sign in again."))
                return True
            return False
        idle = auth.idle_for(request)
        if not auth.holds(request):
            django_logout(request)  # the login ended elsewhere (revoked, expired): nothing more to record
        elif idle is None or idle > auth.idle_limit_seconds():
            auth.end(request, reason="idle_timeout")  # the login ends with it, audited
        else:
            if not auth.is_background_refresh(request):
                auth.touch(request)
            return False
        messages.info(request, _("Your session ended. Sign in again."))
        return True

    def _htmx_to_sign_in(self, request: HttpRequest) -> HttpResponse:
        """An htmx request would swap the sign-in page into a fragment: send the whole page there."""
        current = urlsplit(request.headers.get("HX-Current-URL", "")).path or request.path
        response = HttpResponse(status=204)
        response["HX-Redirect"] = redirect_to_login(auth.safe_next(request, current) or WEB_PREFIX).url
        return response

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if not is_web_path(request.path) or not request.user.is_authenticated or not auth.enrolment_only(request):
            return None
        match = request.resolver_match
        if match is not None and match.view_name in ENROLMENT_PAGES:
            return None
        return redirect("web:second-factor")

    def process_exception(self, request: HttpRequest, exception: Exception):
        """A database outage on a page is the "try again shortly" page (503), not a problem document."""
        if not is_web_path(request.path) or not is_outage(exception):
            return None
        log_outage(exception)
        return service_unavailable(request)


class PersonLanguageMiddleware:
    """Web pages speak the signed-in person's chosen language (``User.language``) and show
    times in the coalition's time zone (``COALITION_TIME_ZONE``).

    Without a choice (or signed out) the language is Django's pick: the
    ``django_language`` cookie the language switch sets, else ``Accept-Language``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_web_path(request.path):
            return self.get_response(request)
        if request.user.is_authenticated:
            chosen = getattr(request.user, "language", "")
            if chosen and chosen in dict(settings.LANGUAGES):
                translation.activate(chosen)
                request.LANGUAGE_CODE = chosen
        # Pages show times on the coalition's clock (the one deadlines are counted in), not UTC.
        with timezone.override(ZoneInfo(settings.COALITION_TIME_ZONE)):
            return self.get_response(request)



class SameOriginNullOriginMiddleware:
    """Before Django's CSRF check: ``Origin: null`` with ``Sec-Fetch-Site: same-origin`` is this origin.

    Every answer says ``Referrer-Policy: no-referrer``, so a browser sends no Referer
    and, by the Fetch standard, ``Origin: null`` with each form post and htmx request,
    even to the page's own origin; Django's ``CsrfViewMiddleware`` would refuse them
    all. ``Sec-Fetch-Site`` is set by the browser alone (no script can forge it) and
    says ``same-origin`` only for a request from this very origin, scheme included (an
    http:// page posting to the https:// site is ``same-site``). Such a request's Origin
    is taken to be this site's; Django then checks the CSRF token as ever. Any other
    ``Origin: null`` stays, and is refused.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.META.get("HTTP_ORIGIN") == "null" and request.META.get("HTTP_SEC_FETCH_SITE") == "same-origin":
            try:
                request.META["HTTP_ORIGIN"] = f"{request.scheme}://{request.get_host()}"
            except DisallowedHost:
                pass
        return self.get_response(request)
