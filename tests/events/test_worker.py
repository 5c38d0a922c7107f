"""The worker: overdue events once per deadline, periodic jobs run once, lost deliveries recovered."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connection, connections
from django.utils import timezone
from django_tasks_db.compat import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from coalition.events import jobs
from coalition.events.management.commands import run_worker
from coalition.events.management.commands.run_worker import ResilientWorker
from coalition.events.models import DeliveryStatus, Event, OverdueNotice, PeriodicJob, WebhookDelivery, WebhookEndpoint
from coalition.events.services import new_webhook_secret
from coalition.events.taskqueue import ABANDONED, backoff, recover_abandoned_tasks
from coalition.events.webhooks import sweep_due_deliveries
from coalition.models import IdempotencyRecord
from referrals import jobs as referral_jobs
from referrals import retention
from tests.support.receivers import serving

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def overdue_events(referral_id=None):
    events = Event.objects.filter(type="referral.overdue").order_by("seq")
    return list(events.filter(referral=referral_id) if referral_id else events)


# --- overdue detection ----------------------------------------------------------------------------


def test_overdue_fires_once_per_referral_and_deadline(flow, orgs):
    _case, referral = flow.sent_referral()  # urgent: acknowledge within 4 h, decide within 24 h
    now = timezone.now()
    assert referral_jobs.detect_overdue(now + timedelta(hours=3)) == 0
    assert referral_jobs.detect_overdue(now + timedelta(hours=5)) == 1
    assert referral_jobs.detect_overdue(now + timedelta(hours=6)) == 0
    assert referral_jobs.detect_overdue(now + timedelta(hours=25)) == 1
    assert referral_jobs.detect_overdue(now + timedelta(hours=48)) == 0

    events = overdue_events(referral["id"])
    assert [e.data["deadline"] for e in events] == ["acknowledge", "decide"]
    assert set(events[0].organisations) == {str(orgs["hotline-be"].pk), str(orgs["shelter-be"].pk)}
    assert OverdueNotice.objects.count() == 2


def test_a_referral_acknowledged_in_time_is_overdue_only_for_its_decision(flow):
    _case, referral = flow.sent_referral()
    flow.act(referral["id"], "acknowledge", "recipient_caseworker")
    assert referral_jobs.detect_overdue(timezone.now() + timedelta(hours=30)) == 1
    assert [e.data["deadline"] for e in overdue_events(referral["id"])] == ["decide"]


def test_a_referral_decided_in_time_is_never_overdue(flow):
    _case, referral = flow.sent_referral()
    flow.act(referral["id"], "accept", "recipient_caseworker")
    assert referral_jobs.detect_overdue(timezone.now() + timedelta(days=10)) == 0


def test_the_overdue_event_reaches_the_feed_of_both_parties_only(flow, personas):
    flow.sent_referral()
    referral_jobs.detect_overdue(timezone.now() + timedelta(hours=5))
    for persona, count in (("caseworker", 1), ("recipient_caseworker", 1), ("outsider_caseworker", 0)):
        body = personas[persona].client.get("/api/v1/events/", {"limit": 500}).json()
        assert [e["type"] for e in body["results"]].count("referral.overdue") == count, persona


# --- periodic jobs and housekeeping -----------------------------------------------------------


@pytest.fixture
def no_purge(monkeypatch):
    """The retention purge (a job of referrals) has its own tests (tests/audit/test_retention.py)."""
    monkeypatch.setattr(jobs, "JOBS", tuple(job for job in jobs.JOBS if job.name != "purge_expired"))


def test_a_periodic_job_runs_once_per_interval(no_purge, settings):
    settings.WEBHOOK_SWEEP_SECONDS = 60
    now = timezone.now()
    # In registration order: the events app's own jobs, then mail's sweep, then the referrals' jobs
    # (overdue referrals and consultations every minute, the unanswered matches every five), then the notifications' (escalation
    # every minute, digests every five), then the web app's (the purge of form drafts, hourly).
    assert jobs.run_due_jobs(now) == [
        "recover_abandoned_tasks", "sweep_deliveries", "expire_idempotency_keys", "sweep_mails", "detect_overdue",
        "detect_overdue_consultations", "escalate_unattended_matches", "escalate_overdue", "send_digests",
        "purge_form_drafts",
    ]
    assert jobs.run_due_jobs(now + timedelta(seconds=30)) == []
    assert jobs.run_due_jobs(now + timedelta(minutes=2)) == [
        "recover_abandoned_tasks", "sweep_deliveries", "sweep_mails", "detect_overdue", "detect_overdue_consultations",
        "escalate_overdue",
    ]
    assert PeriodicJob.objects.get(name="detect_overdue").last_run_at == now + timedelta(minutes=2)


def test_a_failing_job_does_not_stop_the_others(no_purge, monkeypatch):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(jobs, "JOBS", (jobs.Job("broken", lambda: timedelta(minutes=1), broken), *jobs.JOBS))
    assert "detect_overdue" in jobs.run_due_jobs()


def test_idempotency_keys_older_than_the_setting_expire(orgs, settings):
    settings.IDEMPOTENCY_KEY_HOURS = 24
    now = timezone.now()
    for key, age in (("old", 25), ("young", 23)):
        IdempotencyRecord.objects.create(
            principal="user:x", key=key, request_digest="0" * 64, created_at=now - timedelta(hours=age)
        )
    assert jobs.expire_idempotency_keys(now) == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["young"]


def _pending_delivery(orgs, **fields):
    endpoint = WebhookEndpoint.objects.create(
        organisation=orgs["hotline-be"], url="https://93.184.216.34/hook", secret=new_webhook_secret()
    )
    event = Event.objects.create(type="referral.sent", organisations=[str(orgs["hotline-be"].pk)])
    return WebhookDelivery.objects.create(endpoint=endpoint, event=event, **fields)


def test_the_sweep_re_enqueues_due_deliveries_whose_task_was_lost(orgs, settings):
    settings.WEBHOOK_SWEEP_SECONDS = 60
    now = timezone.now()
    lost = _pending_delivery(orgs, next_attempt_at=now - timedelta(minutes=5))
    _pending_delivery(orgs, next_attempt_at=now)  # its task is still on its way
    _pending_delivery(orgs, next_attempt_at=now - timedelta(minutes=5), locked_until=now + timedelta(seconds=20))
    _pending_delivery(orgs, next_attempt_at=now - timedelta(minutes=5), status=DeliveryStatus.SUCCEEDED)
    before = DBTaskResult.objects.count()
    assert sweep_due_deliveries() == 1
    task = DBTaskResult.objects.order_by("-enqueued_at").first()
    assert DBTaskResult.objects.count() == before + 1 and task.args_kwargs["args"] == [str(lost.pk)]


def test_sending_a_referral_enqueues_its_delivery_in_the_same_transaction(flow, personas):
    WebhookEndpoint.objects.create(
        organisation=personas["caseworker"].organisation, url="https://93.184.216.34/hook", secret=new_webhook_secret()
    )
    deliveries = DBTaskResult.objects.filter(task_path="coalition.events.tasks.deliver_webhook")  # not the mails
    before = deliveries.count()
    flow.sent_referral()
    delivery = WebhookDelivery.objects.get()
    assert deliveries.count() == before + 1
    assert deliveries.order_by("-enqueued_at").first().args_kwargs["args"] == [str(delivery.pk)]


# --- surviving the database and a killed worker -------------------------------------------------


def test_the_worker_backoff_grows_is_capped_and_fully_jittered():
    import random

    rng = random.Random(7)
    for attempt, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (7, 30.0), (60, 30.0)):
        waits = [backoff(attempt, rng=rng) for _ in range(200)]
        assert all(0 <= wait <= ceiling for wait in waits), attempt
        assert max(waits) > ceiling * 0.8 and min(waits) < ceiling * 0.2  # spread over the whole range


def test_a_database_error_ends_only_the_pass_and_the_worker_goes_on(monkeypatch):
    """django-tasks-db's loop re-raises OperationalError (the worker used to exit); ours backs off and resumes."""
    from django_tasks_db.management.commands.db_worker import Worker

    passes, slept = [], []

    def flaky_run(self):
        passes.append(1)
        if len(passes) < 3:
            raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(Worker, "run", flaky_run)
    monkeypatch.setattr(time, "sleep", slept.append)
    # The test's own connection sits in the test's transaction: leave it open.
    monkeypatch.setattr(run_worker, "_drop_connections", lambda: None)
    monkeypatch.setattr(run_worker, "close_old_connections", lambda: None)
    worker = ResilientWorker(
        queue_names=["*"], interval=0.1, batch=False, backend_name="default", startup_delay=False,
        max_tasks=None, worker_id="test-worker", excluded_queue_names=[],
    )
    worker.run()
    assert len(passes) == 3 and len(slept) == 2 and all(0 <= wait <= 1.0 for wait in slept)


def _task_row(delivery, *, status, started_at=None, worker_id="gone-worker"):
    from coalition.events.tasks import deliver_webhook

    result = deliver_webhook.enqueue(str(delivery.pk))
    DBTaskResult.objects.filter(pk=result.id).update(status=status, started_at=started_at, worker_ids=[worker_id])
    return DBTaskResult.objects.get(pk=result.id)


def test_a_task_left_running_by_a_killed_worker_is_failed_and_its_delivery_swept_again(orgs, settings):
    settings.WEBHOOK_SWEEP_SECONDS = 60
    settings.WORKER_TASK_LEASE_SECONDS = 600
    now = timezone.now()
    abandoned = _pending_delivery(orgs, next_attempt_at=now - timedelta(minutes=20))
    running = _pending_delivery(orgs, next_attempt_at=now - timedelta(minutes=5))
    mine = _pending_delivery(orgs, next_attempt_at=now - timedelta(minutes=5))
    old_row = _task_row(abandoned, status=TaskResultStatus.RUNNING, started_at=now - timedelta(minutes=11))
    live_row = _task_row(running, status=TaskResultStatus.RUNNING, started_at=now - timedelta(seconds=30))
    my_row = _task_row(mine, status=TaskResultStatus.RUNNING, started_at=now, worker_id="me")
    DBTaskResult.objects.exclude(pk__in=[old_row.pk, live_row.pk, my_row.pk]).delete()

    assert sweep_due_deliveries() == 0  # every one still has a RUNNING task: nothing is re-enqueued yet
    assert recover_abandoned_tasks(now=now) == 1
    old_row.refresh_from_db()
    assert old_row.status == TaskResultStatus.FAILED and old_row.exception_class_path == ABANDONED
    assert DBTaskResult.objects.get(pk=live_row.pk).status == TaskResultStatus.RUNNING  # its worker may be busy
    # A worker that lost the database mid-task gives up its own rows at once.
    assert recover_abandoned_tasks(now=now, worker_id="me") == 1

    assert sweep_due_deliveries() == 2
    requeued = DBTaskResult.objects.filter(status=TaskResultStatus.READY)
    assert sorted(t.args_kwargs["args"][0] for t in requeued) == sorted([str(abandoned.pk), str(mine.pk)])


def test_the_referrals_register_overdue_detection_and_the_daily_purge():
    """The events layer runs them without importing referrals: the app registers them from ready()."""
    registered = {job.name: job for job in jobs.JOBS}
    assert registered["detect_overdue"].run is referral_jobs.detect_overdue
    assert registered["purge_expired"].run is retention.purge_expired
    assert registered["purge_expired"].every() == timedelta(days=1)


def test_registering_a_job_again_changes_nothing_but_a_second_job_under_its_name_is_refused(monkeypatch):
    monkeypatch.setattr(jobs, "JOBS", list(jobs.JOBS))
    count = len(jobs.JOBS)
    jobs.register_job("detect_overdue", every=lambda: timedelta(minutes=1), run=referral_jobs.detect_overdue)
    assert len(jobs.JOBS) == count
    with pytest.raises(ImproperlyConfigured):
        jobs.register_job("detect_overdue", every=lambda: timedelta(minutes=1), run=lambda: None)


def test_recovering_abandoned_tasks_is_a_periodic_job_run_before_the_sweeps():
    names = [job.name for job in jobs.JOBS]
    assert names.index("recover_abandoned_tasks") < names.index("sweep_deliveries")


# --- real processes and connections (PostgreSQL) -----------------------------------------------

def _start_worker(log, **extra_env):
    db = connection.settings_dict
    env = os.environ | extra_env | {
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
        "WEBHOOK_TIMEOUT_SECONDS": "2",
        "WEBHOOK_SWEEP_SECONDS": "1",
        "WORKER_TASK_LEASE_SECONDS": "3",
        "LOG_FORMAT": "plain",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_worker", "--interval", "0.2", "--tick", "0.5"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


def _wait_for(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
class TestWithRealProcessesOnPostgreSQL:
    """Committed data, real parallel connections and a worker process: PostgreSQL only."""

    @pytest.fixture(autouse=True)
    def _postgres_only(self):
        if connection.vendor != "postgresql":
            pytest.skip("needs real parallel connections and a worker process (PostgreSQL)")

    def test_two_workers_detecting_at_once_fire_one_overdue_event(self, flow):
        flow.sent_referral()
        later = timezone.now() + timedelta(hours=5)
        barrier, fired = threading.Barrier(2), []

        def detect():
            try:
                barrier.wait()
                fired.append(referral_jobs.detect_overdue(later))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=detect) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(fired) == [0, 1]
        assert len(overdue_events()) == 1

    def test_a_delivery_interrupted_by_killing_the_worker_is_delivered_after_restart(
        self, flow, personas, tmp_path, settings
    ):
        settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
        arrived, requests = threading.Event(), []

        class Receiver(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length") or 0))
                requests.append(self.headers["webhook-id"])
                if len(requests) == 1:
                    arrived.set()
                    time.sleep(1.5)  # the worker is killed while it waits for this answer
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        log = (tmp_path / "worker.log").open("w")
        with serving(Receiver) as base:
            WebhookEndpoint.objects.create(
                organisation=personas["caseworker"].organisation, url=f"{base}/hook", secret=new_webhook_secret()
            )
            flow.sent_referral()
            delivery = WebhookDelivery.objects.get()

            first = _start_worker(log)
            try:
                assert arrived.wait(20), (tmp_path / "worker.log").read_text()
                first.send_signal(signal.SIGKILL)
            finally:
                first.wait(10)
            delivery.refresh_from_db()
            assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 0  # nothing was recorded

            second = _start_worker(log)
            try:
                delivered = _wait_for(
                    lambda: WebhookDelivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SUCCEEDED).exists(), 25
                )
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(10)
        assert delivered, (tmp_path / "worker.log").read_text()
        assert requests == [str(delivery.event.id)] * 2  # the same webhook-id: the receiver can dedupe
        delivery.refresh_from_db()
        assert delivery.attempts == 1

    def test_the_worker_survives_killed_database_connections_and_runs_the_next_task(
        self, flow, personas, tmp_path, settings
    ):
        """Killing every backend of the database (a PostgreSQL restart, seen from the client) used to end the worker.

        Once while it polls an empty queue, once in the middle of a delivery (its result
        cannot be written): the worker stays up, the interrupted delivery is sent again and
        a webhook queued after the fault goes out.
        """
        settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
        requests, in_second = [], threading.Event()

        class Receiver(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length") or 0))
                requests.append(self.headers["webhook-id"])
                if len(requests) == 2:
                    in_second.set()
                    time.sleep(1.0)  # the database dies while the worker waits for this answer
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        def kill_backends(times):
            with connection.cursor() as cursor:
                for _ in range(times):
                    cursor.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                    time.sleep(0.05)

        log_path = tmp_path / "worker.log"
        log = log_path.open("w")
        with serving(Receiver) as base:
            WebhookEndpoint.objects.create(
                organisation=personas["caseworker"].organisation, url=f"{base}/hook", secret=new_webhook_secret()
            )
            # The production way: pooled connections (a dead one used to be handed out again).
            worker = _start_worker(log, DATABASE_POOL="true", DATABASE_POOL_MIN="1", DATABASE_POOL_MAX="4")
            try:
                flow.sent_referral()
                assert _wait_for(lambda: len(requests) == 1, 20), log_path.read_text()
                kill_backends(40)  # about two seconds of a database that keeps dropping everyone
                time.sleep(1)
                assert worker.poll() is None, log_path.read_text()

                flow.sent_referral()
                assert in_second.wait(20), log_path.read_text()
                kill_backends(1)
                flow.sent_referral()  # enqueued after the fault
                assert _wait_for(
                    lambda: WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 3, 40
                ), log_path.read_text()
                assert worker.poll() is None, log_path.read_text()
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(10)
        assert not DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).exists()
