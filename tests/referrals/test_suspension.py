"""Suspension means something (issue #11, item 9; README "Suspension").

A suspended member reads its own open cases (and the referrals about them) and may
transfer them out: draft, change, send and withdraw a transfer; withdraw its own
referrals and consents. Everything else is refused (422): new cases, changes,
closing, consents, service referrals, acknowledging, accepting, declining,
completing, messages, API keys. Closed and past cases are hidden while suspended.
"""

from __future__ import annotations

import pytest

from partners.choices import MembershipStatus
from partners.models import ApiKey, Organisation
from referrals.models import Case, Consent, Referral

SUSPENDED_DETAIL = "Your organisation is suspended"


def act(flow, referral_id, action, persona, body=None):
    return flow.act(referral_id, action, persona, body)


def sent(flow, case_id, recipient, persona="caseworker", **extra) -> dict:
    draft = flow.draft(case_id, recipient=recipient, persona=persona, **extra)
    response = act(flow, draft["id"], "send", persona)
    assert response.status_code == 200, response.json()
    return response.json()


@pytest.fixture
def world(flow, orgs):
    """hotline-be's cases and referrals in every position, then hotline-be is suspended."""
    w = {}
    w["open"] = flow.open_case()["id"]
    w["consent"] = flow.consent(w["open"])["id"]
    w["pending_service"] = sent(flow, w["open"], "shelter-be", consent=w["consent"])["id"]
    w["service_draft"] = flow.draft(w["open"], recipient="care-nl", consent=w["consent"])["id"]
    w["transfer_draft"] = flow.draft(w["open"], recipient="care-nl", kind="transfer", consent=w["consent"])["id"]
    closed = flow.open_case()["id"]
    response = flow.p["caseworker"].client.post(f"/api/v1/cases/{closed}/close/", {"outcome": "refused_help"}, format="json")
    assert response.status_code == 200
    w["closed"] = closed
    # shelter-be's case, which hotline-be supports and is offered the lead of.
    w["supported"] = flow.open_case(persona="recipient_caseworker")["id"]
    shelter_consent = flow.consent(w["supported"], persona="recipient_caseworker")["id"]
    w["support"] = sent(flow, w["supported"], "hotline-be", persona="recipient_caseworker", consent=shelter_consent)["id"]
    assert act(flow, w["support"], "accept", "caseworker").status_code == 200
    w["incoming_transfer"] = sent(
        flow, w["supported"], "hotline-be", persona="recipient_caseworker", kind="transfer", consent=shelter_consent
    )["id"]
    # shelter-be's other case, offered to hotline-be: hotline-be is not involved in it.
    other = flow.open_case(persona="recipient_caseworker")["id"]
    other_consent = flow.consent(other, persona="recipient_caseworker")["id"]
    w["incoming_unrelated"] = sent(flow, other, "hotline-be", persona="recipient_caseworker", consent=other_consent)["id"]
    Organisation.objects.filter(pk=orgs["hotline-be"].pk).update(membership_status=MembershipStatus.SUSPENDED)
    return w


def assert_refused(response):
    assert response.status_code == 422, response.content
    assert SUSPENDED_DETAIL in response.json()["detail"]


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- reading: its open cases only ------------------------------------------------------------


def test_a_suspended_member_reads_only_its_open_cases(flow, world):
    client = flow.p["caseworker"].client
    assert ids(client.get("/api/v1/cases/")) == {world["open"], world["supported"]}
    detail = client.get(f"/api/v1/cases/{world['open']}/")
    assert detail.status_code == 200 and detail.json()["subject"]["given_name"]
    assert client.get(f"/api/v1/cases/{world['closed']}/").status_code == 404
    assert client.get(f"/api/v1/cases/{world['open']}/timeline/").status_code == 200
    assert client.get(f"/api/v1/cases/{world['open']}/consents/").status_code == 200


def test_a_suspended_member_reads_the_referrals_about_its_open_cases_only(flow, world):
    client = flow.p["caseworker"].client
    assert ids(client.get("/api/v1/referrals/")) == {
        world["pending_service"], world["service_draft"], world["transfer_draft"], world["support"],
        world["incoming_transfer"],
    }
    assert client.get(f"/api/v1/referrals/{world['incoming_unrelated']}/").status_code == 404
    assert client.get(f"/api/v1/referrals/{world['pending_service']}/messages/").status_code == 200


def test_readmission_shows_closed_cases_again(flow, world, orgs):
    Organisation.objects.filter(pk=orgs["hotline-be"].pk).update(membership_status=MembershipStatus.ACTIVE)
    client = flow.p["caseworker"].client
    assert world["closed"] in ids(client.get("/api/v1/cases/"))
    assert client.get(f"/api/v1/referrals/{world['incoming_unrelated']}/").status_code == 200


# --- allowed: transferring out -----------------------------------------------------------------


def test_a_suspended_member_drafts_changes_and_sends_a_transfer_which_the_recipient_accepts(flow, world, orgs):
    client = flow.p["caseworker"].client
    new = flow.draft(world["open"], recipient="care-nl", kind="transfer", consent=world["consent"])
    changed = client.patch(f"/api/v1/referrals/{new['id']}/", {"urgency": "immediate"}, format="json")
    assert changed.status_code == 200, changed.json()
    assert act(flow, new["id"], "send", "caseworker").status_code == 200

    assert act(flow, new["id"], "accept", "outsider_caseworker").status_code == 200

    assert Case.objects.get(pk=world["open"]).lead_organisation == orgs["care-nl"]
    # Handed over: hotline-be no longer sees it.
    assert world["open"] not in ids(client.get("/api/v1/cases/"))


def test_a_suspended_member_sends_a_transfer_drafted_before_the_suspension(flow, world):
    assert act(flow, world["transfer_draft"], "send", "caseworker").status_code == 200


def test_a_suspended_member_withdraws_its_referrals_and_consents(flow, world):
    assert act(flow, world["pending_service"], "withdraw", "caseworker").status_code == 200
    assert act(flow, world["transfer_draft"], "withdraw", "caseworker").status_code == 200
    response = flow.p["caseworker"].client.post(f"/api/v1/cases/{world['open']}/consents/{world['consent']}/withdraw/")
    assert response.status_code == 200
    assert Consent.objects.get(pk=world["consent"]).withdrawn_at is not None


# --- refused: everything else --------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["caseworker", "partner_system"])
def test_a_suspended_member_opens_no_case(flow, world, persona):
    before = Case.objects.count()
    body = {"subject": {"given_name": "Nova"}, "phenomena": ["teen_pimp"], "region": "BE-VLG"}
    assert_refused(flow.p[persona].client.post("/api/v1/cases/", body, format="json"))
    assert Case.objects.count() == before


def test_a_suspended_member_changes_or_closes_no_case(flow, world):
    client = flow.p["caseworker"].client
    assert_refused(client.patch(f"/api/v1/cases/{world['open']}/", {"region": "BE-BRU"}, format="json"))
    assert_refused(client.post(f"/api/v1/cases/{world['open']}/close/", {"outcome": "lost_contact"}, format="json"))
    case = Case.objects.get(pk=world["open"])
    assert case.status == "open" and case.region == "BE-VLG"
    # A closed case is out of sight, so it cannot be reopened either.
    assert client.post(f"/api/v1/cases/{world['closed']}/reopen/").status_code == 404


def test_a_suspended_member_records_no_consent(flow, world):
    before = Consent.objects.count()
    body = {"given_by": "young_person", "method": "written", "purposes": ["care_referral"]}
    assert_refused(flow.p["caseworker"].client.post(f"/api/v1/cases/{world['open']}/consents/", body, format="json"))
    assert Consent.objects.count() == before


def test_a_suspended_member_sends_no_service_referral(flow, world):
    client = flow.p["caseworker"].client
    before = Referral.objects.count()
    body = flow.referral_body(world["open"], recipient="care-nl", consent=world["consent"])
    assert_refused(client.post("/api/v1/referrals/", body, format="json"))
    assert Referral.objects.count() == before
    assert_refused(act(flow, world["service_draft"], "send", "caseworker"))
    assert Referral.objects.get(pk=world["service_draft"]).status == "draft"
    # Nor by turning a transfer draft into a service referral.
    assert_refused(client.patch(f"/api/v1/referrals/{world['transfer_draft']}/", {"kind": "service"}, format="json"))
    assert Referral.objects.get(pk=world["transfer_draft"]).kind == "transfer"


@pytest.mark.parametrize(
    ("action", "referral", "body"),
    [
        ("acknowledge", "incoming_transfer", None),
        ("accept", "incoming_transfer", None),
        ("decline", "incoming_transfer", {"reason_code": "no_capacity", "reason": "We are suspended."}),
        ("complete", "support", {"outcome_code": "service_delivered"}),
    ],
)
def test_a_suspended_member_answers_no_referral(flow, world, action, referral, body):
    before = Referral.objects.get(pk=world[referral]).status
    assert_refused(act(flow, world[referral], action, "caseworker", body))
    assert Referral.objects.get(pk=world[referral]).status == before


def test_a_suspended_member_posts_no_message(flow, world):
    response = flow.p["caseworker"].client.post(
        f"/api/v1/referrals/{world['pending_service']}/messages/", {"body": "Still there?"}, format="json"
    )
    assert_refused(response)


def test_a_suspended_member_creates_no_api_key(flow, world):
    before = ApiKey.objects.count()
    response = flow.p["org_admin"].client.post(
        "/api/v1/api-keys/", {"name": "Another system", "scopes": ["organisations:read"]}, format="json"
    )
    assert response.status_code == 422, response.content
    assert ApiKey.objects.count() == before
