"""Outbound mail: queued in the caller's transaction, sent by the worker, retried, at least once.

``queue_mail`` writes an ``OutboundMail`` row and the task that will send it in the
same transaction (the database task backend is the outbox): a rolled-back action
sends nothing, a committed one sends even if the worker is restarted, because the
periodic sweep re-enqueues mails whose task was lost.

A template renders, in the mail's language, the subject on its first line, a blank
line, then the plain-text body. It gets the row's context plus, for a mail carrying a
one-time token, ``token`` and ``link``: ``PUBLIC_BASE_URL`` + the context's
``link_path`` + ``#token=<token>``. The token travels in the URL fragment, which
browsers never send to a server, so it reaches no server or proxy log.
"""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.template.loader import render_to_string
from django.utils import timezone, translation

from coalition.events.taskqueue import enqueue_for, jittered, pending_task_targets

from .models import MailStatus, OutboundMail

logger = logging.getLogger(__name__)

# Waits after the 1st, 2nd, ... failed attempt (each spread by ±20 %); the last one repeats up to MAIL_MAX_ATTEMPTS.
RETRY_SCHEDULE = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
)
LANGUAGES = {"en", "nl", "fr"}


def queue_mail(
    *, to: str, template: str, context: dict[str, Any] | None = None, language: str = "en", token: str = ""
) -> OutboundMail:
    """Queue one mail to ``to`` in the caller's transaction; the worker sends it.

    ``context`` is stored as it is and must hold nothing secret and nothing about a
    young person; ``token`` (a one-time link's secret) is stored encrypted and blanked
    once the mail is sent or has failed.
    """
    if not to:
        raise ValueError("A mail needs an address.")
    mail = OutboundMail.objects.create(
        to=to,
        template=template,
        language=language if language in LANGUAGES else "en",
        context=context or {},
        secret=token,
        next_attempt_at=timezone.now(),
    )
    enqueue(mail)
    return mail


def enqueue(mail: OutboundMail, run_after: datetime | None = None) -> None:
    """Queue the task that sends ``mail`` (in the caller's transaction, with the database backend)."""
    from .tasks import send_mail

    enqueue_for(send_mail, mail.pk, run_after)


def render(mail: OutboundMail) -> EmailMessage:
    """The message as it will be sent, in the mail's language."""
    context = dict(mail.context)
    context["base_url"] = settings.PUBLIC_BASE_URL
    if mail.secret:
        context["token"] = mail.secret
        context["link"] = f"{settings.PUBLIC_BASE_URL}{context.get('link_path', '/app/')}#token={mail.secret}"
    elif context.get("link_path"):
        context["link"] = f"{settings.PUBLIC_BASE_URL}{context['link_path']}"
    with translation.override(mail.language):
        text = render_to_string(f"mail/{mail.template}.txt", context)
    subject, _blank, body = text.strip().partition("\n")
    return EmailMessage(
        subject=subject.strip(),
        body=body.strip() + "\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[mail.to],
        # The mail's own id: a copy sent again after a worker died between sending and
        # recording it carries the same Message-ID, which mail clients file as one.
        # Content-Language (RFC 3282): the language it was rendered in, for readers and filters.
        headers={
            "Auto-Submitted": "auto-generated",
            "Message-ID": f"<{mail.pk}@{settings.MAIL_ID_DOMAIN}>",
            "Content-Language": mail.language,
        },
    )


def lease_duration() -> timedelta:
    return timedelta(seconds=3 * settings.EMAIL_TIMEOUT + 5)


def _claim(mail_id) -> bool:
    now = timezone.now()
    claimed = (
        OutboundMail.objects.filter(pk=mail_id, status=MailStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(locked_until=now + lease_duration())
    )
    return claimed == 1


def deliver(mail_id) -> str | None:
    """Try to send one due mail once and record the attempt; its status, or None if not due.

    Safe to call twice at once: only the caller that claims the lease sends. Only the
    class of an error is kept (an SMTP server's message may repeat the address).
    """
    if not _claim(mail_id):
        return None
    mail = OutboundMail.objects.get(pk=mail_id)
    permanent = False
    try:
        render(mail).send(fail_silently=False)
        error = ""
    except (TemplateDoesNotExist, TemplateSyntaxError) as exc:
        error, permanent = type(exc).__name__, True
    except smtplib.SMTPRecipientsRefused as exc:  # the server refused the address: a bounce if for good (5xx)
        error, permanent = type(exc).__name__, _refused_for_good(exc)
    except (smtplib.SMTPException, OSError) as exc:  # refused, down, timed out, TLS failed
        error = type(exc).__name__
    return _settle(mail.pk, error=error, permanent=permanent)


def _refused_for_good(exc: smtplib.SMTPRecipientsRefused) -> bool:
    """Every address refused with a 5xx code (``550 no such user``): retrying cannot help; 4xx may pass later."""
    codes = [code for code, _message in exc.recipients.values()]
    return bool(codes) and all(500 <= code < 600 for code in codes)


@transaction.atomic
def _settle(mail_id, *, error: str, permanent: bool) -> str:
    now = timezone.now()
    mail = OutboundMail.objects.select_for_update().get(pk=mail_id)
    mail.attempts += 1
    mail.locked_until = None
    mail.last_error = error
    if not error:
        mail.status, mail.sent_at, mail.next_attempt_at, mail.secret = MailStatus.SENT, now, None, ""
    elif permanent or mail.attempts >= settings.MAIL_MAX_ATTEMPTS:
        mail.status, mail.next_attempt_at, mail.secret = MailStatus.FAILED, None, ""
    else:
        mail.next_attempt_at = now + jittered(RETRY_SCHEDULE[min(mail.attempts, len(RETRY_SCHEDULE)) - 1])
    mail.save()
    logger.info(
        "mail attempt",
        extra={"mail": str(mail.pk), "template": mail.template, "error": error, "outcome": mail.status},
    )
    if mail.status == MailStatus.PENDING:
        enqueue(mail, run_after=mail.next_attempt_at)
    return mail.status


def sweep_due_mails(*, grace: timedelta | None = None, limit: int = 500) -> int:
    """Re-enqueue pending mails overdue by more than ``grace``, not leased, and whose task is lost.

    A mail that still has a READY or RUNNING task (a backlog) is left alone: one task per mail.
    """
    from .tasks import send_mail

    now = timezone.now()
    grace = grace if grace is not None else timedelta(seconds=settings.WEBHOOK_SWEEP_SECONDS)
    due = list(
        OutboundMail.objects.filter(status=MailStatus.PENDING, next_attempt_at__lte=now - grace)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    queued = pending_task_targets(send_mail, due)
    lost = [pk for pk in due if str(pk) not in queued]
    for pk in lost:
        enqueue(OutboundMail(pk=pk))
    return len(lost)
