"""A referral's whole life, and the rules each transition enforces."""

from referrals.models import Case, Involvement
from tests.support.flows import CHILD


def test_service_referral_goes_from_draft_to_completed_and_involves_the_recipient_meanwhile(flow, personas, orgs):
    case, referral = flow.sent_referral()
    assert referral["status"] == "sent"
    assert referral["acknowledge_due"] and referral["decide_due"]
    shelter = personas["recipient_caseworker"]

    assert shelter.client.get(f"/api/v1/cases/{case['id']}/").status_code == 404
    assert flow.act(referral["id"], "acknowledge", "recipient_caseworker").json()["status"] == "acknowledged"
    accepted = flow.act(referral["id"], "accept", "recipient_caseworker")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"

    seen = shelter.client.get(f"/api/v1/cases/{case['id']}/").json()
    assert seen["subject"]["given_name"] == CHILD["given_name"]
    assert seen["lead_organisation"] == str(orgs["hotline-be"].id)

    completed = flow.act(referral["id"], "complete", "recipient_caseworker", {"outcome_code": "service_delivered"})
    assert completed.json()["status"] == "completed"
    after = shelter.client.get(f"/api/v1/cases/{case['id']}/").json()
    assert after["subject"] is None


def test_transfer_moves_the_lead_and_the_timeline_records_it(flow, personas, orgs):
    case, referral = flow.sent_referral(kind="transfer")
    assert flow.act(referral["id"], "accept", "recipient_caseworker").status_code == 200
    assert Case.objects.get(pk=case["id"]).lead_organisation == orgs["shelter-be"]
    timeline = personas["recipient_caseworker"].client.get(f"/api/v1/cases/{case['id']}/timeline/").json()
    assert [c["organisation"] for c in timeline["custody"]] == [str(orgs["hotline-be"].id), str(orgs["shelter-be"].id)]
    assert timeline["custody"][1]["referral"] == referral["id"]
    assert Involvement.objects.filter(case_id=case["id"], role="lead", ended_at__isnull=True).count() == 1
    # The old lead's involvement ended: it keeps metadata, not identity.
    assert personas["caseworker"].client.get(f"/api/v1/cases/{case['id']}/").json()["subject"] is None


def test_sending_without_consent_or_legal_basis_is_422(flow):
    case = flow.open_case()
    referral = flow.draft(case["id"])
    response = flow.act(referral["id"], "send", "caseworker")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"


def test_legal_basis_exception_sends_at_once_and_lands_in_the_review_queue(flow, personas):
    case = flow.open_case()
    referral = flow.draft(
        case["id"], legal_basis={"basis": "vital_interest", "justification": "Imminent danger tonight, pimp has located her."}
    )
    assert flow.act(referral["id"], "send", "caseworker").status_code == 200
    queue = personas["coordinator"].client.get("/api/v1/oversight/exceptions/").json()["results"]
    assert [e["referral"] for e in queue] == [referral["id"]]
    reviewed = personas["coordinator"].client.post(
        f"/api/v1/oversight/exceptions/{queue[0]['id']}/review/", {"decision": "approved", "note": "Justified."}, format="json"
    )
    assert reviewed.status_code == 200 and reviewed.json()["review_status"] == "approved"


def test_illegal_transition_is_409(flow):
    _case, referral = flow.sent_referral()
    response = flow.act(referral["id"], "complete", "recipient_caseworker", {"outcome_code": "service_delivered"})
    assert response.status_code == 409


def test_stale_if_match_is_412_and_changes_nothing(flow):
    _case, referral = flow.sent_referral()
    response = flow.act(referral["id"], "acknowledge", "recipient_caseworker", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    current = flow.p["recipient_caseworker"].client.get(f"/api/v1/referrals/{referral['id']}/")
    assert current.json()["status"] == "sent"
    ok = flow.act(referral["id"], "acknowledge", "recipient_caseworker", HTTP_IF_MATCH=current["ETag"])
    assert ok.status_code == 200


def test_idempotency_key_replays_the_first_response(flow, personas):
    client = personas["caseworker"].client
    body = {"subject": CHILD, "phenomena": ["grooming"]}
    first = client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="open-case-1")
    second = client.post("/api/v1/cases/", body, format="json", HTTP_IDEMPOTENCY_KEY="open-case-1")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second["Idempotent-Replayed"] == "true"
    other = client.post("/api/v1/cases/", body | {"phenomena": ["sexting"]}, format="json", HTTP_IDEMPOTENCY_KEY="open-case-1")
    assert other.status_code == 422
    assert Case.objects.count() == 1


def test_list_filters_do_not_turn_an_existing_referral_into_a_404(flow):
    _case, referral = flow.sent_referral()
    client = flow.p["caseworker"].client
    response = client.get(f"/api/v1/referrals/{referral['id']}/", {"direction": "incoming", "status": "declined"})
    assert response.status_code == 200
    assert response.json()["id"] == referral["id"]
