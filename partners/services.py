"""Writes on partners: one function per action, each in a transaction.

Views call these after validating input; nothing else changes membership,
roles, passwords, second factors or API keys.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.exceptions import ValidationError

from coalition.api.problems import BusinessRuleViolation, Conflict
from coalition.audit.services import record

from .authentication import API_KEY_TOKEN_PREFIX, digest_api_key
from .choices import COALITION_ROLES, MembershipStatus, OrganisationKind, Role
from .models import ApiKey, Organisation, User
from .tokens import revoke_all_tokens, revoke_logins_without_second_factor

# --- organisations -------------------------------------------------------------


@transaction.atomic
def organisation_admit(*, actor: User, data: dict[str, Any]) -> Organisation:
    """A coordinator admits a new member organisation; it starts active."""
    organisation = Organisation.objects.create(membership_status=MembershipStatus.ACTIVE, **data)
    record(action="organisation.admit", actor=actor, obj=organisation)
    return organisation


@transaction.atomic
def organisation_update(*, actor: User, organisation: Organisation, data: dict[str, Any]) -> Organisation:
    """Change directory fields; the serializer has already limited them to the actor's.

    Turning on ``caseworker_mfa_required`` ends, in the same transaction, every login
    of the organisation's caseworkers that was made without a second factor.
    """
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    mfa_turned_on = bool(data.get("caseworker_mfa_required")) and not organisation.caseworker_mfa_required
    for name, value in data.items():
        setattr(organisation, name, value)
    if organisation.min_age > organisation.max_age:
        raise ValidationError({"min_age": [_("Must not be above max_age.")]})
    organisation.save()
    detail: dict[str, Any] = {"fields": sorted(data)}
    if mfa_turned_on:
        # Roles are a JSON list: filtered here, since SQLite has no JSON containment lookup.
        caseworkers = [u for u in User.objects.filter(organisation=organisation) if u.has_role(Role.CASEWORKER)]
        detail["logins_ended"] = revoke_logins_without_second_factor(users=caseworkers, reason="mfa_required")
    record(action="organisation.update", actor=actor, obj=organisation, detail=detail)
    return organisation


@transaction.atomic
def organisation_set_membership(*, actor: User, organisation: Organisation, status: str) -> Organisation:
    """Suspend or re-admit a member. The coordination itself cannot be suspended."""
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if organisation.kind == OrganisationKind.COORDINATOR and status != MembershipStatus.ACTIVE:
        raise BusinessRuleViolation(_("The coalition's coordination cannot be suspended."))
    if organisation.membership_status == status:
        raise Conflict(_("The organisation already has this membership status."))
    organisation.membership_status = status
    organisation.save(update_fields=["membership_status", "updated_at"])
    record(action="organisation.membership", actor=actor, obj=organisation, detail={"status": status})
    return organisation


# --- users ---------------------------------------------------------------------


def validate_roles_for(organisation: Organisation, roles: list[str]) -> list[str]:
    """Coordinator and auditor roles belong to the coordination only; caseworkers to partners."""
    roles = sorted(set(roles))
    if not roles:
        raise ValidationError({"roles": [_("A user needs at least one role.")]})
    is_coordination = organisation.kind == OrganisationKind.COORDINATOR
    if not is_coordination and COALITION_ROLES.intersection(roles):
        raise ValidationError({"roles": [_("Coordinator and auditor roles exist only in the coalition's coordination.")]})
    if is_coordination and Role.CASEWORKER in roles:
        raise ValidationError({"roles": [_("The coalition's coordination has no caseworkers.")]})
    return roles


def _check_password(password: str, user: User, *, field: str = "password") -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationError({field: list(exc.messages)}) from None


@transaction.atomic
def user_create(*, actor: User, data: dict[str, Any]) -> User:
    """An org admin adds a person to their own organisation."""
    roles = data.pop("roles")
    user = _create_user(organisation=actor.organisation, roles=roles, data=data)
    record(action="user.create", actor=actor, obj=user, detail={"roles": user.roles})
    return user


@transaction.atomic
def organisation_add_admin(*, actor: User, organisation: Organisation, data: dict[str, Any]) -> User:
    """A coordinator gives a member organisation an org admin (its first, or a replacement).

    That admin then adds the organisation's other people. Coordinators never
    create caseworkers: who works a case is the member's own decision.
    """
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if organisation.membership_status == MembershipStatus.LEFT:
        raise BusinessRuleViolation(_("The organisation has left the coalition."))
    user = _create_user(organisation=organisation, roles=[Role.ORG_ADMIN], data=data)
    record(action="organisation.add_admin", actor=actor, obj=user)
    return user


def _create_user(*, organisation: Organisation, roles: list[str], data: dict[str, Any]) -> User:
    password = data.pop("password")
    roles = validate_roles_for(organisation, roles)
    if User.objects.filter(username__iexact=data["username"]).exists():
        raise ValidationError({"username": [_("This username is taken.")]})
    user = User(organisation=organisation, roles=roles, **data)
    _check_password(password, user)
    user.set_password(password)
    user.save()
    return user


def _is_last_active_admin(user: User) -> bool:
    # Locks the colleagues' rows so two admins cannot demote each other at once.
    colleagues = User.objects.select_for_update().filter(organisation_id=user.organisation_id, is_active=True)
    return not any(other.has_role(Role.ORG_ADMIN) for other in colleagues.exclude(pk=user.pk))


@transaction.atomic
def user_update(*, actor: User, user: User, data: dict[str, Any]) -> User:
    """Change a colleague's details, roles or active flag.

    A change of roles or deactivation revokes every token the user holds. The
    organisation's last active org admin cannot be demoted or deactivated.
    """
    user = User.objects.select_for_update().select_related("organisation").get(pk=user.pk)
    roles_changed = "roles" in data and validate_roles_for(user.organisation, data["roles"]) != sorted(user.roles)
    if roles_changed:
        data["roles"] = validate_roles_for(user.organisation, data["roles"])
    deactivated = data.get("is_active") is False and user.is_active
    loses_admin = user.has_role(Role.ORG_ADMIN) and (deactivated or (roles_changed and Role.ORG_ADMIN not in data["roles"]))
    if loses_admin and _is_last_active_admin(user):
        raise BusinessRuleViolation(_("An organisation keeps at least one active org admin."))
    for name, value in data.items():
        setattr(user, name, value)
    user.save()
    if roles_changed or deactivated:
        revoke_all_tokens(user=user, reason="deactivated" if deactivated else "role_change")
    record(action="user.update", actor=actor, obj=user, detail={"fields": sorted(data), "roles": user.roles})
    return user


def _refuse_self(actor: User, user: User) -> None:
    if actor.pk == user.pk:
        raise BusinessRuleViolation(_("Ask another org admin: you cannot reset your own credentials here."))


@transaction.atomic
def user_set_password(*, actor: User, user: User, password: str) -> None:
    """An org admin sets a new password for a colleague; their tokens are revoked.

    Not for oneself: that is /me/password/, which asks for the current password.
    """
    _refuse_self(actor, user)
    _check_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    revoke_all_tokens(user=user, reason="password_reset")
    record(action="user.password_reset", actor=actor, obj=user)


@transaction.atomic
def user_change_own_password(*, user: User, current_password: str, new_password: str) -> None:
    """A person changes their own password; every token they hold is revoked."""
    if not user.check_password(current_password):
        raise ValidationError({"current_password": [_("The current password is not correct.")]})
    _check_password(new_password, user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    revoke_all_tokens(user=user, reason="password_change")
    record(action="user.password_change", actor=user, obj=user)


@transaction.atomic
def user_reset_totp(*, actor: User, user: User) -> None:
    """Remove a colleague's second factor (lost phone); they must enrol again.

    Not for oneself: a stolen session must not be able to swap its own second factor.
    """
    _refuse_self(actor, user)
    TOTPDevice.objects.filter(user=user).delete()
    revoke_all_tokens(user=user, reason="totp_reset")
    record(action="user.totp_reset", actor=actor, obj=user)


# --- second factor -------------------------------------------------------------


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    otpauth_uri: str


@transaction.atomic
def totp_enrol(*, user: User) -> TotpEnrolment:
    """Start TOTP enrolment: a new unconfirmed device, its secret shown once.

    Refused while a confirmed device exists: replacing a second factor needs
    an org admin's reset, so a stolen password alone cannot swap it.
    """
    User.objects.select_for_update().get(pk=user.pk)
    if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        raise Conflict(_("A second factor is already enrolled. Ask your org admin to reset it."))
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    device = TOTPDevice.objects.create(user=user, name="default", confirmed=False)
    secret = base64.b32encode(device.bin_key).decode()
    record(action="user.totp_enrol", actor=user, obj=user)
    return TotpEnrolment(secret=secret, otpauth_uri=device.config_url)


@transaction.atomic
def totp_confirm(*, user: User, otp: str) -> None:
    """Confirm the pending device with a current code; older tokens are revoked."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None:
        raise Conflict(_("There is no pending enrolment to confirm."))
    if not device.verify_token(otp):
        raise ValidationError({"otp": [_("The code is not valid.")]})
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    revoke_all_tokens(user=user, reason="totp_enrolled")
    record(action="user.totp_confirm", actor=user, obj=user)


# --- API keys --------------------------------------------------------------------


@dataclass(frozen=True)
class NewApiKey:
    api_key: ApiKey
    raw_key: str


@transaction.atomic
def api_key_create(*, actor: User, name: str, scopes: list[str], expires_at: datetime | None = None) -> NewApiKey:
    """Create a key for the actor's organisation. The raw key exists only in this return value.

    A suspended member creates no key (README "Suspension"; the rest of that rule is referrals.policy).
    """
    if not actor.organisation.is_active_member:
        raise BusinessRuleViolation(_("Your organisation is suspended: it cannot create API keys."))
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": [_("Must be in the future.")]})
    prefix = secrets.token_hex(4)
    while ApiKey.objects.filter(prefix=prefix).exists():
        prefix = secrets.token_hex(4)
    raw_key = f"{API_KEY_TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey.objects.create(
        organisation=actor.organisation,
        name=name,
        prefix=prefix,
        key_digest=digest_api_key(raw_key),
        scopes=sorted(set(scopes)),
        created_by=actor,
        expires_at=expires_at,
    )
    record(action="api_key.create", actor=actor, obj=api_key, detail={"scopes": api_key.scopes})
    return NewApiKey(api_key=api_key, raw_key=raw_key)


@transaction.atomic
def api_key_revoke(*, actor: User, api_key: ApiKey) -> None:
    """Revoke at once; the key's next request is refused. Revoked keys stay listed."""
    updated = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if not updated:
        raise Conflict(_("This API key is already revoked."))
    record(action="api_key.revoke", actor=actor, obj=api_key)
