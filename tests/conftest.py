"""The suite's fixtures: the organisations, the personas and an anonymous schema-checked client.

The helpers they are built from live in tests/support/ (personas, schema, flows); test
modules import those from there, never from a conftest.

Personas (the suite's stable cast, in the demo coalition's organisations):
- ``caseworker``: hotline-be (the sender in referral scenarios)
- ``recipient_caseworker``: shelter-be (a partner)
- ``outsider_caseworker``: care-nl (unrelated)
- ``org_admin``: hotline-be's admin
- ``outsider_admin``: care-nl's admin
- ``coordinator`` and ``auditor``: the coordination
- ``partner_system``: hotline-be's API key with every scope
"""

from __future__ import annotations

import pytest

from tests.support.flows import flow  # noqa: F401  (fixture: the referral flow, for every test package)
from tests.support.matching import known_twice, matching  # noqa: F401  (fixtures: the cross-organisation match)
from tests.support.personas import the_orgs, the_personas
from tests.support.schema import SchemaCheckedClient


@pytest.fixture
def orgs(db):
    return the_orgs()


@pytest.fixture
def personas(orgs):
    return the_personas(orgs)


@pytest.fixture
def anonymous_client():
    return SchemaCheckedClient()


def _flush_may_truncate_the_audit_trail():
    """Let the test flush (PostgreSQL: one TRUNCATE of every table) past the audit entries' TRUNCATE trigger.

    The trigger lets through a transaction that set ``coalition.allow_audit_truncate``
    (audit migration 0004); Django's flush runs its statements in one transaction, so a
    ``SET LOCAL`` before them lasts exactly as long as the flush.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    sql_flush = DatabaseOperations.sql_flush

    def flush_with_audit_truncate_allowed(self, style, tables, **kwargs):
        statements = sql_flush(self, style, tables, **kwargs)
        return ["SET LOCAL coalition.allow_audit_truncate = 'on';", *statements] if statements else statements

    DatabaseOperations.sql_flush = flush_with_audit_truncate_allowed


_flush_may_truncate_the_audit_trail()


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres_only`` are skipped before any set-up when the suite runs on SQLite.

    Skipping inside a fixture would come too late for transactional tests: their
    teardown flushes the tables, and SQLite's flush deletes rows, which the audit
    trail's append-only trigger refuses (PostgreSQL's flush truncates).
    """
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs real parallel connections (PostgreSQL)")
    for item in items:
        if item.get_closest_marker("postgres_only"):
            item.add_marker(skip)
