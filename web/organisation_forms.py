"""Forms of the org admin's pages: inviting a person, their roles, the directory profile, the settings.

Each form draws fields for people and hands what was typed to the API's input serializer for
the same action (``ContractForm``): ``InvitationCreateSerializer`` for an invitation,
``UserUpdateSerializer`` for a change of roles, ``OrganisationProfileSerializer`` (the org
admin's, not the coordinator's) for the profile and the settings, ``CapacityUpdateSerializer``
for the capacity. What the input must satisfy
(the username's shape, a region's code, the age range, which values a list may hold) is the
serializer's to say; what the action may do (the last active org admin, nobody's own roles, a
second person for the caseworker role) is the service's.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.db.models import Model
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from coalition.core.errors import DomainError, InvalidInput
from partners.api.serializers import (
    CapacityUpdateSerializer,
    InvitationCreateSerializer,
    OrganisationProfileSerializer,
    UserUpdateSerializer,
)
from partners.choices import InterfaceLanguage, Language, Phenomenon, RequestedService, Role
from partners.models import MAX_PLACES, MAX_WAITLIST, Organisation, OrganisationCapacity
from partners.services import validate_roles_for

from .case_forms import AnyOfMultipleField
from .errors import add_domain_error, add_serializer_errors
from .forms import ContractForm


def roles_offered(organisation: Organisation) -> list[tuple[str, Any]]:
    """The roles a person of ``organisation`` can hold, as ``partners.services.validate_roles_for`` decides.

    Only these are offered as check boxes; a role sent that is not offered still gets the
    service's own answer.
    """
    offered = []
    for code, label in Role.choices:
        try:
            validate_roles_for(organisation, [code])
        except InvalidInput:
            continue
        offered.append((code, label))
    return offered


class RolesField(AnyOfMultipleField):
    """Roles as check boxes; which roles are allowed is the contract's and the service's to say."""

    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(label=_("Roles"), **kwargs)


class CodeListField(forms.Field):
    """Codes typed on one line, separated by commas or spaces ("BE-VLG, BE-BRU"): a list, upper case.

    The codes themselves are checked by the contract (``partners.api.serializers.RegionField``).
    """

    widget = forms.TextInput

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list | tuple):
            return [str(code) for code in value]
        return [code.upper() for code in re.split(r"[\s,;]+", (value or "").strip()) if code]

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list | tuple) else value


def _items_beside_their_list(errors: dict) -> dict:
    """A serializer's errors with those of one item of a list (``{"regions": {1: [...]}}``) put on the list."""
    shown: dict = {}
    for field, value in errors.items():
        if isinstance(value, dict) and all(isinstance(key, int) for key in value):
            messages = [str(message) for item in value.values() for message in item]
            shown[field] = list(dict.fromkeys(messages))
        else:
            shown[field] = value
    return shown


class ChangeForm(ContractForm):
    """A form that changes ``instance``: only what the person changed goes to the contract, as a PATCH would.

    The form starts from the instance's values; the contract validates the changed fields
    against the instance (``partial=True``, as the API's partial update does), so
    ``validated`` names truthfully what the service changes and audits. Empty: nothing
    changed. An error about one item of a list (one region) stands beside the list.
    """

    def __init__(self, *args: Any, instance: Model, **kwargs: Any) -> None:
        self.instance = instance
        initial = {name: getattr(instance, name) for name in self.base_fields}
        super().__init__(*args, initial=initial, **kwargs)

    def contract_input(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return {name: cleaned[name] for name in self.changed_data if name in cleaned}

    def clean(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
        if self.errors:
            return cleaned
        serializer = self.contract(
            self.instance, data=self.contract_input(cleaned), partial=True, context=self.contract_context
        )
        if serializer.is_valid():
            self.validated = dict(serializer.validated_data)
        else:
            add_serializer_errors(self, _items_beside_their_list(serializer.errors))
        return cleaned


# --- people --------------------------------------------------------------------------------------------


class InviteForm(ContractForm):
    """Inviting a person (``InvitationCreateSerializer``): a one-time link goes to their own address.

    The org admin never chooses a password: the person sets their own from the link.
    """

    contract = InvitationCreateSerializer

    first_name = forms.CharField(label=_("Given name"), required=False)
    last_name = forms.CharField(label=_("Family name"), required=False)
    email = forms.CharField(
        label=_("Email address"), widget=forms.EmailInput,
        help_text=_("The invitation link goes to this address only."),
    )
    username = forms.CharField(
        label=_("Username"),
        help_text=_("What they sign in with: 3 to 150 letters, digits, dots, hyphens or underscores."),
    )
    roles = RolesField(
        help_text=_("The caseworker role needs a second person: the invitation is mailed once another org admin approves it."),
    )
    language = forms.ChoiceField(label=_("Language of the invitation mail"), choices=InterfaceLanguage.choices)

    def __init__(self, *args: Any, organisation: Organisation, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"language": (translation.get_language() or "en")[:2]})
        super().__init__(*args, **kwargs)
        roles = self.fields["roles"]
        assert isinstance(roles, RolesField)
        roles.choices = roles_offered(organisation)


class RolesForm(ChangeForm):
    """A colleague's roles (``UserUpdateSerializer``); a refusal of the change stands beside them."""

    contract = UserUpdateSerializer

    roles = RolesField(
        help_text=_(
            "Granting the caseworker role waits for a second person's approval. A change of roles signs the "
            "person out everywhere."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        roles = self.fields["roles"]
        assert isinstance(roles, RolesField)
        roles.choices = roles_offered(self.instance.organisation)  # type: ignore[attr-defined]  # a User

    def add_refusal(self, error: DomainError) -> None:
        """The service's refusal (the last active org admin, one's own roles) beside the roles it is about."""
        add_domain_error(self, error)
        refusal = self.errors.pop(NON_FIELD_ERRORS, None)
        if refusal:
            self.add_error("roles", list(refusal))


# --- the organisation ----------------------------------------------------------------------------------


class ProfileForm(ChangeForm):
    """The organisation's directory profile (``OrganisationProfileSerializer``, the org admin's fields)."""

    contract = OrganisationProfileSerializer

    name = forms.CharField(label=_("Name"))
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What your organisation does, for the caseworkers of other members. Never about a young person."),
    )
    accepting_referrals = forms.BooleanField(
        label=_("Accepting referrals"), required=False,
        help_text=_("Untick while your organisation cannot take new referrals: it is then not offered as a recipient."),
    )
    phenomena = AnyOfMultipleField(
        label=_("Phenomena"), choices=Phenomenon.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("What your organisation works on."),
    )
    min_age = forms.IntegerField(label=_("Youngest age taken"))
    max_age = forms.IntegerField(label=_("Oldest age taken"))
    regions = CodeListField(
        label=_("Regions"), required=False,
        help_text=_("ISO 3166-2 codes, separated by commas, such as BE-VLG, BE-BRU or NL-NH."),
    )
    languages = AnyOfMultipleField(
        label=_("Languages"), choices=Language.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("The languages your organisation can help young people in."),
    )
    contact_email = forms.CharField(
        label=_("Contact email"), required=False, widget=forms.EmailInput,
        help_text=_("The organisation's address for other members, not a person's."),
    )
    contact_phone = forms.CharField(label=_("Contact phone"), required=False)
    website = forms.CharField(label=_("Website"), required=False, widget=forms.URLInput)


class SettingsForm(ChangeForm):
    """The organisation's settings: its caseworkers' second factor and its on-call address (the profile's contract and service)."""

    contract = OrganisationProfileSerializer

    caseworker_mfa_required = forms.BooleanField(
        label=_("Caseworkers need a second factor"), required=False,
        help_text=_(
            "Caseworkers then sign in with a code from an authenticator app too. Turning this on signs out at once "
            "every caseworker signed in without one; they set one up when they sign in next."
        ),
    )
    on_call_email = forms.CharField(
        label=_("On-call address"), required=False, widget=forms.EmailInput,
        help_text=_(
            "Every referral of immediate urgency for your organisation is mailed at once to this address too, day "
            "and night: a shared on-call mailbox, not a person's. Leave it empty for none."
        ),
    )


class CapacityForm(ContractForm):
    """The organisation's published capacity (``CapacityUpdateSerializer``): places and waitlist per service.

    Two fields per requested service, ``places_<code>`` and ``waitlist_<code>``. A service
    whose places are left empty is not published (its row is removed); saving confirms
    every published row as of now. The contract and then ``capacity_set`` decide; an error
    about one service stands beside that service's field.
    """

    contract = CapacityUpdateSerializer

    def __init__(self, *args: Any, capacity: list[OrganisationCapacity], **kwargs: Any) -> None:
        self.rows = {row.service: row for row in capacity}
        initial = {}
        for service, row in self.rows.items():
            initial[f"places_{service}"], initial[f"waitlist_{service}"] = row.places_available, row.waitlist_length
        super().__init__(*args, initial=initial, **kwargs)
        for service in RequestedService.values:
            self.fields[f"places_{service}"] = forms.IntegerField(
                label=_("Places available"), required=False, min_value=0, max_value=MAX_PLACES
            )
            self.fields[f"waitlist_{service}"] = forms.IntegerField(
                label=_("Waitlist"), required=False, min_value=0, max_value=MAX_WAITLIST
            )

    def services(self) -> list[dict[str, Any]]:
        """Per service, for the page: its label, its two fields and its published row (None if not published)."""
        return [
            {"code": code, "label": label, "places": self[f"places_{code}"], "waitlist": self[f"waitlist_{code}"],
             "row": self.rows.get(code)}
            for code, label in RequestedService.choices
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = forms.Form.clean(self) or {}
        for code in RequestedService.values:
            if cleaned.get(f"places_{code}") is None and cleaned.get(f"waitlist_{code}") not in (None, 0):
                self.add_error(f"places_{code}", _("Give the places available too (0 if none)."))
        if self.errors:
            return cleaned
        entries = self.entries(cleaned)
        serializer = self.contract(data={"capacity": entries}, context=self.contract_context)
        if serializer.is_valid():
            self.validated = dict(serializer.validated_data)
        else:
            self.add_refusal(serializer.errors.get("capacity", serializer.errors), entries)
        return cleaned

    @staticmethod
    def entries(cleaned: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"service": code, "places_available": cleaned[f"places_{code}"],
             "waitlist_length": cleaned.get(f"waitlist_{code}") or 0}
            for code in RequestedService.values
            if cleaned.get(f"places_{code}") is not None
        ]

    def add_refusal(self, errors: Any, entries: list[dict[str, Any]]) -> None:
        """The contract's errors: one entry's beside its service's field, the rest at the form's top."""
        if isinstance(errors, dict) and all(isinstance(key, int) for key in errors):  # {index: {field: [...]}}
            errors = [errors.get(index, {}) for index in range(len(entries))]
        if isinstance(errors, list) and all(isinstance(item, dict) for item in errors):
            for entry, item in zip(entries, errors, strict=False):
                for name, messages in item.items():
                    field = "waitlist" if name == "waitlist_length" else "places"
                    self.add_error(f"{field}_{entry['service']}", [str(m) for m in messages])
            return
        add_serializer_errors(self, {"capacity": errors} if isinstance(errors, list) else errors)


# --- approvals -----------------------------------------------------------------------------------------


class DecisionForm(forms.Form):
    """Approving or refusing a request that waits for a second person (the buttons of the approval page)."""

    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Refuse"))])
