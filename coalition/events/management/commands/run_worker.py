"""``python manage.py run_worker``: run queued tasks (webhook deliveries) and the periodic jobs.

The tasks come from django-tasks-db's queue (rows of this database); the periodic
jobs (overdue detection, the delivery sweep, idempotency-key expiry, the retention
purge) run on a scheduler thread beside it. Start as many workers as you like: each
task is claimed by one, each periodic run by one.
"""

import logging
import os
import socket
import threading

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connections
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS
from django_tasks_db.management.commands.db_worker import Worker

from coalition.events.jobs import run_due_jobs

logger = logging.getLogger("coalition.events.worker")


def _scheduler(tick: float, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            close_old_connections()
            ran = run_due_jobs()
            if ran:
                logger.info("periodic jobs ran", extra={"jobs": ran})
        except Exception:
            logger.exception("scheduler tick failed")
        finally:
            connections.close_all()
        stop.wait(tick)


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
        worker = Worker(
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
