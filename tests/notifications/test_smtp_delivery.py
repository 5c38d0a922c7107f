"""Notification mails against a real SMTP server (aiosmtpd on 127.0.0.1): arrive, retry, survive a dead worker, bounce.

The worker's task (``coalition.mail.tasks.send_mail``) is called as the worker would call
it; one test runs real worker processes and kills one in the middle of a delivery.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from coalition.events.taskqueue import ABANDONED, recover_abandoned_tasks
from coalition.mail import services as mail_services
from coalition.mail.models import MailStatus, OutboundMail
from coalition.mail.tasks import send_mail
from coalition.notifications import selectors, services
from coalition.notifications.choices import NotificationKind
from coalition.notifications.models import Notification, OnCallAlert
from tests.support.notifications import notification_mails
from tests.support.smtp import Inbox, free_port, point_at, smtp_server  # noqa: F401  (smtp_server: a fixture)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
BASE_URL = "https://referrals.example.org"
ON_CALL = "on-call@shelter-be.example.org"


def mail_of(username: str, kind: str = NotificationKind.REFERRAL_SENT) -> OutboundMail:
    return Notification.objects.filter(user__username=username, kind=kind).latest("created_at").mail


def deliver_due() -> list[str]:
    """What the worker does for each due notification mail: call its task; the outcomes."""
    return [send_mail.call(str(pk)) for pk in notification_mails().filter(status=MailStatus.PENDING)
            .values_list("pk", flat=True)]


def mail_tasks(mail: OutboundMail, *statuses) -> list[DBTaskResult]:
    rows = DBTaskResult.objects.filter(task_path="coalition.mail.tasks.send_mail", args_kwargs__args=[str(mail.pk)])
    return list(rows.filter(status__in=statuses) if statuses else rows)


def post_message(personas, persona: str, referral_id, body: str = "Are you available at three?") -> None:
    response = personas[persona].client.post(f"/api/v1/referrals/{referral_id}/messages/", {"body": body}, format="json")
    assert response.status_code == 201, response.json()


# --- delivered ---------------------------------------------------------------------------------------


def test_an_immediate_referrals_mail_reaches_the_server_with_its_link_message_id_and_auto_submitted(
    smtp_server, flow, orgs
):
    inbox = smtp_server()
    _case, referral = flow.sent_referral(urgency="immediate")
    mail = mail_of("shelter-be-caseworker")

    assert send_mail.call(str(mail.pk)) == MailStatus.SENT

    [(recipients, message)] = inbox.messages
    assert recipients == ["shelter-be-caseworker@example.org"] and message["To"] == recipients[0]
    assert message["From"] == "coalition@example.org"
    assert message["Subject"] == f"New immediate referral from {orgs['hotline-be'].name}"
    assert message["Message-ID"] == f"<{mail.pk}@example.org>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "en"
    body = message.get_content()
    assert f"{BASE_URL}/app/referrals/{referral['id']}/" in body
    assert orgs["shelter-be"].name in body
    mail.refresh_from_db()
    assert (mail.status, mail.attempts, mail.last_error) == (MailStatus.SENT, 1, "")


def test_the_on_call_address_receives_an_immediate_referral(smtp_server, flow, orgs):
    inbox = smtp_server()
    orgs["shelter-be"].on_call_email = ON_CALL
    orgs["shelter-be"].save(update_fields=["on_call_email"])
    _case, referral = flow.sent_referral(urgency="immediate")

    assert deliver_due() == [MailStatus.SENT, MailStatus.SENT]  # the caseworker's and the on-call address's

    [on_call] = [message for recipients, message in inbox.messages if recipients == [ON_CALL]]
    assert orgs["hotline-be"].name in on_call["Subject"]
    assert f"{BASE_URL}/app/referrals/{referral['id']}/" in on_call.get_content()
    assert on_call["Message-ID"] == f"<{OnCallAlert.objects.get().mail_id}@example.org>"
    assert on_call["Content-Language"] == "nl"  # shelter-be's first language


def test_the_daily_digest_arrives_as_one_mail_with_every_waiting_notification(smtp_server, flow, personas):
    inbox = smtp_server()
    user = personas["recipient_caseworker"].user
    services.preferences_update(user=user, data={"mail": {"referral_sent": "digest"}})
    referrals = [flow.sent_referral()[1] for _ in range(3)]
    assert deliver_due() == [] and inbox.messages == []  # nothing at once

    assert services.send_digests(now=datetime(2031, 1, 15, 8, tzinfo=UTC)) == 1  # 09:00 in Brussels
    assert deliver_due() == [MailStatus.SENT]

    [(recipients, message)] = inbox.messages
    assert recipients == [user.email]
    assert message["Subject"] == "Your daily digest: 3 notifications"
    body = message.get_content()
    for referral in referrals:
        assert f"{BASE_URL}/app/referrals/{referral['id']}/" in body
    assert f"{BASE_URL}/app/notifications/" in body


# --- retried -----------------------------------------------------------------------------------------


def test_a_server_that_is_down_is_retried_with_backoff_and_the_mail_arrives_once_it_is_up(smtp_server, settings, flow):
    inbox = smtp_server()
    up = settings.EMAIL_PORT
    point_at(settings, free_port())  # the server is down: nothing listens there
    flow.sent_referral(urgency="immediate")
    mail = mail_of("shelter-be-caseworker")

    DBTaskResult.objects.filter(pk__in=[t.pk for t in mail_tasks(mail)]).delete()  # the worker takes its task

    waits = []
    for _attempt in range(2):
        before = timezone.now()
        assert send_mail.call(str(mail.pk)) == MailStatus.PENDING
        mail.refresh_from_db()
        assert mail.last_error == "ConnectionRefusedError"
        waits.append(mail.next_attempt_at - before)
        [retry] = mail_tasks(mail, TaskResultStatus.READY)
        assert retry.run_after is not None and abs(retry.run_after - mail.next_attempt_at) < timedelta(seconds=1)
        assert send_mail.call(str(mail.pk)) is None  # not due yet: the task waits for its time
        OutboundMail.objects.filter(pk=mail.pk).update(next_attempt_at=timezone.now())  # ... which has come
        DBTaskResult.objects.filter(pk=retry.pk).delete()  # ... and the worker takes the retry
    # The waits grow (30 s, then 2 min, each spread by ±20 %).
    assert timedelta(seconds=23) <= waits[0] <= timedelta(seconds=37)
    assert timedelta(seconds=95) <= waits[1] <= timedelta(seconds=145)
    assert inbox.messages == []

    point_at(settings, up)  # the server is back
    assert send_mail.call(str(mail.pk)) == MailStatus.SENT
    assert len(inbox.messages) == 1 and inbox.messages[0][1]["Message-ID"] == f"<{mail.pk}@example.org>"
    mail.refresh_from_db()
    assert (mail.status, mail.attempts, mail.last_error) == (MailStatus.SENT, 3, "")


# --- a killed worker ---------------------------------------------------------------------------------


def test_a_mail_whose_worker_was_killed_mid_task_is_sent_exactly_once_after_recovery(smtp_server, settings, flow):
    """The worker claimed the task (RUNNING) and the mail's lease, then died before the server answered."""
    settings.WEBHOOK_SWEEP_SECONDS = 60
    settings.WORKER_TASK_LEASE_SECONDS = 600
    inbox = smtp_server()
    flow.sent_referral(urgency="immediate")
    mail = mail_of("shelter-be-caseworker")
    [task] = mail_tasks(mail)
    now = timezone.now()
    DBTaskResult.objects.filter(pk=task.pk).update(status=TaskResultStatus.RUNNING, started_at=now - timedelta(minutes=11),
                                                   worker_ids=["killed-worker"])
    # The dead worker's lease on the mail: held at first, run out by the time anyone looks again.
    OutboundMail.objects.filter(pk=mail.pk).update(locked_until=now + timedelta(seconds=30))
    assert send_mail.call(str(mail.pk)) is None  # another worker may not send it while the lease holds
    OutboundMail.objects.filter(pk=mail.pk).update(locked_until=now - timedelta(seconds=1),
                                                   next_attempt_at=now - timedelta(minutes=10))
    assert mail_services.sweep_due_mails() == 0  # a RUNNING task still stands for it: nothing is queued twice

    assert recover_abandoned_tasks(now=now) == 1
    task.refresh_from_db()
    assert task.status == TaskResultStatus.FAILED and task.exception_class_path == ABANDONED
    assert mail_services.sweep_due_mails() == 1
    assert mail_services.sweep_due_mails() == 0  # once
    [again] = mail_tasks(mail, TaskResultStatus.READY)

    assert send_mail.call(*again.args_kwargs["args"]) == MailStatus.SENT
    assert send_mail.call(str(mail.pk)) is None  # a stray second run sends nothing
    assert mail_services.sweep_due_mails() == 0

    assert [recipients for recipients, _message in inbox.messages].count(["shelter-be-caseworker@example.org"]) == 1
    mail.refresh_from_db()
    assert (mail.status, mail.attempts) == (MailStatus.SENT, 1)


class StallingInbox(Inbox):
    """Keeps the first delivery waiting at RCPT (the test kills the worker then); later ones pass."""

    def __init__(self):
        super().__init__()
        self.stalled = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if not self.stalled.is_set():
            self.stalled.set()
            await asyncio.sleep(3)
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)


def _start_worker(log, port: int):
    db = connection.settings_dict
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "EMAIL_URL": f"smtp://127.0.0.1:{port}",
        "EMAIL_TIMEOUT_SECONDS": "1",  # a mail's lease: 3 × 1 + 5 s
        "WEBHOOK_SWEEP_SECONDS": "1",
        "WORKER_TASK_LEASE_SECONDS": "2",
        "LOG_FORMAT": "plain",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_worker", "--interval", "0.2", "--tick", "0.5"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def _wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_mail_interrupted_by_killing_the_worker_arrives_once_after_a_restart(flow, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs a worker process on the same database (PostgreSQL)")
    inbox, port = StallingInbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    log_path = tmp_path / "worker.log"
    log = log_path.open("w")
    try:
        # The cast's own mails (an approval) are not what this test is about: out of the worker's way.
        others = [str(pk) for pk in OutboundMail.objects.values_list("pk", flat=True)]
        DBTaskResult.objects.filter(args_kwargs__args__0__in=others).delete()
        OutboundMail.objects.all().delete()
        flow.sent_referral(urgency="immediate")
        mail = mail_of("shelter-be-caseworker")

        first = _start_worker(log, port)
        try:
            assert inbox.stalled.wait(20), log_path.read_text()
            first.send_signal(signal.SIGKILL)  # in the middle of the SMTP conversation
        finally:
            first.wait(10)
        mail.refresh_from_db()
        assert (mail.status, mail.attempts) == (MailStatus.PENDING, 0)  # nothing was recorded
        assert mail_tasks(mail, TaskResultStatus.RUNNING)  # the dead worker's row

        second = _start_worker(log, port)
        try:
            sent = _wait_for(lambda: OutboundMail.objects.filter(pk=mail.pk, status=MailStatus.SENT).exists(), 30)
            time.sleep(1.5)  # a few more ticks: no second copy follows
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(10)
    finally:
        controller.stop()
    assert sent, log_path.read_text()
    to_the_caseworker = [m for recipients, m in inbox.messages if recipients == ["shelter-be-caseworker@example.org"]]
    assert len(to_the_caseworker) == 1
    assert to_the_caseworker[0]["Message-ID"] == f"<{mail.pk}@example.org>"
    mail.refresh_from_db()
    assert mail.attempts == 1


# --- bounces, shown to the organisation's admins ------------------------------------------------------


def test_a_refused_address_shows_for_its_organisation_only_until_a_later_mail_goes_through(
    smtp_server, flow, personas, orgs, colleagues
):
    inbox = smtp_server(refuse="550 5.1.1 mailbox unavailable")
    _case, referral = flow.sent_referral()
    bounced = personas["recipient_caseworker"].user
    assert send_mail.call(str(mail_of(bounced.username).pk)) == MailStatus.FAILED
    inbox.refuse = False
    assert deliver_due() == [MailStatus.SENT]  # the colleague's address works

    [problem] = selectors.mail_problems(orgs["shelter-be"])
    first = mail_of(bounced.username)
    assert (problem.address, problem.person, problem.error, problem.queued_at) == (
        bounced.email, bounced, "SMTPRecipientsRefused", first.created_at
    )
    for other in ("hotline-be", "care-nl", "coordination"):
        assert selectors.mail_problems(orgs[other]) == [], other

    post_message(personas, "caseworker", referral["id"])  # a later mail to the same person ...
    later = mail_of(bounced.username, NotificationKind.MESSAGE)
    assert later.status == MailStatus.PENDING
    assert [p.address for p in selectors.mail_problems(orgs["shelter-be"])] == [bounced.email]  # ... not through yet

    assert send_mail.call(str(later.pk)) == MailStatus.SENT
    assert selectors.mail_problems(orgs["shelter-be"]) == []


def test_a_temporary_refusal_is_no_problem_yet(smtp_server, flow, orgs):
    smtp_server(refuse=True)  # 450: try again later
    flow.sent_referral()
    assert deliver_due() == [MailStatus.PENDING]
    assert selectors.mail_problems(orgs["shelter-be"]) == []


def test_a_bounced_digest_shows_too(smtp_server, flow, personas, orgs):
    smtp_server(refuse="550 5.1.1 mailbox unavailable")
    user = personas["recipient_caseworker"].user
    services.preferences_update(user=user, data={"mail": {"referral_sent": "digest"}})
    flow.sent_referral()
    services.send_digests(now=datetime(2031, 1, 15, 8, tzinfo=UTC))

    assert deliver_due() == [MailStatus.FAILED]

    [problem] = selectors.mail_problems(orgs["shelter-be"])
    assert (problem.person, problem.address) == (user, user.email)


def test_a_bounced_on_call_address_shows_without_a_person(smtp_server, flow, orgs):
    inbox = smtp_server()
    orgs["shelter-be"].on_call_email = ON_CALL
    orgs["shelter-be"].save(update_fields=["on_call_email"])
    flow.sent_referral(urgency="immediate")
    inbox.refuse = "550 5.1.1 mailbox unavailable"
    assert send_mail.call(str(OnCallAlert.objects.get().mail_id)) == MailStatus.FAILED

    [problem] = selectors.mail_problems(orgs["shelter-be"])
    assert (problem.address, problem.person) == (ON_CALL, None)
    assert selectors.mail_problems(orgs["hotline-be"]) == []
