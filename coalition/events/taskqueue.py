"""What the worker and the outboxes (webhooks, mail) share about the task queue.

- ``enqueue_for``: queue a task for one outbox row, now or at its next attempt;
- ``jittered``: a retry wait spread by ±``RETRY_JITTER`` so that the deliveries an outage
  held back are not all released in the same second;
- ``backoff``: the worker's capped exponential wait with full jitter after a database error;
- ``pending_task_targets``: which of some rows still have a READY or RUNNING task, so a
  sweep re-enqueues only the rows whose task is really lost;
- ``recover_abandoned_tasks``: task rows left RUNNING by a worker that was killed or lost
  its database connection mid-task are marked failed, so that the sweeps (which look for
  rows without a READY or RUNNING task) send their webhook or mail again.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

# Errors that mean "the database is not there right now", not "this task is wrong".
try:  # the pool's own timeout, should it ever reach us unwrapped
    from psycopg_pool import PoolTimeout
except ImportError:  # pragma: no cover - psycopg's pool is a dependency
    DATABASE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
else:
    DATABASE_ERRORS = (OperationalError, InterfaceError, PoolTimeout)
RETRY_JITTER = 0.2
_random = random.Random()

# The marker written into abandoned task rows. Not a class path to import: it keeps the value
# rows already carry from before this module moved into coalition.events.
ABANDONED = "coalition.taskqueue.TaskAbandoned"


def enqueue_for(task, target_id, run_after: datetime | None = None) -> None:
    """Queue ``task(target_id)`` in the caller's transaction (database backend), after ``run_after`` if it is ahead."""
    queued = task.using(run_after=run_after) if run_after and run_after > timezone.now() else task
    queued.enqueue(str(target_id))


def jittered(wait: timedelta, *, rng: random.Random | None = None) -> timedelta:
    """``wait`` times a uniform factor in [1 - RETRY_JITTER, 1 + RETRY_JITTER]."""
    factor = (rng or _random).uniform(1 - RETRY_JITTER, 1 + RETRY_JITTER)
    return wait * factor


def backoff(attempt: int, *, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None) -> float:
    """Seconds to wait before try ``attempt`` (1, 2, ...): uniform in [0, min(cap, base·2^(attempt-1))]."""
    ceiling = min(cap, base * 2 ** min(max(attempt - 1, 0), 32))
    return (rng or _random).uniform(0, ceiling)


def pending_task_targets(task, ids: Iterable) -> set[str]:
    """The ids among ``ids`` that a READY or RUNNING row of ``task`` (first argument) will still handle."""
    wanted = [str(pk) for pk in ids]
    if not wanted:
        return set()
    rows = DBTaskResult.objects.filter(
        task_path=task.module_path,
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
        args_kwargs__args__0__in=wanted,
    ).values_list("args_kwargs", flat=True)
    return {str(args_kwargs["args"][0]) for args_kwargs in rows}


def task_lease() -> timedelta:
    """How long a task may stay RUNNING before its worker is taken to be gone."""
    return timedelta(seconds=settings.WORKER_TASK_LEASE_SECONDS)


def recover_abandoned_tasks(*, now: datetime | None = None, worker_id: str | None = None) -> int:
    """Mark failed the task rows left RUNNING by a worker that is gone; how many.

    django-tasks-db has no heartbeat: a row is RUNNING from its claim until its worker
    writes the result, and stays so for good if the worker is killed or loses the
    database in between. A row RUNNING longer than ``WORKER_TASK_LEASE_SECONDS`` (far
    longer than any of our tasks can take) is abandoned; so is, at once, a row claimed
    by ``worker_id``, the calling worker, which knows it runs nothing at that moment.
    Failing (not re-running) the row is safe because every task here only sends what its
    delivery or mail row says is due, and the sweeps re-enqueue those rows.
    """
    now = now or timezone.now()
    running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING)
    stale = set(running.filter(started_at__lt=now - task_lease()).values_list("pk", flat=True))
    if worker_id:
        stale |= {
            pk for pk, worker_ids in running.values_list("pk", "worker_ids") if worker_ids and worker_ids[-1] == worker_id
        }
    if not stale:
        return 0
    return running.filter(pk__in=stale).update(
        status=TaskResultStatus.FAILED,
        finished_at=now,
        exception_class_path=ABANDONED,
        traceback="",
        return_value=None,
    )
