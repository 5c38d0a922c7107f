"""Who is told what (the design's table of notifications), driven through the API: one test per row, and who is NOT.

The cast: hotline-be sends to shelter-be; care-nl is unrelated. Each organisation of the
referral has two active caseworkers (the personas and ``colleagues``), shelter-be also
an inactive caseworker and an org admin who is no caseworker; the coordination has two
coordinators and an auditor.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django_tasks_db.models import DBTaskResult

from coalition.events import services as event_services
from coalition.events.models import Event
from coalition.mail.models import OutboundMail
from coalition.notifications import services
from coalition.notifications.choices import NotificationKind
from coalition.notifications.models import Notification, OnCallAlert
from referrals import jobs as referral_jobs
from referrals.models import LegalBasisException, Referral
from tests.support.notifications import EVERYONE, address_of, mailed_to, notification_mails, notified, told

pytestmark = pytest.mark.django_db

SENDER_CASEWORKERS = {"hotline-be-caseworker", "hotline-be-caseworker-2"}
RECIPIENT_CASEWORKERS = {"shelter-be-caseworker", "shelter-be-caseworker-2"}
COORDINATORS = {"coordinator", "coordinator-2"}
JUSTIFICATION = "Imminent danger tonight; no time to reach a guardian for consent."


def told_by(event_type: str) -> set[str]:
    """Everyone any event of ``event_type`` told anything."""
    return set(Notification.objects.filter(event__type=event_type).values_list("user__username", flat=True))


def assert_told_only(event_type: str, kind: str, expected: set[str]) -> None:
    assert told(kind, event__type=event_type) == expected
    assert told_by(event_type) == expected, "somebody else was told too"
    assert not told_by(event_type) & (EVERYONE - expected)
    # One notification per person, each mailed at once (nobody chose a digest) to the person's own address.
    assert len(notified(kind, event__type=event_type)) == len(expected)
    mails = OutboundMail.objects.filter(
        pk__in=Notification.objects.filter(event__type=event_type).values("mail")
    ).values_list("to", flat=True)
    assert sorted(mails) == sorted(address_of(name) for name in expected)


def post_message(personas, persona: str, referral_id, body: str):
    response = personas[persona].client.post(f"/api/v1/referrals/{referral_id}/messages/", {"body": body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


# --- a referral is sent ------------------------------------------------------------------------------


def test_a_sent_referral_tells_every_active_caseworker_of_the_recipient_and_nobody_else(flow, colleagues):
    flow.sent_referral()

    assert_told_only("referral.sent", NotificationKind.REFERRAL_SENT, RECIPIENT_CASEWORKERS)
    # Not the sender's own people, not care-nl, not the recipient's org admin or its former caseworker,
    # not the coordinators or the auditor (the referral is consented: no exception to review).
    for name in ("hotline-be-caseworker", "hotline-be-caseworker-2", "hotline-be-admin", "care-nl-caseworker",
                 "care-nl-admin", "shelter-be-admin", "shelter-be-former", "coordinator", "auditor"):
        assert name not in told_by("referral.sent")
    assert not OnCallAlert.objects.exists()  # urgent, not immediate


def test_the_notification_names_the_sender_and_keeps_the_deadline_to_acknowledge(flow, orgs, colleagues):
    _case, referral = flow.sent_referral(urgency="urgent")
    notification = Notification.objects.get(user__username="shelter-be-caseworker")
    assert notification.organisation == orgs["hotline-be"]  # the other organisation
    assert (notification.urgency, notification.deadline) == ("urgent", "acknowledge")
    assert notification.due_at == Referral.objects.get(pk=referral["id"]).acknowledge_due
    assert str(notification.referral) == referral["id"] and notification.read_at is None


def test_an_immediate_referral_also_goes_to_the_recipients_on_call_address(flow, orgs, colleagues):
    orgs["shelter-be"].on_call_email = "on-call@shelter-be.example.org"
    orgs["shelter-be"].save(update_fields=["on_call_email"])

    _case, referral = flow.sent_referral(urgency="immediate")

    assert_told_only("referral.sent", NotificationKind.REFERRAL_SENT, RECIPIENT_CASEWORKERS)
    alert = OnCallAlert.objects.get()
    assert (alert.organisation, str(alert.referral), alert.address) == (
        orgs["shelter-be"], referral["id"], "on-call@shelter-be.example.org"
    )
    assert mailed_to("on_call") == ["on-call@shelter-be.example.org"]
    assert alert.mail.to == "on-call@shelter-be.example.org"


@pytest.mark.parametrize("urgency", ["urgent", "normal"])
def test_a_referral_that_is_not_immediate_does_not_go_to_the_on_call_address(flow, orgs, urgency):
    orgs["shelter-be"].on_call_email = "on-call@shelter-be.example.org"
    orgs["shelter-be"].save(update_fields=["on_call_email"])
    flow.sent_referral(urgency=urgency)
    assert not OnCallAlert.objects.exists() and mailed_to("on_call") == []


def test_an_immediate_referral_to_an_organisation_without_an_on_call_address_alerts_no_address(flow):
    flow.sent_referral(urgency="immediate")
    assert not OnCallAlert.objects.exists() and mailed_to("on_call") == []
    assert told("referral_sent") == {"shelter-be-caseworker"}


# --- acknowledged, accepted, declined, completed: the sender is told ----------------------------------


ANSWERS = [
    # (the recipient's actions, the event of the last, its body)
    (["acknowledge"], "referral.acknowledged", None),
    (["accept"], "referral.accepted", None),
    (["decline"], "referral.declined", {"reason_code": "no_capacity", "reason": "No bed free this week."}),
    (["accept", "complete"], "referral.completed", {"outcome_code": "service_delivered"}),
]


@pytest.mark.parametrize(("actions", "event_type", "body"), ANSWERS, ids=[a[1] for a in ANSWERS])
def test_an_answer_tells_every_active_caseworker_of_the_sender_and_nobody_else(flow, colleagues, actions, event_type,
                                                                                body):
    _case, referral = flow.sent_referral()
    for action in actions:
        response = flow.act(referral["id"], action, "recipient_caseworker", body if action == actions[-1] else None)
        assert response.status_code == 200, response.json()

    assert_told_only(event_type, NotificationKind.REFERRAL_ANSWERED, SENDER_CASEWORKERS)
    status = event_type.removeprefix("referral.")
    assert set(Notification.objects.filter(event__type=event_type).values_list("status", flat=True)) == {status}
    # The recipient, who answered, hears nothing of its own answer.
    assert not told_by(event_type) & {"shelter-be-caseworker", "shelter-be-caseworker-2", "shelter-be-admin"}


# --- withdrawn: the recipient, who was to act on it, is told -------------------------------------------


def test_a_withdrawn_referral_tells_the_recipients_caseworkers_not_the_sender_who_withdrew_it(flow, colleagues):
    """The design's table names the sender for "withdrawn" too; the sender is who withdraws, so the recipient is told."""
    _case, referral = flow.sent_referral()
    assert flow.act(referral["id"], "withdraw", "caseworker").status_code == 200

    assert_told_only("referral.withdrawn", NotificationKind.REFERRAL_WITHDRAWN, RECIPIENT_CASEWORKERS)


def test_a_referral_withdrawn_with_its_consent_tells_the_recipient_too(flow, personas, colleagues):
    case, referral = flow.sent_referral()
    response = personas["caseworker"].client.post(
        f"/api/v1/cases/{case['id']}/consents/{referral['consent']}/withdraw/", {}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert Referral.objects.get(pk=referral["id"]).status == "withdrawn"
    assert_told_only("referral.withdrawn", NotificationKind.REFERRAL_WITHDRAWN, RECIPIENT_CASEWORKERS)


# --- a message: the other party ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("author", "expected", "author_org"),
    [("caseworker", RECIPIENT_CASEWORKERS, "hotline-be"), ("recipient_caseworker", SENDER_CASEWORKERS, "shelter-be")],
    ids=["sender-writes", "recipient-writes"],
)
def test_a_message_tells_the_other_partys_caseworkers_and_not_the_authors_organisation(
    flow, personas, orgs, colleagues, author, expected, author_org
):
    _case, referral = flow.sent_referral()
    post_message(personas, author, referral["id"], "Can we talk this afternoon?")

    assert_told_only("referral.message_posted", NotificationKind.MESSAGE, expected)
    assert {n.organisation for n in Notification.objects.filter(kind=NotificationKind.MESSAGE)} == {orgs[author_org]}


# --- a deadline passes: the late organisation, then the coordinators --------------------------------


def test_a_missed_deadline_tells_the_late_recipients_caseworkers_and_a_second_time_the_coordinators(flow, colleagues):
    _case, referral = flow.sent_referral()  # urgent: acknowledge within 4 h
    sent = Referral.objects.get(pk=referral["id"]).sent_at

    assert referral_jobs.detect_overdue(sent + timedelta(hours=5)) == 1
    assert_told_only("referral.overdue", NotificationKind.OVERDUE, RECIPIENT_CASEWORKERS)
    assert told(NotificationKind.ESCALATION) == set()

    assert services.escalate_due(now=sent + timedelta(hours=8, minutes=1)) == 1
    assert told(NotificationKind.ESCALATION) == COORDINATORS  # not the auditor, not the late organisation
    assert told_by("referral.overdue") == RECIPIENT_CASEWORKERS | COORDINATORS


# --- a legal-basis exception: the coordinators --------------------------------------------------------


def test_a_referral_on_a_legal_basis_exception_tells_the_coordinators_and_not_the_auditor(flow, colleagues):
    case = flow.open_case()
    draft = flow.draft(case["id"], legal_basis={"basis": "vital_interest", "justification": JUSTIFICATION})
    assert flow.act(draft["id"], "send", "caseworker").status_code == 200

    assert_told_only("exception.review_required", NotificationKind.EXCEPTION, COORDINATORS)
    legal_exception = LegalBasisException.objects.get(referral_id=draft["id"])
    assert {n.exception for n in Notification.objects.filter(kind=NotificationKind.EXCEPTION)} == {legal_exception.pk}
    assert_told_only("referral.sent", NotificationKind.REFERRAL_SENT, RECIPIENT_CASEWORKERS)


# --- drafts, duplicates and rollbacks -------------------------------------------------------------------


def test_a_withdrawn_draft_tells_nobody(flow, colleagues):
    case = flow.open_case()
    consent = flow.consent(case["id"])
    draft = flow.draft(case["id"], consent=consent["id"], urgency="immediate")
    assert flow.act(draft["id"], "withdraw", "caseworker").status_code == 200

    assert Event.objects.filter(type="referral.withdrawn", draft=True).exists()  # the hook saw an event ...
    assert not Notification.objects.exists()  # ... that reached nobody
    assert not notification_mails().exists()


def test_notifying_for_the_same_event_again_adds_nothing(flow, orgs, colleagues):
    orgs["shelter-be"].on_call_email = "on-call@shelter-be.example.org"
    orgs["shelter-be"].save(update_fields=["on_call_email"])
    flow.sent_referral(urgency="immediate")
    event = Event.objects.get(type="referral.sent")
    counts = (Notification.objects.count(), notification_mails().count(), OnCallAlert.objects.count())

    assert services.notify_for_event(event) == []
    assert services.notify_for_event(event) == []

    assert (Notification.objects.count(), notification_mails().count(), OnCallAlert.objects.count()) == counts
    assert len(notified(NotificationKind.REFERRAL_SENT)) == len(RECIPIENT_CASEWORKERS)


def test_the_database_refuses_a_second_notification_for_one_person_and_event(flow, personas):
    flow.sent_referral()
    event = Event.objects.get(type="referral.sent")
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(user=personas["recipient_caseworker"].user, kind=NotificationKind.REFERRAL_SENT,
                                    event=event)


def test_a_rolled_back_action_leaves_no_notification_and_no_mail(flow, orgs, colleagues, monkeypatch):
    """The notifications are made in the event's transaction: when the action fails after them, they go with it."""
    orgs["shelter-be"].on_call_email = "on-call@shelter-be.example.org"
    orgs["shelter-be"].save(update_fields=["on_call_email"])
    case = flow.open_case()
    consent = flow.consent(case["id"])
    draft = flow.draft(case["id"], consent=consent["id"], urgency="immediate")
    mail_tasks = DBTaskResult.objects.filter(task_path="coalition.mail.tasks.send_mail").count()

    def fails_after_the_notifications(event):
        assert Notification.objects.filter(event=event).exists()  # they were made, in this transaction
        raise RuntimeError("the action failed after its event")

    monkeypatch.setattr(event_services, "EVENT_HOOKS", [*event_services.EVENT_HOOKS, fails_after_the_notifications])
    with pytest.raises(RuntimeError):
        flow.act(draft["id"], "send", "caseworker")

    assert Referral.objects.get(pk=draft["id"]).status == "draft"
    assert not Event.objects.filter(type="referral.sent").exists()
    assert not Notification.objects.exists() and not OnCallAlert.objects.exists()
    assert not notification_mails().exists()
    assert DBTaskResult.objects.filter(task_path="coalition.mail.tasks.send_mail").count() == mail_tasks


def test_a_person_without_an_address_is_told_in_the_app_but_mailed_nothing(flow, colleagues):
    colleagues.shelter_second.email = ""
    colleagues.shelter_second.save(update_fields=["email"])
    flow.sent_referral()
    notification = Notification.objects.get(user=colleagues.shelter_second)
    assert notification.mail_delivery == "" and notification.mail is None
    assert mailed_to() == [address_of("shelter-be-caseworker")]

