"""A database outage is a 503 problem with Retry-After, never a 500; the probes stay fast and honest.

The outage is simulated the way it happens: the connection pointed at a closed port on
127.0.0.1 (the server is down), a connection lost in the middle of a write, a pool that
has no connection to lend, SQLite's "database is locked".
"""

import json
import logging
import threading
import time

import pytest
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import CursorWrapper
from django.db.utils import OperationalError
from django.test import Client

from tests.support.flows import CHILD
from tests.support.personas import PASSWORD
from tests.support.ports import free_port
from tests.support.schema import SchemaCheckedClient

SECRET_IN_DRIVER_MESSAGE = "10.0.0.5"
NEW_CASE = {"subject": CHILD, "phenomena": ["teen_pimp"], "region": "BE-VLG"}
connection = connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the proxy: its attributes are patched


@pytest.fixture
def postgres_down(monkeypatch):
    """The default connection points at a closed port: every connect is refused, as when the server is down."""
    if connection.vendor != "postgresql":
        pytest.skip("points the PostgreSQL connection at a closed port")
    connection.close()
    with monkeypatch.context() as patch:
        patch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
        patch.setitem(connection.settings_dict, "PORT", str(free_port()))
        yield
        connection.close()


@pytest.fixture
def connection_refused(monkeypatch):
    """Every attempt to use the connection fails as a refused connect does (any engine)."""

    def refuse():
        raise OperationalError(f'connection to server at "{SECRET_IN_DRIVER_MESSAGE}", port 5432 failed: Connection refused')

    with monkeypatch.context() as patch:
        patch.setattr(connection, "ensure_connection", refuse)
        yield


def assert_outage(response):
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert int(response["Retry-After"]) >= 1
    body = json.loads(response.content)
    assert body["type"] == "urn:coalition:problem:service-unavailable"
    assert body["status"] == 503
    assert body["request_id"] == response["X-Request-ID"]
    text = response.content.decode()
    assert SECRET_IN_DRIVER_MESSAGE not in text and "OperationalError" not in text and "5432" not in text


def _list_write_and_token(personas):
    caseworker = personas["caseworker"].client
    return [
        caseworker.get("/api/v1/cases/"),
        caseworker.post("/api/v1/cases/", NEW_CASE, format="json"),
        SchemaCheckedClient().post(
            "/api/v1/auth/token/", {"username": "hotline-be-caseworker", "password": PASSWORD}, format="json"
        ),
    ]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_list_a_write_and_the_token_endpoint_are_503_while_postgres_is_down(personas, postgres_down, caplog):
    """Was a 500 (Django's handler500) with the driver's message in the error log."""
    with caplog.at_level(logging.WARNING):
        responses = _list_write_and_token(personas)
    for response in responses:
        assert_outage(response)
    assert "Internal Server Error" not in caplog.text
    assert "Connection refused" not in caplog.text and "127.0.0.1" not in caplog.text
    assert "OperationalError" in caplog.text  # the error class only


def test_a_list_a_write_and_the_token_endpoint_are_503_when_the_connection_is_refused(personas, connection_refused):
    for response in _list_write_and_token(personas):
        assert_outage(response)


def test_a_connection_lost_in_the_middle_of_a_write_is_a_503(personas, monkeypatch):
    """Authentication has read the database; the INSERT then meets a dead connection."""
    execute = CursorWrapper.execute

    def lose_connection_on_insert(self, sql, params=None):
        if sql.lstrip().upper().startswith("INSERT"):
            raise OperationalError("server closed the connection unexpectedly")
        return execute(self, sql, params)

    monkeypatch.setattr(CursorWrapper, "execute", lose_connection_on_insert)
    response = personas["caseworker"].client.post(
        "/api/v1/cases/", NEW_CASE, format="json"
    )
    assert_outage(response)


def test_sqlite_database_is_locked_is_a_503_not_a_500(personas, monkeypatch):
    """What a writer gets on SQLite after the busy timeout (issue #12 item 5 keeps it rare)."""
    execute = CursorWrapper.execute

    def locked(self, sql, params=None):
        if sql.lstrip().upper().startswith("INSERT"):
            raise OperationalError("database is locked")
        return execute(self, sql, params)

    monkeypatch.setattr(CursorWrapper, "execute", locked)
    response = personas["caseworker"].client.post(
        "/api/v1/cases/", NEW_CASE, format="json"
    )
    assert_outage(response)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_pool_with_no_connection_to_lend_is_a_503(personas, monkeypatch):
    """DATABASE_POOL: psycopg_pool's PoolTimeout (after the pool timeout) is a 503, not a 500."""
    from psycopg_pool import ConnectionPool

    if connection.vendor != "postgresql":
        pytest.skip("psycopg_pool is PostgreSQL's")
    pool = ConnectionPool(
        kwargs={**connection.get_connection_params(), "autocommit": True}, min_size=1, max_size=1, timeout=0.3, open=False
    )
    pool.open(wait=True)
    held = pool.getconn()  # the only connection is busy with another request
    connection.close()
    try:
        with monkeypatch.context() as patch:
            patch.setitem(connection.settings_dict["OPTIONS"], "pool", {"min_size": 1, "max_size": 1, "timeout": 0.3})
            patch.setitem(type(connection)._connection_pools, connection.alias, pool)
            response = personas["caseworker"].client.get("/api/v1/cases/")
            connection.close()
    finally:
        pool.putconn(held)
        pool.close()
    assert_outage(response)


def test_a_raw_pool_timeout_from_a_view_is_a_503(personas, monkeypatch):
    """The exception handler also knows the unwrapped psycopg_pool.PoolTimeout."""
    from psycopg_pool import PoolTimeout

    def exhausted():
        raise PoolTimeout("couldn't get a connection after 10.00 sec")

    with monkeypatch.context() as patch:  # undone before the test database is rolled back
        patch.setattr(connection, "ensure_connection", exhausted)
        response = personas["caseworker"].client.get("/api/v1/cases/")
    assert_outage(response)


def test_an_outage_outside_drf_is_a_503_from_the_middleware(db, connection_refused, settings):
    """A plain Django view (no DRF exception handler) that meets the outage: the fallback middleware answers."""
    from coalition.api.middleware import ProblemFallbackMiddleware

    def plain_view(request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    from django.test import RequestFactory

    request = RequestFactory().get("/api/v1/anything/")
    request.request_id = "r" * 16
    middleware = ProblemFallbackMiddleware(lambda r: None)
    try:
        plain_view(request)
    except OperationalError as exc:
        response = middleware.process_exception(request, exc)
    response["X-Request-ID"] = request.request_id
    assert_outage(response)
    assert middleware.process_exception(request, ValueError("not an outage")) is None


def outage_in_middleware(get_response):
    """A middleware that meets the outage before any view runs."""

    def middleware(request):
        raise OperationalError(f"connection to server at {SECRET_IN_DRIVER_MESSAGE} failed: shutting down")

    return middleware


def test_handler500_answers_503_for_an_outage_raised_in_a_middleware(db, settings):
    """An outage outside any view reaches Django's handler500: a 503 there too, not a 500."""
    settings.DEBUG = False
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.test_outage.outage_in_middleware"]
    assert_outage(Client(raise_request_exception=False).get("/api/v1/cases/"))


# --- the probes -----------------------------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_readiness_answers_within_two_seconds_while_postgres_is_down(postgres_down):
    """Was up to 10 s per check (the pool timeout / libpq's unbounded connect)."""
    started = time.monotonic()
    response = SchemaCheckedClient().get("/readyz")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["type"] == "urn:coalition:problem:not-ready"
    assert int(response["Retry-After"]) >= 1
    assert elapsed <= 2.0, elapsed


@pytest.mark.django_db(transaction=True)
def test_readiness_answers_within_two_seconds_when_the_database_hangs(monkeypatch):
    """A database that accepts and never answers (dropped packets): the probe stops waiting at its deadline."""
    from coalition.api import health

    released = threading.Event()
    monkeypatch.setattr(health, "_ping", lambda: released.wait(30))
    monkeypatch.setattr(health, "_running", None)
    try:
        started = time.monotonic()
        response = SchemaCheckedClient().get("/readyz")
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert elapsed <= 2.0, elapsed
        # A second probe during the same hang waits for the running check instead of starting another.
        running = health._running
        assert SchemaCheckedClient().get("/readyz").status_code == 503
        assert health._running is running and not running.done()
    finally:
        released.set()


def test_readiness_is_ready_again_once_the_database_answers(db):
    assert SchemaCheckedClient().get("/readyz").status_code == 200


def test_liveness_makes_no_query(db, django_assert_num_queries):
    client = SchemaCheckedClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    with django_assert_num_queries(0):
        assert client.get("/healthz").status_code == 200


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_liveness_answers_while_postgres_is_down(postgres_down):
    started = time.monotonic()
    response = SchemaCheckedClient().get("/healthz", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 200
    assert time.monotonic() - started < 1


def test_liveness_answers_when_every_connection_is_refused(db, connection_refused):
    assert SchemaCheckedClient().get("/healthz").status_code == 200
