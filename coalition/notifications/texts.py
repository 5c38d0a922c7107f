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
from django.utils.translation import gettext_lazy

from referrals.choices import Urgency

from .choices import NotificationKind


def link_path(notification: Any) -> str:
    """Where the notification's link goes in the web app (which asks for sign-in)."""
    kind = notification.kind
    if getattr(notification, "match", None):
        return f"/app/matches/{notification.match}/"
    if getattr(notification, "consultation", None):
        return f"/app/consultations/{notification.consultation}/"
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


# The words of each kind, and of its variants (``_variant``), as lazy strings: translated when used.
N = NotificationKind
SUBJECTS: dict[tuple[str, str], Any] = {
    (N.REFERRAL_SENT, ""): gettext_lazy("New referral from %(organisation)s"),
    (N.REFERRAL_SENT, "urgency"): gettext_lazy("New %(urgency)s referral from %(organisation)s"),
    (N.REFERRAL_ANSWERED, ""): gettext_lazy("%(organisation)s answered your referral"),
    (N.REFERRAL_ANSWERED, "acknowledged"): gettext_lazy("%(organisation)s acknowledged your referral"),
    (N.REFERRAL_ANSWERED, "accepted"): gettext_lazy("%(organisation)s accepted your referral"),
    (N.REFERRAL_ANSWERED, "declined"): gettext_lazy("%(organisation)s declined your referral"),
    (N.REFERRAL_ANSWERED, "completed"): gettext_lazy("%(organisation)s completed a referral"),
    (N.REFERRAL_WITHDRAWN, ""): gettext_lazy("%(organisation)s withdrew a referral"),
    (N.MESSAGE, ""): gettext_lazy("New message from %(organisation)s"),
    (N.OVERDUE, ""): gettext_lazy("A referral from %(organisation)s is past its deadline"),
    (N.ESCALATION, ""): gettext_lazy("Still late: a referral to %(organisation)s"),
    (N.ESCALATION, "match"): gettext_lazy("Unanswered: a match of %(organisation)s"),
    (N.EXCEPTION, ""): gettext_lazy("%(organisation)s sent a referral on a legal-basis exception"),
    (N.MATCH, ""): gettext_lazy("%(organisation)s knows a young person of yours"),
    (N.MATCH, "coordination"): gettext_lazy("A match between %(organisation)s and another member"),
    (N.MATCH, "reminder"): gettext_lazy("Still unanswered: %(organisation)s knows a young person of yours"),
    (N.CONSULTATION, ""): gettext_lazy("%(organisation)s asks whether you can take a young person"),
    (N.CONSULTATION, "urgency"): gettext_lazy("%(organisation)s asks (%(urgency)s) whether you can take a young person"),
    (N.CONSULTATION_ANSWERED, ""): gettext_lazy("%(organisation)s answered your consultation"),
    (N.CONSULTATION_ANSWERED, "yes"): gettext_lazy("%(organisation)s can take the young person you asked about"),
    (N.CONSULTATION_ANSWERED, "no"): gettext_lazy("%(organisation)s cannot take the young person you asked about"),
    (N.CONSULTATION_ANSWERED, "waitlist"): gettext_lazy("%(organisation)s can put the young person on its waiting list"),
}
SENTENCES: dict[tuple[str, str], Any] = {
    (N.REFERRAL_SENT, ""): gettext_lazy("A new referral from %(organisation)s is waiting for %(own)s. Urgency: %(urgency)s."),
    (N.REFERRAL_ANSWERED, ""): gettext_lazy("%(organisation)s answered a referral from %(own)s."),
    (N.REFERRAL_ANSWERED, "acknowledged"): gettext_lazy(
        "%(organisation)s acknowledged a referral from %(own)s; it will now decide."),
    (N.REFERRAL_ANSWERED, "accepted"): gettext_lazy("%(organisation)s accepted a referral from %(own)s."),
    (N.REFERRAL_ANSWERED, "declined"): gettext_lazy(
        "%(organisation)s declined a referral from %(own)s. Open it to see the reason and choose what happens next."),
    (N.REFERRAL_ANSWERED, "completed"): gettext_lazy("%(organisation)s completed its part of a referral from %(own)s."),
    (N.REFERRAL_WITHDRAWN, ""): gettext_lazy(
        "%(organisation)s withdrew a referral it had sent to %(own)s; nothing more is asked of you."),
    (N.MESSAGE, ""): gettext_lazy("%(organisation)s wrote a message on a referral with %(own)s."),
    (N.OVERDUE, "acknowledge"): gettext_lazy(
        "A referral from %(organisation)s to %(own)s was due to be acknowledged by %(due)s."),
    (N.OVERDUE, "decide"): gettext_lazy("A referral from %(organisation)s to %(own)s was due to be answered by %(due)s."),
    (N.ESCALATION, "acknowledge"): gettext_lazy(
        "%(organisation)s has still not acknowledged a referral (urgency: %(urgency)s) that was due by %(due)s."),
    (N.ESCALATION, "decide"): gettext_lazy(
        "%(organisation)s has still not answered a referral (urgency: %(urgency)s) that was due by %(due)s."),
    (N.ESCALATION, "match"): gettext_lazy(
        "Nobody has answered a match between %(organisation)s and another member; it was due by %(due)s. "
        "Make sure the two get in touch."),
    (N.EXCEPTION, ""): gettext_lazy(
        "%(organisation)s sent a referral without consent, on a legal-basis exception; it waits for your review."),
    (N.MATCH, ""): gettext_lazy(
        "Another member, %(organisation)s, knows a young person of one of your cases. Get in touch with them by "
        "%(due)s, then mark the match."),
    (N.MATCH, "coordination"): gettext_lazy(
        "%(organisation)s and another member know the same young person. They are asked to get in touch by %(due)s."),
    (N.MATCH, "reminder"): gettext_lazy(
        "Another member, %(organisation)s, knows a young person of one of your cases, and nobody has answered by "
        "%(due)s. Get in touch with them, then mark the match."),
    (N.CONSULTATION, ""): gettext_lazy(
        "%(organisation)s asks %(own)s whether it can take a young person (urgency: %(urgency)s), without any "
        "identity yet. Answer yes, no or waiting list by %(due)s."),
    (N.CONSULTATION_ANSWERED, ""): gettext_lazy("%(organisation)s answered a consultation of %(own)s."),
    (N.CONSULTATION_ANSWERED, "yes"): gettext_lazy(
        "%(organisation)s answered yes to a consultation of %(own)s: you can turn the answer into a referral."),
    (N.CONSULTATION_ANSWERED, "no"): gettext_lazy("%(organisation)s answered no to a consultation of %(own)s."),
    (N.CONSULTATION_ANSWERED, "waitlist"): gettext_lazy(
        "%(organisation)s can put the young person of a consultation of %(own)s on its waiting list."),
}


def _variant(table: dict[tuple[str, str], Any], kind: str, *, status: str, deadline: str, urgency: str = "") -> str:
    """Which of the kind's words apply: by answer, deadline, match role or urgency; "" when none of them."""
    if kind in (N.REFERRAL_SENT, N.CONSULTATION) and table is SUBJECTS:
        return "urgency" if urgency else ""
    if kind in (N.OVERDUE, N.ESCALATION) and table is SENTENCES and status != "match":
        return "acknowledge" if deadline == "acknowledge" else "decide"
    return status if (kind, status) in table else ""


def subject(kind: str, *, organisation: str, urgency: str = "", status: str = "", deadline: str = "",
            **_ignored: Any) -> str:
    """A mail's subject line, or a notification's title in the list."""
    values = {"organisation": organisation, "urgency": urgency_label(urgency).lower()}
    words = SUBJECTS.get((kind, _variant(SUBJECTS, kind, status=status, deadline=deadline, urgency=urgency)))
    return str(words) % values if words else _("Something needs you in the coalition's referral network")


def sentence(kind: str, *, organisation: str, own_organisation: str = "", urgency: str = "", status: str = "",
             deadline: str = "", due_at: datetime | str | None = None, time_zone: str = "", **_ignored: Any) -> str:
    """What happened and what to do, in one or two sentences."""
    due = local_time(due_at, time_zone)
    values = {"organisation": organisation, "own": own_organisation, "urgency": urgency_label(urgency).lower(),
              "due": due}
    words = SENTENCES.get((kind, _variant(SENTENCES, kind, status=status, deadline=deadline)))
    text = str(words) % values if words else ""
    if kind == N.REFERRAL_SENT and due:
        text += " " + _("Acknowledge it by %(due)s.") % values
    return text


def texts_of(notification: Any, *, organisation: str, own_organisation: str, time_zone: str = "") -> dict[str, str]:
    """The subject and sentence of a stored notification (the web app's list)."""
    values = {
        "organisation": organisation, "own_organisation": own_organisation, "urgency": notification.urgency,
        "status": notification.status, "deadline": notification.deadline, "due_at": notification.due_at,
        "time_zone": time_zone,
    }
    return {"subject": subject(notification.kind, **values), "sentence": sentence(notification.kind, **values)}
