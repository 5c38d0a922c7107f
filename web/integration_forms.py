"""Forms of the org admin's integration pages: API keys and webhook endpoints.

Each form draws its fields for people and hands what was typed to the API's input
serializer for the same action (``ContractForm``): a key's name and scopes
(``ApiKeyCreateSerializer``), an endpoint's URL, description and event types
(``WebhookEndpointCreateSerializer``, ``WebhookEndpointUpdateSerializer``). What only the
service knows (an expiry in the past, a URL that is not https or reaches a private
address) comes back from the service as a ``DomainError`` and lands beside its field
(``web.errors.add_domain_error``): every rule is written once.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from coalition.events.api.serializers import (
    EVENT_TYPE_CHOICES,
    WebhookEndpointCreateSerializer,
    WebhookEndpointUpdateSerializer,
)
from partners.api.serializers import ApiKeyCreateSerializer
from partners.choices import ApiKeyScope

from .case_forms import DateInput, _limit_lengths
from .forms import ContractForm

# A scope's checkbox says what it allows, then its code (the name partner systems read in /me/).
SCOPE_CHOICES = [(scope.value, format_lazy("{} ({})", scope.label, scope.value)) for scope in ApiKeyScope]

# What each event type means, for its checkbox; the code follows (a type without a meaning here shows its code).
EVENT_TYPE_MEANINGS = {
    "referral.sent": _("A referral was sent"),
    "referral.acknowledged": _("A referral was acknowledged"),
    "referral.accepted": _("A referral was accepted"),
    "referral.declined": _("A referral was declined"),
    "referral.withdrawn": _("A referral was withdrawn"),
    "referral.completed": _("A referral was completed"),
    "referral.overdue": _("A referral's deadline passed"),
    "referral.message_posted": _("A message was written on a referral"),
    "case.lead_transferred": _("The lead of a case moved to another organisation"),
    "case.closed": _("A case was closed"),
    "case.reopened": _("A case was reopened"),
    "case.erased": _("A young person's identity was erased on request: delete what you copied"),
    "case.purged": _("A case's identity and free text were removed by the retention purge: delete what you copied"),
    "consent.withdrawn": _("A consent was withdrawn"),
    "exception.review_required": _("A referral was sent under a legal-basis exception"),
    "exception.flagged": _("A coordinator flagged a legal-basis exception"),
    "match.found": _("Another member knows the young person of one of your cases"),
    "match.updated": _("A member answered a match"),
    "match.escalated": _("Nobody answered a match in time"),
    "consultation.asked": _("Your organisation was asked whether it can take a young person (no identity)"),
    "consultation.answered": _("A member answered a consultation"),
    "consultation.withdrawn": _("A consultation you were asked was withdrawn"),
    "consultation.overdue": _("A consultation was not answered in time"),
    "organisation.capacity_changed": _("A member published its capacity (places available, waitlist)"),
}
EVENT_TYPE_LABELS = [
    (code, format_lazy("{} ({})", EVENT_TYPE_MEANINGS[code], code) if code in EVENT_TYPE_MEANINGS else code)
    for code, _label in EVENT_TYPE_CHOICES
]


class ApiKeyForm(ContractForm):
    """Creating an API key (``ApiKeyCreateSerializer``): a name, its scopes, an optional last day."""

    contract = ApiKeyCreateSerializer

    name = forms.CharField(
        label=_("Name"), help_text=_("Which system uses the key, so that you can tell your keys apart.")
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), choices=SCOPE_CHOICES, widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "What the key may do. A key with a referrals scope reaches the young people's identity: it works only "
            "once a second person approves it."
        ),
    )
    expires_at = forms.DateField(
        label=_("Expires on"), required=False, widget=DateInput(),
        help_text=_("The key stops working at 00:00 on this day (your time zone). Empty: it does not expire."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_lengths(self, ApiKeyCreateSerializer().fields)

    def contract_input(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {"name": cleaned.get("name") or "", "scopes": cleaned.get("scopes") or []}
        if cleaned.get("expires_at"):
            # The start of the chosen day where the person is (the page's time zone is active).
            data["expires_at"] = timezone.make_aware(datetime.combine(cleaned["expires_at"], time.min))
        else:
            data["expires_at"] = None
        return data


def _event_types_field() -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=_("Event types"), required=False, choices=EVENT_TYPE_LABELS, widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick none to receive every type, including types added later."),
    )


def _description_field() -> forms.CharField:
    return forms.CharField(
        label=_("Description"), required=False,
        help_text=_("Optional: what receives the events, so that you can tell your endpoints apart."),
    )


class WebhookCreateForm(ContractForm):
    """Registering an endpoint (``WebhookEndpointCreateSerializer``); the service checks where the URL leads."""

    contract = WebhookEndpointCreateSerializer

    url = forms.CharField(
        label=_("URL"), widget=forms.URLInput,
        help_text=_("Where the events are sent: an https address of your system, reachable from the internet."),
    )
    description = _description_field()
    event_types = _event_types_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_lengths(self, WebhookEndpointCreateSerializer().fields)

    def contract_input(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": cleaned.get("url") or "",
            "description": cleaned.get("description") or "",
            "event_types": cleaned.get("event_types") or [],
        }


class WebhookEditForm(ContractForm):
    """Changing an endpoint (``WebhookEndpointUpdateSerializer``): its description, event types, active or not.

    Every field is sent: no type ticked means every type, unticked "active" switches it off.
    """

    contract = WebhookEndpointUpdateSerializer

    description = _description_field()
    event_types = _event_types_field()
    active = forms.BooleanField(
        label=_("Active"), required=False,
        help_text=_("While it is not active, no events are sent to it and its pending deliveries stop."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_lengths(self, WebhookEndpointUpdateSerializer().fields)

    def contract_input(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return {
            "description": cleaned.get("description") or "",
            "event_types": cleaned.get("event_types") or [],
            "active": bool(cleaned.get("active")),
        }

    @staticmethod
    def initial_for(endpoint) -> dict[str, Any]:
        return {"description": endpoint.description, "event_types": endpoint.event_types, "active": endpoint.active}
