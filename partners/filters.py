"""Directory filters: find the organisations that fit a young person."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from .choices import Language, MembershipStatus, OrganisationKind, Phenomenon
from .models import Organisation


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class StrictBooleanField(forms.NullBooleanField):
    """``true``/``false`` (or ``1``/``0``); anything else is an error, never "no filter"."""

    widget = forms.TextInput

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise forms.ValidationError(_("Must be true or false."), code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class OrganisationFilter(django_filters.FilterSet):
    phenomenon = django_filters.ChoiceFilter(
        choices=Phenomenon.choices, method="filter_has_item", field_name="phenomena", help_text=_("Handles this phenomenon.")
    )
    language = django_filters.ChoiceFilter(
        choices=Language.choices, method="filter_has_item", field_name="languages", help_text=_("Works in this language.")
    )
    region = django_filters.CharFilter(
        method="filter_has_item", field_name="regions", max_length=10, help_text=_("Serves this region (ISO 3166-2 code).")
    )
    age = IntegerFilter(method="filter_age", min_value=0, max_value=25, help_text=_("Works with young people of this age."))
    kind = django_filters.ChoiceFilter(choices=OrganisationKind.choices)
    country = django_filters.CharFilter(max_length=2)
    membership_status = django_filters.ChoiceFilter(choices=MembershipStatus.choices)
    accepting = StrictBooleanFilter(
        method="filter_accepting", help_text=_("Active members accepting referrals now (true) or not (false).")
    )

    class Meta:
        model = Organisation
        fields = ["phenomenon", "language", "region", "age", "kind", "country", "membership_status", "accepting"]

    def filter_has_item(self, queryset, name, value):
        return queryset.filter(**{f"{name}__has_item": value})

    def filter_age(self, queryset, name, value):
        return queryset.filter(min_age__lte=value, max_age__gte=value)

    def filter_accepting(self, queryset, name, value):
        accepting = {"accepting_referrals": True, "membership_status": MembershipStatus.ACTIVE}
        return queryset.filter(**accepting) if value else queryset.exclude(**accepting)
