"""Retention (api_docs/audit.md; api_docs/security.md, control "retention"): with time moved past
the retention period, the purge removes identity and free text of closed cases, spares held and open ones, and keeps
metadata, figures and the audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from coalition.audit.models import AuditEntry
from coalition.audit.selectors import verify_chain
from coalition.models import IdempotencyRecord
from referrals.models import Case, Consent, Involvement, LegalBasisException, Referral, ReferralMessage, Subject
from referrals.retention import purge_expired
from tests.support.case_history import JUSTIFICATION, MESSAGE, REASON, case_with_history, holds_no_personal_data
from tests.support.processes import assert_refused, production_env, run_python  # noqa: F401  (fixture)

RETENTION = timedelta(days=730)


def _closed_at(case_id):
    return Case.objects.get(pk=case_id).closed_at


def _after_retention(case_id, extra=timedelta(days=1)):
    """The moment ``extra`` after the case's retention period ends: time moved forward."""
    return _closed_at(case_id) + RETENTION + extra


def _purged(case_id) -> bool:
    return not Subject.objects.filter(case_id=case_id).exists()


def test_purge_removes_identity_and_free_text_of_a_case_closed_two_years_and_a_day_ago(flow):
    history = case_with_history(flow)

    assert purge_expired(now=_after_retention(history.case_id)) == 1

    case = Case.objects.get(pk=history.case_id)
    assert case.purged_at is not None
    assert not Subject.objects.filter(case=case).exists()
    for referral in Referral.objects.filter(case=case):
        assert (referral.reason, referral.legal_basis_justification, referral.decline_reason) == ("", "", "")
    for exception in LegalBasisException.objects.filter(case=case):
        assert (exception.justification, exception.review_note) == ("", "")
    assert [m.body for m in ReferralMessage.objects.filter(referral__case=case)] == [""]


def test_purge_keeps_a_case_closed_one_day_less_than_the_retention_period(flow):
    history = case_with_history(flow)

    assert purge_expired(now=_after_retention(history.case_id, extra=-timedelta(days=1))) == 0

    assert not _purged(history.case_id)
    assert Referral.objects.get(pk=history.accepted_referral).reason == REASON
    assert Case.objects.get(pk=history.case_id).purged_at is None


def test_purge_never_touches_an_open_case_however_old(flow):
    history = case_with_history(flow, close=False)

    assert purge_expired(now=timezone.now() + RETENTION * 5) == 0

    assert not _purged(history.case_id)
    assert ReferralMessage.objects.get(referral_id=history.accepted_referral).body == MESSAGE


def test_purge_spares_a_case_on_legal_hold_until_the_hold_is_released(flow, personas):
    history = case_with_history(flow)
    auditor = personas["auditor"].client
    assert auditor.post(f"/api/v1/audit/cases/{history.case_id}/hold/", {"reason": "litigation"}, format="json").status_code == 200
    later = _after_retention(history.case_id, extra=timedelta(days=400))

    assert purge_expired(now=later) == 0
    assert not _purged(history.case_id)
    assert LegalBasisException.objects.get(referral_id=history.exception_referral).justification == JUSTIFICATION

    assert auditor.post(f"/api/v1/audit/cases/{history.case_id}/release/", format="json").status_code == 200
    assert purge_expired(now=later) == 1
    assert _purged(history.case_id)


def test_purge_keeps_metadata_codes_counts_and_the_custody_timeline(flow):
    history = case_with_history(flow)
    metadata = ("status", "outcome", "phenomena", "region", "opened_at", "closed_at", "lead_organisation")
    case_before = Case.objects.values(*metadata).get(pk=history.case_id)
    codes = ("status", "kind", "phenomenon", "urgency", "requested_service", "age", "gender", "region", "signals",
             "decline_reason_code", "legal_basis", "sent_at", "accepted_at", "declined_at")
    referrals_before = list(Referral.objects.filter(case_id=history.case_id).order_by("pk").values(*codes))
    involvements_before = list(Involvement.objects.filter(case_id=history.case_id).order_by("pk").values())
    consents_before = list(Consent.objects.filter(case_id=history.case_id).order_by("pk").values())

    purge_expired(now=_after_retention(history.case_id))

    assert Case.objects.values(*case_before).get(pk=history.case_id) == case_before
    assert list(Referral.objects.filter(case_id=history.case_id).order_by("pk").values(*codes)) == referrals_before
    assert list(Involvement.objects.filter(case_id=history.case_id).order_by("pk").values()) == involvements_before
    assert list(Consent.objects.filter(case_id=history.case_id).order_by("pk").values()) == consents_before
    assert ReferralMessage.objects.filter(referral__case_id=history.case_id).count() == 1
    assert LegalBasisException.objects.filter(case_id=history.case_id).count() == 1


def test_purge_keeps_every_audit_entry_and_the_chain_whole_and_records_itself_as_the_system(flow):
    history = case_with_history(flow)
    entries_before = list(AuditEntry.objects.order_by("seq").values())

    purge_expired(now=_after_retention(history.case_id))

    entries_after = list(AuditEntry.objects.order_by("seq").values())
    assert entries_after[: len(entries_before)] == entries_before
    purge = AuditEntry.objects.get(action="case.purge")
    assert (purge.actor_user, purge.actor_api_key, purge.organisation) == (None, None, None)
    assert str(purge.case) == history.case_id
    assert purge.detail["subject_removed"] == 1 and purge.detail["referrals"] == 3 and purge.detail["messages"] == 1
    run = AuditEntry.objects.get(action="retention.purge_run")
    assert run.detail["purged"] == 1
    assert holds_no_personal_data(str(purge.detail) + str(run.detail))
    assert verify_chain().intact


def test_purge_is_idempotent(flow):
    history = case_with_history(flow)
    later = _after_retention(history.case_id)
    assert purge_expired(now=later) == 1
    purged_at = Case.objects.get(pk=history.case_id).purged_at

    assert purge_expired(now=later + timedelta(days=30)) == 0

    assert Case.objects.get(pk=history.case_id).purged_at == purged_at
    assert AuditEntry.objects.filter(action="case.purge").count() == 1
    assert AuditEntry.objects.filter(action="retention.purge_run").count() == 2


def test_the_lead_still_reads_a_purged_case_as_metadata_without_identity_or_free_text(flow, personas):
    history = case_with_history(flow)
    purge_expired(now=_after_retention(history.case_id))
    lead = personas["caseworker"].client

    case = lead.get(f"/api/v1/cases/{history.case_id}/")
    listed = lead.get("/api/v1/cases/")
    referral = lead.get(f"/api/v1/referrals/{history.accepted_referral}/")
    messages = lead.get(f"/api/v1/referrals/{history.accepted_referral}/messages/")

    assert case.status_code == 200 and case.json()["subject"] is None
    assert case.json()["outcome"] == "safe_and_supported"
    assert listed.status_code == 200 and listed.json()["results"][0]["subject"] is None
    assert referral.status_code == 200 and not referral.json()["reason"]
    assert messages.status_code == 200 and [m["body"] for m in messages.json()] == [""]
    for response in (case, listed, referral, messages):
        assert holds_no_personal_data(response.content.decode())
    purged_at = Case.objects.get(pk=history.case_id).purged_at
    assert not AuditEntry.objects.filter(action="subject.read", case=history.case_id, at__gt=purged_at).exists()


def test_a_purged_case_cannot_be_reopened_nor_receive_new_messages(flow, personas):
    history = case_with_history(flow)
    purge_expired(now=_after_retention(history.case_id))
    lead = personas["caseworker"].client

    reopened = lead.post(f"/api/v1/cases/{history.case_id}/reopen/", format="json")
    message = lead.post(f"/api/v1/referrals/{history.accepted_referral}/messages/", {"body": "Still there?"}, format="json")

    assert reopened.status_code == 409
    assert message.status_code == 409
    assert Case.objects.get(pk=history.case_id).status == "closed"


def test_purge_expired_command_purges_and_prints_a_count_without_personal_data(flow, capsys):
    history = case_with_history(flow)
    kept = case_with_history(flow)
    Case.objects.filter(pk=history.case_id).update(closed_at=timezone.now() - RETENTION - timedelta(days=1))

    call_command("purge_expired")

    out = capsys.readouterr().out
    assert "Purged 1 case(s)" in out
    assert holds_no_personal_data(out)
    assert _purged(history.case_id) and not _purged(kept.case_id)
    run = AuditEntry.objects.get(action="retention.purge_run")
    assert run.request_id.startswith("purge-")
    assert AuditEntry.objects.get(action="case.purge").request_id == run.request_id


def test_purge_deletes_stored_idempotent_responses_past_their_replay_window(flow, personas):
    client = personas["caseworker"].client
    body = {"subject": {"given_name": "Zorita"}, "phenomena": ["teen_pimp"]}
    assert client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="old-one").status_code == 201
    assert client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="fresh-one").status_code == 201
    IdempotencyRecord.objects.filter(key="old-one").update(created_at=timezone.now() - timedelta(hours=25))

    purge_expired()

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh-one"]


@pytest.mark.parametrize("value", ["0", "-3", "two years"])
def test_a_bad_retention_period_stops_the_process(production_env, value):  # noqa: F811
    result = run_python(production_env | {"RETENTION_DAYS": value}, "import django; django.setup()")
    assert_refused(result, "RETENTION_DAYS")


def test_the_purge_tells_every_organisation_that_ever_held_the_case_to_forget_it(flow, orgs):
    """One ``case.purged`` event per purged case, in its transaction, to the lead, a former
    supporter and a recipient that declined; ids only."""
    from coalition.events.models import Event

    history = case_with_history(flow)
    assert purge_expired(now=_after_retention(history.case_id)) == 1
    event = Event.objects.get(type="case.purged")
    assert set(event.organisations) == {str(orgs[slug].id) for slug in ("hotline-be", "shelter-be", "care-nl")}
    assert str(event.case) == history.case_id and event.data == {}
    assert purge_expired(now=_after_retention(history.case_id)) == 0
    assert Event.objects.filter(type="case.purged").count() == 1
