"""Forms of the coordinator's pages: the oversight lists' filters, the exception review, membership.

Each form draws fields for people; what is valid is decided once, by the API:

- a list's filters by the API's filter set of the same list (``FilterForm``: the values are
  handed to ``coalition.oversight.filters``, ``referrals.filters`` or ``partners.filters``,
  whose errors come back beside their fields, and whose queryset is the list);
- the exception review, admitting a member and inviting its org admin by the API's input
  serializer of the same action (``ContractForm``, as the caseworker's forms do).

Only codes and dates travel in the lists' addresses: nothing that identifies anyone.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coalition.oversight.api.serializers import ExceptionReviewSerializer
from coalition.oversight.filters import BouncedFilter, HandoverFilter, OverdueFilter, UnattendedFilter
from partners.api.serializers import OrgAdminInvitationSerializer, OrganisationAdmitSerializer
from partners.choices import Country, InterfaceLanguage, Language, MembershipStatus, OrganisationKind, Phenomenon
from partners.filters import OrganisationFilter
from referrals.choices import CaseStatus, Deadline, ExceptionReview, Urgency
from referrals.filters import ExceptionFilter

from .errors import add_serializer_errors
from .forms import ContractForm

# --- the lists' filters ---------------------------------------------------------------------------


class FilterForm(forms.Form):
    """A list's filters, checked by the API's filter set of the same list (``filterset_class``).

    ``api_names`` maps the form's fields to the filter set's (the API's query parameters);
    ``filtered(queryset)`` is the list as the API filters it, or nothing while the form has
    errors. A page opened without any of the form's fields gets ``defaults()``.
    """

    filterset_class: type[django_filters.FilterSet]
    api_names: dict[str, str] = {}

    def __init__(self, data=None, **kwargs: Any) -> None:
        if data is None or not any(name in data for name in self.base_fields):
            data = self.defaults()
        super().__init__(data, **kwargs)

    def defaults(self) -> dict[str, Any]:
        return {}

    def api_query(self, cleaned: dict[str, Any]) -> dict[str, str]:
        """The API's query parameters for the form's values (empty ones left out)."""
        return {
            api: _query_value(cleaned[name])
            for name, api in self.api_names.items()
            if cleaned.get(name) not in (None, "")
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        filterset = self.filterset_class(self.api_query(cleaned), queryset=self._empty())
        if not filterset.is_valid():
            names = {api: name for name, api in self.api_names.items()}
            for field, messages in filterset.errors.items():
                self.add_error(names.get(field) if names.get(field) in self.fields else None, list(messages))
        return cleaned

    def _empty(self) -> QuerySet:
        return self.filterset_class._meta.model.objects.none()

    def filtered(self, queryset: QuerySet) -> QuerySet:
        if not self.is_valid():
            return queryset.none()
        return self.filterset_class(self.api_query(self.cleaned_data), queryset=queryset).qs


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class OverdueFilterForm(FilterForm):
    """Overdue referrals by urgency and by the deadline missed (``OverdueFilter``)."""

    filterset_class = OverdueFilter
    api_names = {"urgency": "urgency", "deadline": "deadline"}

    urgency = forms.ChoiceField(label=_("Urgency"), required=False, choices=[("", _("Any urgency")), *Urgency.choices])
    deadline = forms.ChoiceField(
        label=_("Deadline missed"), required=False,
        choices=[("", _("Either deadline")), (Deadline.ACKNOWLEDGE, _("Not acknowledged in time")),
                 (Deadline.DECIDE, _("Not accepted or declined in time"))],
        help_text=_("When both were missed, the referral counts as not decided in time."),
    )


# How far back the handover period's quick choices reach, in days (today included).
PERIOD_DAYS = (7, 30, 90)
BETWEEN_DATES = "dates"


class HandoverPeriodForm(FilterForm):
    """Handovers of a period: the last 7, 30 or 90 days, or between two dates (``HandoverFilter``)."""

    filterset_class = HandoverFilter
    api_names = {"start": "from", "end": "to"}

    period = forms.ChoiceField(
        label=_("Period"), required=False, widget=forms.RadioSelect,
        choices=[
            ("7", _("The last 7 days")), ("30", _("The last 30 days")), ("90", _("The last 90 days")),
            (BETWEEN_DATES, _("Between the dates below")),
        ],
    )
    start = forms.DateField(label=_("From"), required=False, widget=DateInput())
    end = forms.DateField(
        label=_("To (inclusive)"), required=False, widget=DateInput(),
        help_text=_("Used when the period is between dates; either may stay empty."),
    )

    def defaults(self) -> dict[str, Any]:
        return {"period": "30"}

    def api_query(self, cleaned: dict[str, Any]) -> dict[str, str]:
        period = cleaned.get("period") or BETWEEN_DATES
        if period != BETWEEN_DATES:
            today = timezone.localdate()
            return {"from": (today - timedelta(days=int(period) - 1)).isoformat(), "to": today.isoformat()}
        return super().api_query(cleaned)

    @property
    def days(self) -> int | None:
        """The quick choice made (7, 30 or 90), or None for a period between dates."""
        period = self.cleaned_data.get("period") if self.is_valid() else None
        return int(period) if period and period != BETWEEN_DATES else None

    @property
    def bounds(self) -> tuple[date | None, date | None]:
        """The first and last day of the period chosen (either may be open)."""
        if not self.is_valid():
            return None, None
        query = self.api_query(self.cleaned_data)
        return (
            date.fromisoformat(query["from"]) if "from" in query else None,
            date.fromisoformat(query["to"]) if "to" in query else None,
        )


class BouncedFilterForm(FilterForm):
    filterset_class = BouncedFilter
    api_names = {"status": "status"}

    status = forms.ChoiceField(
        label=_("Case status"), required=False, choices=[("", _("Open and closed")), *CaseStatus.choices]
    )


UNATTENDED_REASONS: dict[str, Any] = {
    "no_active_member": _("No active member holds it"),
    "idle": _("Nothing happened for a long time"),
}


class UnattendedFilterForm(FilterForm):
    filterset_class = UnattendedFilter
    api_names = {"reason": "reason"}

    reason = forms.ChoiceField(
        label=_("Why"), required=False, choices=[("", _("Any reason")), *UNATTENDED_REASONS.items()]
    )


class ExceptionFilterForm(FilterForm):
    """The review queue: awaiting review by default, or the reviewed ones (``ExceptionFilter``)."""

    filterset_class = ExceptionFilter
    api_names = {"review_status": "review_status", "overdue": "overdue"}

    review_status = forms.ChoiceField(
        label=_("Review"), required=False, choices=[("", _("Any")), *ExceptionReview.choices]
    )
    overdue = forms.ChoiceField(
        label=_("Review period"), required=False,
        choices=[("", _("Any")), ("true", _("Overdue for review")), ("false", _("Not overdue"))],
    )

    def defaults(self) -> dict[str, Any]:
        return {"review_status": ExceptionReview.PENDING}


class MemberFilterForm(FilterForm):
    filterset_class = OrganisationFilter
    api_names = {"membership_status": "membership_status", "kind": "kind"}

    membership_status = forms.ChoiceField(
        label=_("Membership"), required=False, choices=[("", _("Any membership status")), *MembershipStatus.choices]
    )
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("Any kind")), *OrganisationKind.choices])


# --- the exception review --------------------------------------------------------------------------


class ExceptionReviewForm(ContractForm):
    """Approve or flag a legal-basis exception, with a note (``ExceptionReviewSerializer``)."""

    contract = ExceptionReviewSerializer

    decision = forms.ChoiceField(
        label=_("Decision"), widget=forms.RadioSelect,
        choices=[
            (ExceptionReview.APPROVED, _("Approve: the legal basis holds")),
            (ExceptionReview.FLAGGED, _("Flag: the legal basis does not hold")),
        ],
        help_text=_("Flagging withdraws the referral if it is still pending and tells the sender organisation."),
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        max_length = getattr(ExceptionReviewSerializer().fields["note"], "max_length", None)
        self.fields["note"].widget.attrs["maxlength"] = str(max_length)
        self.fields["note"].help_text = _(
            "At most %(count)s characters, kept with the review for the coalition's record. State the reason, never "
            "who the young person is."
        ) % {"count": max_length}


# --- membership ---------------------------------------------------------------------------------------


def _one_list(errors: dict) -> dict:
    """A list field's errors per item (``{"regions": {1: [...]}}``) as the field's own errors, beside it."""
    flat = {}
    for field, value in errors.items():
        if isinstance(value, dict) and all(isinstance(key, int) for key in value):
            flat[field] = [message for messages in value.values() for message in messages]
        else:
            flat[field] = value
    return flat


class ListContractForm(ContractForm):
    """A ``ContractForm`` whose list fields (regions, languages) carry their items' errors themselves."""

    def clean(self) -> dict[str, Any]:
        cleaned = forms.Form.clean(self) or {}
        if self.errors:
            return cleaned
        serializer = self.contract(data=self.contract_input(cleaned), context=self.contract_context)
        if serializer.is_valid():
            self.validated = dict(serializer.validated_data)
        else:
            add_serializer_errors(self, _one_list(serializer.errors))
        return cleaned


REGION_SEPARATORS = re.compile(r"[\s,;]+")


class AdmitForm(ListContractForm):
    """Admitting a member (``OrganisationAdmitSerializer``): its directory entry and membership facts."""

    contract = OrganisationAdmitSerializer

    name = forms.CharField(label=_("Name"), max_length=200)
    slug = forms.CharField(
        label=_("Short name"), max_length=50,
        help_text=_("Lower-case letters, digits and hyphens, such as shelter-be. It names the organisation in the "
                    "API and cannot be changed later."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", "—"), *OrganisationKind.choices])
    country = forms.ChoiceField(label=_("Country"), choices=[("", "—"), *Country.choices])
    data_sharing_agreement_signed_on = forms.DateField(
        label=_("Data-sharing agreement signed on"), required=False, widget=DateInput()
    )
    phenomena = forms.MultipleChoiceField(
        label=_("Phenomena handled"), required=False, choices=Phenomenon.choices, widget=forms.CheckboxSelectMultiple
    )
    regions = forms.CharField(
        label=_("Regions served"), required=False,
        help_text=_("ISO 3166-2 codes separated by commas, such as BE-VLG, BE-BRU."),
    )
    languages = forms.MultipleChoiceField(
        label=_("Languages"), required=False, choices=Language.choices, widget=forms.CheckboxSelectMultiple
    )
    min_age = forms.IntegerField(label=_("Youngest age served"), required=False, initial=0)
    max_age = forms.IntegerField(label=_("Oldest age served"), required=False, initial=18)
    accepting_referrals = forms.BooleanField(label=_("Accepts referrals"), required=False, initial=True)
    caseworker_mfa_required = forms.BooleanField(
        label=_("Caseworkers need a second factor"), required=False
    )
    contact_email = forms.CharField(label=_("Contact address"), required=False, widget=forms.EmailInput())
    contact_phone = forms.CharField(label=_("Contact phone"), required=False)
    website = forms.CharField(label=_("Website"), required=False, widget=forms.URLInput())
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def contract_input(self, cleaned: dict[str, Any]) -> dict[str, Any]:
        data = super().contract_input(cleaned)
        regions = [code.upper() for code in REGION_SEPARATORS.split(cleaned.get("regions") or "") if code]
        if regions:
            data["regions"] = regions
        else:
            data.pop("regions", None)
        for name in ("accepting_referrals", "caseworker_mfa_required"):
            data[name] = bool(cleaned.get(name))
        return data


class InviteAdminForm(ContractForm):
    """Inviting a member's org admin (``OrgAdminInvitationSerializer``): a one-time link to their own address."""

    contract = OrgAdminInvitationSerializer

    first_name = forms.CharField(label=_("Given name"), required=False, max_length=150)
    last_name = forms.CharField(label=_("Family name"), required=False, max_length=150)
    email = forms.CharField(
        label=_("Email address"), max_length=254, widget=forms.EmailInput(),
        help_text=_("The one-time link to choose a password goes to this address only."),
    )
    username = forms.CharField(
        label=_("Username"), max_length=150,
        help_text=_("3 to 150 letters, digits, dots, hyphens or underscores: what they sign in with."),
    )
    language = forms.ChoiceField(
        label=_("Language of the mail"), choices=InterfaceLanguage.choices, initial=InterfaceLanguage.EN
    )
