"""Partners: coalition member organisations, their users, API keys and logins."""

import uuid
from datetime import datetime, timedelta
from typing import ClassVar, Self

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import MFA_REQUIRED_ROLES, InterfaceLanguage, MembershipStatus, OrganisationKind, RequestedService


class Organisation(models.Model):
    """A coalition member. Only active members that accept referrals can receive them.

    The directory fields (regions, languages, phenomena, age range) let a
    caseworker find who fits a young person; they hold no personal data.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=30, choices=OrganisationKind.choices)
    country = models.CharField(max_length=2)
    regions = models.JSONField(default=list, blank=True)
    languages = models.JSONField(default=list, blank=True)
    phenomena = models.JSONField(default=list, blank=True)
    min_age = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(25)])
    max_age = models.PositiveSmallIntegerField(default=18, validators=[MaxValueValidator(25)])
    accepting_referrals = models.BooleanField(default=True)
    membership_status = models.CharField(
        max_length=20, choices=MembershipStatus.choices, default=MembershipStatus.ACTIVE
    )
    data_sharing_agreement_signed_on = models.DateField(null=True, blank=True)
    description = models.TextField(max_length=2000, blank=True)
    website = models.URLField(blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=40, blank=True)
    # Where ``immediate`` referrals are mailed at once, beside the caseworkers' own
    # notifications (a shared on-call mailbox); not shown in the directory.
    on_call_email = models.EmailField(max_length=254, blank=True)
    # Caseworkers of this organisation must use a second factor too.
    caseworker_mfa_required = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(condition=Q(min_age__lte=models.F("max_age")), name="organisation_age_range"),
        ]

    def __str__(self) -> str:
        return self.slug

    @property
    def is_active_member(self) -> bool:
        return self.membership_status == MembershipStatus.ACTIVE


class User(AbstractUser):
    """A person of exactly one organisation, with one or more roles.

    ``token_version`` is part of every token issued to the user; bumping it
    (deactivation, role change, password or TOTP reset) makes every older token
    fail on its next use, access tokens included.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="users")
    roles = models.JSONField(default=list)
    token_version = models.PositiveIntegerField(default=0, editable=False)
    # Who sent the invitation this account was created from: never the approver of this
    # person's requests (separation of duties).
    invited_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    # The language of the person's pages and mails; empty: the browser's (pages) or the
    # invitation's (mails).
    language = models.CharField(max_length=5, choices=InterfaceLanguage.choices, blank=True, default="")

    REQUIRED_FIELDS = ["email"]
    objects: ClassVar[UserManager[Self]] = UserManager()
    # Set per request by CoalitionJWTAuthentication from the access token, never stored.
    login_session_id: str
    mfa_enrolment_only: bool

    class Meta:
        ordering = ["username"]

    def has_role(self, role: str) -> bool:
        return role in self.roles

    @property
    def throttle_ident(self) -> str:
        return f"user:{self.pk}"

    @property
    def api_key(self) -> None:
        """Humans act without an API key; see ``PartnerSystem`` for the other kind of actor."""
        return None

    @property
    def is_partner_system(self) -> bool:
        """A person, never a partner system (``coalition.core.actors.Actor``)."""
        return False

    @property
    def scopes(self) -> frozenset[str]:
        """API key scopes: a person has none, their roles decide (``coalition.core.actors.Actor``)."""
        return frozenset()

    @property
    def requires_mfa(self) -> bool:
        if MFA_REQUIRED_ROLES.intersection(self.roles):
            return True
        return self.organisation.caseworker_mfa_required


class ApiKey(models.Model):
    """A partner system's credential: one organisation, explicit scopes.

    Only a SHA-256 digest of the key is stored (the key carries 256 bits of
    randomness, so a slow hash adds nothing); the prefix is kept in clear so
    that people can tell keys apart and the lookup needs no scan.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_digest = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A key with a referrals:* scope authenticates nothing until a second person approves it.
    awaiting_approval = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API key")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return (
            self.revoked_at is None
            and not self.awaiting_approval
            and (self.expires_at is None or self.expires_at > now)
        )


class LoginSession(models.Model):
    """One login: the family of refresh tokens rotated from one password entry, or one web session.

    It ends at ``expires_at`` (absolute lifetime) however often it is refreshed,
    and is revoked at logout or when a rotated refresh token is replayed (reuse
    detection); every token carrying its id, and the web session naming it, then fails.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_sessions")
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    current_refresh_jti = models.CharField(max_length=64)
    mfa_verified = models.BooleanField(default=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=30, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def is_live(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now


class InvitationStatus(models.TextChoices):
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")


class Invitation(models.Model):
    """An invitation to join an organisation: how every account is made through the API.

    Only the SHA-256 digest of the one-time token is stored (256 random bits: a slow
    hash adds nothing); the token itself goes only into the mail to ``email``. It is
    single use, expires, can be revoked, and a resend replaces it. An invitation with
    the caseworker role is mailed only once a second person has approved it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    username = models.CharField(max_length=150)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    roles = models.JSONField(default=list)
    language = models.CharField(max_length=8, default="en")
    invited_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    # NULL until the invitation is mailed: many unsent invitations may coexist, many "" would break unique.
    token_digest = models.CharField(max_length=64, unique=True, null=True, editable=False)  # noqa: DJ001
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    awaiting_approval = models.BooleanField(default=False)
    accepted_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def status_at(self, now=None) -> str:
        now = now or timezone.now()
        if self.accepted_at is not None:
            return InvitationStatus.ACCEPTED
        if self.revoked_at is not None:
            return InvitationStatus.REVOKED
        if self.awaiting_approval:
            return InvitationStatus.AWAITING_APPROVAL
        if self.expires_at is None or self.expires_at <= now:
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING

    @property
    def status(self) -> str:
        return self.status_at()


class PasswordReset(models.Model):
    """A password-reset link sent to a person's own address at an org admin's request.

    Digest only, single use, short-lived; the old password keeps working until the
    reset completes. Sending a new link ends the older ones.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_resets")
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.used_at is None and self.revoked_at is None and self.expires_at > now


class ApprovalKind(models.TextChoices):
    ROLE_GRANT = "role_grant", _("Caseworker role")
    API_KEY_SCOPE = "api_key_scope", _("API key with a referrals scope")


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class AccessApproval(models.Model):
    """A request that reaches identity and waits for a second person (separation of duties).

    Granting the caseworker role (by invitation or role change) or a key with a
    ``referrals:*`` scope takes effect only when another active org admin of the
    organisation approves, or a coordinator where it has no other one; never the
    requester, never whoever invited the requester.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=ApprovalKind.choices)
    invitation = models.ForeignKey(Invitation, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # For a role change: the roles the person gets on approval.
    roles = models.JSONField(default=list, blank=True)
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["organisation", "status"])]


# The largest numbers of places and of young people waiting a capacity row takes: beyond any
# member's size, so that a typing slip (an extra digit) is refused rather than published.
MAX_PLACES = 999
MAX_WAITLIST = 999


def capacity_fresh_since(now: datetime | None = None) -> datetime:
    """Capacity confirmed before this moment is stale (``CAPACITY_STALE_DAYS``) and counts as none."""
    return (now or timezone.now()) - timedelta(days=settings.CAPACITY_STALE_DAYS)


class OrganisationCapacity(models.Model):
    """What a member can take now for one requested service: places free and the waitlist's length.

    Its org admins publish it in the directory (``partners.services.capacity_set``); each
    row is as of ``updated_at``, when they last confirmed it. A row older than
    ``CAPACITY_STALE_DAYS`` is stale: shown as such, and it no longer counts as capacity.
    Numbers and codes only: nothing about a young person.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="capacity")
    service = models.CharField(max_length=30, choices=RequestedService.choices)
    places_available = models.PositiveSmallIntegerField(validators=[MaxValueValidator(MAX_PLACES)])
    waitlist_length = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(MAX_WAITLIST)])
    updated_at = models.DateTimeField(default=timezone.now)
    # Who confirmed it last: a person (``person_and_system``); the key column stays for partner
    # systems, which have no scope to write the directory today.
    updated_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    updated_by_api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["organisation", "service"]
        verbose_name = _("capacity")
        constraints = [
            models.UniqueConstraint(fields=["organisation", "service"], name="one_capacity_row_per_service"),
            models.CheckConstraint(
                condition=Q(places_available__gte=0, places_available__lte=MAX_PLACES), name="capacity_places_range"
            ),
            models.CheckConstraint(
                condition=Q(waitlist_length__gte=0, waitlist_length__lte=MAX_WAITLIST), name="capacity_waitlist_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id}:{self.service}"

    def is_stale(self, now: datetime | None = None) -> bool:
        return self.updated_at < capacity_fresh_since(now)

    @property
    def stale(self) -> bool:
        """``is_stale()`` now, named as the API's representation names it (the pages read either)."""
        return self.is_stale()
