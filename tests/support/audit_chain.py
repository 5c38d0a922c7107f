"""Breaking the audit chain on purpose, as someone with DDL rights could, for tests of the verdict.

The same steps as tests/audit/ takes: lift the append-only guard (PostgreSQL: disable its
trigger; SQLite: drop and recreate the migration's triggers), alter one entry, put the guard back.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

guard = importlib.import_module("coalition.audit.migrations.0002_append_only_triggers")


class _Editor:
    """Just enough of a schema editor for the migration's guard functions, usable inside a test's transaction."""

    def __init__(self):
        self.connection = connection

    def execute(self, sql):
        with connection.cursor() as cursor:
            cursor.execute(sql)


@contextmanager
def guard_lifted() -> Iterator[None]:
    """What an attacker with DDL rights would do: lift the append-only guard, then put it back."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only")
    else:
        guard.drop_guard(None, _Editor())
        try:
            yield
        finally:
            guard.create_guard(None, _Editor())


def tamper(seq: int) -> None:
    """Alter entry ``seq``'s action behind the guard's back: the verifier must find it at that entry."""
    with guard_lifted(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET action = %s WHERE seq = %s", ["case.nothing_to_see", seq])
