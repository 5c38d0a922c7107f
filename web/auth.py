"""The web app's sessions: one login (``partners.LoginSession``) per signed-in browser.

A web session is a Django session that names the login it belongs to. The login is the
same record a token login makes, so everything that ends a token login ends the web
session on its next request too (``web.middleware.WebSessionMiddleware`` checks it every
time): signing out, deactivation, a role change, a password change or reset, a TOTP
reset, the absolute lifetime (``LOGIN_ABSOLUTE_LIFETIME``). A web session also ends
after ``WEB_SESSION_IDLE_MINUTES`` without a request.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login

from coalition.api.throttling import LoginThrottle
from partners import tokens
from partners.choices import Role
from partners.models import LoginSession, User

# Keys of the Django session. The login's id and the token version it began with are
# checked on every request; the last request's time ends an idle session.
LOGIN_SESSION_KEY = "web_login_session"
TOKEN_VERSION_KEY = "web_token_version"
LAST_SEEN_KEY = "web_last_seen"
# Set while the person must enrol a second factor first: only enrolment and sign-out open.
ENROLMENT_ONLY_KEY = "web_enrolment_only"

# Last activity is written at most this often (seconds): not a session save per request.
LAST_SEEN_PRECISION = 30


def begin(request: HttpRequest, checked: tokens.CheckedCredentials, login_session: LoginSession) -> None:
    """Sign the browser in to ``login_session``: a new session key, Django's and django-otp's login.

    Any login this browser held before ends first, so one browser never holds two.
    """
    previous = request.session.get(LOGIN_SESSION_KEY)
    if previous and request.user.is_authenticated and previous != str(login_session.pk):
        tokens.logout(user=request.user, session_id=previous, reason="replaced")
    user = checked.user
    # Rotates the session key (a new one even for the same person) and the CSRF token,
    # and tells django-axes (failures reset) and last_login through user_logged_in.
    django_login(request, user, backend=getattr(user, "backend", "django.contrib.auth.backends.ModelBackend"))
    if checked.device is not None:
        otp_login(request, checked.device)
    request.session[LOGIN_SESSION_KEY] = str(login_session.pk)
    request.session[TOKEN_VERSION_KEY] = user.token_version
    request.session[LAST_SEEN_KEY] = int(time.time())
    request.session[ENROLMENT_ONLY_KEY] = checked.enrolment_only
    # The cookie ends with the login, never later.
    request.session.set_expiry(login_session.expires_at)


def end(request: HttpRequest, *, reason: str = "logout") -> None:
    """Sign out: the login is revoked (audited) and the session flushed, cookie and all."""
    session_id = request.session.get(LOGIN_SESSION_KEY)
    if session_id and request.user.is_authenticated:
        assert isinstance(request.user, User)
        tokens.logout(user=request.user, session_id=session_id, reason=reason)
    django_logout(request)


def holds(request: HttpRequest) -> bool:
    """Whether the signed-in session's login still stands (``partners.tokens.login_holds``)."""
    user = request.user
    assert isinstance(user, User)
    return tokens.login_holds(
        user=user,
        session_id=request.session.get(LOGIN_SESSION_KEY),
        token_version=request.session.get(TOKEN_VERSION_KEY),
    )


def idle_for(request: HttpRequest, now: float | None = None) -> float | None:
    """Seconds since the session's last request (None when it never recorded one)."""
    last = request.session.get(LAST_SEEN_KEY)
    if not isinstance(last, int):
        return None
    return (now or time.time()) - last


def touch(request: HttpRequest, now: float | None = None) -> None:
    """Record this request as the session's last activity (at ``LAST_SEEN_PRECISION``)."""
    now = now or time.time()
    idle = idle_for(request, now)
    if idle is None or idle >= LAST_SEEN_PRECISION:
        request.session[LAST_SEEN_KEY] = int(now)


# Sent by page parts that refresh themselves (the inbox's lists, every minute): such a request
# is the page's, not the person's, so it does not keep an unattended session alive.
BACKGROUND_REFRESH_HEADER = "X-Background-Refresh"


def is_background_refresh(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request")) and request.headers.get(BACKGROUND_REFRESH_HEADER) == "1"


def idle_limit_seconds() -> int:
    return settings.WEB_SESSION_IDLE_MINUTES * 60


def enrolment_only(request: HttpRequest) -> bool:
    return bool(request.session.get(ENROLMENT_ONLY_KEY))


def safe_next(request: HttpRequest, candidate: str | None) -> str | None:
    """``candidate`` when it is a path of this site (``?next=``), else None: never another host."""
    if not candidate or not candidate.startswith("/") or candidate.startswith("//"):
        return None
    if not url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return None
    return candidate


# Where each role's work starts, in this order for a person holding several roles.
START_PAGES = (
    (Role.CASEWORKER, "web:home"),  # the inbox
    (Role.COORDINATOR, "web:oversight"),
    (Role.ORG_ADMIN, "web:people"),
    (Role.AUDITOR, "web:audit"),
)


def landing(user: User) -> str:
    """Where a person goes after signing in (and from ``/app/``): the first page of their work.

    Caseworkers start on the inbox, coordinators on the dashboard, org admins on their
    people, auditors on the trail; someone with none of these roles on ``/app/``, which says so.
    """
    for role, page in START_PAGES:
        if user.has_role(role):
            return reverse(page)
    return reverse("web:home")


class WebLoginThrottle(LoginThrottle):
    """The API's login throttle for the web's sign-in and one-time-link forms: same rate, same count.

    Counted per client address in the very bucket of the API's logins, signed in or not,
    so alternating between the two front ends gains nothing.
    """

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def throttled(request: HttpRequest) -> int | None:
    """None while the client may try again, else the seconds to wait (the 429 page's Retry-After)."""
    throttle = WebLoginThrottle()
    if throttle.allow_request(request, None):  # type: ignore[arg-type]  # it reads the client address only
        return None
    wait = throttle.wait()
    return max(1, int(wait)) if wait is not None else 60
