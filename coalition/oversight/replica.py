"""Send the statistics' reads to a read replica, and nothing else.

A router sees a model, not a view: the statistics on Referral are read from the
same tables as the referral lists, so the choice cannot be made per model. The
statistics code wraps its reads in ``statistics_reads()``; only reads made inside it
go to the ``replica`` database (when one is configured). Writes, and reads outside
the block, always use ``default``, so a caseworker never reads a lagging copy of
something they just changed.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar

from django.conf import settings

REPLICA = "replica"
_statistics = ContextVar("statistics_reads", default=False)


@contextlib.contextmanager
def statistics_reads():
    """Reads inside this block may come from the replica (aggregated statistics only)."""
    token = _statistics.set(True)
    try:
        yield
    finally:
        _statistics.reset(token)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


class StatisticsReplicaRouter:
    """Reads inside ``statistics_reads()`` go to the replica; all else to ``default``."""

    def db_for_read(self, model, **hints):
        if _statistics.get() and replica_configured():
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replica is a copy of default: same rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA  # the replica follows default by replication
