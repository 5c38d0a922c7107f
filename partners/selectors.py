"""Reads on partners, always through the actor: what each caller may reach."""

from django.db.models import Exists, OuterRef, QuerySet
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import ApiKey, Organisation, User


def organisations_visible_to(actor) -> QuerySet[Organisation]:
    """The directory: every member, whatever its status, is listed to every member."""
    return Organisation.objects.all()


def users_visible_to(actor) -> QuerySet[User]:
    """People of the actor's own organisation only."""
    confirmed_device = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    return User.objects.filter(organisation_id=actor.organisation.pk).annotate(mfa_enrolled=Exists(confirmed_device))


def api_keys_visible_to(actor) -> QuerySet[ApiKey]:
    """API keys of the actor's own organisation only."""
    return ApiKey.objects.filter(organisation_id=actor.organisation.pk).select_related("created_by")
