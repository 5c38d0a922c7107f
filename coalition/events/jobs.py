"""Periodic jobs the worker runs, each claimed through a ``PeriodicJob`` row so several workers don't double-run.

- every minute: overdue detection, one ``referral.overdue`` event per referral and deadline;
- every ``WEBHOOK_SWEEP_SECONDS``: re-enqueue due webhook deliveries and outbound mails whose task was lost;
- every ``WEBHOOK_SWEEP_SECONDS``, before the sweeps: fail task rows a killed worker left RUNNING;
- hourly: expire idempotency keys older than ``IDEMPOTENCY_KEY_HOURS``;
- daily: the retention purge (``manage.py purge_expired``), where that command exists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.management import call_command, get_commands
from django.db import IntegrityError, transaction
from django.utils import timezone

from coalition.audit.services import record
from coalition.context import bound_request_id
from coalition.api.idempotency import expire_idempotency_records
from coalition.mail.services import sweep_due_mails
from coalition.taskqueue import DATABASE_ERRORS, recover_abandoned_tasks
from referrals.models import DEADLINE_RULES, Referral

from .models import OverdueNotice, PeriodicJob
from .services import emit
from .webhooks import sweep_due_deliveries

logger = logging.getLogger(__name__)

DEADLINES = ("acknowledge", "decide")


def _overdue_candidates(deadline: str, now: datetime) -> list[Referral]:
    """Up to 500 referrals that missed ``deadline`` (the rule of ``Referral.objects.past_deadline``), not yet noticed."""
    noticed = OverdueNotice.objects.filter(deadline=deadline).values("referral")
    missed = Referral.objects.past_deadline(deadline, now).exclude(pk__in=noticed)
    return list(missed.order_by(DEADLINE_RULES[deadline].field)[:500])


def detect_overdue(now: datetime | None = None) -> int:
    """Fire ``referral.overdue`` once per referral and missed deadline (acknowledge, decide)."""
    now = now or timezone.now()
    fired = 0
    for deadline in DEADLINES:
        for candidate in _overdue_candidates(deadline, now):
            try:
                with transaction.atomic():
                    referral = Referral.objects.select_for_update().get(pk=candidate.pk)
                    if not referral.is_overdue(now) or OverdueNotice.objects.filter(
                        referral=referral.pk, deadline=deadline
                    ).exists():
                        continue
                    due_at = referral.acknowledge_due if deadline == "acknowledge" else referral.decide_due
                    if due_at is None or due_at >= now:
                        continue
                    notice = OverdueNotice.objects.create(referral=referral.pk, deadline=deadline, due_at=due_at)
                    record(action="referral.overdue", actor=None, obj=referral, organisation_id=referral.recipient_id,
                           detail={"deadline": deadline})
                    notice.event = emit(
                        type="referral.overdue",
                        organisations=[referral.sender_id, referral.recipient_id],
                        case_id=referral.case_id,
                        referral_id=referral.pk,
                        data={
                            "deadline": deadline,
                            "due": due_at.isoformat(),
                            "status": referral.status,
                            "urgency": referral.urgency,
                        },
                    )
                    notice.save(update_fields=["event"])
                    fired += 1
            except IntegrityError:  # another worker fired it first
                continue
    return fired


def expire_idempotency_keys(now: datetime | None = None) -> int:
    """Forget idempotency keys (and their stored responses) older than ``IDEMPOTENCY_KEY_HOURS``."""
    return expire_idempotency_records(now)


def purge_expired() -> bool:
    """The retention purge, where the ``purge_expired`` command is installed; False otherwise."""
    if "purge_expired" not in get_commands():
        logger.warning("retention purge skipped: no purge_expired command")
        return False
    call_command("purge_expired")
    return True


@dataclass(frozen=True)
class Job:
    name: str
    every: Callable[[], timedelta]
    run: Callable[[], object]


JOBS = (
    Job("detect_overdue", lambda: timedelta(minutes=1), detect_overdue),
    Job("recover_abandoned_tasks", lambda: timedelta(seconds=settings.WEBHOOK_SWEEP_SECONDS), recover_abandoned_tasks),
    Job("sweep_deliveries", lambda: timedelta(seconds=settings.WEBHOOK_SWEEP_SECONDS), sweep_due_deliveries),
    Job("sweep_mails", lambda: timedelta(seconds=settings.WEBHOOK_SWEEP_SECONDS), sweep_due_mails),
    Job("expire_idempotency_keys", lambda: timedelta(hours=1), expire_idempotency_keys),
    Job("purge_expired", lambda: timedelta(days=1), purge_expired),
)


def _claim(job: Job, now: datetime) -> bool:
    """Mark ``job`` as run now if it is due; only one worker wins a given run."""
    try:
        PeriodicJob.objects.get_or_create(name=job.name)
    except IntegrityError:  # created by another worker at the same moment
        pass
    with transaction.atomic():
        row = PeriodicJob.objects.select_for_update(skip_locked=True).filter(name=job.name).first()
        if row is None or (row.last_run_at is not None and now - row.last_run_at < job.every()):
            return False
        row.last_run_at = now
        row.save(update_fields=["last_run_at"])
    return True


def run_due_jobs(now: datetime | None = None) -> list[str]:
    """Run every job that is due; a job that fails is logged and tried again at its next turn.

    A database error (the database went away) is not one job's fault: it ends the tick
    and reaches the scheduler, which backs off.
    """
    now = now or timezone.now()
    ran = []
    for job in JOBS:
        if not _claim(job, now):
            continue
        with bound_request_id(f"job:{job.name}:{now:%Y%m%dT%H%M%S}"):
            try:
                job.run()
            except DATABASE_ERRORS:
                raise
            except Exception:
                logger.exception("periodic job failed", extra={"job": job.name})
                continue
        ran.append(job.name)
    return ran
