"""The audit trail: one entry per write and identity read, in the action's transaction, hash-chained, append-only."""

from __future__ import annotations

import json
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from coalition.audit.models import AuditChainHead, AuditEntry
from coalition.audit.selectors import verify_chain
from coalition.audit.services import record
from partners.tokens import issue_tokens_for_tests
from referrals.models import Case
from tests.support.flows import CHILD
from tests.support.personas import PASSWORD

pytestmark = pytest.mark.django_db

TABLE = AuditEntry._meta.db_table


def entries_of(response) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(request_id=response["X-Request-ID"]))


def actions_of(response) -> list[str]:
    return [entry.action for entry in entries_of(response)]


class lifted_guard:
    """Lift the append-only guard for a block, as a database owner with DDL rights could."""

    def __enter__(self):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER audit_entry_append_only")
            else:
                cursor.execute("DROP TRIGGER audit_entry_no_update")
                cursor.execute("DROP TRIGGER audit_entry_no_delete")

    def __exit__(self, *exc):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER audit_entry_append_only")
            else:
                for operation in ("UPDATE", "DELETE"):
                    cursor.execute(
                        f"CREATE TRIGGER audit_entry_no_{operation.lower()} BEFORE {operation} ON {TABLE} "
                        "BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;"
                    )


# --- one entry per action -------------------------------------------------------------------


def test_each_write_of_a_referrals_life_leaves_exactly_one_entry_naming_actor_object_and_request(flow, personas, orgs):
    caseworker = personas["caseworker"].client
    response = caseworker.post("/api/v1/cases/", {"subject": CHILD, "phenomena": ["teen_pimp"]}, format="json")
    case_id = response.json()["id"]
    # The answer shows the new case's subject: that read is audited too (issue #11, item 6).
    assert sorted(actions_of(response)) == ["case.open", "subject.read"]
    [entry] = [entry for entry in entries_of(response) if entry.action == "case.open"]
    assert (entry.action, entry.object_type, str(entry.object_id), str(entry.case)) == ("case.open", "case", case_id, case_id)
    assert entry.actor_user == personas["caseworker"].user.pk
    assert entry.organisation == orgs["hotline-be"].pk
    assert entry.actor_api_key is None

    response = caseworker.post(
        f"/api/v1/cases/{case_id}/consents/",
        {"given_by": "young_person", "method": "written", "purposes": ["care_referral"]},
        format="json",
    )
    assert actions_of(response) == ["consent.record"]
    consent_id = response.json()["id"]
    response = caseworker.post("/api/v1/referrals/", flow.referral_body(case_id, consent=consent_id), format="json")
    assert actions_of(response) == ["referral.create"]
    referral_id = response.json()["id"]

    steps = [
        ("send", "caseworker", {}, "referral.send"),
        ("acknowledge", "recipient_caseworker", {}, "referral.acknowledge"),
        ("accept", "recipient_caseworker", {}, "referral.accept"),
        ("complete", "recipient_caseworker", {"outcome_code": "service_delivered"}, "referral.complete"),
    ]
    for action, persona, body, expected in steps:
        response = flow.act(referral_id, action, persona, body)
        assert response.status_code == 200, response.json()
        [entry] = entries_of(response)
        assert entry.action == expected
        assert (entry.object_type, str(entry.object_id), str(entry.case)) == ("referral", referral_id, case_id)
        assert entry.actor_user == personas[persona].user.pk


def test_a_partner_systems_write_names_its_api_key_and_organisation(flow, personas, orgs):
    client = personas["partner_system"].client
    response = client.post("/api/v1/cases/", {"subject": CHILD, "phenomena": ["teen_pimp"]}, format="json")
    assert response.status_code == 201
    opened = [entry for entry in entries_of(response) if entry.action == "case.open"]
    assert len(opened) == 1
    assert opened[0].actor_user is None
    assert opened[0].actor_api_key is not None
    assert opened[0].organisation == orgs["hotline-be"].pk


def test_api_key_use_is_audited_once_per_minute_not_on_every_request(personas):
    client = personas["partner_system"].client
    first = client.get("/api/v1/me/")
    second = client.get("/api/v1/me/")
    assert actions_of(first) == ["api_key.use"]
    assert actions_of(second) == []


def test_reading_a_young_persons_identity_leaves_one_entry_per_case_shown(flow, personas):
    case_ids = [flow.open_case()["id"] for _ in range(3)]
    detail = personas["caseworker"].client.get(f"/api/v1/cases/{case_ids[0]}/")
    assert detail.json()["subject"]["given_name"] == CHILD["given_name"]
    [entry] = entries_of(detail)
    assert (entry.action, entry.object_type, str(entry.case)) == ("subject.read", "subject", case_ids[0])

    listing = personas["caseworker"].client.get("/api/v1/cases/")
    read = entries_of(listing)
    assert sorted(str(entry.case) for entry in read) == sorted(case_ids)
    assert {entry.action for entry in read} == {"subject.read"}


def test_an_answer_without_identity_is_not_an_identity_read(flow, personas):
    case_id = flow.open_case()["id"]
    response = personas["coordinator"].client.get(f"/api/v1/cases/{case_id}/")
    assert response.status_code == 200 and response.json()["subject"] is None
    assert entries_of(response) == []


def test_logins_refreshes_and_failures_are_audited_without_the_name_typed(personas):
    client = personas["anonymous"].client
    user = personas["caseworker"].user
    ok = client.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}, format="json")
    assert ok.status_code == 200
    assert actions_of(ok) == ["auth.login"]
    refreshed = client.post("/api/v1/auth/token/refresh/", {"refresh": ok.json()["refresh"]}, format="json")
    assert actions_of(refreshed) == ["auth.refresh"]

    wrong = client.post("/api/v1/auth/token/", {"username": user.username, "password": "not-the-password"}, format="json")
    [entry] = entries_of(wrong)
    assert (entry.action, entry.actor_user, entry.detail) == ("auth.login_failed", user.pk, {"reason": "invalid_credentials"})

    unknown = client.post("/api/v1/auth/token/", {"username": "nobody-zorita", "password": "x" * 12}, format="json")
    [entry] = entries_of(unknown)
    assert entry.action == "auth.login_failed" and entry.actor_user is None
    assert "zorita" not in json.dumps([entry.object_id, entry.detail]).lower()


def test_a_refused_action_leaves_no_entry(flow, personas):
    case_id = flow.open_case()["id"]
    draft = flow.draft(case_id)  # no consent, no legal basis
    refused = flow.act(draft["id"], "send", "caseworker")
    assert refused.status_code == 422
    assert entries_of(refused) == []


def test_an_action_rolled_back_after_its_entry_was_written_leaves_no_entry(personas):
    before = AuditEntry.objects.count()
    head_before = AuditChainHead.objects.filter(pk=1).values_list("last_seq", flat=True).first()
    with pytest.raises(RuntimeError), transaction.atomic():
        record(action="case.update", actor=personas["caseworker"].user, object_type="case", object_id="x")
        raise RuntimeError("the action failed after auditing")
    assert AuditEntry.objects.count() == before
    assert AuditChainHead.objects.filter(pk=1).values_list("last_seq", flat=True).first() == head_before
    assert verify_chain().intact


def test_no_entry_holds_the_young_persons_identity_or_free_text(flow, personas):
    case, referral = flow.sent_referral()
    flow.act(referral["id"], "accept", "recipient_caseworker")
    personas["recipient_caseworker"].client.get(f"/api/v1/cases/{case['id']}/")
    dumped = json.dumps([list(e.__dict__.values()) for e in AuditEntry.objects.all()], default=str)
    for secret in (CHILD["given_name"], CHILD["family_name"], CHILD["date_of_birth"], CHILD["safe_contact"], "safe bed"):
        assert secret not in dumped


def test_listing_cases_audits_identity_reads_in_a_constant_number_of_queries(flow, personas, django_assert_max_num_queries):
    for _ in range(2):
        flow.open_case()
    client = personas["caseworker"].client
    with CaptureQueriesContext(connection) as captured:
        client.get("/api/v1/cases/")
    few = len(captured.captured_queries)  # now: the next request clears Django's query log
    for _ in range(6):
        flow.open_case()
    with django_assert_max_num_queries(few):
        client.get("/api/v1/cases/")


# --- the chain and the guard ------------------------------------------------------------------


def test_the_chain_of_a_whole_scenario_verifies(flow, personas):
    case, referral = flow.sent_referral()
    flow.act(referral["id"], "accept", "recipient_caseworker")
    verdict = verify_chain()
    assert verdict.intact, verdict
    assert verdict.entries == AuditEntry.objects.count() >= 5
    seqs = list(AuditEntry.objects.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


def test_the_database_refuses_update_and_delete_of_an_entry(flow):
    flow.open_case()
    seq = AuditEntry.objects.values_list("seq", flat=True).first()
    for statement in (f"UPDATE {TABLE} SET action = 'case.nothing' WHERE seq = %s", f"DELETE FROM {TABLE} WHERE seq = %s"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [seq])
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=seq).update(action="case.nothing")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=seq).delete()
    assert AuditEntry.objects.get(seq=seq).action != "case.nothing"


def test_a_row_altered_with_the_guard_lifted_makes_the_verifier_fail_at_that_row(flow):
    flow.sent_referral()
    target = AuditEntry.objects.order_by("seq")[2]
    with lifted_guard(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET organisation = NULL WHERE seq = %s", [target.seq])
    verdict = verify_chain()
    assert (verdict.intact, verdict.first_broken_seq, verdict.problem) == (False, target.seq, "entry altered")


def test_a_row_altered_and_rehashed_with_the_guard_lifted_breaks_the_next_link(flow):
    flow.sent_referral()
    target = AuditEntry.objects.order_by("seq")[1]
    from coalition.audit.services import entry_digest

    target.action = "case.nothing"
    forged = entry_digest(target)
    with lifted_guard(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET action = %s, hash = %s WHERE seq = %s", ["case.nothing", forged, target.seq])
    verdict = verify_chain()
    assert (verdict.intact, verdict.first_broken_seq, verdict.problem) == (False, target.seq + 1, "chain link broken")


def test_deleted_rows_are_found_in_the_middle_and_at_the_end(flow):
    flow.sent_referral()
    last = AuditEntry.objects.order_by("-seq").first().seq
    with lifted_guard(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE seq = %s", [last])
    verdict = verify_chain()
    assert (verdict.intact, verdict.first_broken_seq, verdict.problem) == (False, last, "entries missing at the end")
    with lifted_guard(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE seq = 2")
    verdict = verify_chain()
    assert (verdict.intact, verdict.first_broken_seq, verdict.problem) == (False, 2, "missing entry")


@pytest.mark.postgres_only
def test_the_database_refuses_truncate_of_the_entries(flow):
    flow.open_case()
    count = AuditEntry.objects.count()
    for statement in (f"TRUNCATE {TABLE}", f"TRUNCATE {TABLE}, {AuditChainHead._meta.db_table}"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEntry.objects.count() == count > 0


def test_entries_without_a_chain_head_are_a_broken_chain(flow):
    """Deleting the head row (no trigger guards it) must not make the verifier skip the head check."""
    flow.open_case()
    AuditChainHead.objects.all().delete()
    verdict = verify_chain()
    assert (verdict.intact, verdict.problem) == (False, "chain head missing")


def test_a_head_without_entries_is_a_broken_chain():
    assert not AuditEntry.objects.exists()
    AuditChainHead.objects.update_or_create(pk=1, defaults={"last_seq": 3, "last_hash": "a" * 64})
    verdict = verify_chain()
    assert (verdict.intact, verdict.first_broken_seq, verdict.problem) == (False, 1, "entries missing at the end")


def test_a_head_behind_the_last_entry_or_naming_another_hash_is_a_broken_chain(flow):
    flow.open_case()
    last = AuditEntry.objects.order_by("-seq").first()
    AuditChainHead.objects.filter(pk=1).update(last_seq=last.seq - 1)
    verdict = verify_chain()
    assert (verdict.intact, verdict.first_broken_seq, verdict.problem) == (False, last.seq, "entries after the chain head")
    AuditChainHead.objects.filter(pk=1).update(last_seq=last.seq, last_hash="b" * 64)
    verdict = verify_chain()
    assert (verdict.intact, verdict.first_broken_seq) == (False, last.seq)
    assert verdict.problem == "chain head does not match the last entry"


def _rewrite_from(seq: int, action: str) -> None:
    """What someone who can write the database (and lift the guard) would do: alter an entry,
    rehash it and every later one, and move the head to the new last hash. Without the key."""
    from coalition.audit.services import entry_digest

    prev_hash = AuditEntry.objects.get(seq=seq - 1).hash if seq > 1 else "0" * 64
    with lifted_guard(), connection.cursor() as cursor:
        for entry in AuditEntry.objects.filter(seq__gte=seq).order_by("seq"):
            if entry.seq == seq:
                entry.action = action
            entry.prev_hash = prev_hash
            entry.hash = prev_hash = entry_digest(entry)
            cursor.execute(
                f"UPDATE {TABLE} SET action = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                [entry.action, entry.prev_hash, entry.hash, entry.seq],
            )
    AuditChainHead.objects.filter(pk=1).update(last_hash=prev_hash)


def test_a_chain_rewritten_with_its_head_by_someone_without_the_key_fails_verification(flow, settings):
    flow.sent_referral()
    assert verify_chain().intact
    _rewrite_from(2, "case.nothing_to_see")
    verdict = verify_chain()
    assert (verdict.intact, verdict.first_broken_seq) == (False, None)
    assert verdict.problem.startswith("chain head signature invalid")
    with pytest.raises(CommandError, match="signature invalid"):
        call_command("audit_verify")


def test_a_head_signed_under_another_key_fails_and_each_append_signs_the_head(flow, settings):
    from coalition.audit.services import head_signature

    flow.open_case()
    head = AuditChainHead.objects.get(pk=1)
    assert head.signature == head_signature(head.last_seq, head.last_hash)
    settings.AUDIT_HEAD_KEY = "another-audit-head-key-" + "0123456789" * 3
    assert not verify_chain().intact
    record(action="case.update", object_type="case", object_id="x")  # signs the new head with the key in force
    assert verify_chain().intact


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_simultaneous_writers_append_one_unbroken_chain(personas):
    if connection.vendor != "postgresql":
        pytest.skip("needs real parallel connections (PostgreSQL)")
    users = [personas["caseworker"].user, personas["recipient_caseworker"].user, personas["outsider_caseworker"].user]
    barrier = threading.Barrier(9)
    errors = []

    def write(user):
        try:
            barrier.wait()
            issue_tokens_for_tests(user)
            from referrals import services

            services.case_open(actor=user, subject={"given_name": "Fictia"}, phenomena=["grooming"])
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(users[i % 3],)) for i in range(9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert Case.objects.count() == 9
    verdict = verify_chain()
    assert verdict.intact, verdict
    assert AuditEntry.objects.filter(action="case.open").count() == 9
