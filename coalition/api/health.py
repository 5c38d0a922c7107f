"""Liveness and readiness, outside authentication, for load balancers and orchestrators.

Liveness touches nothing. Readiness asks the database for ``SELECT 1`` on a
connection of its own (not the pool's: an exhausted pool would hold it for the pool
timeout) with a short connect and statement timeout, in a thread it waits for at
most ``READINESS_DEADLINE_SECONDS``: a probe answers within two seconds even when
the database host drops packets. Probes arriving while a check still runs wait for
that check instead of starting another, so an outage cannot pile up threads.
"""

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .problems import OUTAGE_RETRY_AFTER_SECONDS, PROBLEM_CONTENT_TYPE, problem_body

_status = inline_serializer("HealthStatus", {"status": serializers.CharField()})

READINESS_DEADLINE_SECONDS = 1.5
_CONNECT_TIMEOUT_SECONDS = 2  # libpq's minimum; the thread deadline above is what the probe waits
_STATEMENT_TIMEOUT_MS = 1000

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="readyz")
_running: Future | None = None
_running_lock = threading.Lock()


def _ping() -> None:
    """``SELECT 1`` on a fresh connection; raises when the database does not answer."""
    database = connections[DEFAULT_DB_ALIAS]
    if database.vendor == "postgresql":
        import psycopg

        params = database.get_connection_params()
        params["connect_timeout"] = _CONNECT_TIMEOUT_SECONDS
        params["options"] = f"{params.get('options', '')} -c statement_timeout={_STATEMENT_TIMEOUT_MS}".strip()
        with psycopg.connect(**params, autocommit=True) as raw:
            raw.execute("SELECT 1")
        return
    try:  # SQLite and others: this thread's own Django connection, closed after
        with database.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        database.close()


def database_answers(deadline: float = READINESS_DEADLINE_SECONDS) -> bool:
    """True when the database answered ``SELECT 1`` within ``deadline`` seconds."""
    global _running
    with _running_lock:
        if _running is None or _running.done():
            _running = _executor.submit(_ping)
        check = _running
    try:
        check.result(timeout=deadline)
    except FutureTimeout:
        return False
    except Exception:  # noqa: BLE001  any database failure means not ready
        return False
    return True


class HealthzView(APIView):
    """The process is alive. Touches nothing else: no authentication, no database (tested)."""

    touches_no_database = True  # the schema documents no 503 for it

    authentication_classes = []
    permission_classes = [AllowAny]  # public by design: health check
    throttle_classes = []

    @extend_schema(responses={200: _status}, tags=["health"], auth=[])
    def get(self, request):
        return Response({"status": "ok"})


class ReadyzView(APIView):
    """The process can serve: the database answers."""

    authentication_classes = []
    permission_classes = [AllowAny]  # public by design: readiness check
    throttle_classes = []

    # Its 503 (not-ready, with Retry-After) is documented with every other operation's.
    @extend_schema(responses={200: _status}, tags=["health"], auth=[])
    def get(self, request):
        if not database_answers():
            body = problem_body(status_code=503, slug="not-ready", detail=_("The database is unreachable."), request=request)
            return Response(
                body,
                status=503,
                content_type=PROBLEM_CONTENT_TYPE,
                headers={"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)},
            )
        return Response({"status": "ready"})
