"""The filters of a person's notification list (the API's and the web app's)."""

import django_filters
from django.utils.translation import gettext_lazy as _

from partners.filters import StrictBooleanFilter

from .choices import NotificationKind
from .models import Notification


class NotificationFilter(django_filters.FilterSet):
    unread = StrictBooleanFilter(method="filter_unread", help_text=_("Only unread (true) or only read (false) ones."))
    kind = django_filters.ChoiceFilter(choices=NotificationKind.choices)

    class Meta:
        model = Notification
        fields = ["unread", "kind"]

    def filter_unread(self, queryset, name, value):
        return queryset.filter(read_at__isnull=value)
