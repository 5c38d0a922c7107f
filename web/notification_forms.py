"""Forms of the notification pages: the list's filter and how a person wants their mail.

The preferences form only draws and parses the fields (a choice per kind, an hour, a time
zone); what they must be (a kind that may be chosen, an hour from 0 to 23, a time zone
that exists) is ``coalition.notifications.services.preferences_update``'s to say, and its
refusal stands beside the field it is about (``web.errors.add_domain_error``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from coalition.notifications.choices import CHOOSABLE_KINDS, MailDelivery, NotificationKind
from coalition.notifications.models import NotificationPreferences

# The time zones offered first: the coalition's members are European. The person's current
# zone is offered too, whatever it is; the service says whether a zone exists.
COMMON_TIME_ZONES = (
    "Europe/Amsterdam", "Europe/Athens", "Europe/Berlin", "Europe/Brussels", "Europe/Bucharest",
    "Europe/Copenhagen", "Europe/Dublin", "Europe/Helsinki", "Europe/Lisbon", "Europe/London",
    "Europe/Luxembourg", "Europe/Madrid", "Europe/Paris", "Europe/Prague", "Europe/Rome", "Europe/Stockholm",
    "Europe/Vienna", "Europe/Warsaw", "Europe/Zurich", "UTC",
)
MAIL_FIELD_PREFIX = "mail_"


class NotificationFilterForm(forms.Form):
    """The list's filter: all notifications, or only those not read yet."""

    unread = forms.BooleanField(label=_("Unread only"), required=False)


def mail_field_name(kind: str) -> str:
    return f"{MAIL_FIELD_PREFIX}{kind}"


class PreferencesForm(forms.Form):
    """How the person's mail comes: per choosable kind at once or in the daily digest, the digest's hour and zone.

    It starts from the person's preferences; ``service_data()`` is what the person changed,
    in the shape ``preferences_update`` takes (``mail``, ``digest_hour``, ``time_zone``), so
    the service changes and audits only that.
    """

    required_css_class = "required"

    digest_hour = forms.IntegerField(
        label=_("Hour of the daily digest"),
        widget=forms.NumberInput(attrs={"min": 0, "max": 23, "step": 1}),
        help_text=_("An hour from 0 to 23, in your time zone. The digest comes once a day, only if something waits."),
    )
    time_zone = forms.CharField(
        label=_("Time zone"), widget=forms.Select,
        help_text=_("Of the digest's hour, and of the times in your notifications and their mails."),
    )

    def __init__(self, *args: Any, preferences: NotificationPreferences, **kwargs: Any) -> None:
        initial: dict[str, Any] = {mail_field_name(kind): preferences.delivery_for(kind) for kind in CHOOSABLE_KINDS}
        kwargs["initial"] = initial | {"digest_hour": preferences.digest_hour, "time_zone": preferences.time_zone}
        super().__init__(*args, **kwargs)
        mail_fields = {
            mail_field_name(kind): forms.ChoiceField(
                label=NotificationKind(kind).label, choices=MailDelivery.choices, widget=forms.RadioSelect,
                required=False,  # one is always ticked; none sent: unchanged
            )
            for kind in CHOOSABLE_KINDS
        }
        # The kinds first, in the order of CHOOSABLE_KINDS, then the digest's hour and zone.
        self.fields = mail_fields | dict(self.fields)
        zones = list(COMMON_TIME_ZONES)
        if preferences.time_zone not in zones:
            zones.append(preferences.time_zone)
        widget = self.fields["time_zone"].widget
        assert isinstance(widget, forms.Select)
        widget.choices = [(zone, zone) for zone in zones]

    def mail_fields(self) -> list[forms.BoundField]:
        return [self[mail_field_name(kind)] for kind in CHOOSABLE_KINDS]

    def service_data(self) -> dict[str, Any]:
        """What changed, for ``preferences_update``: {"mail": {kind: delivery}, "digest_hour": .., "time_zone": ..}."""
        changed = set(self.changed_data)
        data: dict[str, Any] = {}
        mail = {
            kind: self.cleaned_data[mail_field_name(kind)] for kind in CHOOSABLE_KINDS
            if mail_field_name(kind) in changed and self.cleaned_data[mail_field_name(kind)]
        }
        if mail:
            data["mail"] = mail
        for name in ("digest_hour", "time_zone"):
            if name in changed:
                data[name] = self.cleaned_data[name]
        return data
