"""The auditor's API and command (issue #4, item 1): search the trail, prove it whole or name the
first broken entry, answer "who read this young person's identity and when"."""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from coalition.audit.models import AuditEntry
from tests.support.case_history import holds_no_personal_data

ENTRIES = "/api/v1/audit/entries/"
VERIFY = "/api/v1/audit/verify/"
guard = importlib.import_module("coalition.audit.migrations.0002_append_only_triggers")


class _Editor:
    """Just enough of a schema editor for the migration's guard functions, usable inside a test's transaction."""

    def __init__(self):
        self.connection = connection

    def execute(self, sql):
        with connection.cursor() as cursor:
            cursor.execute(sql)


@contextmanager
def guard_lifted():
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


def _tamper(seq: int) -> None:
    with guard_lifted(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET action = %s WHERE seq = %s", ["case.nothing_to_see", seq])


def _some_history(flow):
    case, referral = flow.sent_referral()
    return case, referral


def test_the_verify_command_reports_an_intact_chain(flow, capsys):
    _some_history(flow)
    count = AuditEntry.objects.count()

    call_command("audit_verify")

    assert f"Audit chain intact: {count} entries verified." in capsys.readouterr().out


def test_the_verify_command_fails_naming_the_first_entry_altered_with_the_guard_lifted(flow):
    _some_history(flow)
    _tamper(3)

    with pytest.raises(CommandError, match=r"BROKEN at entry 3: entry altered") as raised:
        call_command("audit_verify")
    assert raised.value.returncode == 1


def test_the_verify_endpoint_reports_an_intact_chain_and_is_audited(flow, personas):
    _some_history(flow)
    count = AuditEntry.objects.count()

    response = personas["auditor"].client.get(VERIFY)

    assert response.status_code == 200
    assert response.json() == {"intact": True, "entries": count, "first_broken_seq": None, "problem": ""}
    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == "audit.verify" and entry.actor_user == personas["auditor"].user.pk
    assert entry.detail["intact"] is True


def test_the_verify_endpoint_names_the_first_broken_entry_after_a_row_is_altered(flow, personas):
    _some_history(flow)
    _tamper(2)

    response = personas["auditor"].client.get(VERIFY)

    assert response.json() == {"intact": False, "entries": 1, "first_broken_seq": 2, "problem": "entry altered"}


def test_the_guard_is_back_after_the_tamper_helper(flow):
    from django.db import DatabaseError, transaction

    _some_history(flow)
    _tamper(1)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=2).update(action="x")


def test_who_read_a_young_persons_identity_and_when(flow, personas):
    case, referral = _some_history(flow)
    other_case, _referral = _some_history(flow)
    assert flow.act(referral["id"], "accept", "recipient_caseworker").status_code == 200
    personas["caseworker"].client.get(f"/api/v1/cases/{case['id']}/")
    personas["recipient_caseworker"].client.get(f"/api/v1/cases/{case['id']}/")
    personas["caseworker"].client.get(f"/api/v1/cases/{other_case['id']}/")
    personas["coordinator"].client.get(f"/api/v1/cases/{case['id']}/")  # metadata only: no identity read

    response = personas["auditor"].client.get(ENTRIES, {"case": case["id"], "action": "subject.read"})

    assert response.status_code == 200
    reads = response.json()["results"]
    # Newest first; the last is the answer to opening the case, which showed its subject (issue #11, item 6).
    assert [(r["actor_user"], r["organisation"]) for r in reads] == [
        (str(personas["recipient_caseworker"].user.pk), str(personas["recipient_caseworker"].organisation.pk)),
        (str(personas["caseworker"].user.pk), str(personas["caseworker"].organisation.pk)),
        (str(personas["caseworker"].user.pk), str(personas["caseworker"].organisation.pk)),
    ]
    assert all(r["case"] == case["id"] and r["object_type"] == "subject" and r["at"] for r in reads)


@pytest.mark.parametrize(
    "params, expected_actions",
    [
        ({"action": "referral.send"}, {"referral.send"}),
        ({"action_prefix": "referral."}, {"referral.create", "referral.send"}),
        ({"object_type": "consent"}, {"consent.record"}),
    ],
)
def test_entries_are_searched_by_action_prefix_and_object(flow, personas, params, expected_actions):
    _some_history(flow)

    response = personas["auditor"].client.get(ENTRIES, params)

    assert response.status_code == 200
    assert {e["action"] for e in response.json()["results"]} == expected_actions


def test_entries_are_searched_by_object_actor_key_organisation_and_time(flow, personas, orgs):
    case, referral = _some_history(flow)
    personas["partner_system"].client.get(f"/api/v1/cases/{case['id']}/")
    auditor = personas["auditor"].client

    by_object = auditor.get(ENTRIES, {"object_type": "referral", "object_id": referral["id"]}).json()["results"]
    by_user = auditor.get(ENTRIES, {"actor_user": str(personas["caseworker"].user.pk)}).json()["results"]
    key_id = AuditEntry.objects.exclude(actor_api_key=None).values_list("actor_api_key", flat=True).first()
    by_key = auditor.get(ENTRIES, {"actor_api_key": str(key_id)}).json()["results"]
    by_org = auditor.get(ENTRIES, {"organisation": str(orgs["shelter-be"].pk)}).json()["results"]
    future = auditor.get(ENTRIES, {"at_after": (timezone.now() + timedelta(minutes=1)).isoformat()}).json()["results"]
    past = auditor.get(ENTRIES, {"at_before": (timezone.now() + timedelta(minutes=1)).isoformat()}).json()["results"]

    assert {e["action"] for e in by_object} == {"referral.create", "referral.send"}
    assert by_user and {e["actor_user"] for e in by_user} == {str(personas["caseworker"].user.pk)}
    assert by_key and all(e["actor_api_key"] and e["actor_user"] is None for e in by_key)
    assert {e["action"] for e in by_key} >= {"subject.read"}
    assert by_org == []  # shelter-be has not acted yet
    assert future == [] and len(past) >= 4


def test_searching_the_trail_is_itself_audited_with_filter_names_only(flow, personas):
    case, _referral = _some_history(flow)

    personas["auditor"].client.get(ENTRIES, {"case": case["id"], "action": "subject.read"})

    entry = AuditEntry.objects.order_by("-seq").first()
    assert entry.action == "audit.search"
    assert entry.actor_user == personas["auditor"].user.pk
    assert str(entry.case) == case["id"]
    assert entry.detail == {"filters": ["action", "case"], "results": 1}  # the answer to opening the case


def test_entries_are_cursor_paginated_newest_first_with_a_fixed_number_of_queries(flow, personas, django_assert_max_num_queries):
    _some_history(flow)
    _some_history(flow)
    auditor = personas["auditor"].client

    with django_assert_max_num_queries(12):
        first = auditor.get(ENTRIES, {"page_size": 3}).json()
    second = auditor.get(first["next"]).json()

    seqs = [e["seq"] for e in first["results"]] + [e["seq"] for e in second["results"]]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 6


def test_entries_hold_ids_and_codes_never_personal_data(flow, personas):
    case, referral = _some_history(flow)
    flow.act(referral["id"], "accept", "recipient_caseworker")
    personas["recipient_caseworker"].client.get(f"/api/v1/cases/{case['id']}/")

    response = personas["auditor"].client.get(ENTRIES, {"page_size": 200})

    assert response.status_code == 200 and len(response.json()["results"]) > 5
    assert holds_no_personal_data(response.content.decode())


@pytest.mark.parametrize(
    "params",
    [
        {"case": "not-a-uuid"},
        {"at_after": "yesterday"},
        {"at_before": "0001-01-01T00:00:00+01:00"},  # before year 1 in UTC: not a 500
        {"action": "x" * 61},
        {"object_type": "case\x00"},
    ],
)
def test_bad_search_filters_are_refused(personas, params):
    assert personas["auditor"].client.get(ENTRIES, params).status_code == 400


@pytest.mark.parametrize(
    "persona, expected",
    [
        ("caseworker", 403), ("recipient_caseworker", 403), ("org_admin", 403), ("coordinator", 403),
        ("partner_system", 403), ("anonymous", 401),
    ],
)
def test_only_the_auditor_searches_and_verifies_the_trail(personas, persona, expected):
    client = personas[persona].client

    assert client.get(ENTRIES).status_code == expected
    assert client.get(VERIFY).status_code == expected
    assert not AuditEntry.objects.filter(action__startswith="audit.").exists()
