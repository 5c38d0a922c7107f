"""Reads on partners, always through the actor: what each caller may reach."""

from django.db.models import Exists, OuterRef, Q, QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from coalition.core.actors import Actor

from .choices import Role
from .models import AccessApproval, ApiKey, Invitation, Organisation, User


def organisations_visible_to(actor: Actor) -> QuerySet[Organisation]:
    """The directory: every member, whatever its status, is listed to every member."""
    return Organisation.objects.all()


def users_visible_to(actor: Actor) -> QuerySet[User]:
    """People of the actor's own organisation only."""
    confirmed_device = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    return User.objects.filter(organisation_id=actor.organisation.pk).annotate(mfa_enrolled=Exists(confirmed_device))


def api_keys_visible_to(actor: Actor) -> QuerySet[ApiKey]:
    """API keys of the actor's own organisation only."""
    return ApiKey.objects.filter(organisation_id=actor.organisation.pk).select_related("created_by")


def invitations_visible_to(actor: Actor) -> QuerySet[Invitation]:
    """Org admins: their own organisation's invitations; coordinators: the ones they sent."""
    scope = Q(invited_by_id=actor.pk) if actor.has_role(Role.COORDINATOR) else Q(pk__in=[])
    if actor.has_role(Role.ORG_ADMIN):
        scope |= Q(organisation_id=actor.organisation.pk)
    return Invitation.objects.filter(scope).select_related("organisation")


def approvals_visible_to(actor: Actor) -> QuerySet[AccessApproval]:
    """Requests waiting for (or decided by) a second person, as the actor may see them.

    Org admins see their own organisation's; coordinators those of organisations
    that have no active org admin besides the requester (whom a coordinator then
    approves), and the ones they requested themselves. Whether the actor may decide
    one is ``partners.services.may_decide``.
    """
    scope = Q(pk__in=[])
    if actor.has_role(Role.ORG_ADMIN):
        scope |= Q(organisation_id=actor.organisation.pk)
    if actor.has_role(Role.COORDINATOR):
        other_admin = User.objects.filter(
            organisation_id=OuterRef("organisation_id"), is_active=True, roles__has_item=Role.ORG_ADMIN
        ).exclude(pk=OuterRef("requested_by_id"))
        scope |= Q(requested_by_id=actor.pk) | Q(~Exists(other_admin))
    return AccessApproval.objects.filter(scope).select_related("requested_by", "api_key", "invitation", "user")
