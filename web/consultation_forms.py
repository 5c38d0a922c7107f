"""Forms of the consultation pages: asking first, answering, the list's filters, and a yes into a referral.

A consultation carries triage data only. The asking form therefore has the referral form's
triage fields (the same fields, so the same code lists: ``web.referral_forms.ReferralForm``),
a short question and the members asked, picked from the same directory as a referral's
recipient (``web.referral_forms.Directory``), and nothing else: no case, no consent, no
field that could hold who the young person is. The API has no input serializer for it
yet, so the forms parse and ``referrals.consultations`` decides (``InvalidField`` beside its
field). A form's ``version`` is the consultation's version the person saw (the API's If-Match).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from coalition.core.actors import Actor
from partners.models import Organisation
from referrals.choices import ConsultationAnswer, ConsultationStatus, Urgency
from referrals.consultations import TRIAGE_FIELDS
from referrals.models import Case, Consent, Consultation

from .referral_forms import (
    SHARING_CONSENT,
    SHARING_LEGAL_BASIS,
    FreeText,
    ReferralForm,
    _interpolated,
    _wrap_fields,
    kind_choices,
)

INCOMING, OUTGOING = "incoming", "outgoing"


class VersionForm(forms.Form):
    """Only the version the person saw: withdrawing a consultation."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)


# --- asking first ------------------------------------------------------------------------------------


class ConsultationForm(forms.Form):
    """"Can you take this?": the members asked, the triage data and a short question; nothing else."""

    required_css_class = "required"

    organisations = forms.MultipleChoiceField(
        label=_("Members to ask"), widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one member to ask.")},
    )
    phenomenon = ReferralForm.base_fields["phenomenon"]
    urgency = forms.ChoiceField(
        label=_("Urgency"), choices=Urgency.choices, widget=forms.RadioSelect,
        help_text=_("Sets when each member answers by: immediate within 1 hour, urgent within 4 hours, "
                    "normal within 2 working days."),
    )
    requested_service = ReferralForm.base_fields["requested_service"]
    age = ReferralForm.base_fields["age"]
    gender = ReferralForm.base_fields["gender"]
    region = ReferralForm.base_fields["region"]
    language = ReferralForm.base_fields["language"]
    question = FreeText(
        label=_("Question"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        max_length=settings.CONSULTATION_QUESTION_MAX_LENGTH,
        help_text=_interpolated(
            _("What you want to know, such as whether they have a place tonight. At most %(max)s characters. "
              "Never the young person's name, contact details or anything else that tells who they are."),
            max=settings.CONSULTATION_QUESTION_MAX_LENGTH,
        ),
    )

    def __init__(self, *args: Any, members: list[Organisation], **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        _wrap_fields(self)
        self.members = {str(member.pk): member for member in members}
        cast(forms.MultipleChoiceField, self.fields["organisations"]).choices = [
            (pk, member.name) for pk, member in self.members.items()
        ]

    def asked(self) -> list[Organisation]:
        """The members chosen (among those offered)."""
        return [self.members[pk] for pk in self.cleaned_data["organisations"]]

    def service_values(self) -> dict[str, Any]:
        """What ``consultation_create`` takes as ``data``: the triage fields and the question, nothing else."""
        values = {name: self.cleaned_data.get(name) for name in TRIAGE_FIELDS}
        for name in ("gender", "region", "language"):
            values[name] = values[name] or ""
        if values["age"] is None:
            values.pop("age")
        values["question"] = self.cleaned_data.get("question") or ""
        return values


# --- answering ---------------------------------------------------------------------------------------


class AnswerForm(forms.Form):
    """The asked member's answer to its own request, once: yes, no or waitlist, and a short note."""

    required_css_class = "required"

    answer = forms.ChoiceField(
        label=_("Your answer"), choices=ConsultationAnswer.choices, widget=forms.RadioSelect,
        error_messages={"required": _("Choose yes, no or waitlist.")},
    )
    note = FreeText(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        max_length=settings.CONSULTATION_NOTE_MAX_LENGTH,
        help_text=_interpolated(
            _("Optional: what the asker should know, such as until when the place is free. At most %(max)s characters."),
            max=settings.CONSULTATION_NOTE_MAX_LENGTH,
        ),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("auto_id", "answer-%s")
        super().__init__(*args, **kwargs)
        _wrap_fields(self)


# --- the list's filters ------------------------------------------------------------------------------


class ConsultationFilterForm(forms.Form):
    """The list's filters: codes only (a direction, a status, an urgency), so nothing about anyone is in the address."""

    direction = forms.ChoiceField(
        label=_("Direction"), required=False,
        choices=[("", _("Asked and asked of you")), (OUTGOING, _("Asked by your organisation")),
                 (INCOMING, _("Asked of your organisation"))],
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *ConsultationStatus.choices]
    )
    urgency = forms.ChoiceField(label=_("Urgency"), required=False, choices=[("", _("Any urgency")), *Urgency.choices])

    def filtered(self, queryset: QuerySet[Consultation], *, outgoing, incoming) -> QuerySet[Consultation]:
        """``queryset`` (the actor's consultations) narrowed by the form; nothing while the form has errors.

        ``outgoing`` and ``incoming`` are ``referrals.consultation_selectors``' narrowings for the actor.
        """
        if not self.is_valid():
            return queryset.none()
        direction = self.cleaned_data["direction"]
        if direction == OUTGOING:
            queryset = outgoing(queryset)
        elif direction == INCOMING:
            queryset = incoming(queryset)
        if self.cleaned_data["status"]:
            queryset = queryset.filter(status=self.cleaned_data["status"])
        if self.cleaned_data["urgency"]:
            queryset = queryset.filter(urgency=self.cleaned_data["urgency"])
        return queryset


# --- a yes into a referral ---------------------------------------------------------------------------


class CaseChoiceForm(forms.Form):
    """The first step of turning a yes into a referral: which open case of the organisation (a GET form)."""

    case = forms.ChoiceField(
        label=_("Case"), widget=forms.RadioSelect,
        help_text=_("Open cases your organisation leads or is involved in. The referral is made from it."),
        error_messages={"required": _("Choose the case."), "invalid_choice": _("Choose one of the cases listed.")},
    )

    def __init__(self, *args: Any, cases: list[tuple[str, str]], **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("auto_id", "choose-%s")
        super().__init__(*args, **kwargs)
        _wrap_fields(self)
        cast(forms.ChoiceField, self.fields["case"]).choices = cases


class ReferFromConsultationForm(forms.Form):
    """The second step: the kind, the legal basis for sharing (one of the case's consents, or an exception with
    its justification) and an optional reason. The triage and the recipient are the consultation's."""

    required_css_class = "required"

    case = forms.CharField(widget=forms.HiddenInput)
    kind = ReferralForm.base_fields["kind"]
    sharing = forms.ChoiceField(
        label=_("Sharing is allowed by"), widget=forms.RadioSelect,
        choices=ReferralForm.base_fields["sharing"].choices,  # type: ignore[attr-defined]
        error_messages={"required": _("Say what allows the sharing: a consent or a legal basis.")},
    )
    consent = ReferralForm.base_fields["consent"]
    legal_basis = ReferralForm.base_fields["legal_basis"]
    legal_basis_justification = ReferralForm.base_fields["legal_basis_justification"]
    reason = ReferralForm.base_fields["reason"]

    def __init__(self, *args: Any, actor: Actor, case: Case, consents: list[tuple[str, str]],
                 **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        _wrap_fields(self)
        cast(forms.ChoiceField, self.fields["kind"]).choices = kind_choices(actor, case)
        consent_field = self.fields["consent"]
        consent_field.widget.choices = list(consents)
        self.consent_ids = {pk for pk, _label in consents}
        if not consents:
            consent_field.help_text = _("No consent is recorded in this case yet.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        sharing = cleaned.get("sharing")
        if sharing == SHARING_CONSENT and "consent" not in self.errors:
            if not cleaned.get("consent"):
                self.add_error("consent", _("Choose the consent this referral relies on."))
            elif cleaned["consent"] not in self.consent_ids:
                self.add_error("consent", _("Choose one of the consents listed."))
        if sharing == SHARING_LEGAL_BASIS and not cleaned.get("legal_basis") and "legal_basis" not in self.errors:
            self.add_error("legal_basis", _("Choose the legal basis."))
        return cleaned

    def service_values(self, consents: QuerySet[Consent]) -> dict[str, Any]:
        """What ``consultation_refer`` takes besides the request and the case; the consent read in ``consents``."""
        values: dict[str, Any] = {"kind": self.cleaned_data["kind"], "reason": self.cleaned_data.get("reason") or ""}
        if self.cleaned_data["sharing"] == SHARING_CONSENT:
            values["consent"] = consents.get(pk=self.cleaned_data["consent"])
        else:
            values["legal_basis"] = self.cleaned_data["legal_basis"]
            values["legal_basis_justification"] = self.cleaned_data.get("legal_basis_justification") or ""
        return values
