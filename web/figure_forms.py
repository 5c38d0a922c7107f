"""The figures page's pickers: the period (a year, or from and to) and up to two dimensions.

The form only draws the pickers and carries their errors; the API's query serializer
(``StatisticsQuerySerializer``) decides what is valid, so a period the API refuses is refused
here with the same words, beside the field.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coalition.oversight.api.serializers import StatisticsQuerySerializer

from .errors import add_serializer_errors

DIMENSION_LABELS: dict[str, Any] = {
    "period": _("Period"),
    "phenomenon": _("Phenomenon"),
    "age_band": _("Age band"),
    "gender": _("Gender"),
    "organisation": _("Receiving organisation"),
    "outcome": _("Outcome or status"),
}
PERIOD_LABELS: dict[str, Any] = {"month": _("Month"), "quarter": _("Quarter"), "year": _("Year")}
# The API's names of the query's fields, by the form's.
API_NAMES = {"year": "year", "start": "from", "end": "to", "period": "period"}


class FiguresForm(forms.Form):
    year = forms.IntegerField(
        label=_("Year"), required=False,
        help_text=_("A calendar year; or leave it empty and give the first and last day below."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To (inclusive)"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    by = forms.ChoiceField(label=_("Count by"), choices=list(DIMENSION_LABELS.items()), initial="period")
    then_by = forms.ChoiceField(
        label=_("And split by"), required=False, choices=[("", _("Nothing more")), *DIMENSION_LABELS.items()]
    )
    period = forms.ChoiceField(
        label=_("Periods of"), required=False, choices=list(PERIOD_LABELS.items()), initial="month",
        help_text=_("How the period dimension groups the referrals."),
    )

    def __init__(self, data=None, **kwargs):
        if data is not None and not any(name in data for name in self.base_fields):
            data = None  # the page opened without a query: the defaults, not errors
        super().__init__(data if data is not None else self.defaults(), **kwargs)
        self.query: dict[str, Any] | None = None

    @staticmethod
    def defaults() -> dict[str, Any]:
        return {"year": timezone.localdate().year, "by": "period", "period": "month"}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        if cleaned.get("then_by") and cleaned.get("then_by") == cleaned.get("by"):
            self.add_error("then_by", _("Choose another dimension than the first, or nothing more."))
            return cleaned
        data = {API_NAMES[name]: cleaned[name] for name in API_NAMES if cleaned.get(name) not in (None, "")}
        data["group_by"] = ",".join(d for d in (cleaned.get("by"), cleaned.get("then_by")) if d)
        query = StatisticsQuerySerializer(data=data)
        if query.is_valid():
            self.query = query.validated_data
        else:
            names = {api: form for form, api in API_NAMES.items()} | {"group_by": "by"}
            add_serializer_errors(self, {names.get(field, field): messages for field, messages in query.errors.items()})
        return cleaned

    @property
    def dimensions(self) -> list[str]:
        return list(self.query["group_by"]) if self.query else []
