"""A deadline passes: the late recipient is told; still late after the same span again, the coordinators, once.

Time moves through the jobs' ``now`` arguments (``referrals.jobs.detect_overdue``,
``coalition.notifications.services.escalate_due``). The referral is urgent: acknowledge
within 4 h, decide within 24 h (the suite's REFERRAL_DEADLINES), so an escalation of the
acknowledgement falls 4 h after its deadline, one of the decision 24 h after its.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from coalition.audit.models import AuditEntry
from coalition.notifications import services
from coalition.notifications.choices import CHOOSABLE_KINDS, NotificationKind
from coalition.notifications.models import Escalation, Notification
from referrals import jobs as referral_jobs
from referrals.models import Referral
from tests.support.notifications import address_of, notification_mails, notified, told

pytestmark = pytest.mark.django_db

RECIPIENT_CASEWORKERS = {"shelter-be-caseworker", "shelter-be-caseworker-2"}
COORDINATORS = {"coordinator", "coordinator-2"}
SECOND = timedelta(seconds=1)


def escalation_entries():
    return AuditEntry.objects.filter(action="referral.escalate")


def coordinator_mails():
    return sorted(notification_mails().filter(to__in=[address_of(c) for c in COORDINATORS]).values_list("to", flat=True))


@pytest.fixture
def late(flow, colleagues):
    """An urgent referral to shelter-be, never acknowledged, found overdue one minute after its deadline."""
    _case, body = flow.sent_referral(urgency="urgent")
    referral = Referral.objects.get(pk=body["id"])
    assert referral_jobs.detect_overdue(referral.acknowledge_due + timedelta(minutes=1)) == 1
    return referral


def test_a_missed_acknowledgement_tells_the_recipient_and_plans_one_escalation_after_the_same_span(late):
    overdue = Notification.objects.filter(kind=NotificationKind.OVERDUE)
    assert told(NotificationKind.OVERDUE) == RECIPIENT_CASEWORKERS
    assert {(n.deadline, n.due_at, n.organisation_id) for n in overdue} == {
        ("acknowledge", late.acknowledge_due, late.sender_id)
    }
    assert sorted(n.mail.to for n in overdue) == sorted(address_of(name) for name in RECIPIENT_CASEWORKERS)

    escalation = Escalation.objects.get()
    assert (escalation.referral, escalation.deadline, escalation.due_at) == (late.pk, "acknowledge", late.acknowledge_due)
    assert escalation.escalate_at == late.acknowledge_due + timedelta(hours=4)  # the same span again
    assert escalation.settled_at is None and not escalation.escalated
    assert told(NotificationKind.ESCALATION) == set()


def test_nothing_is_escalated_before_its_time(late):
    escalation = Escalation.objects.get()

    assert services.escalate_due(now=escalation.escalate_at - SECOND) == 0

    assert told(NotificationKind.ESCALATION) == set() and coordinator_mails() == []
    assert not escalation_entries().exists()
    escalation.refresh_from_db()
    assert escalation.settled_at is None


def test_still_unacknowledged_at_its_time_the_coordinators_are_told_once_mailed_once_and_it_is_audited(late, orgs):
    escalation = Escalation.objects.get()
    at = escalation.escalate_at + SECOND

    assert services.escalate_due(now=at) == 1

    assert notified(NotificationKind.ESCALATION) == sorted((c, "escalation") for c in COORDINATORS)
    assert coordinator_mails() == sorted(address_of(c) for c in COORDINATORS)
    for notification in Notification.objects.filter(kind=NotificationKind.ESCALATION):
        assert notification.organisation == orgs["shelter-be"]  # the late organisation
        assert (notification.deadline, notification.due_at, notification.referral) == (
            "acknowledge", late.acknowledge_due, late.pk
        )
        assert notification.mail_delivery == "immediate" and notification.mail is not None
    [entry] = escalation_entries()
    assert (entry.object_id, entry.organisation, entry.detail) == (str(late.pk), orgs["shelter-be"].pk,
                                                                    {"deadline": "acknowledge"})
    assert entry.actor_user is None  # the worker's doing, nobody's
    escalation.refresh_from_db()
    assert escalation.settled_at == at and escalation.escalated
    # The late organisation and everyone else heard nothing more.
    assert told(NotificationKind.OVERDUE) == RECIPIENT_CASEWORKERS
    assert Notification.objects.count() == len(RECIPIENT_CASEWORKERS) * 2 + len(COORDINATORS)  # sent, overdue, escalation

    # Running the jobs again, now or later the same day, adds nothing.
    counts = (Notification.objects.count(), notification_mails().count(), escalation_entries().count())
    assert services.escalate_due(now=at) == 0
    assert services.escalate_due(now=at + timedelta(hours=1)) == 0
    assert referral_jobs.detect_overdue(at) == 0
    assert referral_jobs.detect_overdue(at + timedelta(hours=1)) == 0
    assert (Notification.objects.count(), notification_mails().count(), escalation_entries().count()) == counts
    assert Escalation.objects.count() == 1


ANSWERS = [
    ("acknowledge", "recipient_caseworker", None),
    ("accept", "recipient_caseworker", None),
    ("decline", "recipient_caseworker", {"reason_code": "no_capacity", "reason": "No bed free this week."}),
    ("withdraw", "caseworker", None),
]


@pytest.mark.parametrize(("action", "persona", "body"), ANSWERS, ids=[a[0] for a in ANSWERS])
def test_a_referral_answered_before_its_escalation_is_settled_without_telling_anyone(flow, late, action, persona, body):
    assert flow.act(late.pk, action, persona, body).status_code == 200
    escalation = Escalation.objects.get()
    before = Notification.objects.count()

    assert services.escalate_due(now=escalation.escalate_at + SECOND) == 0

    escalation.refresh_from_db()
    assert escalation.settled_at == escalation.escalate_at + SECOND and not escalation.escalated
    assert told(NotificationKind.ESCALATION) == set() and coordinator_mails() == []
    assert not escalation_entries().exists()
    assert Notification.objects.count() == before
    assert services.escalate_due(now=escalation.escalate_at + timedelta(days=3)) == 0  # settled for good


def test_a_decision_still_missing_a_span_after_its_deadline_is_escalated_too(flow, colleagues):
    _case, body = flow.sent_referral(urgency="urgent")
    assert flow.act(body["id"], "acknowledge", "recipient_caseworker").status_code == 200  # in time
    referral = Referral.objects.get(pk=body["id"])

    assert referral_jobs.detect_overdue(referral.decide_due + SECOND) == 1
    escalation = Escalation.objects.get()
    assert (escalation.deadline, escalation.escalate_at) == ("decide", referral.decide_due + timedelta(hours=24))
    assert {n.deadline for n in Notification.objects.filter(kind=NotificationKind.OVERDUE)} == {"decide"}

    assert services.escalate_due(now=escalation.escalate_at - SECOND) == 0
    assert services.escalate_due(now=escalation.escalate_at + SECOND) == 1
    assert told(NotificationKind.ESCALATION) == COORDINATORS
    assert {n.deadline for n in Notification.objects.filter(kind=NotificationKind.ESCALATION)} == {"decide"}
    assert [e.detail for e in escalation_entries()] == [{"deadline": "decide"}]


def test_an_escalation_is_mailed_at_once_even_to_a_coordinator_who_wants_everything_in_the_digest(late, personas):
    coordinator = personas["coordinator"].user
    services.preferences_update(user=coordinator, data={"mail": dict.fromkeys(CHOOSABLE_KINDS, "digest")})
    escalation = Escalation.objects.get()

    services.escalate_due(now=escalation.escalate_at + SECOND)

    notification = Notification.objects.get(user=coordinator, kind=NotificationKind.ESCALATION)
    assert notification.mail_delivery == "immediate"
    assert notification.mail.to == coordinator.email


def test_the_notifications_register_their_hook_and_their_periodic_jobs_with_the_layers_below():
    from coalition.events import jobs
    from coalition.events.services import EVENT_HOOKS

    assert services.notify_for_event in EVENT_HOOKS
    registered = {job.name: job for job in jobs.JOBS}
    assert registered["escalate_overdue"].run is services.escalate_due
    assert registered["escalate_overdue"].every() == timedelta(minutes=1)
    assert registered["send_digests"].run is services.send_digests
    assert registered["send_digests"].every() == timedelta(minutes=5)
