"""Directory filters: find the organisations that fit a young person."""

import django_filters
from django import forms
from django.db.models import Exists, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from .choices import Language, MembershipStatus, OrganisationKind, Phenomenon
from .models import Organisation, OrganisationCapacity, capacity_fresh_since

# The annotation ``ordering=capacity`` sorts by: the places available in capacity that is not stale.
PLACES_AVAILABLE = "places_available_now"
CAPACITY_ORDERINGS = {"capacity": PLACES_AVAILABLE, "-capacity": f"-{PLACES_AVAILABLE}"}


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
    has_capacity = StrictBooleanFilter(
        method="filter_has_capacity",
        help_text=_("Members with places available now in some service (true) or with none (false); stale capacity counts as none."),
    )
    ordering = django_filters.ChoiceFilter(
        choices=[("capacity", _("Fewest places available first")), ("-capacity", _("Most places available first"))],
        method="filter_ordering",
        help_text=_("Order by the places available now over every service (stale capacity counts as none), then by slug."),
    )

    class Meta:
        model = Organisation
        fields = [
            "phenomenon", "language", "region", "age", "kind", "country", "membership_status", "accepting",
            "has_capacity", "ordering",
        ]

    def filter_has_item(self, queryset, name, value):
        return queryset.filter(**{f"{name}__has_item": value})

    def filter_age(self, queryset, name, value):
        return queryset.filter(min_age__lte=value, max_age__gte=value)

    def filter_accepting(self, queryset, name, value):
        accepting = {"accepting_referrals": True, "membership_status": MembershipStatus.ACTIVE}
        return queryset.filter(**accepting) if value else queryset.exclude(**accepting)

    def filter_has_capacity(self, queryset, name, value):
        places = Exists(
            OrganisationCapacity.objects.filter(
                organisation=OuterRef("pk"), places_available__gt=0, updated_at__gte=capacity_fresh_since()
            )
        )
        return queryset.filter(places) if value else queryset.exclude(places)

    def filter_ordering(self, queryset, name, value):
        # Only annotated here: whoever lists (the API's pagination, a page) orders by CAPACITY_ORDERINGS[value].
        return with_places_available(queryset)


def with_places_available(queryset: QuerySet[Organisation]) -> QuerySet[Organisation]:
    """Each organisation with ``places_available_now``: the places of its capacity that is not stale (0 if none)."""
    fresh = (
        OrganisationCapacity.objects.filter(organisation=OuterRef("pk"), updated_at__gte=capacity_fresh_since())
        .order_by().values("organisation").annotate(total=Sum("places_available")).values("total")
    )
    return queryset.annotate(**{PLACES_AVAILABLE: Coalesce(Subquery(fresh), 0, output_field=IntegerField())})
