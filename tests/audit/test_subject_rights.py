"""Subject rights (api_docs/audit.md): the auditor exports everything held about one young person
(GDPR art. 15) and erases it where no legal hold applies (art. 17); both are audited."""

from __future__ import annotations

import pytest

from coalition.audit.models import AuditEntry
from coalition.audit.selectors import verify_chain
from referrals.models import Case, LegalBasisException, Referral, ReferralMessage, Subject
from tests.support.case_history import (
    DECLINE_REASON,
    JUSTIFICATION,
    MESSAGE,
    REASON,
    REVIEW_NOTE,
    case_with_history,
    holds_no_personal_data,
)
from tests.support.flows import CHILD


def _export(personas, case_id, persona="auditor"):
    return personas[persona].client.get(f"/api/v1/audit/subjects/{case_id}/export/")


def _erase(personas, case_id, persona="auditor"):
    return personas[persona].client.post(f"/api/v1/audit/subjects/{case_id}/erase/", format="json")


def test_the_export_holds_the_identity_free_text_and_history_of_the_young_person(flow, personas, orgs):
    history = case_with_history(flow)

    response = _export(personas, history.case_id)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["subject"]["given_name"] == CHILD["given_name"]
    assert body["subject"]["date_of_birth"] == CHILD["date_of_birth"]
    assert body["subject"]["safe_contact"] == CHILD["safe_contact"]
    assert body["case"] == body["case_record"]["id"] == history.case_id
    assert body["case_record"]["outcome"] == "safe_and_supported"
    assert body["case_record"]["legal_hold"] is False and body["case_record"]["purged_at"] is None
    referrals = {r["id"]: r for r in body["referrals"]}
    assert set(referrals) == {history.accepted_referral, history.declined_referral, history.exception_referral}
    assert referrals[history.accepted_referral]["reason"] == REASON
    assert [m["body"] for m in referrals[history.accepted_referral]["messages"]] == [MESSAGE]
    assert referrals[history.declined_referral]["decline_reason"] == DECLINE_REASON
    assert referrals[history.exception_referral]["legal_basis_justification"] == JUSTIFICATION
    assert [(e["justification"], e["review_note"]) for e in body["exceptions"]] == [(JUSTIFICATION, REVIEW_NOTE)]
    assert len(body["consents"]) == 1
    assert {i["organisation"] for i in body["involvements"]} == {str(orgs["hotline-be"].pk), str(orgs["shelter-be"].pk)}
    assert {o["slug"] for o in body["organisations"]} == {"hotline-be", "shelter-be", "care-nl"}
    actions = [e["action"] for e in body["audit_entries"]]
    assert actions[0] == "case.open" and "referral.accept" in actions and "case.close" in actions


def test_the_export_is_audited_and_lists_its_own_entry_without_personal_data(flow, personas):
    history = case_with_history(flow)

    body = _export(personas, history.case_id).json()

    entry = AuditEntry.objects.get(action="subject.export")
    assert str(entry.case) == history.case_id
    assert entry.actor_user == personas["auditor"].user.pk
    assert entry.organisation == personas["auditor"].organisation.pk
    assert body["audit_entries"][-1]["seq"] == entry.seq
    assert holds_no_personal_data(str(list(AuditEntry.objects.values())))


def test_erasure_removes_identity_and_free_text_keeps_metadata_and_is_audited(flow, personas):
    history = case_with_history(flow)
    referral_codes = list(Referral.objects.filter(case_id=history.case_id).order_by("pk").values("status", "phenomenon", "age"))

    response = _erase(personas, history.case_id)

    assert response.status_code == 200, response.json()
    assert response.json()["purged_at"] is not None
    assert not Subject.objects.filter(case_id=history.case_id).exists()
    assert {r.reason for r in Referral.objects.filter(case_id=history.case_id)} == {""}
    assert Referral.objects.get(pk=history.declined_referral).decline_reason == ""
    assert LegalBasisException.objects.get(case_id=history.case_id).justification == ""
    assert ReferralMessage.objects.get(referral_id=history.accepted_referral).body == ""
    codes_after = Referral.objects.filter(case_id=history.case_id).order_by("pk").values("status", "phenomenon", "age")
    assert list(codes_after) == referral_codes
    case = Case.objects.get(pk=history.case_id)
    assert (case.status, case.outcome) == ("closed", "safe_and_supported")
    entry = AuditEntry.objects.get(action="subject.erase")
    assert entry.actor_user == personas["auditor"].user.pk and str(entry.case) == history.case_id
    assert verify_chain().intact


def test_after_erasure_the_export_has_no_identity_and_the_lead_sees_none(flow, personas):
    history = case_with_history(flow)
    _erase(personas, history.case_id)

    export = _export(personas, history.case_id)
    lead_view = personas["caseworker"].client.get(f"/api/v1/cases/{history.case_id}/")

    assert export.status_code == 200 and export.json()["subject"] is None
    assert holds_no_personal_data(export.content.decode())
    assert lead_view.status_code == 200 and lead_view.json()["subject"] is None


def test_erasure_is_refused_while_a_legal_hold_applies(flow, personas):
    history = case_with_history(flow)
    hold = {"reason": "criminal_investigation"}
    personas["auditor"].client.post(f"/api/v1/audit/cases/{history.case_id}/hold/", hold, format="json")

    response = _erase(personas, history.case_id)

    assert response.status_code == 409
    assert response["Content-Type"].startswith("application/problem+json")
    assert Subject.objects.filter(case_id=history.case_id).exists()
    assert Referral.objects.get(pk=history.accepted_referral).reason == REASON
    assert not AuditEntry.objects.filter(action="subject.erase").exists()


def test_erasure_is_refused_while_the_case_is_open(flow, personas):
    history = case_with_history(flow, close=False)

    response = _erase(personas, history.case_id)

    assert response.status_code == 409
    assert Subject.objects.filter(case_id=history.case_id).exists()


def test_erasing_twice_is_a_conflict_and_records_one_erasure(flow, personas):
    history = case_with_history(flow)
    assert _erase(personas, history.case_id).status_code == 200

    assert _erase(personas, history.case_id).status_code == 409
    assert AuditEntry.objects.filter(action="subject.erase").count() == 1


@pytest.mark.parametrize(
    "persona, expected",
    [("caseworker", 403), ("coordinator", 403), ("org_admin", 403), ("partner_system", 403), ("anonymous", 401)],
)
def test_only_the_auditor_exports_or_erases(flow, personas, persona, expected):
    history = case_with_history(flow)

    assert _export(personas, history.case_id, persona).status_code == expected
    assert _erase(personas, history.case_id, persona).status_code == expected
    assert Subject.objects.filter(case_id=history.case_id).exists()
    assert not AuditEntry.objects.filter(action__in=["subject.export", "subject.erase"]).exists()


def test_exporting_an_unknown_case_is_not_found(personas):
    response = _export(personas, "00000000-0000-4000-8000-000000000000")
    assert response.status_code == 404


def _history_with_an_unsent_draft(flow):
    """The case history, plus a draft to streetwork-be that is never sent (withdrawn on close)."""
    from partners.choices import OrganisationKind
    from tests.support.personas import make_organisation

    flow.orgs["streetwork-be"] = make_organisation("streetwork-be", OrganisationKind.CARE_PROVIDER)
    history = case_with_history(flow, close=False)
    draft = flow.draft(history.case_id, recipient="streetwork-be")
    response = flow.p["caseworker"].client.post(
        f"/api/v1/cases/{history.case_id}/close/", {"outcome": "safe_and_supported"}, format="json"
    )
    assert response.status_code == 200, response.json()
    return history, draft


def test_erasure_tells_every_organisation_that_ever_held_the_case_to_forget_it(flow, personas, orgs):
    """hotline-be (lead), shelter-be (its involvement ended on close) and care-nl (sent referrals,
    one declined) get ``case.erased``; streetwork-be, which only had an unsent draft, does not."""
    from coalition.events.models import Event, EventAudience

    history, _draft = _history_with_an_unsent_draft(flow)
    assert _erase(personas, history.case_id).status_code == 200

    event = Event.objects.get(type="case.erased")
    told = {str(orgs[slug].id) for slug in ("hotline-be", "shelter-be", "care-nl")}
    assert set(event.organisations) == told
    assert {str(o) for o in EventAudience.objects.filter(event=event).values_list("organisation_id", flat=True)} == told
    assert str(event.case) == history.case_id and event.referral is None and event.data == {}
    for persona in ("partner_system", "recipient_caseworker", "outsider_caseworker"):
        feed = personas[persona].client.get("/api/v1/events/", {"after": "0", "limit": 500}).json()["results"]
        [item] = [e for e in feed if e["type"] == "case.erased"]
        assert item["case"] == history.case_id
        assert holds_no_personal_data(str(item))


def test_a_refused_erasure_tells_nobody(flow, personas):
    from coalition.events.models import Event

    history = case_with_history(flow, close=False)
    assert _erase(personas, history.case_id).status_code == 409
    assert not Event.objects.filter(type="case.erased").exists()
