"""Every answer that shows a young person's identity is audited, whatever the route (issue #11, items 4 and 6).

api_docs/security.md, control "identity reads audited whatever the route": each response that carries
a subject leaves exactly one ``subject.read`` entry per subject it shows (a page: one per
case shown), and a response without a subject leaves none. Before issue #11 only the
retrieve and list routes of cases audited; PATCH, close, reopen and create answered the
subject without an entry.

Item 4: an API key without ``referrals:read`` reads nothing: no subject and no free text
in any answer, on any write route (before, ``PATCH /cases/{id}/ {}`` returned the subject).
"""

from __future__ import annotations

import pytest

from coalition.audit.models import AuditEntry
from tests.support.flows import CHILD
from tests.support.personas import Persona, approved_api_key

CASE_BODY = {"subject": CHILD, "phenomena": ["grooming"], "region": "BE-VLG"}


def reads_of(response) -> list[str]:
    """The case ids of the ``subject.read`` entries this response left."""
    entries = AuditEntry.objects.filter(request_id=response["X-Request-ID"], action="subject.read")
    return sorted(str(entry.case) for entry in entries)


def shows_subject(response) -> bool:
    return response.json().get("subject") is not None


# --- every case-bearing route ---------------------------------------------------------------------------


def test_opening_a_case_answers_its_subject_and_audits_the_read(personas):
    response = personas["caseworker"].client.post("/api/v1/cases/", CASE_BODY, format="json")
    assert response.status_code == 201 and shows_subject(response)
    assert reads_of(response) == [response.json()["id"]]


def test_updating_a_case_audits_the_subject_in_its_answer(flow, personas):
    case = flow.open_case()
    response = personas["caseworker"].client.patch(f"/api/v1/cases/{case['id']}/", {}, format="json")
    assert response.status_code == 200 and shows_subject(response)
    assert reads_of(response) == [case["id"]]


def test_closing_and_reopening_audit_the_subject_in_their_answers(flow, personas):
    case = flow.open_case()
    client = personas["caseworker"].client
    closed = client.post(f"/api/v1/cases/{case['id']}/close/", {"outcome": "safe_and_supported"}, format="json")
    assert closed.status_code == 200 and shows_subject(closed), closed.json()
    assert reads_of(closed) == [case["id"]]
    reopened = client.post(f"/api/v1/cases/{case['id']}/reopen/", {}, format="json")
    assert reopened.status_code == 200 and shows_subject(reopened)
    assert reads_of(reopened) == [case["id"]]


def test_retrieve_and_list_audit_one_entry_per_subject_shown(flow, personas):
    ids = sorted(flow.open_case()["id"] for _ in range(3))
    client = personas["caseworker"].client
    detail = client.get(f"/api/v1/cases/{ids[0]}/")
    assert shows_subject(detail) and reads_of(detail) == [ids[0]]
    listing = client.get("/api/v1/cases/")
    assert all(case["subject"] for case in listing.json()["results"])
    assert reads_of(listing) == ids


@pytest.mark.parametrize("route", ["create", "close", "reopen"])
def test_an_idempotent_replay_that_shows_the_subject_is_audited_again(route, flow, personas):
    client = personas["caseworker"].client
    if route == "create":
        path, body = "/api/v1/cases/", CASE_BODY
    else:
        case = flow.open_case()
        if route == "reopen":
            client.post(f"/api/v1/cases/{case['id']}/close/", {"outcome": "safe_and_supported"}, format="json")
        path, body = f"/api/v1/cases/{case['id']}/{route}/", ({"outcome": "safe_and_supported"} if route == "close" else {})
    first = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=f"replay-{route}")
    replay = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=f"replay-{route}")
    assert replay["Idempotent-Replayed"] == "true"
    assert shows_subject(replay)
    assert reads_of(first) == reads_of(replay) == [first.json()["id"]]


# --- answers without a subject ----------------------------------------------------------------------


def test_answers_without_a_subject_leave_no_identity_read(flow, personas):
    case, referral = flow.sent_referral()
    coordinator = personas["coordinator"].client
    caseworker = personas["caseworker"].client
    responses = [
        coordinator.get(f"/api/v1/cases/{case['id']}/"),
        coordinator.get("/api/v1/cases/"),
        caseworker.get(f"/api/v1/cases/{case['id']}/timeline/"),
        caseworker.get(f"/api/v1/cases/{case['id']}/consents/"),
        caseworker.get(f"/api/v1/referrals/{referral['id']}/"),
        caseworker.get("/api/v1/referrals/"),
    ]
    assert all(response.status_code == 200 for response in responses)
    assert [reads_of(response) for response in responses] == [[]] * len(responses)
    assert coordinator.get(f"/api/v1/cases/{case['id']}/").json()["subject"] is None


# --- item 4: an API key without referrals:read reads nothing --------------------------------------------


@pytest.fixture
def write_only_system(personas, orgs):
    """hotline-be's second case system: an API key with ``referrals:write`` only."""
    key = approved_api_key(
        actor=personas["org_admin"].user, approver=personas["coordinator"].user, name="Hotline intake",
        scopes=["referrals:write"],
    )
    return Persona("write_only_system", raw_api_key=key.raw_key, organisation=orgs["hotline-be"])


def test_a_write_only_key_gets_no_subject_and_no_free_text_from_any_write(flow, personas, write_only_system):
    client = write_only_system.client
    opened = client.post("/api/v1/cases/", CASE_BODY, format="json")
    assert opened.status_code == 201
    case_id = opened.json()["id"]
    answers = [
        opened,
        client.patch(f"/api/v1/cases/{case_id}/", {}, format="json"),
        client.post(f"/api/v1/cases/{case_id}/close/", {"outcome": "safe_and_supported"}, format="json"),
        client.post(f"/api/v1/cases/{case_id}/reopen/", {}, format="json"),
        client.post("/api/v1/cases/", CASE_BODY, format="json", HTTP_IDEMPOTENCY_KEY="wo-1"),
        client.post("/api/v1/cases/", CASE_BODY, format="json", HTTP_IDEMPOTENCY_KEY="wo-1"),  # replay
    ]
    consent = client.post(
        f"/api/v1/cases/{case_id}/consents/",
        {"given_by": "young_person", "method": "written", "purposes": ["care_referral"]}, format="json",
    )
    assert consent.status_code == 201
    drafted = client.post(
        "/api/v1/referrals/", flow.referral_body(case_id, consent=consent.json()["id"], reason="Needs a bed tonight."),
        format="json",
    )
    referral_id = drafted.json()["id"]
    answers += [
        drafted,
        client.patch(f"/api/v1/referrals/{referral_id}/", {"reason": "Needs a bed tomorrow."}, format="json"),
        client.post(f"/api/v1/referrals/{referral_id}/send/", {}, format="json"),
    ]
    assert [a.status_code for a in answers] == [201, 200, 200, 200, 201, 201, 201, 200, 200]
    for answer in answers:
        body = answer.json()
        assert body.get("subject") is None, answer.wsgi_request.path
        assert body.get("reason") is None and body.get("decline_reason") is None, answer.wsgi_request.path
        assert CHILD["given_name"] not in answer.content.decode()
        assert reads_of(answer) == []
    # The writes did happen, and the organisation's own reader sees them in full.
    full = personas["partner_system"].client.get(f"/api/v1/referrals/{referral_id}/").json()
    assert (full["status"], full["reason"]) == ("sent", "Needs a bed tomorrow.")
    assert personas["partner_system"].client.get(f"/api/v1/cases/{case_id}/").json()["subject"]["given_name"] == (
        CHILD["given_name"]
    )
