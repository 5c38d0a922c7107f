"""Logins and tokens for people: issuance, rotation with reuse detection, logout, revocation.

A login is a ``LoginSession``: its id (``sid``) and the user's ``token_version``
(``ver``) are claims of every token it issues, and the JWT authentication class
checks both on each request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in, user_login_failed
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework_simplejwt.exceptions import InvalidToken, TokenBackendError, TokenError
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from coalition.api.problems import problem_response
from coalition.audit.services import record
from coalition.core.errors import InvalidCredentials, LockedOut

from .models import LoginSession, User


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    mfa_enrolment_required: bool


def confirmed_totp_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def login(*, request, username: str, password: str, otp: str | None) -> TokenPair:
    """Exchange credentials (and a TOTP code where required) for a new login's tokens.

    Every failure answers the same ``InvalidCredentials``, whether the user is
    unknown, the password wrong or the code wrong or missing, and counts towards
    the per-username lockout. A person with a confirmed TOTP device must give its
    code, whether or not their role or organisation requires one. A person who must
    use a second factor but has no device yet gets an enrolment-only token that
    reaches nothing but enrolment.
    """
    http_request = getattr(request, "_request", request)
    credentials = {"username": username}
    if AxesProxyHandler.is_locked(http_request, credentials):
        _login_failed(username, "locked_out")
        raise LockedOut()
    user = authenticate(http_request, username=username, password=password)
    if user is None:
        if AxesProxyHandler.is_locked(http_request, credentials):
            _login_failed(username, "locked_out")
            raise LockedOut()
        _login_failed(username, "invalid_credentials")
        raise InvalidCredentials()

    enrolment_only = False
    mfa_verified = False
    # A confirmed device is always asked for, required or not: a password alone never
    # opens an account that has a second factor.
    device = confirmed_totp_device(user)
    if device is not None:
        if otp and device.verify_token(otp):  # verify_token refuses a code already used
            mfa_verified = True
        else:
            user_login_failed.send(sender=__name__, credentials=credentials, request=http_request)
            _login_failed(username, "invalid_otp")
            raise InvalidCredentials()
    elif user.requires_mfa:
        enrolment_only = True
    user_logged_in.send(sender=user.__class__, request=http_request, user=user)
    with transaction.atomic():
        pair = _start_login(user=user, mfa_verified=mfa_verified, enrolment_only=enrolment_only)
        record(
            action="auth.login",
            actor=user,
            obj=user,
            detail={"mfa_verified": mfa_verified, "enrolment_only": enrolment_only},
        )
    return pair


def _login_failed(username: str, reason: str) -> None:
    """Audit a refused login: the user's id when the name is known, never the name typed."""
    user = User.objects.select_related("organisation").filter(username=username).first()
    record(action="auth.login_failed", actor=user, object_type="user", object_id=user.pk if user else "", detail={"reason": reason})


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer when a login attempt locks the username (``AXES_LOCKOUT_CALLABLE``).

    Axes replaces the response of the attempt that reaches the limit; keep it the
    same ``locked-out`` problem that every later attempt gets from ``login``.
    """
    if original_response is not None and original_response.status_code == 429:
        return original_response
    return problem_response(request, status_code=429, slug="locked-out", detail=str(LockedOut.default_message))


def _start_login(*, user: User, mfa_verified: bool, enrolment_only: bool) -> TokenPair:
    now = timezone.now()
    session = LoginSession.objects.create(
        user=user,
        started_at=now,
        expires_at=now + settings.LOGIN_ABSOLUTE_LIFETIME,
        mfa_verified=mfa_verified,
        current_refresh_jti="",
    )
    refresh = _new_refresh(user=user, session=session, enrolment_only=enrolment_only)
    session.current_refresh_jti = refresh["jti"]
    session.save(update_fields=["current_refresh_jti"])
    return TokenPair(access=_access_for(refresh), refresh=str(refresh), mfa_enrolment_required=enrolment_only)


def issue_tokens_for_tests(user: User, *, mfa_verified: bool = True) -> TokenPair:
    """Tokens as a successful login would issue them, without a password round trip."""
    return _start_login(user=user, mfa_verified=mfa_verified, enrolment_only=False)


def _new_refresh(*, user: User, session: LoginSession, enrolment_only: bool) -> RefreshToken:
    refresh = RefreshToken.for_user(user)
    refresh["sid"] = str(session.id)
    refresh["ver"] = user.token_version
    refresh["mfa"] = session.mfa_verified
    if enrolment_only:
        refresh["mfa_enrolment"] = True
    # Never outlive the login's absolute lifetime.
    cap = int(session.expires_at.timestamp())
    if refresh["exp"] > cap:
        refresh["exp"] = cap
    return refresh


def _access_for(refresh: RefreshToken) -> str:
    """The access token of a refresh token, never outliving the login either."""
    access = refresh.access_token
    if access["exp"] > refresh["exp"]:
        access["exp"] = refresh["exp"]
    return str(access)


def rotate_refresh(*, raw_refresh: str) -> TokenPair:
    """Trade a refresh token for a new pair; the old one is blacklisted.

    Rotations of one login are serialised by a row lock, so two parallel
    refreshes of the same token give one success. A refresh token that is not
    the login's newest (it was rotated already: a replay, maybe by a thief)
    revokes the whole login, newest tokens included.
    """
    try:
        payload = token_backend.decode(raw_refresh, verify=True)  # type: ignore[arg-type]  # simplejwt's hint: it takes the text
    except TokenBackendError:
        raise InvalidToken() from None
    if payload.get("token_type") != "refresh" or "sid" not in payload or payload.get("sub") is None:
        raise InvalidToken()

    reused = False
    pair: TokenPair | None = None
    with transaction.atomic():
        session = (
            LoginSession.objects.select_for_update()
            .select_related("user__organisation")
            .filter(id=payload["sid"], user_id=payload["sub"])
            .first()
        )
        if session is None or not session.is_live():
            raise InvalidToken()
        user = session.user
        if payload.get("jti") != session.current_refresh_jti:
            reused = True
            _revoke_session(session, reason="refresh_reuse")
            record(action="auth.refresh_reuse", actor=user, obj=session)
        else:
            if not user.is_active or payload.get("ver") != user.token_version:
                raise InvalidToken()
            try:
                RefreshToken(raw_refresh).blacklist()  # type: ignore[arg-type]  # simplejwt's hint: it takes the text
            except TokenError:
                raise InvalidToken() from None
            refresh = _new_refresh(user=user, session=session, enrolment_only=bool(payload.get("mfa_enrolment")))
            session.current_refresh_jti = refresh["jti"]
            session.save(update_fields=["current_refresh_jti"])
            record(action="auth.refresh", actor=user, obj=session)
            pair = TokenPair(
                access=_access_for(refresh),
                refresh=str(refresh),
                mfa_enrolment_required=bool(payload.get("mfa_enrolment")),
            )
    if reused or pair is None:
        raise InvalidToken()
    return pair


def _revoke_session(session: LoginSession, *, reason: str, now: datetime | None = None) -> None:
    session.revoked_at = now or timezone.now()
    session.revoked_reason = reason
    session.save(update_fields=["revoked_at", "revoked_reason"])
    if session.current_refresh_jti:
        outstanding = OutstandingToken.objects.filter(jti=session.current_refresh_jti).first()
        if outstanding is not None:
            BlacklistedToken.objects.get_or_create(token=outstanding)


def logout(*, user: User) -> None:
    """End the caller's login: its access and refresh tokens stop working at once."""
    session_id = getattr(user, "login_session_id", None)
    session = LoginSession.objects.filter(id=session_id, user=user).first() if session_id is not None else None
    if session is not None and session.revoked_at is None:
        with transaction.atomic():
            _revoke_session(session, reason="logout")
            record(action="auth.logout", actor=user, obj=session)


def revoke_logins_without_second_factor(*, users, reason: str) -> int:
    """End every live login of ``users`` that was not made with a second factor.

    Access tokens of those logins fail on their next use (the authentication checks
    the login). Logins verified by TOTP stay: they already meet the new requirement.
    """
    now = timezone.now()
    sessions = LoginSession.objects.select_for_update().filter(
        user__in=users, revoked_at__isnull=True, mfa_verified=False, expires_at__gt=now
    )
    count = 0
    for session in sessions:
        _revoke_session(session, reason=reason, now=now)
        count += 1
    return count


def revoke_all_tokens(*, user: User, reason: str) -> None:
    """Every token issued to ``user`` before now fails on its next use.

    Called on deactivation, role change, password change or reset and TOTP reset.
    """
    User.objects.filter(pk=user.pk).update(token_version=F("token_version") + 1)
    user.refresh_from_db(fields=["token_version"])
    now = timezone.now()
    for session in LoginSession.objects.filter(user=user, revoked_at__isnull=True):
        _revoke_session(session, reason=reason, now=now)
