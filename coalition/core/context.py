"""What the code running now acts for: the request id, carried without passing it around.

Set by ``RequestIdMiddleware`` for HTTP requests and by the worker for each job, so
that the audit trail and every log line name the request (or job) they belong to.
"""

from __future__ import annotations

import contextlib
import contextvars

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


def current_request_id() -> str:
    return request_id.get()


@contextlib.contextmanager
def bound_request_id(value: str):
    """Run a block with ``value`` as the request id (a worker job, a command)."""
    token = request_id.set(value)
    try:
        yield
    finally:
        request_id.reset(token)
