"""Reading notifications: a person's own only (nobody reads another's), and the mail problems an org admin sees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from coalition.mail.models import MailStatus, OutboundMail
from partners.models import Organisation, User

from .models import Notification, NotificationPreferences, OnCallAlert
from .services import default_preferences


def notifications_for(user: User, *, unread: bool | None = None) -> QuerySet[Notification]:
    """The person's notifications, newest first; ``unread``: only those not read yet (or only those read)."""
    notifications = Notification.objects.filter(user=user).select_related("organisation")
    if unread is True:
        notifications = notifications.filter(read_at__isnull=True)
    elif unread is False:
        notifications = notifications.filter(read_at__isnull=False)
    return notifications.order_by("-created_at", "-id")


def unread_count(user: User) -> int:
    """How many of the person's notifications are unread (the header's count)."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_of(user: User, pk: Any) -> Notification | None:
    """One of the person's notifications; None for another's (the same as a missing one)."""
    return Notification.objects.filter(user=user, pk=pk).select_related("organisation").first()


def preferences_for(user: User) -> NotificationPreferences:
    """The person's preferences, or the defaults if they never chose."""
    return NotificationPreferences.objects.filter(user=user).first() or default_preferences(user)


@dataclass(frozen=True)
class MailProblem:
    """A mail that could not be delivered: to a person of the organisation, or to its on-call address."""

    address: str
    person: User | None  # None: the on-call address
    error: str  # the class of the error: SMTPRecipientsRefused, ...
    queued_at: datetime  # when the failed mail was queued


# A mail's outcome is known once it is sent or has failed for good; a pending one proves nothing yet.
SETTLED = (MailStatus.SENT, MailStatus.FAILED)


def _last_settled_mail(**filters) -> Subquery:
    return Subquery(
        Notification.objects.filter(mail__status__in=SETTLED, **filters)
        .order_by("-mail__created_at", "-mail_id").values("mail_id")[:1]
    )


def mail_problems(organisation: Organisation) -> list[MailProblem]:
    """The organisation's addresses whose latest settled notification mail failed for good (a bounce, too many errors).

    Only the latest mail that was sent or failed counts (a notification's own mail or
    the digest that carried it): once a later mail to the address goes through, the
    problem is gone from the list; while that later mail still waits, it stays.
    """
    people = (
        User.objects.filter(organisation=organisation, is_active=True)
        .annotate(last_mail=_last_settled_mail(user=OuterRef("pk")))
        .filter(last_mail__isnull=False)
    )
    last_mails = {person.last_mail: person for person in people}
    alert = (
        OnCallAlert.objects.filter(organisation=organisation, mail__status__in=SETTLED)
        .order_by("-mail__created_at", "-mail_id").first()
    )
    ids = [*last_mails, *([alert.mail_id] if alert else [])]
    failed = OutboundMail.objects.filter(pk__in=ids, status=MailStatus.FAILED)
    problems = []
    for mail in failed:
        person = last_mails.get(mail.pk)
        problems.append(MailProblem(address=mail.to, person=person, error=mail.last_error,
                                    queued_at=mail.created_at))
    return sorted(problems, key=lambda problem: problem.queued_at, reverse=True)
