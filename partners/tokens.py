"""Logins for people: the credential check, tokens (issuance, rotation with reuse detection), logout, revocation.

A login is a ``LoginSession``: its id (``sid``) and the user's ``token_version``
(``ver``) are claims of every token it issues, and the JWT authentication class
checks both on each request. The web app's sign-in opens the same kind of login after
the same check (``check_credentials``) and keeps its id and the token version in the
browser's session, checked on each page request (``login_holds``): whatever revokes a
login ends both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in, user_login_failed
from django.core.exceptions import ValidationError as DjangoValidationError
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

from .choices import MembershipStatus
from .models import LoginSession, User


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    mfa_enrolment_required: bool


def confirmed_totp_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


@dataclass(frozen=True)
class CheckedCredentials:
    """Who passed the credential check, and how: the one input of every new login."""

    user: User
    # Signed in with a confirmed TOTP device's code (that device), else None.
    device: TOTPDevice | None
    # Must use a second factor but has none yet: the login reaches nothing but enrolment.
    enrolment_only: bool

    @property
    def mfa_verified(self) -> bool:
        return self.device is not None


def check_credentials(*, request, username: str, password: str, otp: str | None) -> CheckedCredentials:
    """The credential check of every sign-in, the API's token login and the web app's alike.

    Every failure raises the same ``InvalidCredentials``, whether the user is unknown,
    the password wrong or the code wrong or missing, and counts towards the
    per-username lockout (django-axes); a locked username raises ``LockedOut`` even
    with the right password. A person with a confirmed TOTP device must give its
    code, whether or not their role or organisation requires one, and a code works
    once. A person who must use a second factor but has no device yet passes as
    ``enrolment_only``. Refusals are audited (``auth.login_failed``); the caller opens
    the login (``open_login``) and says so to ``user_logged_in`` its own way.
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
    assert isinstance(user, User)

    # A confirmed device is always asked for, required or not: a password alone never
    # opens an account that has a second factor.
    device = confirmed_totp_device(user)
    if device is not None:
        if not (otp and device.verify_token(otp)):  # verify_token refuses a code already used
            user_login_failed.send(sender=__name__, credentials=credentials, request=http_request)
            _login_failed(username, "invalid_otp")
            raise InvalidCredentials()
    return CheckedCredentials(user=user, device=device, enrolment_only=device is None and user.requires_mfa)


def open_login(checked: CheckedCredentials) -> LoginSession:
    """Start the login of a person who passed ``check_credentials``: a ``LoginSession``, audited.

    Call it inside a transaction, with whatever else the login writes. The session
    ends at its ``expires_at`` (``LOGIN_ABSOLUTE_LIFETIME``) at the latest.
    """
    session = _new_login_session(user=checked.user, mfa_verified=checked.mfa_verified)
    record(
        action="auth.login",
        actor=checked.user,
        obj=checked.user,
        detail={"mfa_verified": checked.mfa_verified, "enrolment_only": checked.enrolment_only},
    )
    return session


def login(*, request, username: str, password: str, otp: str | None) -> TokenPair:
    """Exchange credentials (and a TOTP code where required) for a new login's tokens.

    The rules are ``check_credentials``'s. A person who must use a second factor but
    has no device yet gets an enrolment-only token that reaches nothing but enrolment.
    """
    checked = check_credentials(request=request, username=username, password=password, otp=otp)
    user_logged_in.send(sender=checked.user.__class__, request=getattr(request, "_request", request), user=checked.user)
    with transaction.atomic():
        session = open_login(checked)
        pair = _tokens_for(session, enrolment_only=checked.enrolment_only)
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


def _new_login_session(*, user: User, mfa_verified: bool) -> LoginSession:
    now = timezone.now()
    return LoginSession.objects.create(
        user=user,
        started_at=now,
        expires_at=now + settings.LOGIN_ABSOLUTE_LIFETIME,
        mfa_verified=mfa_verified,
        current_refresh_jti="",
    )


def _tokens_for(session: LoginSession, *, enrolment_only: bool) -> TokenPair:
    refresh = _new_refresh(user=session.user, session=session, enrolment_only=enrolment_only)
    session.current_refresh_jti = refresh["jti"]
    session.save(update_fields=["current_refresh_jti"])
    return TokenPair(access=_access_for(refresh), refresh=str(refresh), mfa_enrolment_required=enrolment_only)


def issue_tokens_for_tests(user: User, *, mfa_verified: bool = True) -> TokenPair:
    """Tokens as a successful login would issue them, without a password round trip."""
    return _tokens_for(_new_login_session(user=user, mfa_verified=mfa_verified), enrolment_only=False)


def open_login_for_tests(user: User, *, mfa_verified: bool = True) -> LoginSession:
    """A login as a successful sign-in would open it (for the web app's sessions), without a password."""
    return _new_login_session(user=user, mfa_verified=mfa_verified)


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


def logout(*, user: User, session_id=None, reason: str = "logout") -> None:
    """End the caller's login: its access and refresh tokens (and its web session) stop working at once.

    ``session_id`` is the login's id; by default the one of the access token the
    request came with. A login ended for another ``reason`` than the person's own
    logout (the web app's idle timeout) says why in its audit entry.
    """
    if session_id is None:
        session_id = getattr(user, "login_session_id", None)
    session = LoginSession.objects.filter(id=session_id, user=user).first() if session_id is not None else None
    if session is not None and session.revoked_at is None:
        with transaction.atomic():
            _revoke_session(session, reason=reason)
            record(action="auth.logout", actor=user, obj=session, detail=None if reason == "logout" else {"reason": reason})


def login_holds(*, user: User, session_id, token_version) -> bool:
    """Whether a login held outside a token (a web session) still stands, by the tokens' rules.

    The same checks ``CoalitionJWTAuthentication`` makes of every access token: the
    login exists and is live (not ended, not revoked, within its absolute lifetime),
    the person is active, their organisation has not left and their ``token_version``
    is the one the login began with (deactivation, a role change, a password change or
    reset and a TOTP reset bump it).
    """
    if session_id is None or token_version is None:
        return False
    try:
        session = LoginSession.objects.filter(id=session_id, user_id=user.pk).first()
    except (ValueError, DjangoValidationError):
        return False
    return (
        session is not None
        and session.is_live()
        and user.is_active
        and token_version == user.token_version
        and user.organisation.membership_status != MembershipStatus.LEFT
    )


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
