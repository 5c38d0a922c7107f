"""The words of a notification, in the active language, made only from its codes and two organisations' names.

The web app's list and the mails use the same sentences (``subject``, ``sentence``), so
what a person reads in one is what they read in the other. The inputs are a kind, the
names of the other organisation and of the person's own, an urgency, a status, a
deadline and its time: nothing here can say anything about a young person.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.urls import reverse
from django.utils import formats
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from referrals.choices import Urgency

from .choices import NotificationKind


def link_path(notification: Any) -> str:
    """Where the notification's link goes in the web app (which asks for sign-in)."""
    kind = notification.kind
    if kind == NotificationKind.EXCEPTION and notification.exception:
        return reverse("web:oversight-exception", args=[notification.exception])
    if kind == NotificationKind.ESCALATION and notification.referral:
        return reverse("web:oversight-referral", args=[notification.referral])
    if notification.referral:
        return reverse("web:referral", args=[notification.referral])
    return "/app/notifications/"


def urgency_label(code: str) -> str:
    return str(Urgency(code).label) if code in Urgency.values else ""


def local_time(value: datetime | str | None, time_zone: str = "") -> str:
    """``value`` as the person reads it: in their time zone, in the active language's format."""
    if isinstance(value, str):
        value = parse_datetime(value) if value else None
    if value is None:
        return ""
    try:
        zone = ZoneInfo(time_zone or settings.COALITION_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(settings.COALITION_TIME_ZONE)
    return formats.date_format(value.astimezone(zone), "j F Y, H:i")


def subject(kind: str, *, organisation: str, urgency: str = "", status: str = "", **_ignored: Any) -> str:
    """A mail's subject line, or a notification's title in the list."""
    values = {"organisation": organisation, "urgency": urgency_label(urgency).lower()}
    if kind == NotificationKind.REFERRAL_SENT:
        if urgency:
            return _("New %(urgency)s referral from %(organisation)s") % values
        return _("New referral from %(organisation)s") % values
    if kind == NotificationKind.REFERRAL_ANSWERED:
        return {
            "acknowledged": _("%(organisation)s acknowledged your referral"),
            "accepted": _("%(organisation)s accepted your referral"),
            "declined": _("%(organisation)s declined your referral"),
            "completed": _("%(organisation)s completed a referral"),
        }.get(status, _("%(organisation)s answered your referral")) % values
    if kind == NotificationKind.REFERRAL_WITHDRAWN:
        return _("%(organisation)s withdrew a referral") % values
    if kind == NotificationKind.MESSAGE:
        return _("New message from %(organisation)s") % values
    if kind == NotificationKind.OVERDUE:
        return _("A referral from %(organisation)s is past its deadline") % values
    if kind == NotificationKind.ESCALATION:
        return _("Still late: a referral to %(organisation)s") % values
    if kind == NotificationKind.EXCEPTION:
        return _("%(organisation)s sent a referral on a legal-basis exception") % values
    if kind == NotificationKind.MATCH:
        return _("%(organisation)s knows a young person of yours") % values
    return _("Something needs you in the coalition's referral network")


def sentence(kind: str, *, organisation: str, own_organisation: str = "", urgency: str = "", status: str = "",
             deadline: str = "", due_at: datetime | str | None = None, time_zone: str = "", **_ignored: Any) -> str:
    """What happened and what to do, in one or two sentences."""
    due = local_time(due_at, time_zone)
    values = {"organisation": organisation, "own": own_organisation, "urgency": urgency_label(urgency).lower(),
              "due": due}
    if kind == NotificationKind.REFERRAL_SENT:
        text = _("A new referral from %(organisation)s is waiting for %(own)s. Urgency: %(urgency)s.") % values
        if due:
            text += " " + _("Acknowledge it by %(due)s.") % values
        return text
    if kind == NotificationKind.REFERRAL_ANSWERED:
        return {
            "acknowledged": _("%(organisation)s acknowledged a referral from %(own)s; it will now decide."),
            "accepted": _("%(organisation)s accepted a referral from %(own)s."),
            "declined": _("%(organisation)s declined a referral from %(own)s. Open it to see the reason and "
                          "choose what happens next."),
            "completed": _("%(organisation)s completed its part of a referral from %(own)s."),
        }.get(status, _("%(organisation)s answered a referral from %(own)s.")) % values
    if kind == NotificationKind.REFERRAL_WITHDRAWN:
        return _("%(organisation)s withdrew a referral it had sent to %(own)s; nothing more is asked of you.") % values
    if kind == NotificationKind.MESSAGE:
        return _("%(organisation)s wrote a message on a referral with %(own)s.") % values
    if kind == NotificationKind.OVERDUE:
        if deadline == "acknowledge":
            return _("A referral from %(organisation)s to %(own)s was due to be acknowledged by %(due)s.") % values
        return _("A referral from %(organisation)s to %(own)s was due to be answered by %(due)s.") % values
    if kind == NotificationKind.ESCALATION:
        if deadline == "acknowledge":
            return _("%(organisation)s has still not acknowledged a referral (urgency: %(urgency)s) that was due by "
                     "%(due)s.") % values
        return _("%(organisation)s has still not answered a referral (urgency: %(urgency)s) that was due by "
                 "%(due)s.") % values
    if kind == NotificationKind.EXCEPTION:
        return _("%(organisation)s sent a referral without consent, on a legal-basis exception; it waits for your "
                 "review.") % values
    if kind == NotificationKind.MATCH:
        return _("Another member, %(organisation)s, knows a young person of one of your cases. Get in touch "
                 "with them.") % values
    return ""


def texts_of(notification: Any, *, organisation: str, own_organisation: str, time_zone: str = "") -> dict[str, str]:
    """The subject and sentence of a stored notification (the web app's list)."""
    values = {
        "organisation": organisation, "own_organisation": own_organisation, "urgency": notification.urgency,
        "status": notification.status, "deadline": notification.deadline, "due_at": notification.due_at,
        "time_zone": time_zone,
    }
    return {"subject": subject(notification.kind, **values), "sentence": sentence(notification.kind, **values)}
