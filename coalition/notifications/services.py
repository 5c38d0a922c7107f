"""Notifications: made in the transaction of the event that causes them, mailed by the worker.

``notify_for_event`` is the events layer's hook (``coalition.events.services.register_event_hook``):
for each event of DESIGN's table it addresses the people who must act, by role and
involvement, one notification per person and event, and queues the mail of those who
want it at once (``coalition.mail``: at least once, retried with backoff). Everything
else here is what people and the worker do with them: read them, choose how mail comes,
the daily digest and the escalation of what is still late.

A notification keeps codes and ids only (``models.Notification``): its text, in the web
app and in mail, is made from the other organisation's name, the urgency, a deadline and
a link (``texts``), never from anything about the young person.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from coalition.audit.services import record
from coalition.core.access import Role
from coalition.core.errors import InvalidField
from coalition.events.models import Event
from coalition.mail.services import queue_mail
from partners.choices import MembershipStatus, OrganisationKind
from partners.models import Organisation, User
from referrals.choices import Urgency
from referrals.deadlines import add_span, configured_deadlines
from referrals.models import DEADLINE_RULES, ConsultationRequest, Match, Referral, ReferralMessage

from .choices import ALWAYS_IMMEDIATE, CHOOSABLE_KINDS, MailDelivery, NotificationKind
from .models import Escalation, Notification, NotificationPreferences, OnCallAlert
from .texts import link_path

logger = logging.getLogger(__name__)

ANSWER_EVENTS = {
    "referral.acknowledged": "acknowledged",
    "referral.accepted": "accepted",
    "referral.declined": "declined",
    "referral.completed": "completed",
}
DIGEST_MAX_ITEMS = 50


@dataclass
class Addressed:
    """What one event tells some people: the kind, the people, and the codes the text needs."""

    kind: str
    users: list[User]
    organisation_id: Any = None  # the other organisation, named in the text
    urgency: str = ""
    status: str = ""
    deadline: str = ""
    due_at: datetime | None = None
    exception: Any = None
    match: Any = None
    consultation: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


# --- who is told -----------------------------------------------------------------------------------


def caseworkers_of(organisation_id) -> list[User]:
    """The active caseworkers of a member: the people who act for it on its cases."""
    return list(
        User.objects.filter(organisation_id=organisation_id, is_active=True, roles__has_item=Role.CASEWORKER)
        .select_related("organisation")
        .order_by("username")
    )


def coordinators() -> list[User]:
    """The active coordinators of the coalition's coordination."""
    return list(
        User.objects.filter(
            is_active=True,
            roles__has_item=Role.COORDINATOR,
            organisation__kind=OrganisationKind.COORDINATOR,
            organisation__membership_status=MembershipStatus.ACTIVE,
        )
        .select_related("organisation")
        .order_by("username")
    )


def _referral(event: Event) -> Referral | None:
    if event.referral is None:
        return None
    return (
        Referral.objects.select_related("sender", "recipient")
        .only("id", "case_id", "status", "urgency", "sender", "recipient", "sent_at", "acknowledge_due", "decide_due")
        .filter(pk=event.referral)
        .first()
    )


def _sent(event: Event, referral: Referral) -> list[Addressed]:
    return [Addressed(NotificationKind.REFERRAL_SENT, caseworkers_of(referral.recipient_id),
                      organisation_id=referral.sender_id, urgency=referral.urgency,
                      deadline="acknowledge", due_at=referral.acknowledge_due)]


def _answered(event: Event, referral: Referral) -> list[Addressed]:
    return [Addressed(NotificationKind.REFERRAL_ANSWERED, caseworkers_of(referral.sender_id),
                      organisation_id=referral.recipient_id, urgency=referral.urgency,
                      status=ANSWER_EVENTS[event.type])]


def _withdrawn(event: Event, referral: Referral) -> list[Addressed]:
    # The sender withdrew: the recipient, who was to act on it, learns it can stop.
    return [Addressed(NotificationKind.REFERRAL_WITHDRAWN, caseworkers_of(referral.recipient_id),
                      organisation_id=referral.sender_id, urgency=referral.urgency, status="withdrawn")]


def _message(event: Event, referral: Referral) -> list[Addressed]:
    author = ReferralMessage.objects.filter(pk=event.data.get("message")).values_list("organisation_id", flat=True).first()
    if author is None:
        return []
    other = referral.recipient_id if author == referral.sender_id else referral.sender_id
    return [Addressed(NotificationKind.MESSAGE, caseworkers_of(other), organisation_id=author, urgency=referral.urgency)]


def _overdue(event: Event, referral: Referral) -> list[Addressed]:
    deadline = event.data.get("deadline", "")
    due_at = getattr(referral, DEADLINE_RULES[deadline].field) if deadline in DEADLINE_RULES else None
    _plan_escalation(event, referral, deadline, due_at)
    # The recipient is the late organisation: both deadlines are its own.
    return [Addressed(NotificationKind.OVERDUE, caseworkers_of(referral.recipient_id),
                      organisation_id=referral.sender_id, urgency=referral.urgency, deadline=deadline, due_at=due_at)]


def _exception(event: Event, referral: Referral) -> list[Addressed]:
    return [Addressed(NotificationKind.EXCEPTION, coordinators(), organisation_id=referral.sender_id,
                      urgency=referral.urgency, exception=event.data.get("exception"))]


def _match(event: Event) -> Match | None:
    return (
        Match.objects.select_related("case_a", "case_b")
        .filter(pk=event.data.get("match"))
        .first()
    )


def _match_found(event: Event) -> list[Addressed]:
    """One side's event: its caseworkers learn the other member's name; the coordinators, once, of the match."""
    match = _match(event)
    if match is None or not event.organisations:
        return []
    side = match.side_of(UUID(event.organisations[0]))
    if side is None:
        return []
    other = match.case_b.lead_organisation_id if side == "a" else match.case_a.lead_organisation_id
    told = [Addressed(NotificationKind.MATCH, caseworkers_of(event.organisations[0]), organisation_id=other,
                      due_at=match.due_at, match=match.pk)]
    if side == "a":  # the coordinators once per match, not once per side
        told.append(Addressed(NotificationKind.MATCH, coordinators(), organisation_id=match.organisation_a_id,
                              status="coordination", due_at=match.due_at, match=match.pk))
    return told


def _match_escalated(event: Event) -> list[Addressed]:
    """Nobody answered within the working days: the coordinators are told, and both sides reminded."""
    match = _match(event)
    if match is None:
        return []
    sides = [(match.case_a.lead_organisation_id, match.case_b.lead_organisation_id),
             (match.case_b.lead_organisation_id, match.case_a.lead_organisation_id)]
    return [
        Addressed(NotificationKind.ESCALATION, coordinators(), organisation_id=match.organisation_a_id, status="match",
                  due_at=match.due_at, match=match.pk),
        *(Addressed(NotificationKind.MATCH, caseworkers_of(own), organisation_id=other, status="reminder",
                    due_at=match.due_at, match=match.pk) for own, other in sides),
    ]


def _consultation_request(event: Event) -> ConsultationRequest | None:
    return (
        ConsultationRequest.objects.select_related("consultation")
        .filter(pk=event.data.get("request"), consultation_id=event.data.get("consultation"))
        .first()
    )


def _consultation_asked(event: Event) -> list[Addressed]:
    """The asked member's caseworkers: who asks, how urgent, and by when to answer."""
    request = _consultation_request(event)
    if request is None:
        return []
    consultation = request.consultation
    return [Addressed(NotificationKind.CONSULTATION, caseworkers_of(request.organisation_id),
                      organisation_id=consultation.asker_id, urgency=consultation.urgency, deadline="acknowledge",
                      due_at=request.answer_due, consultation=consultation.pk)]


def _consultation_answered(event: Event) -> list[Addressed]:
    """The asker's caseworkers: which member answered, and what (yes, no or waitlist)."""
    request = _consultation_request(event)
    if request is None:
        return []
    consultation = request.consultation
    return [Addressed(NotificationKind.CONSULTATION_ANSWERED, caseworkers_of(consultation.asker_id),
                      organisation_id=request.organisation_id, urgency=consultation.urgency, status=request.answer,
                      consultation=consultation.pk)]


# Events about a match or a consultation rather than a referral: each handler reads its object itself.
OBJECT_ADDRESSING = {
    "match.found": _match_found,
    "match.escalated": _match_escalated,
    "consultation.asked": _consultation_asked,
    "consultation.answered": _consultation_answered,
}

# Who each event tells (DESIGN's table of notifications); the events not here tell nobody.
ADDRESSING = {
    "referral.sent": _sent,
    **dict.fromkeys(ANSWER_EVENTS, _answered),
    "referral.withdrawn": _withdrawn,
    "referral.message_posted": _message,
    "referral.overdue": _overdue,
    "exception.review_required": _exception,
}


def addressed_by(event: Event) -> list[Addressed]:
    """Who ``event`` tells what; empty for a draft (it reached nobody) and the events nobody must act on."""
    if event.type in OBJECT_ADDRESSING:
        return OBJECT_ADDRESSING[event.type](event)
    address = ADDRESSING.get(event.type)
    if address is None or event.draft:
        return []
    referral = _referral(event)
    return address(event, referral) if referral is not None else []


def notify_for_event(event: Event) -> list[Notification]:
    """The events layer's hook: the notifications ``event`` causes, in its transaction."""
    made: list[Notification] = []
    for addressed in addressed_by(event):
        made += notify(addressed, event=event)
    if event.type == "referral.sent":
        _alert_on_call(event)

    return made


# --- making them -----------------------------------------------------------------------------------


def preferences_of(users: Iterable[User]) -> dict[Any, NotificationPreferences]:
    """Each person's preferences, the defaults for those who never chose."""
    users = list(users)
    found = {p.user_id: p for p in NotificationPreferences.objects.filter(user__in=users)}
    return {user.pk: found.get(user.pk) or default_preferences(user) for user in users}


def default_preferences(user: User) -> NotificationPreferences:
    return NotificationPreferences(
        user=user, mail={}, digest_hour=settings.NOTIFICATION_DIGEST_HOUR, time_zone=settings.COALITION_TIME_ZONE
    )


def mail_delivery_for(kind: str, urgency: str, preferences: NotificationPreferences) -> str:
    """At once or in the digest: what the person chose, except that ``immediate`` urgency and escalations go at once."""
    if kind in ALWAYS_IMMEDIATE or urgency == Urgency.IMMEDIATE:
        return MailDelivery.IMMEDIATE
    return preferences.delivery_for(kind)


def language_of(user: User) -> str:
    return user.language if user.language in ("en", "nl", "fr") else settings.LANGUAGE_CODE


def notify(addressed: Addressed, *, event: Event | None) -> list[Notification]:
    """One notification per person of ``addressed`` (none twice for the same event and kind), mailed as each wants."""
    users = {user.pk: user for user in addressed.users}
    if event is not None and users:
        already = set(
            Notification.objects.filter(event=event, kind=addressed.kind, user__in=list(users)).values_list("user_id", flat=True)
        )
        users = {pk: user for pk, user in users.items() if pk not in already}
    if not users:
        return []
    preferences = preferences_of(users.values())
    now = timezone.now()
    notifications = []
    for user in users.values():
        delivery = mail_delivery_for(addressed.kind, addressed.urgency, preferences[user.pk]) if user.email else ""
        notifications.append(Notification(
            user=user, kind=addressed.kind, event=event,
            referral=event.referral if event is not None else None, case=event.case if event is not None else None,
            organisation_id=addressed.organisation_id, urgency=addressed.urgency, status=addressed.status,
            deadline=addressed.deadline, due_at=addressed.due_at, exception=addressed.exception,
            match=addressed.match, consultation=addressed.consultation, created_at=now, mail_delivery=delivery,
        ))
    Notification.objects.bulk_create(notifications)
    names = _organisation_names([addressed.organisation_id])
    for notification in notifications:
        if notification.mail_delivery == MailDelivery.IMMEDIATE:
            user = users[notification.user_id]
            notification.mail = queue_mail(
                to=user.email, template="notification", language=language_of(user),
                context=mail_context(notification, preferences[user.pk], names, own=user.organisation.name),
            )
            Notification.objects.filter(pk=notification.pk).update(mail=notification.mail)
    return notifications


def _organisation_names(ids: Iterable[Any]) -> dict[str, str]:
    wanted = [pk for pk in ids if pk]
    return {str(pk): name for pk, name in Organisation.objects.filter(pk__in=wanted).values_list("pk", "name")}


def mail_context(notification: Notification, preferences: NotificationPreferences, names: dict[str, str],
                 *, own: str) -> dict[str, Any]:
    """What a notification's mail is made of: codes, two organisations' names, a time and a link. Nothing else."""
    return {
        "kind": notification.kind,
        "organisation": names.get(str(notification.organisation_id), ""),
        "own_organisation": own,
        "urgency": notification.urgency,
        "status": notification.status,
        "deadline": notification.deadline,
        "due_at": notification.due_at.isoformat() if notification.due_at else "",
        "time_zone": preferences.time_zone,
        "link_path": link_path(notification),
    }


def _alert_on_call(event: Event) -> OnCallAlert | None:
    """An ``immediate`` referral goes at once to its recipient's on-call address, if it has one."""
    if event.data.get("urgency") != Urgency.IMMEDIATE:
        return None
    referral = _referral(event)
    if referral is None or not referral.recipient.on_call_email:
        return None
    recipient = referral.recipient
    if OnCallAlert.objects.filter(organisation=recipient, event=event).exists():
        return None  # alerted for this event already (the hook ran again): one alert per event
    alert = OnCallAlert.objects.create(organisation=recipient, event=event, referral=referral.pk,
                                       address=recipient.on_call_email)
    alert.mail = queue_mail(
        to=recipient.on_call_email, template="on_call", language=on_call_language(recipient),
        context={
            "kind": NotificationKind.REFERRAL_SENT,
            "organisation": referral.sender.name,
            "own_organisation": recipient.name,
            "urgency": referral.urgency,
            "deadline": "acknowledge",
            "due_at": referral.acknowledge_due.isoformat() if referral.acknowledge_due else "",
            "time_zone": settings.COALITION_TIME_ZONE,
            "link_path": f"/app/referrals/{referral.pk}/",
        },
    )
    alert.save(update_fields=["mail"])
    return alert


def on_call_language(organisation: Organisation) -> str:
    """The on-call mail's language: the first of the organisation's languages the app speaks, else English."""
    for language in organisation.languages or ():
        if language in ("nl", "fr", "en"):
            return language
    return settings.LANGUAGE_CODE


# --- escalation ------------------------------------------------------------------------------------


def _plan_escalation(event: Event, referral: Referral, deadline: str, due_at: datetime | None) -> None:
    """Tell the coordinators if the referral is still late after the deadline's span once more."""
    if due_at is None or referral.sent_at is None or deadline not in DEADLINE_RULES:
        return
    spans = configured_deadlines(settings.REFERRAL_DEADLINES).get(referral.urgency)
    if spans is None:
        return
    span = spans[0] if deadline == "acknowledge" else spans[1]
    escalate_at = add_span(due_at, span, country=referral.recipient.country)
    Escalation.objects.get_or_create(event=event, defaults={
        "referral": referral.pk, "deadline": deadline, "due_at": due_at, "escalate_at": escalate_at,
    })


def escalate_due(now: datetime | None = None, *, limit: int = 200) -> int:
    """Settle the escalations that fell due: the coordinators are told, once, of each referral still late."""
    now = now or timezone.now()
    escalated = 0
    due = list(
        Escalation.objects.filter(settled_at__isnull=True, escalate_at__lte=now)
        .order_by("escalate_at").values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        with transaction.atomic():
            escalation = Escalation.objects.select_for_update().filter(pk=pk, settled_at__isnull=True).first()
            if escalation is None:  # another worker settled it
                continue
            referral = (
                Referral.objects.past_deadline(escalation.deadline, now)
                .select_related("recipient").filter(pk=escalation.referral).first()
            )
            escalation.settled_at = now
            escalation.escalated = referral is not None
            escalation.save(update_fields=["settled_at", "escalated"])
            if referral is None:
                continue  # answered since: nothing to escalate
            record(action="referral.escalate", actor=None, obj=referral, organisation_id=referral.recipient_id,
                   detail={"deadline": escalation.deadline})
            notify(Addressed(NotificationKind.ESCALATION, coordinators(), organisation_id=referral.recipient_id,
                             urgency=referral.urgency, deadline=escalation.deadline, due_at=escalation.due_at),
                   event=Event.objects.get(pk=escalation.event_id))
            escalated += 1
    return escalated


# --- reading and preferences -----------------------------------------------------------------------


def notification_mark_read(*, user: User, notification: Notification) -> Notification:
    """Mark one of the person's notifications read (again: no change)."""
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


def notification_mark_all_read(*, user: User) -> int:
    """Mark every unread notification of the person read; how many were."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


def checked_time_zone(name: Any) -> str:
    try:
        if not isinstance(name, str):
            raise TypeError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidField("time_zone", _("Not a known time zone (such as Europe/Brussels).")) from None
    return name


@transaction.atomic
def preferences_update(*, user: User, data: dict[str, Any]) -> NotificationPreferences:
    """Change how the person's mail comes: ``mail`` ({kind: immediate|digest}), ``digest_hour``, ``time_zone``."""
    preferences, _created = NotificationPreferences.objects.select_for_update().get_or_create(
        user=user, defaults={"digest_hour": settings.NOTIFICATION_DIGEST_HOUR, "time_zone": settings.COALITION_TIME_ZONE},
    )
    if "mail" in data:
        if not isinstance(data["mail"], dict):
            raise InvalidField("mail", _("Choose immediate or digest for each kind of notification."))
        chosen = dict(preferences.mail)
        for kind, delivery in data["mail"].items():
            if kind not in CHOOSABLE_KINDS:
                raise InvalidField("mail", _("%(kind)s always goes out at once.") % {"kind": kind}
                                   if kind in ALWAYS_IMMEDIATE else _("Unknown kind of notification."))
            if delivery not in MailDelivery.values:
                raise InvalidField("mail", _("Choose immediate or digest."))
            chosen[kind] = delivery
        preferences.mail = {kind: chosen[kind] for kind in CHOOSABLE_KINDS if chosen.get(kind, "immediate") != "immediate"}
    if "digest_hour" in data:
        hour = data["digest_hour"]
        if not isinstance(hour, int) or isinstance(hour, bool) or not 0 <= hour <= 23:
            raise InvalidField("digest_hour", _("An hour from 0 to 23."))
        preferences.digest_hour = hour
    if "time_zone" in data:
        preferences.time_zone = checked_time_zone(data["time_zone"])
    preferences.save()
    record(action="notification.preferences_update", actor=user, obj=preferences, object_type="notification_preferences",
           object_id=user.pk, detail={"fields": sorted(data), "digest": sorted(preferences.mail)})
    return preferences


# --- the daily digest ------------------------------------------------------------------------------


def _local_now(preferences: NotificationPreferences, now: datetime) -> datetime:
    try:
        return now.astimezone(ZoneInfo(preferences.time_zone))
    except (ZoneInfoNotFoundError, ValueError):
        return now.astimezone(ZoneInfo(settings.COALITION_TIME_ZONE))


def send_digests(now: datetime | None = None) -> int:
    """One mail a day per person with digest notifications waiting, at their hour in their time zone.

    Each person's digest is queued, its notifications marked and the day noted in one
    transaction under the preferences' row lock: a second run (another worker, a
    restart) finds the day taken and sends nothing more. Notifications already read in
    the web app are left out.
    """
    now = now or timezone.now()
    waiting = (
        Notification.objects.filter(mail_delivery=MailDelivery.DIGEST, digested_at__isnull=True)
        .values_list("user_id", flat=True).distinct()
    )
    sent = 0
    for user_id in list(waiting):
        with transaction.atomic():
            preferences = NotificationPreferences.objects.select_for_update().filter(user_id=user_id).first()
            if preferences is None:
                preferences = NotificationPreferences.objects.create(
                    user_id=user_id, digest_hour=settings.NOTIFICATION_DIGEST_HOUR,
                    time_zone=settings.COALITION_TIME_ZONE,
                )
            local = _local_now(preferences, now)
            if local.hour < preferences.digest_hour or preferences.last_digest_on == local.date():
                continue
            pending = Notification.objects.select_for_update().filter(
                user_id=user_id, mail_delivery=MailDelivery.DIGEST, digested_at__isnull=True
            ).order_by("created_at", "id")
            items = [n for n in pending]
            Notification.objects.filter(pk__in=[n.pk for n in items]).update(digested_at=now)
            preferences.last_digest_on = local.date()
            preferences.save(update_fields=["last_digest_on", "updated_at"])
            unread = [n for n in items if n.read_at is None]
            user = User.objects.select_related("organisation").get(pk=user_id)
            if not unread or not user.email or not user.is_active:
                continue
            names = _organisation_names(n.organisation_id for n in unread)
            shown = unread[:DIGEST_MAX_ITEMS]
            digest = queue_mail(
                to=user.email, template="notification_digest", language=language_of(user),
                context={
                    "own_organisation": user.organisation.name,
                    "items": [mail_context(n, preferences, names, own=user.organisation.name) for n in shown],
                    "more": len(unread) - len(shown),
                    "link_path": "/app/notifications/",
                },
            )
            # The digest is the mail that carried them (and tells the org admin if it bounced).
            Notification.objects.filter(pk__in=[n.pk for n in unread]).update(mail=digest)
            sent += 1
    return sent


def digest_interval() -> timedelta:
    return timedelta(minutes=5)
