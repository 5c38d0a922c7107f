"""Liveness and readiness probes: public, cheap, and honest about the database."""

import pytest
from django.db.backends.utils import CursorWrapper
from django.db.utils import OperationalError

from tests.support.schema import SchemaCheckedClient


@pytest.fixture
def probe(db):
    return SchemaCheckedClient()


@pytest.fixture
def database_down(probe):
    """Every query fails while the test runs (restored before the test database is rolled back).

    The readiness check uses a connection of its own (coalition.api.health._ping): it fails too.
    """
    from coalition.api import health

    def refuse(*args, **kwargs):
        raise OperationalError("connection to server at 10.0.0.5 failed: password authentication failed for user x")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(CursorWrapper, "execute", refuse)
        patch.setattr(health, "_ping", refuse)
        yield


def test_liveness_answers_without_credentials(probe):
    response = probe.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readiness_answers_without_credentials(probe):
    response = probe.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_probes_ignore_bad_credentials(probe):
    # A load balancer with a stale header must not be told the service is down.
    probe.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert probe.get("/healthz").status_code == 200
    assert probe.get("/readyz").status_code == 200


def test_readiness_is_a_503_problem_when_the_database_is_unreachable(probe, database_down):
    response = probe.get("/readyz")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 503
    assert body["type"] == "urn:coalition:problem:not-ready"
    assert body["request_id"] == response["X-Request-ID"]
    assert response["Retry-After"] == "5"
    # Nothing about the database (host, user, driver message) leaks to the caller.
    text = response.content.decode()
    assert "10.0.0.5" not in text and "password" not in text and "OperationalError" not in text


def test_liveness_stays_up_when_the_database_is_unreachable(probe, database_down):
    # Liveness must not restart a healthy process because the database is away.
    assert probe.get("/healthz").status_code == 200


def test_probes_are_not_throttled(probe, monkeypatch):
    # Health probes come often and from one address; throttling them would fail the service.
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "1/min", "principal": "1/min", "login": "1/min"})
    statuses = [probe.get(path).status_code for path in ("/healthz", "/readyz") for _ in range(3)]
    assert statuses == [200] * 6
