"""Outbound mail against a real SMTP server (aiosmtpd, started by the test): sent, retried, swept.

Each test starts an SMTP server on 127.0.0.1 on a free port and points Django's
mail settings at it; the worker's task sends through the ordinary SMTP backend.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from coalition.events import jobs
from coalition.mail import services
from coalition.mail.models import MailStatus, OutboundMail
from coalition.mail.tasks import send_mail
from tests.support.smtp import free_port, point_at, smtp_server  # noqa: F401  (smtp_server: a fixture)

pytestmark = pytest.mark.django_db
TOKEN = "one-time-token-for-the-test-XYZ123"


def _queue_invitation(language: str = "en") -> OutboundMail:
    return services.queue_mail(
        to="invitee@example.org",
        template="invitation",
        context={"organisation_name": "Shelter BE", "username": "shelter-be-newcomer", "expires_at": "2030-01-01 12:00",
                 "link_path": "/app/invitation/"},
        language=language,
        token=TOKEN,
    )


def _queued_task_for(mail: OutboundMail) -> DBTaskResult:
    return DBTaskResult.objects.filter(args_kwargs__args=[str(mail.pk)]).order_by("-enqueued_at").first()


def test_a_queued_mail_reaches_the_smtp_server_with_its_recipient_subject_and_link(smtp_server):
    inbox = smtp_server()
    mail = _queue_invitation()
    task = _queued_task_for(mail)
    assert task is not None and task.task_path == "coalition.mail.tasks.send_mail"

    assert send_mail.call(str(mail.pk)) == MailStatus.SENT

    [(recipients, message)] = inbox.messages
    assert recipients == ["invitee@example.org"]
    assert message["To"] == "invitee@example.org"
    assert message["From"] == "coalition@example.org"
    assert message["Subject"] == "Your invitation to the coalition referral network"
    body = message.get_content()
    assert f"https://referrals.example.org/app/invitation/#token={TOKEN}" in body
    assert "shelter-be-newcomer" in body
    mail.refresh_from_db()
    assert (mail.status, mail.attempts, mail.last_error, mail.secret) == (MailStatus.SENT, 1, "", "")
    assert mail.sent_at is not None


@pytest.mark.parametrize(
    ("language", "subject"),
    [("nl", "Uw uitnodiging voor het verwijsnetwerk van de coalitie"),
     ("fr", "Votre invitation au réseau d'orientation de la coalition")],
)
def test_a_mail_is_written_in_its_language(smtp_server, language, subject):
    inbox = smtp_server()
    mail = _queue_invitation(language)
    send_mail.call(str(mail.pk))
    [(_recipients, message)] = inbox.messages
    assert message["Subject"].strip() == subject  # a non-ASCII subject is RFC 2047-encoded


def test_the_one_time_token_is_stored_encrypted_and_blanked_once_sent(smtp_server):
    smtp_server()
    mail = _queue_invitation()
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM mail_outboundmail WHERE id = %s", [mail.pk.hex if connection.vendor == "sqlite" else mail.pk])
        (raw,) = cursor.fetchone()
    assert raw.startswith("enc1:") and TOKEN not in raw
    send_mail.call(str(mail.pk))
    assert OutboundMail.objects.get(pk=mail.pk).secret == ""


def test_a_refusing_smtp_server_schedules_a_retry_and_records_the_error_class(smtp_server):
    inbox = smtp_server(refuse=True)
    mail = _queue_invitation()
    before = timezone.now()

    assert send_mail.call(str(mail.pk)) == MailStatus.PENDING

    assert inbox.messages == []
    mail.refresh_from_db()
    assert mail.status == MailStatus.PENDING and mail.attempts == 1
    assert mail.last_error == "SMTPRecipientsRefused"
    assert mail.next_attempt_at >= before + services.RETRY_SCHEDULE[0] * 0.8  # the wait, less the jitter
    assert mail.secret == TOKEN  # kept for the next attempt
    retry = _queued_task_for(mail)
    assert retry.run_after is not None and retry.run_after >= before + services.RETRY_SCHEDULE[0] * 0.8
    # Not due yet: a second call does nothing.
    assert send_mail.call(str(mail.pk)) is None


def test_an_address_refused_for_good_fails_at_once_as_a_bounce(smtp_server):
    inbox = smtp_server(refuse="550 5.1.1 mailbox unavailable")
    mail = _queue_invitation()

    assert send_mail.call(str(mail.pk)) == MailStatus.FAILED

    assert inbox.messages == []
    mail.refresh_from_db()
    assert mail.attempts == 1 and mail.last_error == "SMTPRecipientsRefused"
    assert mail.secret == ""  # a failed mail keeps no token
    assert mail.next_attempt_at is None  # no retry: the address is refused for good


def test_a_server_that_is_down_is_retried_and_the_mail_fails_after_the_last_attempt(settings):
    point_at(settings, free_port())  # nothing listens there
    settings.MAIL_MAX_ATTEMPTS = 3
    mail = _queue_invitation()
    outcomes = []
    for _attempt in range(3):
        OutboundMail.objects.filter(pk=mail.pk).update(next_attempt_at=timezone.now())
        outcomes.append(send_mail.call(str(mail.pk)))
    assert outcomes == [MailStatus.PENDING, MailStatus.PENDING, MailStatus.FAILED]
    mail.refresh_from_db()
    assert mail.last_error == "ConnectionRefusedError" and mail.attempts == 3
    assert mail.next_attempt_at is None and mail.secret == ""


def test_the_mail_sent_after_a_refusal_arrives_once_the_server_accepts(smtp_server):
    inbox = smtp_server(refuse=True)
    mail = _queue_invitation()
    send_mail.call(str(mail.pk))
    inbox.refuse = False
    OutboundMail.objects.filter(pk=mail.pk).update(next_attempt_at=timezone.now())
    assert send_mail.call(str(mail.pk)) == MailStatus.SENT
    assert len(inbox.messages) == 1
    assert OutboundMail.objects.get(pk=mail.pk).attempts == 2


def test_the_sweep_re_enqueues_mails_whose_task_was_lost(settings):
    settings.WEBHOOK_SWEEP_SECONDS = 60
    lost = _queue_invitation()
    OutboundMail.objects.filter(pk=lost.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    _queue_invitation()  # due now: its task is still on its way
    DBTaskResult.objects.all().delete()

    assert services.sweep_due_mails() == 1
    assert [t.args_kwargs["args"] for t in DBTaskResult.objects.all()] == [[str(lost.pk)]]


def test_the_mail_sweep_is_a_periodic_job_of_the_worker():
    assert "sweep_mails" in {job.name for job in jobs.JOBS}
    assert next(job for job in jobs.JOBS if job.name == "sweep_mails").run is services.sweep_due_mails


def test_a_mail_rolled_back_with_its_action_is_never_sent():
    from django.db import transaction

    with pytest.raises(RuntimeError):
        with transaction.atomic():
            _queue_invitation()
            raise RuntimeError("the action failed")
    assert not OutboundMail.objects.exists()
    assert not DBTaskResult.objects.filter(task_path="coalition.mail.tasks.send_mail").exists()


def test_the_mail_sweep_enqueues_a_lost_mail_once_and_leaves_a_mail_whose_task_waits(settings):
    """During a backlog the sweep used to queue another task for every due mail on every run."""
    settings.WEBHOOK_SWEEP_SECONDS = 60
    lost, backlog = _queue_invitation(), _queue_invitation()
    OutboundMail.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    DBTaskResult.objects.filter(args_kwargs__args=[str(lost.pk)]).delete()
    before = DBTaskResult.objects.count()

    assert services.sweep_due_mails() == 1
    assert services.sweep_due_mails() == 0
    assert DBTaskResult.objects.count() == before + 1
    assert DBTaskResult.objects.filter(args_kwargs__args=[str(backlog.pk)]).count() == 1
