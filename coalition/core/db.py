"""Database helpers that behave the same on PostgreSQL and SQLite."""

import json

from django.db import InterfaceError, OperationalError
from django.db.models import JSONField, Lookup

try:  # the pool is optional (DATABASE_POOL)
    from psycopg_pool import PoolTimeout as _PoolTimeout
except ImportError:  # pragma: no cover - installed with psycopg[pool]
    _OUTAGE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
else:
    _OUTAGE_ERRORS = (OperationalError, InterfaceError, _PoolTimeout)


def is_outage(exc: BaseException | None) -> bool:
    """A database error a retry may cure: server down or restarting, connection lost, pool timeout,
    SQLite's "database is locked", a lock or statement timeout.

    Django wraps the driver's errors (a pool timeout included) in ``OperationalError``
    or ``InterfaceError``; a raw ``PoolTimeout`` counts too. Integrity and data errors do not.
    """
    return isinstance(exc, _OUTAGE_ERRORS)


@JSONField.register_lookup
class HasItem(Lookup):
    """``field__has_item=value``: the JSON array in ``field`` contains ``value``.

    Django's ``contains`` on JSON is not available on SQLite; this lookup is, and
    uses the jsonb containment operator (index-friendly) on PostgreSQL.
    """

    lookup_name = "has_item"
    prepare_rhs = False

    def get_prep_lookup(self):
        return self.rhs

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} @> %s::jsonb", [*lhs_params, json.dumps([self.rhs])]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return (
            f"EXISTS (SELECT 1 FROM json_each({lhs}) WHERE json_each.value = %s)",
            [*lhs_params, self.rhs],
        )
