"""Hot reads are served by an index range bounded by their own conditions (PostgreSQL plans).

A page must cost the same however long the history: these read the plan PostgreSQL
would use if the tables were large (sequential and bitmap scans off, as the planner does at
national size) and check the index scan carries the bound, not only a filter
applied after reading every row. Both were found by bench/ at a million referrals.
"""

import json
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models import Count

from coalition.audit.models import AuditEntry
from coalition.events import selectors as events
from coalition.oversight import selectors as oversight
from coalition.oversight.api.views import OVERDUE_COLUMNS
from partners.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.postgres_only]


def _plan_nodes(queryset) -> list[dict]:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    nodes, stack = [], [plan[0]["Plan"]]
    while stack:
        node = stack.pop()
        nodes.append(node)
        stack.extend(node.get("Plans", []))
    return nodes


def test_the_event_feed_range_scans_the_organisations_audience_from_the_cursor(personas):
    caseworker = personas["caseworker"].user
    nodes = _plan_nodes(events.events_visible_to(caseworker, after=12345).order_by("seq")[:101])
    conditions = [n.get("Index Cond", "") for n in nodes]
    # One index condition holds both the organisation and the cursor: a bounded range.
    assert any("organisation_id" in c and "event_id > 12345" in c for c in conditions), conditions


def test_audit_search_by_object_id_uses_an_index_on_the_id(db):
    nodes = _plan_nodes(AuditEntry.objects.filter(object_id="a-referral-id").order_by("-seq")[:50])
    scans = [(n.get("Index Name"), n.get("Index Cond", "")) for n in nodes]
    assert ("audit_object_seq", "((object_id)::text = 'a-referral-id'::text)") in scans, scans


def test_the_coordinators_feed_range_scans_the_event_table_from_the_cursor(personas):
    # The coordinator's feed is the event table's own primary key range.
    coordinator = User.objects.get(username="coordinator")
    nodes = _plan_nodes(events.events_visible_to(coordinator, after=7).order_by("seq")[:101])
    assert any("seq > 7" in n.get("Index Cond", "") for n in nodes), [n.get("Index Cond") for n in nodes]


def test_the_overdue_list_reads_the_pending_referral_index_alone(personas):
    coordinator = User.objects.get(username="coordinator")
    queryset = oversight.overdue_referrals(coordinator).only(*OVERDUE_COLUMNS).order_by("due", "pk")[:51]
    nodes = _plan_nodes(queryset)
    assert any(n["Node Type"] == "Index Only Scan" and n.get("Index Name") == "referral_pending" for n in nodes), [
        (n["Node Type"], n.get("Index Name")) for n in nodes
    ]


def test_a_years_figures_read_the_figures_index_alone(personas):
    coordinator = User.objects.get(username="coordinator")
    year = oversight.referrals_for_statistics(coordinator).filter(
        sent_at__gte=datetime(2025, 1, 1, tzinfo=UTC), sent_at__lt=datetime(2026, 1, 1, tzinfo=UTC)
    )
    for queryset in (year.values("phenomenon").annotate(n=Count("id")), year.values("status").annotate(n=Count("id"))):
        nodes = _plan_nodes(queryset)
        assert any(n["Node Type"] == "Index Only Scan" and n.get("Index Name") == "referral_figures" for n in nodes), [
            (n["Node Type"], n.get("Index Name")) for n in nodes
        ]
