"""List filters of the oversight routes (codes and dates only: nothing that identifies anyone)."""

from datetime import date, datetime, time, timedelta

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partners.choices import Phenomenon
from partners.filters import StrictBooleanFilter
from referrals.choices import CaseStatus, MatchStatus, Urgency
from referrals.match_selectors import unattended
from referrals.models import Case, Involvement, Match, Referral


def day_start(day) -> datetime:
    """The first moment of ``day`` in the coalition's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


class OverdueFilter(django_filters.FilterSet):
    urgency = django_filters.ChoiceFilter(choices=Urgency.choices)
    phenomenon = django_filters.ChoiceFilter(choices=Phenomenon.choices)
    deadline = django_filters.ChoiceFilter(
        field_name="overdue_deadline",
        choices=[("acknowledge", _("Acknowledge")), ("decide", _("Decide"))],
        help_text=_("Which deadline was missed (decide wins when both were)."),
    )
    recipient = django_filters.UUIDFilter(field_name="recipient_id", help_text=_("The organisation that has to answer."))

    class Meta:
        model = Referral
        fields = ["urgency", "phenomenon", "deadline", "recipient"]


def _from(queryset, name, value):
    return queryset.filter(started_at__gte=day_start(value))


def _to(queryset, name, value):
    if value >= date.max:
        return queryset
    return queryset.filter(started_at__lt=day_start(value + timedelta(days=1)))


# "from" is a Python keyword, so the filter set is built with type().
HandoverFilter = type(
    "HandoverFilter",
    (django_filters.FilterSet,),
    {
        "from": django_filters.DateFilter(method=_from, help_text=_("First day of the period (inclusive).")),
        "to": django_filters.DateFilter(method=_to, help_text=_("Last day of the period (inclusive).")),
        "Meta": type("Meta", (), {"model": Involvement, "fields": []}),
        "__module__": __name__,
        "__doc__": "Handovers started in a period of days.",
    },
)


class BouncedFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CaseStatus.choices)

    class Meta:
        model = Case
        fields = ["status"]


class UnattendedFilter(django_filters.FilterSet):
    reason = django_filters.ChoiceFilter(
        choices=[("no_active_member", _("No active member involved")), ("idle", _("No activity"))],
        method="filter_reason",
    )

    class Meta:
        model = Case
        fields = ["reason"]

    def filter_reason(self, queryset, name, value):
        if value == "no_active_member":
            return queryset.filter(has_active_member=False)
        return queryset.filter(idle=True)


class MatchFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=MatchStatus.choices)
    unattended = StrictBooleanFilter(
        method="filter_unattended",
        help_text=_("true: only the open matches past their due time, nobody having acted; false: all the others."),
    )
    organisation = django_filters.UUIDFilter(
        method="filter_organisation", help_text=_("Only the matches of which this member holds a side's case now.")
    )

    class Meta:
        model = Match
        fields = ["status", "unattended", "organisation"]

    def filter_unattended(self, queryset, name, value):
        late = unattended(queryset, timezone.now())
        return late if value else queryset.exclude(pk__in=late.values("pk"))

    def filter_organisation(self, queryset, name, value):
        return queryset.filter(Q(case_a__lead_organisation_id=value) | Q(case_b__lead_organisation_id=value))
