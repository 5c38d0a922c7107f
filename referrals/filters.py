"""List filters for cases, referrals and the exception review queue."""

import django_filters
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partners.choices import Phenomenon
from partners.filters import StrictBooleanFilter

from .choices import CaseStatus, ExceptionReview, ReferralKind, ReferralStatus, Urgency
from .models import Case, LegalBasisException, Referral
from .selectors import referral_filter_overdue


class CaseFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=CaseStatus.choices)
    phenomenon = django_filters.ChoiceFilter(choices=Phenomenon.choices, method="filter_phenomenon")
    led_by_me = StrictBooleanFilter(method="filter_led_by_me", help_text=_("Cases your organisation leads."))

    class Meta:
        model = Case
        fields = ["status", "phenomenon", "led_by_me"]

    def filter_phenomenon(self, queryset, name, value):
        return queryset.filter(phenomena__has_item=value)

    def filter_led_by_me(self, queryset, name, value):
        org_id = self.request.user.organisation.pk
        return queryset.filter(lead_organisation_id=org_id) if value else queryset.exclude(lead_organisation_id=org_id)


class ReferralFilter(django_filters.FilterSet):
    direction = django_filters.ChoiceFilter(
        choices=[("incoming", _("Incoming")), ("outgoing", _("Outgoing"))], method="filter_direction"
    )
    status = django_filters.MultipleChoiceFilter(choices=ReferralStatus.choices)
    urgency = django_filters.ChoiceFilter(choices=Urgency.choices)
    kind = django_filters.ChoiceFilter(choices=ReferralKind.choices)
    phenomenon = django_filters.ChoiceFilter(choices=Phenomenon.choices)
    overdue = StrictBooleanFilter(method="filter_overdue")
    case = django_filters.UUIDFilter(field_name="case_id")

    class Meta:
        model = Referral
        fields = ["direction", "status", "urgency", "kind", "phenomenon", "overdue", "case"]

    def filter_direction(self, queryset, name, value):
        org_id = self.request.user.organisation.pk
        if value == "incoming":
            return queryset.filter(recipient_id=org_id)
        return queryset.filter(sender_id=org_id)

    def filter_overdue(self, queryset, name, value):
        return referral_filter_overdue(queryset, value)


class ExceptionFilter(django_filters.FilterSet):
    review_status = django_filters.ChoiceFilter(choices=ExceptionReview.choices)
    overdue = StrictBooleanFilter(method="filter_overdue", help_text=_("Pending for longer than the review period."))

    class Meta:
        model = LegalBasisException
        fields = ["review_status", "overdue"]

    def filter_overdue(self, queryset, name, value):
        now = timezone.now()
        return queryset.review_overdue_at(now) if value else queryset.review_not_overdue_at(now)
