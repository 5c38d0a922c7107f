"""Faults around an ``Idempotency-Key`` on a real PostgreSQL (issue #12, item 1).

Before, the key was reserved in its own transaction and filled in after the action had
committed: a connection that died in between left the key at 409 for 24 h while the case
existed, and a client using a new key then opened a second case for the same child. Now
reservation, action and record are one transaction, so a retry replays what committed or
runs the action once.
"""

import time

import pytest
from django.db import connection, connections

from coalition.models import IdempotencyRecord
from referrals import services
from referrals.models import Case
from tests.support.concurrency import race
from tests.support.flows import CHILD

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True),
]

CASE_BODY = {"subject": CHILD, "phenomena": ["grooming"], "region": "BE-VLG"}


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs real parallel connections (PostgreSQL)")


def post(persona, key):
    return persona.client.post("/api/v1/cases/", CASE_BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)


def _kill_own_backend():
    """Terminate this thread's PostgreSQL backend from another connection, as a database restart would."""
    pid = connection.connection.info.backend_pid
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()


def _raise():
    raise RuntimeError("simulated crash while storing the answer")


@pytest.mark.parametrize("fault", [_kill_own_backend, _raise], ids=["backend-killed", "error-while-storing"])
def test_a_fault_between_the_action_and_its_record_never_leaves_a_stuck_key_or_a_duplicate(personas, monkeypatch, fault):
    """(a) The fault strikes after the action ran, as its answer is being recorded.

    Old code: the case had committed, the key stayed reserved: the retry was 409 (stuck),
    and only a new key got through, opening a second case. Now nothing committed and the
    retry opens the one case.
    """
    persona = personas["caseworker"]
    persona.client.raise_request_exception = False
    persona.client.validate = False  # an unplanned 500 is not in the schema, by design
    real_save = IdempotencyRecord.save

    def faulty_save(self, *args, **kwargs):
        if "status_code" in (kwargs.get("update_fields") or ()):
            fault()
        return real_save(self, *args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(IdempotencyRecord, "save", faulty_save)
        crashed = post(persona, "k-fault")
    # A dead connection is an outage (503, retry); any other error a 500: neither commits anything.
    assert crashed.status_code == (503 if fault is _kill_own_backend else 500)

    retried = post(persona, "k-fault")
    assert retried.status_code == 201, retried.content
    assert "Idempotent-Replayed" not in retried  # the first attempt left nothing behind
    assert Case.objects.count() == 1
    again = post(persona, "k-fault")
    assert again["Idempotent-Replayed"] == "true" and again.json()["id"] == retried.json()["id"]
    assert Case.objects.count() == 1


def test_a_backend_killed_inside_the_action_leaves_no_reservation(personas, monkeypatch):
    """(b) The connection dies in the middle of the action: nothing is kept, the retry runs once."""
    persona = personas["caseworker"]
    persona.client.raise_request_exception = False
    persona.client.validate = False
    real_open = services.case_open

    def dies_after_opening(**kwargs):
        real_open(**kwargs)
        _kill_own_backend()
        return real_open(**kwargs)  # the next statement meets the dead connection

    with monkeypatch.context() as patched:
        patched.setattr(services, "case_open", dies_after_opening)
        assert post(persona, "k-dies").status_code == 503  # an outage: the client should retry
    assert not Case.objects.exists()
    assert not IdempotencyRecord.objects.exists()
    assert post(persona, "k-dies").status_code == 201
    assert Case.objects.count() == 1




def _slow_case_open(monkeypatch, seconds):
    real_open = services.case_open

    def slow(**kwargs):
        case = real_open(**kwargs)
        time.sleep(seconds)  # the reservation is held, uncommitted, while the action runs
        return case

    monkeypatch.setattr(services, "case_open", slow)


def test_two_concurrent_requests_with_one_key_act_once_and_the_second_replays(personas, monkeypatch):
    """(c) The second waits for the first to commit and replays it (before: 409 "still being processed")."""
    _slow_case_open(monkeypatch, 0.5)
    persona = personas["caseworker"]
    responses = race([lambda: post(persona, "k-race"), lambda: post(persona, "k-race")])
    assert [r.status_code for r in responses] == [201, 201], [r.content for r in responses]
    assert sorted(r.get("Idempotent-Replayed", "no") for r in responses) == ["no", "true"]
    assert responses[0].json()["id"] == responses[1].json()["id"]
    assert Case.objects.count() == 1


def test_a_request_waits_for_a_slow_first_one_only_so_long_then_gets_409_with_retry_after(personas, monkeypatch):
    """Waiting is bounded (``WAIT_FOR_FIRST``): then a 409 the client can retry, and the first still acts once."""
    monkeypatch.setattr("coalition.api.idempotency.WAIT_FOR_FIRST", "200ms")
    _slow_case_open(monkeypatch, 1.5)
    persona = personas["caseworker"]

    def second():
        time.sleep(0.3)  # after the first has reserved
        return post(persona, "k-slow")

    first, late = race([lambda: post(persona, "k-slow"), second])
    assert first.status_code == 201
    assert late.status_code == 409 and late["Retry-After"] == "1"
    assert late.json()["type"] == "urn:coalition:problem:conflict"
    assert Case.objects.count() == 1
    replay = post(persona, "k-slow")
    assert replay["Idempotent-Replayed"] == "true" and replay.json()["id"] == first.json()["id"]
