"""Forms of the caseworker's case pages: opening and changing a case, consents, closing.

Each form draws fields for people and hands what they typed to the API's input
serializer for the same action (``ContractForm``): the rules of the input (lengths,
dates, which organisations may be named) are the API's, written once. A field of the
young person is named ``subject_<field>`` so that the serializer's nested errors land
beside it (``web.errors.add_serializer_errors``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from partners.choices import Language, Phenomenon
from referrals.api.serializers import (
    CaseCloseSerializer,
    CaseCreateSerializer,
    CaseUpdateSerializer,
    ConsentCreateSerializer,
    SubjectSerializer,
)
from referrals.choices import CaseOutcome, CaseStatus, ConsentGiver, ConsentMethod, ConsentPurpose, Gender

from .forms import ContractForm

SUBJECT_PREFIX = "subject_"
NONE_CHOSEN = [("", _("Not given"))]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class AnyOfMultipleField(forms.MultipleChoiceField):
    """Several values offered as choices, checked by the contract, not here.

    For ids resolved through the actor's scope by the API's serializer: an id outside
    the offered list gets the serializer's message ("Unknown organisation."), the same
    answer as through the API.
    """

    def valid_value(self, value: str) -> bool:
        return True


def _limit_lengths(form: forms.BaseForm, contract_fields: Mapping[str, serializers.Field], prefix: str = "") -> None:
    """Give text inputs the ``maxlength`` of their contract field: a hint for the browser, the contract decides."""
    for name, contract_field in contract_fields.items():
        field = form.fields.get(prefix + name)
        max_length = getattr(contract_field, "max_length", None)
        if field is not None and max_length and isinstance(field, forms.CharField):
            field.widget.attrs.setdefault("maxlength", str(max_length))


class SubjectFields(forms.Form):
    """The young person's identity, as fields named ``subject_<field>`` (mixed into the case forms)."""

    subject_given_name = forms.CharField(label=_("Given name"))
    subject_family_name = forms.CharField(label=_("Family name"), required=False)
    subject_date_of_birth = forms.DateField(label=_("Date of birth"), required=False, widget=DateInput())
    subject_birth_year = forms.IntegerField(
        label=_("Birth year"), required=False, help_text=_("When the date of birth is not known.")
    )
    subject_gender = forms.ChoiceField(label=_("Gender"), choices=NONE_CHOSEN + Gender.choices, required=False)
    subject_language = forms.ChoiceField(
        label=_("Preferred language"), choices=NONE_CHOSEN + Language.choices, required=False
    )
    subject_municipality = forms.CharField(label=_("Municipality"), required=False)
    subject_safe_contact = forms.CharField(
        label=_("Safe contact"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("How to reach the young person safely, for instance which phone never to call."),
    )
    subject_guardian_contact = forms.CharField(
        label=_("Guardian contact"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def subject_input(self, cleaned: dict[str, Any], *, keep_blanks: bool) -> dict[str, Any]:
        """The serializer's ``subject`` from the fields; ``keep_blanks`` sends emptied fields to clear them."""
        subject = {}
        for name in self.fields:
            if not name.startswith(SUBJECT_PREFIX):
                continue
            value = cleaned.get(name)
            if value in (None, ""):
                if not keep_blanks:
                    continue
                value = None if name in ("subject_date_of_birth", "subject_birth_year") else ""
            subject[name[len(SUBJECT_PREFIX):]] = value
        return subject

    def subject_field_names(self) -> list[str]:
        return [name for name in self.fields if name.startswith(SUBJECT_PREFIX)]


class CaseFacts(forms.Form):
    """What the case is about: phenomena and region (mixed into the case forms)."""

    phenomena = forms.MultipleChoiceField(
        label=_("Phenomena"), choices=Phenomenon.choices, widget=forms.CheckboxSelectMultiple
    )
    region = forms.CharField(
        label=_("Region"), required=False, help_text=_("An ISO 3166-2 code such as BE-VLG or NL-NH.")
    )

    def clean_region(self) -> str:
        return (self.cleaned_data.get("region") or "").strip().upper()


class CaseOpenForm(SubjectFields, CaseFacts, ContractForm):
    """Opening a case: the young person and what the case is about (``CaseCreateSerializer``)."""

    contract = CaseCreateSerializer
    field_order = [*SubjectFields.base_fields, *CaseFacts.base_fields]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_lengths(self, SubjectSerializer().fields, SUBJECT_PREFIX)

    def contract_input(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {
            "subject": self.subject_input(cleaned, keep_blanks=False),
            "phenomena": cleaned.get("phenomena") or [],
        }
        if cleaned.get("region"):
            data["region"] = cleaned["region"]
        return data


class CaseEditForm(SubjectFields, CaseFacts, ContractForm):
    """Changing a case (its lead only): the same fields, sent with the version last read (``CaseUpdateSerializer``).

    The young person's fields are sent only when one of them changed, so the audit entry
    says truthfully whether the identity was changed.
    """

    contract = CaseUpdateSerializer
    version = forms.IntegerField(widget=forms.HiddenInput)
    field_order = [*SubjectFields.base_fields, *CaseFacts.base_fields]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _limit_lengths(self, SubjectSerializer().fields, SUBJECT_PREFIX)

    def contract_input(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {"phenomena": cleaned.get("phenomena") or [], "region": cleaned.get("region") or ""}
        if any(name in self.changed_data for name in self.subject_field_names()):
            data["subject"] = self.subject_input(cleaned, keep_blanks=True)
        return data

    @staticmethod
    def initial_for(case: dict[str, Any]) -> dict[str, Any]:
        """The form's values from the case's representation for the person (its subject already audited)."""
        initial: dict[str, Any] = {
            "phenomena": case["phenomena"], "region": case["region"], "version": case["version"],
        }
        for name, value in (case.get("subject") or {}).items():
            initial[SUBJECT_PREFIX + name] = "" if value is None else value
        return initial


class ConsentForm(ContractForm):
    """Recording a consent (``ConsentCreateSerializer``): who gave it, how, for what, to whom, how long."""

    contract = ConsentCreateSerializer

    given_by = forms.ChoiceField(label=_("Given by"), choices=ConsentGiver.choices, widget=forms.RadioSelect)
    method = forms.ChoiceField(label=_("Method"), choices=ConsentMethod.choices, widget=forms.RadioSelect)
    purposes = forms.MultipleChoiceField(
        label=_("Purposes"), choices=ConsentPurpose.choices, widget=forms.CheckboxSelectMultiple
    )
    recipients = AnyOfMultipleField(
        label=_("Recipients"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("The organisations this consent covers. Tick none to cover any active member."),
    )
    valid_from = forms.DateField(label=_("Valid from"), required=False, widget=DateInput(), help_text=_("Today if empty."))
    valid_until = forms.DateField(
        label=_("Valid until"), required=False, widget=DateInput(), help_text=_("Empty: until withdrawn.")
    )

    def __init__(self, *args: Any, organisations: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        recipients = self.fields["recipients"]
        assert isinstance(recipients, AnyOfMultipleField)
        recipients.choices = organisations


class CloseForm(ContractForm):
    """Closing a case with its outcome (``CaseCloseSerializer``), against the version last read."""

    contract = CaseCloseSerializer

    outcome = forms.ChoiceField(label=_("Outcome"), choices=CaseOutcome.choices, widget=forms.RadioSelect)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def contract_input(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        return {"outcome": cleaned.get("outcome")}


class VersionForm(forms.Form):
    """A confirmation that carries only the version last read (reopening)."""

    version = forms.IntegerField(widget=forms.HiddenInput)


REFERENCE = re.compile(r"^[0-9a-f]{1,32}$")


class CaseSearchForm(forms.Form):
    """The filters of the case list. Only codes and the case reference: never a name in a URL."""

    reference = forms.CharField(
        label=_("Case reference"), required=False, max_length=36,
        help_text=_("The first characters of the case's reference, as shown in the list."),
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Open and closed")), *CaseStatus.choices]
    )
    phenomenon = forms.ChoiceField(
        label=_("Phenomenon"), required=False, choices=[("", _("Any phenomenon")), *Phenomenon.choices]
    )

    def clean_reference(self) -> str:
        reference = (self.cleaned_data.get("reference") or "").strip().lower().replace("-", "")
        if reference and not REFERENCE.match(reference):
            raise forms.ValidationError(_("A case reference has only the digits 0–9 and the letters a–f."))
        return reference
