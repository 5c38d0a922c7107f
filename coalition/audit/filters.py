"""Searching the audit trail: by object, case, actor, organisation, action and time."""

import datetime

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField

from .models import AuditEntry


class BoundedIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time that also exists in UTC: year 1 at +01:00 is bad input, not a 500."""

    def to_python(self, value):
        try:
            parsed = super().to_python(value)
            if parsed is not None:
                parsed.astimezone(datetime.UTC)
        except OverflowError:
            raise forms.ValidationError(_("Enter a valid date/time."), code="invalid") from None
        return parsed


class BoundedIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


class AuditEntryFilter(django_filters.FilterSet):
    object_type = django_filters.CharFilter(max_length=40, help_text=_("Kind of object, e.g. case, referral, subject."))
    object_id = django_filters.CharFilter(max_length=64, help_text=_("Id of the object (with object_type)."))
    case = django_filters.UUIDFilter(help_text=_("Entries about this case, whatever the object."))
    actor_user = django_filters.UUIDFilter(help_text=_("Entries of this person."))
    actor_api_key = django_filters.UUIDFilter(help_text=_("Entries of this partner-system API key."))
    organisation = django_filters.UUIDFilter(help_text=_("Entries of people and keys of this organisation."))
    action = django_filters.CharFilter(max_length=60, help_text=_("Exact action code, e.g. subject.read."))
    action_prefix = django_filters.CharFilter(
        field_name="action", lookup_expr="startswith", max_length=60,
        help_text=_("Action codes starting with this, e.g. subject. or referral."),
    )
    at_after = BoundedIsoDateTimeFilter(field_name="at", lookup_expr="gte", help_text=_("At or after this time."))
    at_before = BoundedIsoDateTimeFilter(field_name="at", lookup_expr="lt", help_text=_("Before this time."))
    request_id = django_filters.CharFilter(max_length=64, help_text=_("Entries of one request (or job)."))

    class Meta:
        model = AuditEntry
        fields = [
            "object_type", "object_id", "case", "actor_user", "actor_api_key", "organisation", "action",
            "action_prefix", "at_after", "at_before", "request_id",
        ]
