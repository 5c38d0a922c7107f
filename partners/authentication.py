"""Who is calling: a person with a JWT, or a partner system with an API key."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken

from coalition.audit.services import record

from .choices import MembershipStatus
from .models import ApiKey, LoginSession, Organisation, User

API_KEY_KEYWORD = "Api-Key"
API_KEY_TOKEN_PREFIX = "crn"
# last_used_at is written at most this often per key, not on every request.
API_KEY_LAST_USED_PRECISION = timedelta(minutes=1)


class CoalitionJWTAuthentication(JWTAuthentication):
    """Bearer access tokens, checked beyond their signature on every request.

    simplejwt verifies signature, algorithm, expiry, audience, issuer and token
    type. Here the token must also belong to a live login (not logged out, not
    revoked by refresh-token reuse, within the absolute lifetime) and carry the
    user's current ``token_version``: that is what makes deactivation, role
    change and password or TOTP resets revoke access tokens at once.
    """

    def get_user(self, validated_token):
        try:
            session = LoginSession.objects.select_related("user__organisation").get(
                id=validated_token["sid"], user_id=validated_token["sub"]
            )
        except (KeyError, ValueError, TypeError, LoginSession.DoesNotExist, DjangoValidationError):
            # A signed token whose sid is no UUID (or sub no id) is a 401, not a 500 (issue #12).
            raise InvalidToken(str(_("Token is not valid."))) from None
        user = session.user
        if (
            not session.is_live()
            or not user.is_active
            or validated_token.get("ver") != user.token_version
            or user.organisation.membership_status == MembershipStatus.LEFT
        ):
            raise InvalidToken(str(_("Token is not valid.")))
        return user

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, token = result
        assert isinstance(user, User)  # get_user above finds people only
        user.login_session_id = token["sid"]
        user.mfa_enrolment_only = bool(token.get("mfa_enrolment"))
        return user, token


@dataclass
class PartnerSystem:
    """The actor behind an API key: its organisation, limited to the key's scopes."""

    api_key: ApiKey
    organisation: Organisation
    scopes: frozenset[str] = field(default_factory=frozenset)
    roles: tuple = ()
    is_active: bool = True
    is_authenticated: bool = True
    is_anonymous: bool = False
    mfa_enrolment_only: bool = False

    @property
    def pk(self) -> str:
        return f"api-key:{self.api_key.pk}"

    @property
    def is_partner_system(self) -> bool:
        return True

    @property
    def organisation_id(self):
        return self.organisation.pk

    id = pk
    throttle_ident = pk

    def has_role(self, role: str) -> bool:
        return False


def digest_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def split_api_key(raw_key: str) -> str | None:
    """The public prefix of a well-formed key (``crn_<prefix>_<secret>``), else None."""
    parts = raw_key.split("_", 2)  # the secret itself may contain "_"
    if len(parts) != 3 or parts[0] != API_KEY_TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Api-Key <key>`` for partner systems.

    The key is looked up by its prefix and compared by digest in constant time;
    a revoked or expired key, or one of an organisation that left, is refused.
    """

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        keyword, _sep, raw_key = header.partition(" ")
        if keyword != API_KEY_KEYWORD:
            return None
        raw_key = raw_key.strip()
        prefix = split_api_key(raw_key)
        key = None
        if prefix:
            key = ApiKey.objects.select_related("organisation").filter(prefix=prefix).first()
        if (
            key is None
            or not hmac.compare_digest(key.key_digest, digest_api_key(raw_key))
            or not key.is_usable()
            or key.organisation.membership_status == MembershipStatus.LEFT
        ):
            raise exceptions.AuthenticationFailed(_("Invalid API key."))
        actor = PartnerSystem(api_key=key, organisation=key.organisation, scopes=frozenset(key.scopes))
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > API_KEY_LAST_USED_PRECISION:
            # Key use is audited at the same precision as last_used_at; every write and
            # identity read the key makes is audited on its own, naming the key.
            with transaction.atomic():
                ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
                record(action="api_key.use", actor=actor, obj=key)
            key.last_used_at = now
        return actor, key

    def authenticate_header(self, request):
        return f'{API_KEY_KEYWORD} realm="api"'
