"""Forms of the auditor's pages: the trail search, legal holds, erasure's confirmation.

The trail search is the API's filter set (``coalition.audit.filters.AuditEntryFilter``)
with a form drawn for people: the same filters, the same validation, so a search the API
refuses (a case id that is not one, a time that is not a time) is refused here too, its
error beside its field. A legal hold's reason is checked by the API's input serializer
(``LegalHoldSerializer``), as on the API.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from coalition.audit.filters import AuditEntryFilter
from referrals.api.auditor_serializers import LegalHoldSerializer
from referrals.choices import LegalHoldReason

from .forms import ContractForm

# The label and the help of each filter, for people (the filter set's own help is the API's, in English).
TRAIL_FIELDS: dict[str, tuple[Any, Any]] = {
    "action": (_("Action"), _("The exact code, for instance subject.read or referral.accept.")),
    "action_prefix": (_("Action starts with"), _("For instance subject. or referral.")),
    "actor_user": (_("Person (id)"), _("Entries of this person: their id, as the trail shows it.")),
    "actor_api_key": (_("API key (id)"), _("Entries of this partner system's key.")),
    "organisation": (_("Organisation"), _("Entries of the people and keys of this organisation.")),
    "object_type": (_("Object type"), _("For instance case, referral, subject or consent.")),
    "object_id": (_("Object id"), _("The id of the object (with its type).")),
    "case": (_("Case id"), _("Every entry about this case, whatever the object: the case's full id.")),
    "at_after": (_("From"), _("At or after this time.")),
    "at_before": (_("To"), _("Before this time.")),
    "request_id": (_("Request id"), _("Entries of one request or job.")),
}


class DateTimeLocalInput(forms.DateTimeInput):
    """A date and time picker; what it sends (2026-05-01T09:30) is an ISO 8601 time in the coalition's zone."""

    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


# The filters a search needs less often, shown folded away unless one is used.
MORE_FILTERS = ("action_prefix", "actor_api_key", "object_type", "object_id", "request_id")
IDS = ("case", "actor_user", "actor_api_key", "object_id", "request_id")


class TrailSearchForm(forms.Form):
    """The base of the filter set's form: labels, help and widgets for people; the fields are the filters'."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, (label, help_text) in TRAIL_FIELDS.items():
            self.fields[name].label, self.fields[name].help_text = label, help_text
        for name in ("at_after", "at_before"):
            self.fields[name].widget = DateTimeLocalInput()
        for name in IDS:  # room for a whole id
            self.fields[name].widget.attrs.update({"size": "36", "spellcheck": "false", "autocomplete": "off"})

    def main_filters(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name not in MORE_FILTERS]

    def more_filters(self) -> list[forms.BoundField]:
        return [self[name] for name in MORE_FILTERS]

    def more_filters_used(self) -> bool:
        """Whether one of the folded filters has a value or an error: then they are shown unfolded."""
        return any(field.value() or field.errors for field in self.more_filters())


class TrailFilter(AuditEntryFilter):
    """The API's filters of the trail, validated by the API's filter set, with the page's form.

    ``organisations`` are the (id, name) pairs the organisation filter offers; any id is
    still accepted, as through the API.
    """

    class Meta(AuditEntryFilter.Meta):
        form = TrailSearchForm

    def __init__(self, data, *, queryset, organisations: list[tuple[str, str]]) -> None:
        super().__init__(data, queryset=queryset)
        self.form.fields["organisation"].widget = forms.Select(
            choices=[("", _("Any organisation")), *organisations]
        )


class TrailPositionForm(forms.Form):
    """Where a page of the trail starts: entries older than ``before`` or newer than ``after`` (sequence numbers)."""

    before = forms.IntegerField(required=False, min_value=1)
    after = forms.IntegerField(required=False, min_value=1)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("before") and cleaned.get("after"):
            raise forms.ValidationError(_("A page of the trail starts before an entry or after it, not both."))
        return cleaned


class LegalHoldForm(ContractForm):
    """Putting a case on legal hold, with its reason (``LegalHoldSerializer``)."""

    contract = LegalHoldSerializer

    reason = forms.ChoiceField(
        label=_("Reason"), choices=LegalHoldReason.choices, widget=forms.RadioSelect,
        help_text=_("Why the case must be kept: neither the retention purge nor an erasure touches it until released."),
    )


class EraseForm(forms.Form):
    """Erasure's confirmation: the auditor types the case's reference, so that no case is erased by a slip."""

    reference = forms.CharField(label=_("Case reference"), max_length=36)

    def __init__(self, *args: Any, reference: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.expected = reference
        self.fields["reference"].help_text = _("Type %(reference)s to confirm the erasure.") % {"reference": reference}

    def clean_reference(self) -> str:
        typed = (self.cleaned_data.get("reference") or "").strip().lower().replace("-", "")
        if typed != self.expected:
            raise forms.ValidationError(
                _("Type the reference of this case, %(reference)s, to confirm."), params={"reference": self.expected}
            )
        return typed
