"""``python manage.py run_worker``: run queued tasks (webhook deliveries) and the periodic jobs.

The tasks come from django-tasks-db's queue (rows of this database); the periodic
jobs (overdue detection, the delivery sweep, idempotency-key expiry, the retention
purge, the recovery of abandoned task rows) run on a scheduler thread beside it. Start
as many workers as you like: each task is claimed by one, each periodic run by one.

The worker outlives the database: on a database error (a PostgreSQL restart, killed
backends, a pool timeout) it drops its connections, waits (capped exponential backoff
with full jitter) and goes on once the database answers, instead of exiting as
django-tasks-db's loop does. Only the error's class is logged.
"""

import logging
import os
import socket
import threading
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connections
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS
from django_tasks_db.management.commands.db_worker import Worker

from coalition.events.jobs import run_due_jobs
from coalition.events.taskqueue import DATABASE_ERRORS, backoff, recover_abandoned_tasks

logger = logging.getLogger("coalition.events.worker")


def _drop_connections() -> None:
    """Close this thread's connections (a broken one is discarded, a pooled one goes back to be checked)."""
    for conn in connections.all(initialized_only=True):
        try:
            conn.close()
        except Exception:  # already dead: nothing to close
            conn.connection = None


def _scheduler(tick: float, stop: threading.Event) -> None:
    failures = 0
    while not stop.is_set():
        wait = tick
        try:
            close_old_connections()
            ran = run_due_jobs()
            if ran:
                logger.info("periodic jobs ran", extra={"jobs": ran})
            failures = 0
        except DATABASE_ERRORS as exc:
            failures += 1
            wait = max(tick, backoff(failures))
            logger.warning("scheduler lost the database (%s); retrying in %.1f s", type(exc).__name__, wait)
        except Exception:
            logger.exception("scheduler tick failed")
        finally:
            _drop_connections()
        stop.wait(wait)


class ResilientWorker(Worker):
    """django-tasks-db's worker, kept alive through database errors.

    Its loop re-raises any ``OperationalError`` but a locked SQLite; here such an error
    ends only the current pass: connections are dropped, the worker backs off, then
    checks the database and marks failed any task row it had claimed and could not
    finish (the sweeps send that row's webhook or mail again), and resumes.
    """

    def run(self) -> None:
        failures = 0
        while self.running:
            try:
                if failures == 0:
                    super().run()
                    return
                self._recover()
                failures = 0
            except DATABASE_ERRORS as exc:
                self.running_task = False
                _drop_connections()
                failures += 1
                delay = backoff(failures)
                logger.warning(
                    "worker lost the database (%s); retrying in %.1f s (attempt %d)", type(exc).__name__, delay, failures
                )
                time.sleep(delay)  # a SIGTERM here exits at once (no task is running)

    def _recover(self) -> None:
        close_old_connections()
        recovered = recover_abandoned_tasks(worker_id=self.worker_id)
        logger.info("worker reconnected to the database", extra={"abandoned_tasks": recovered})


class Command(BaseCommand):
    help = "Run the background worker: queued tasks (webhook deliveries) and the periodic jobs."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0, help="Seconds between polls of an empty queue.")
        parser.add_argument("--tick", type=float, default=5.0, help="Seconds between checks for due periodic jobs.")
        parser.add_argument("--no-scheduler", action="store_true", help="Run queued tasks only, no periodic jobs.")

    def handle(self, *, interval: float, tick: float, no_scheduler: bool, **options):
        worker_id = f"{socket.gethostname()[:40]}-{os.getpid()}"
        stop = threading.Event()
        if not no_scheduler:
            threading.Thread(target=_scheduler, args=(tick, stop), name="scheduler", daemon=True).start()
        worker = ResilientWorker(
            queue_names=["*"],
            interval=interval,
            batch=False,
            backend_name=DEFAULT_TASK_BACKEND_ALIAS,
            startup_delay=False,
            max_tasks=None,
            worker_id=worker_id,
            excluded_queue_names=[],
        )
        worker.configure_signals()
        logger.info("worker started", extra={"worker_id": worker_id})
        try:
            worker.run()
        finally:
            stop.set()
