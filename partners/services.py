"""Writes on partners: one function per action, each in a transaction.

Views call these after validating input; nothing else changes membership,
roles, passwords, second factors or API keys. No API path sets another person's
password: accounts come from invitations and new passwords from reset links, each a
one-time token mailed to the person's own address (the management commands
``bootstrap_coalition`` and ``seed_demo``, run by a person at the command line, set
passwords directly).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l
from django_otp.plugins.otp_totp.models import TOTPDevice

from coalition.audit.models import AuditEntry
from coalition.audit.services import record
from coalition.core.actors import Actor, person_and_system
from coalition.core.errors import (
    BusinessRuleViolation,
    Conflict,
    DomainError,
    Forbidden,
    InvalidField,
    InvalidInput,
)
from coalition.events.services import emit
from coalition.mail.services import queue_mail

from .authentication import API_KEY_TOKEN_PREFIX, digest_api_key
from .choices import COALITION_ROLES, InterfaceLanguage, MembershipStatus, OrganisationKind, RequestedService, Role
from .models import (
    MAX_PLACES,
    MAX_WAITLIST,
    AccessApproval,
    ApiKey,
    ApprovalKind,
    ApprovalStatus,
    Invitation,
    InvitationStatus,
    Organisation,
    OrganisationCapacity,
    PasswordReset,
    User,
)
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
        raise InvalidField("min_age", _("Must not be above max_age."))
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


# --- capacity in the directory ------------------------------------------------------


def _checked_capacity(entries: Iterable[Mapping[str, Any]]) -> dict[str, tuple[int, int]]:
    """Each entry's service and its two numbers, checked: known services, once each, whole numbers in range.

    The API's input serializer says the same first; this is the rule the web app and any
    other caller meet too. Errors name the field ``capacity`` (the list as a whole).
    """
    checked: dict[str, tuple[int, int]] = {}
    errors: list[str] = []
    for entry in entries:
        service = entry.get("service")
        places, waitlist = entry.get("places_available"), entry.get("waitlist_length", 0)
        if service not in RequestedService.values:
            errors.append(_("Unknown service."))
        elif service in checked:
            errors.append(_("Each service may appear once."))
        elif not _in_range(places, MAX_PLACES) or not _in_range(waitlist, MAX_WAITLIST):
            errors.append(_("Places and waitlist are whole numbers from 0 to %(most)s.") % {"most": MAX_PLACES})
        else:
            checked[service] = (int(places), int(waitlist))  # type: ignore[arg-type]  # in range: whole numbers
    if errors:
        raise InvalidInput({"capacity": sorted(set(errors))})
    return checked


def _in_range(value: Any, most: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= most


@transaction.atomic
def capacity_set(
    *, actor: Actor, organisation: Organisation, entries: Iterable[Mapping[str, Any]]
) -> list[OrganisationCapacity]:
    """The organisation's org admins publish what it can take now, per requested service.

    ``entries`` (``service``, ``places_available``, ``waitlist_length``) replace the whole
    published capacity: every row given is confirmed as of now (``updated_at``, which is
    what staleness counts from), a service left out is removed. Only org admins of that
    organisation may; the coordination takes no referrals and publishes none. One audit
    entry and one ``organisation.capacity_changed`` event (codes and numbers only) for
    every active member, since the directory is for everyone who refers.
    """
    if actor.is_partner_system or not actor.has_role(Role.ORG_ADMIN) or actor.organisation_id != organisation.pk:
        raise Forbidden(_("Only your own organisation's org admins set its capacity."))
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if organisation.kind == OrganisationKind.COORDINATOR:
        raise BusinessRuleViolation(_("The coalition's coordination takes no referrals: it has no capacity to publish."))
    wanted = _checked_capacity(entries)
    now = timezone.now()
    person, api_key = person_and_system(actor)
    existing = {row.service: row for row in OrganisationCapacity.objects.filter(organisation=organisation)}
    removed = sorted(set(existing) - set(wanted))
    OrganisationCapacity.objects.filter(organisation=organisation, service__in=removed).delete()
    rows = []
    for service, (places, waitlist) in sorted(wanted.items()):
        row = existing.get(service) or OrganisationCapacity(organisation=organisation, service=service)
        row.places_available, row.waitlist_length, row.updated_at = places, waitlist, now
        row.updated_by, row.updated_by_api_key = person, api_key
        row.save()
        rows.append(row)
    numbers = [
        {"service": row.service, "places_available": row.places_available, "waitlist_length": row.waitlist_length}
        for row in rows
    ]
    record(
        action="organisation.capacity", actor=actor, obj=organisation,
        detail={"capacity": numbers, "removed": removed},
    )
    members = Organisation.objects.filter(membership_status=MembershipStatus.ACTIVE).values_list("pk", flat=True)
    emit(
        type="organisation.capacity_changed",
        organisations=[*members, organisation.pk],
        data={
            "organisation": str(organisation.pk),
            "capacity": [entry | {"updated_at": now.isoformat()} for entry in numbers],
            "removed": removed,
        },
    )
    return rows


# --- users ---------------------------------------------------------------------


def validate_roles_for(organisation: Organisation, roles: list[str]) -> list[str]:
    """Coordinator and auditor roles belong to the coordination only; caseworkers to partners."""
    roles = sorted(set(roles))
    if not roles:
        raise InvalidField("roles", _("A user needs at least one role."))
    is_coordination = organisation.kind == OrganisationKind.COORDINATOR
    if not is_coordination and COALITION_ROLES.intersection(roles):
        raise InvalidField("roles", _("Coordinator and auditor roles exist only in the coalition's coordination."))
    if is_coordination and Role.CASEWORKER in roles:
        raise InvalidField("roles", _("The coalition's coordination has no caseworkers."))
    return roles


def _check_password(password: str, user: User, *, field: str = "password") -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise InvalidInput({field: exc.messages}) from None


# --- invitations: how accounts are made ---------------------------------------------------


class InvalidLink(DomainError):
    """An unknown, used, expired or revoked one-time token: one answer for all of them (400)."""

    default_message = _l("This link is not valid: it is unknown, used, expired or revoked. Ask for a new one.")
    default_code = "invalid-link"


def _new_token() -> tuple[str, str]:
    """A one-time token (256 random bits) and its SHA-256 digest, the only part stored."""
    raw = secrets.token_urlsafe(32)
    return raw, digest_token(raw)


def digest_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _check_username_free(username: str, *, invitation: Invitation | None = None) -> None:
    taken = User.objects.filter(username__iexact=username).exists()
    live = Invitation.objects.filter(username__iexact=username, accepted_at__isnull=True, revoked_at__isnull=True)
    if invitation is not None:
        live = live.exclude(pk=invitation.pk)
    live = live.filter(Q(awaiting_approval=True) | Q(expires_at__gt=timezone.now()))
    if taken or live.exists():
        raise InvalidField("username", _("This username is taken."))


@transaction.atomic
def invitation_create(
    *, actor: User, organisation: Organisation, email: str, username: str, roles: list[str],
    first_name: str = "", last_name: str = "", language: str = "en",
) -> Invitation:
    """Invite a person to ``organisation``: a one-time link goes to ``email`` only.

    The inviter never learns a credential: the invitee chooses their own password
    (and enrols their own second factor). With the caseworker role, the invitation
    waits for a second person's approval before it is mailed.
    """
    organisation = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if organisation.membership_status == MembershipStatus.LEFT:
        raise BusinessRuleViolation(_("The organisation has left the coalition."))
    roles = validate_roles_for(organisation, roles)
    _check_username_free(username)
    invitation = Invitation.objects.create(
        organisation=organisation, email=email, username=username, first_name=first_name, last_name=last_name,
        roles=roles, language=language if language in ("en", "nl", "fr") else "en", invited_by=actor,
        awaiting_approval=Role.CASEWORKER in roles,
    )
    if invitation.awaiting_approval:
        AccessApproval.objects.create(
            organisation=organisation, kind=ApprovalKind.ROLE_GRANT, invitation=invitation, roles=roles,
            requested_by=actor,
        )
    else:
        _send_invitation(invitation)
    record(
        action="invitation.create", actor=actor, obj=invitation, organisation_id=organisation.pk,
        detail={"roles": roles, "awaiting_approval": invitation.awaiting_approval},
    )
    return invitation


def _send_invitation(invitation: Invitation) -> None:
    """A fresh token (any older one of this invitation stops working) mailed to the invitee."""
    raw, digest = _new_token()
    now = timezone.now()
    invitation.token_digest, invitation.sent_at = digest, now
    invitation.expires_at = now + timedelta(hours=settings.INVITATION_HOURS)
    invitation.awaiting_approval = False
    invitation.save(update_fields=["token_digest", "sent_at", "expires_at", "awaiting_approval"])
    queue_mail(
        to=invitation.email,
        template="invitation",
        language=invitation.language,
        context={
            "organisation_name": invitation.organisation.name,
            "username": invitation.username,
            "expires_at": _fmt(invitation.expires_at),
            "link_path": "/app/invitation/",
        },
        token=raw,
    )


@transaction.atomic
def organisation_add_admin(
    *, actor: User, organisation: Organisation, email: str, username: str, first_name: str = "",
    last_name: str = "", language: str = "en",
) -> Invitation:
    """A coordinator invites a member organisation's org admin (its first, or a replacement).

    That admin then invites the organisation's other people. Coordinators never
    create caseworkers, and never learn the admin's password: the link goes to the
    admin's own address.
    """
    invitation = invitation_create(
        actor=actor, organisation=organisation, email=email, username=username, roles=[Role.ORG_ADMIN],
        first_name=first_name, last_name=last_name, language=language,
    )
    record(action="organisation.add_admin", actor=actor, obj=invitation, organisation_id=organisation.pk)
    return invitation


@transaction.atomic
def invitation_resend(*, actor: User, invitation: Invitation) -> Invitation:
    """Mail a new link (new expiry); the previous link stops working."""
    invitation = Invitation.objects.select_for_update(of=("self",)).select_related("organisation").get(pk=invitation.pk)
    if invitation.status not in (InvitationStatus.PENDING, InvitationStatus.EXPIRED):
        raise Conflict(_("Only an open or expired invitation can be sent again."))
    _check_username_free(invitation.username, invitation=invitation)
    _send_invitation(invitation)
    record(action="invitation.resend", actor=actor, obj=invitation, organisation_id=invitation.organisation_id)
    return invitation


@transaction.atomic
def invitation_revoke(*, actor: User, invitation: Invitation) -> Invitation:
    """Revoke an invitation not yet accepted; its link stops working at once."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise Conflict(_("This invitation is already accepted or revoked."))
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    AccessApproval.objects.filter(invitation=invitation, status=ApprovalStatus.PENDING).update(
        status=ApprovalStatus.WITHDRAWN, decided_by=actor, decided_at=invitation.revoked_at
    )
    record(action="invitation.revoke", actor=actor, obj=invitation, organisation_id=invitation.organisation_id)
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, password: str) -> User:
    """The invitee creates their account with their own password; the link is used up.

    The invitation row is locked, so two parallel accepts give one account and one
    ``InvalidLink``. Unknown, used, expired and revoked tokens all get ``InvalidLink``.
    """
    invitation = (
        Invitation.objects.select_for_update(of=("self",)).select_related("organisation")
        .filter(token_digest=digest_token(token)).first()
    )
    if (
        invitation is None
        or invitation.status != InvitationStatus.PENDING
        or invitation.organisation.membership_status == MembershipStatus.LEFT
    ):
        raise InvalidLink()
    if User.objects.filter(username__iexact=invitation.username).exists():
        raise Conflict(_("This username was taken meanwhile. Ask for a new invitation."))
    user = User(
        organisation=invitation.organisation, username=invitation.username, email=invitation.email,
        first_name=invitation.first_name, last_name=invitation.last_name,
        roles=validate_roles_for(invitation.organisation, invitation.roles), invited_by=invitation.invited_by,
    )
    _check_password(password, user)
    user.set_password(password)
    user.save()
    invitation.accepted_at, invitation.user = timezone.now(), user
    invitation.save(update_fields=["accepted_at", "user"])
    record(action="invitation.accept", actor=user, obj=invitation, organisation_id=invitation.organisation_id,
           detail={"user": str(user.pk), "roles": user.roles})
    return user


def _is_last_active_admin(user: User) -> bool:
    # Locks the colleagues' rows so two admins cannot demote each other at once.
    colleagues = User.objects.select_for_update().filter(organisation_id=user.organisation_id, is_active=True)
    return not any(other.has_role(Role.ORG_ADMIN) for other in colleagues.exclude(pk=user.pk))


@transaction.atomic
def user_update(*, actor: User, user: User, data: dict[str, Any]) -> User:
    """Change a colleague's details, roles or active flag.

    A change of roles or deactivation revokes every token the user holds. The
    organisation's last active org admin cannot be demoted or deactivated. Nobody
    changes their own roles. A change that grants the caseworker role waits for a
    second person's approval (``AccessApproval``); the other fields change at once.
    """
    user = User.objects.select_for_update().select_related("organisation").get(pk=user.pk)
    data = dict(data)
    roles_changed = "roles" in data and validate_roles_for(user.organisation, data["roles"]) != sorted(user.roles)
    if roles_changed and actor.pk == user.pk:
        raise BusinessRuleViolation(_("You cannot change your own roles: ask another org admin."))
    if roles_changed:
        data["roles"] = validate_roles_for(user.organisation, data["roles"])
    else:
        data.pop("roles", None)
    if roles_changed and Role.CASEWORKER in data["roles"] and not user.has_role(Role.CASEWORKER):
        requested = data.pop("roles")
        roles_changed = False
        if AccessApproval.objects.filter(user=user, kind=ApprovalKind.ROLE_GRANT, status=ApprovalStatus.PENDING).exists():
            raise Conflict(_("A role change for this person is already waiting for approval."))
        approval = AccessApproval.objects.create(
            organisation=user.organisation, kind=ApprovalKind.ROLE_GRANT, user=user, roles=requested, requested_by=actor
        )
        record(action="access_approval.request", actor=actor, obj=approval, detail={"kind": approval.kind, "roles": requested})
    deactivated = data.get("is_active") is False and user.is_active
    loses_admin = user.has_role(Role.ORG_ADMIN) and (deactivated or (roles_changed and Role.ORG_ADMIN not in data["roles"]))
    if loses_admin and _is_last_active_admin(user):
        raise BusinessRuleViolation(_("An organisation keeps at least one active org admin."))
    for name, value in data.items():
        setattr(user, name, value)
    user.save()
    if roles_changed or deactivated:
        revoke_all_tokens(user=user, reason="deactivated" if deactivated else "role_change")
    if roles_changed:
        tell_account_changed(user, change="roles")
    record(action="user.update", actor=actor, obj=user, detail={"fields": sorted(data), "roles": user.roles})
    return user


def _refuse_self(actor: User, user: User) -> None:
    if actor.pk == user.pk:
        raise BusinessRuleViolation(_("Ask another org admin: you cannot reset your own credentials here."))


TOTP_AND_PASSWORD_RESET_SPAN = timedelta(hours=24)


def _reset_totp_recently(*, actor: User, user: User, since: datetime) -> bool:
    return AuditEntry.objects.filter(
        action="user.totp_reset", actor_user=actor.pk, object_id=str(user.pk), at__gte=since
    ).exists()


@transaction.atomic
def password_reset_send(*, actor: User, user: User) -> PasswordReset:
    """An org admin has a password-reset link mailed to a colleague's own address.

    Never for oneself, never to anyone but the person; the admin never learns the
    new password. The same admin may not also have reset this person's second
    factor within 24 hours (that pair would hand over the whole account).
    """
    _refuse_self(actor, user)
    user = User.objects.select_for_update().get(pk=user.pk)
    now = timezone.now()
    if _reset_totp_recently(actor=actor, user=user, since=now - TOTP_AND_PASSWORD_RESET_SPAN):
        raise BusinessRuleViolation(
            _("You reset this person's second factor within the last 24 hours: another org admin must send the password reset.")
        )
    if not user.email or not user.is_active:
        raise BusinessRuleViolation(_("This person has no active account with an email address to send the link to."))
    PasswordReset.objects.filter(user=user, used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    raw, digest = _new_token()
    reset = PasswordReset.objects.create(
        user=user, requested_by=actor, token_digest=digest, created_at=now,
        expires_at=now + timedelta(minutes=settings.PASSWORD_RESET_MINUTES),
    )
    queue_mail(
        to=user.email, template="password_reset", language=_language_of(user),
        context={"username": user.username, "expires_at": _fmt(reset.expires_at), "link_path": "/app/password-reset/"},
        token=raw,
    )
    record(action="user.password_reset_sent", actor=actor, obj=user)
    return reset


@transaction.atomic
def password_reset_complete(*, token: str, password: str) -> User:
    """The person sets a new password with their reset link; every token they hold is revoked.

    Single use (the row is locked); the old password worked until this moment.
    """
    reset = PasswordReset.objects.select_for_update(of=("self",)).select_related("user").filter(
        token_digest=digest_token(token)
    ).first()
    if reset is None or not reset.is_usable() or not reset.user.is_active:
        raise InvalidLink()
    user = reset.user
    _check_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    now = timezone.now()
    reset.used_at = now
    reset.save(update_fields=["used_at"])
    PasswordReset.objects.filter(user=user, used_at__isnull=True, revoked_at__isnull=True).update(revoked_at=now)
    revoke_all_tokens(user=user, reason="password_reset")
    record(action="user.password_reset", actor=user, obj=user, detail={"requested_by": str(reset.requested_by_id)})
    tell_account_changed(user, change="password_reset")
    return user


def _language_of(user: User) -> str:
    """The language of a person's mails: the one they chose, else the one they were invited in, else English."""
    if user.language:
        return user.language
    invitation = Invitation.objects.filter(user=user).only("language").first()
    return invitation.language if invitation else "en"


@transaction.atomic
def user_set_language(*, user: User, language: str) -> User:
    """A person chooses the language of their pages and mails ("" follows the browser)."""
    if language not in InterfaceLanguage.values and language != "":
        raise InvalidField("language", _("Not one of the allowed values."))
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
        record(action="user.language", actor=user, obj=user, detail={"language": language})
    return user


def tell_account_changed(user: User, *, change: str) -> None:
    """A short mail to the person about a change to their account; it carries no secret."""
    if not user.email:
        return
    queue_mail(
        to=user.email, template="account_changed", language=_language_of(user),
        context={"change": change, "username": user.username, "roles": ", ".join(user.roles)},
    )


@transaction.atomic
def user_change_own_password(*, user: User, current_password: str, new_password: str) -> None:
    """A person changes their own password; every token they hold is revoked."""
    if not user.check_password(current_password):
        raise InvalidField("current_password", _("The current password is not correct."))
    _check_password(new_password, user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    revoke_all_tokens(user=user, reason="password_change")
    record(action="user.password_change", actor=user, obj=user)
    tell_account_changed(user, change="password_change")


@transaction.atomic
def user_reset_totp(*, actor: User, user: User) -> None:
    """Remove a colleague's second factor (lost phone); they must enrol again.

    Not for oneself: a stolen session must not be able to swap its own second factor.
    Not by the admin who sent this person a password-reset link within 24 hours.
    """
    _refuse_self(actor, user)
    user = User.objects.select_for_update().get(pk=user.pk)
    since = timezone.now() - TOTP_AND_PASSWORD_RESET_SPAN
    if PasswordReset.objects.filter(user=user, requested_by=actor, created_at__gte=since).exists():
        raise BusinessRuleViolation(
            _("You sent this person a password reset within the last 24 hours: another org admin must reset the second factor.")
        )
    TOTPDevice.objects.filter(user=user).delete()
    revoke_all_tokens(user=user, reason="totp_reset")
    record(action="user.totp_reset", actor=actor, obj=user)
    tell_account_changed(user, change="totp_reset")


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


def totp_pending_enrolment(*, user: User) -> TotpEnrolment | None:
    """The enrolment ``user`` started and has not confirmed yet, to show again (its own person only).

    A front end shows the secret from here rather than keeping a copy of it (in a session store).
    """
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        return None
    return TotpEnrolment(secret=base64.b32encode(device.bin_key).decode(), otpauth_uri=device.config_url)


@transaction.atomic
def totp_confirm(*, user: User, otp: str) -> None:
    """Confirm the pending device with a current code; older tokens are revoked."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
    if device is None:
        raise Conflict(_("There is no pending enrolment to confirm."))
    if not device.verify_token(otp):
        raise InvalidField("otp", _("The code is not valid."))
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

    A key with a ``referrals:*`` scope reaches identity: it authenticates nothing
    until a second person approves it (``AccessApproval``), and the approver never
    sees it. A suspended member creates no key (README "Suspension"; the rest of that
    rule is referrals.policy).
    """
    if not actor.organisation.is_active_member:
        raise BusinessRuleViolation(_("Your organisation is suspended: it cannot create API keys."))
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidField("expires_at", _("Must be in the future."))
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
        awaiting_approval=any(scope.startswith("referrals:") for scope in scopes),
    )
    if api_key.awaiting_approval:
        AccessApproval.objects.create(
            organisation=api_key.organisation, kind=ApprovalKind.API_KEY_SCOPE, api_key=api_key, requested_by=actor
        )
    record(
        action="api_key.create", actor=actor, obj=api_key,
        detail={"scopes": api_key.scopes, "awaiting_approval": api_key.awaiting_approval},
    )
    return NewApiKey(api_key=api_key, raw_key=raw_key)


@transaction.atomic
def api_key_revoke(*, actor: User, api_key: ApiKey) -> None:
    """Revoke at once; the key's next request is refused. Revoked keys stay listed."""
    updated = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if not updated:
        raise Conflict(_("This API key is already revoked."))
    record(action="api_key.revoke", actor=actor, obj=api_key)


# --- approvals: a second person for whatever reaches identity -----------------------------


def may_decide(actor: User, approval: AccessApproval) -> bool:
    """Whether ``actor`` may approve or reject ``approval`` (the rule, in one place).

    Never the requester, never whoever invited the requester, never the person the
    role is for. Otherwise another
    active org admin of the organisation, or a coordinator where the organisation
    has no active org admin besides the requester.
    """
    requester = approval.requested_by
    if actor.pk in (requester.pk, requester.invited_by_id, approval.user_id) or not actor.is_active:
        return False
    if actor.has_role(Role.ORG_ADMIN) and actor.organisation_id == approval.organisation_id:
        return True
    return actor.has_role(Role.COORDINATOR) and not _other_active_admins(approval).exists()


def _other_active_admins(approval: AccessApproval):
    return User.objects.filter(
        organisation_id=approval.organisation_id, is_active=True, roles__has_item=Role.ORG_ADMIN
    ).exclude(pk=approval.requested_by_id)


@transaction.atomic
def approval_decide(*, actor: User, approval: AccessApproval, approve: bool) -> AccessApproval:
    """Approve or reject a pending request; what it asked for takes effect only on approval.

    Approving a key lets it authenticate (the approver never sees it); rejecting it
    revokes it. Approving an invitation mails its link; rejecting revokes it.
    Approving a role change sets the roles and revokes the person's tokens. The
    requester is told the outcome by mail.
    """
    approval = AccessApproval.objects.select_for_update().get(pk=approval.pk)
    if approval.status != ApprovalStatus.PENDING:
        raise Conflict(_("This request has already been decided."))
    if not may_decide(actor, approval):
        raise BusinessRuleViolation(
            _(
                "A second person must decide: not the requester, not who invited the requester, and an org admin of "
                "the organisation where it has another one."
            )
        )
    now = timezone.now()
    approval.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    approval.decided_by, approval.decided_at = actor, now
    approval.save(update_fields=["status", "decided_by", "decided_at"])
    context: dict[str, Any] = {"kind": approval.kind, "approved": approve}
    if approval.kind == ApprovalKind.API_KEY_SCOPE:
        key = ApiKey.objects.select_for_update().get(pk=approval.api_key_id)  # type: ignore[misc]  # set for this kind
        context["name"] = key.name
        if approve:
            key.awaiting_approval = False
        else:
            key.revoked_at = key.revoked_at or now
        key.save(update_fields=["awaiting_approval", "revoked_at"])
    elif approval.invitation_id:
        invitation = Invitation.objects.select_for_update(of=("self",)).select_related("organisation").get(
            pk=approval.invitation_id
        )
        context["username"] = invitation.username
        if invitation.revoked_at is None and invitation.accepted_at is None:
            if approve:
                _send_invitation(invitation)
            else:
                invitation.revoked_at = now
                invitation.save(update_fields=["revoked_at"])
    else:
        user = User.objects.select_for_update(of=("self",)).select_related("organisation").get(
            pk=approval.user_id  # type: ignore[misc]  # set for this kind
        )
        context["username"] = user.username
        if approve:
            roles = validate_roles_for(user.organisation, approval.roles)
            if user.has_role(Role.ORG_ADMIN) and Role.ORG_ADMIN not in roles and _is_last_active_admin(user):
                raise BusinessRuleViolation(_("An organisation keeps at least one active org admin."))
            user.roles = roles
            user.save(update_fields=["roles"])
            revoke_all_tokens(user=user, reason="role_change")
            tell_account_changed(user, change="roles")
    record(
        action="access_approval.approve" if approve else "access_approval.reject", actor=actor, obj=approval,
        organisation_id=approval.organisation_id, detail={"kind": approval.kind},
    )
    if approval.requested_by.email:
        queue_mail(
            to=approval.requested_by.email, template="approval_decided", language=_language_of(approval.requested_by),
            context=context,
        )
    return approval
