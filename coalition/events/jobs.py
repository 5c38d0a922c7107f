"""Periodic jobs the worker runs, each claimed through a ``PeriodicJob`` row so several workers don't double-run.

The events app keeps the registry and the claiming; the jobs themselves come from the
app whose rule they keep, registered from its ``AppConfig.ready()`` with
``register_job``, so this layer never imports a higher one. Jobs run in the order
they were registered: this module's own first, then each app's in ``INSTALLED_APPS`` order.

- events (here): every ``WEBHOOK_SWEEP_SECONDS``, before the sweeps, fail task rows a
  killed worker left RUNNING; re-enqueue due webhook deliveries whose task was lost;
  hourly, expire idempotency keys older than ``IDEMPOTENCY_KEY_HOURS``;
- mail: every ``WEBHOOK_SWEEP_SECONDS``, re-enqueue outbound mails whose task was lost;
- referrals: every minute, overdue detection (one ``referral.overdue`` event per
  referral and deadline); daily, the retention purge.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from coalition.api.idempotency import expire_idempotency_records
from coalition.core.context import bound_request_id

from .models import PeriodicJob
from .taskqueue import DATABASE_ERRORS, recover_abandoned_tasks
from .webhooks import sweep_due_deliveries

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: Callable[[], timedelta]
    run: Callable[[], object]


# The registry, in the order the jobs run. Filled by ``register_job``, read at each tick.
JOBS: list[Job] = []


def register_job(name: str, *, every: Callable[[], timedelta], run: Callable[[], object]) -> Job:
    """Add a periodic job: ``run()`` at most once per ``every()`` across all workers.

    ``every`` is called at each tick, so an interval read from the settings follows them.
    ``name`` keys the job's ``PeriodicJob`` row: registering the same job again (a
    second ``ready()``) changes nothing; another job under a taken name is refused.
    """
    for job in JOBS:
        if job.name == name:
            if job.run is not run:
                raise ImproperlyConfigured(f"Two periodic jobs are named {name!r}.")
            return job
    job = Job(name, every, run)
    JOBS.append(job)
    return job


def expire_idempotency_keys(now: datetime | None = None) -> int:
    """Forget idempotency keys (and their stored responses) older than ``IDEMPOTENCY_KEY_HOURS``."""
    return expire_idempotency_records(now)


def _every_sweep() -> timedelta:
    return timedelta(seconds=settings.WEBHOOK_SWEEP_SECONDS)


register_job("recover_abandoned_tasks", every=_every_sweep, run=recover_abandoned_tasks)
register_job("sweep_deliveries", every=_every_sweep, run=sweep_due_deliveries)
register_job("expire_idempotency_keys", every=lambda: timedelta(hours=1), run=expire_idempotency_keys)


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
