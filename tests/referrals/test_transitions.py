"""Every action of the referral lifecycle from every status (api_docs/concepts.md, "The referral lifecycle").

The table: legal pairs succeed for the party named by the design (the sender
sends, changes its draft and withdraws; the recipient acknowledges, accepts,
declines and completes); illegal pairs are 409 and leave status and version as
they were. The wrong party is refused as a business rule (422); an organisation
that cannot see the referral gets 404.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partners.choices import MembershipStatus
from referrals.models import Involvement, Referral

ALL_STATUSES = ["draft", "sent", "acknowledged", "accepted", "declined", "withdrawn", "completed"]

# action -> (party that may do it, statuses it is legal from, status it leads to, body)
ACTIONS = {
    "send": ("caseworker", {"draft"}, "sent", None),
    "update": ("caseworker", {"draft"}, "draft", {"urgency": "immediate"}),
    "withdraw": ("caseworker", {"draft", "sent", "acknowledged"}, "withdrawn", None),
    "acknowledge": ("recipient_caseworker", {"sent"}, "acknowledged", None),
    "accept": ("recipient_caseworker", {"sent", "acknowledged"}, "accepted", None),
    "decline": (
        "recipient_caseworker",
        {"sent", "acknowledged"},
        "declined",
        {"reason_code": "no_capacity", "reason": "No bed free this week."},
    ),
    "complete": ("recipient_caseworker", {"accepted"}, "completed", {"outcome_code": "service_delivered"}),
}

# How to reach each status through the API, from a sent referral.
PATH_FROM_SENT = {
    "sent": [],
    "acknowledged": [("acknowledge", None)],
    "accepted": [("acknowledge", None), ("accept", None)],
    "declined": [("decline", {"reason_code": "out_of_scope", "reason": "Not what we do."})],
    "withdrawn": [("withdraw", None)],
    "completed": [("accept", None), ("complete", {"outcome_code": "partially_delivered"})],
}
ACTOR_OF = {
    "acknowledge": "recipient_caseworker",
    "accept": "recipient_caseworker",
    "decline": "recipient_caseworker",
    "complete": "recipient_caseworker",
    "withdraw": "caseworker",
}


def referral_in(flow, status: str, **extra) -> dict:
    """A referral of hotline-be to shelter-be (under a consent) brought to ``status``."""
    if status == "draft":
        case = flow.open_case()
        consent = flow.consent(case["id"])
        return flow.draft(case["id"], consent=consent["id"], **extra)
    _case, referral = flow.sent_referral(**extra)
    for action, body in PATH_FROM_SENT[status]:
        response = flow.act(referral["id"], action, ACTOR_OF[action], body)
        assert response.status_code == 200, response.json()
        referral = response.json()
    assert referral["status"] == status
    return referral


def perform(flow, action: str, referral_id: str, persona: str, body=None, **headers):
    if action == "update":
        return flow.p[persona].client.patch(f"/api/v1/referrals/{referral_id}/", body or {}, format="json", **headers)
    return flow.act(referral_id, action, persona, body, **headers)


def stored(referral_id):
    return Referral.objects.values("status", "version").get(pk=referral_id)


LEGAL = [(action, status) for action, (_p, legal, _t, _b) in ACTIONS.items() for status in sorted(legal)]
ILLEGAL = [
    (action, status)
    for action, (_p, legal, _t, _b) in ACTIONS.items()
    for status in ALL_STATUSES
    if status not in legal
]


@pytest.mark.parametrize(("action", "from_status"), LEGAL)
def test_legal_transition_succeeds_for_its_party_and_bumps_the_version(flow, action, from_status):
    party, _legal, to_status, body = ACTIONS[action]
    referral = referral_in(flow, from_status)
    before = stored(referral["id"])

    response = perform(flow, action, referral["id"], party, body)

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == to_status
    after = stored(referral["id"])
    assert after == {"status": to_status, "version": before["version"] + 1}
    assert response["ETag"] == f'"{after["version"]}"'
    if action != "update":
        assert response.json()[f"{to_status}_at"] is not None


@pytest.mark.parametrize(("action", "from_status"), ILLEGAL)
def test_illegal_transition_is_refused_and_changes_nothing(flow, action, from_status):
    party, _legal, _to, body = ACTIONS[action]
    referral = referral_in(flow, from_status)
    before = stored(referral["id"])

    response = perform(flow, action, referral["id"], party, body)

    if from_status == "draft" and party == "recipient_caseworker":
        # A draft is the sender's alone: the recipient cannot even see it.
        assert response.status_code == 404
    else:
        assert response.status_code == 409, response.json()
        assert response.json()["type"] == "urn:coalition:problem:conflict"
    assert response["Content-Type"] == "application/problem+json"
    assert stored(referral["id"]) == before


WRONG_PARTY = [
    ("accept", "sent", "caseworker"),
    ("acknowledge", "sent", "caseworker"),
    ("decline", "acknowledged", "caseworker"),
    ("complete", "accepted", "caseworker"),
    ("withdraw", "sent", "recipient_caseworker"),
    ("withdraw", "acknowledged", "recipient_caseworker"),
    ("update", "sent", "recipient_caseworker"),
    ("send", "sent", "recipient_caseworker"),
]


@pytest.mark.parametrize(("action", "from_status", "wrong_party"), WRONG_PARTY)
def test_the_other_party_cannot_take_an_action_that_is_not_its_own(flow, action, from_status, wrong_party):
    body = ACTIONS[action][3]
    referral = referral_in(flow, from_status)
    before = stored(referral["id"])

    response = perform(flow, action, referral["id"], wrong_party, body)

    assert response.status_code == 422, response.json()
    assert response.json()["type"] == "urn:coalition:problem:business-rule"
    assert stored(referral["id"]) == before


@pytest.mark.parametrize("action", ["send", "update", "withdraw"])
def test_recipient_cannot_reach_a_draft_at_all(flow, action):
    referral = referral_in(flow, "draft")
    response = perform(flow, action, referral["id"], "recipient_caseworker", ACTIONS[action][3])
    assert response.status_code == 404
    assert stored(referral["id"])["status"] == "draft"


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_an_unrelated_organisation_gets_404_on_every_action(flow, action):
    referral = referral_in(flow, "accepted" if action == "complete" else "sent")
    before = stored(referral["id"])
    response = perform(flow, action, referral["id"], "outsider_caseworker", ACTIONS[action][3])
    assert response.status_code == 404
    assert stored(referral["id"]) == before


@pytest.mark.parametrize("persona", ["coordinator", "auditor", "org_admin"])
def test_people_without_the_caseworker_role_cannot_act_on_referrals(flow, persona):
    referral = referral_in(flow, "sent")
    response = perform(flow, "accept", referral["id"], persona)
    assert response.status_code == 403
    assert stored(referral["id"])["status"] == "sent"


def test_the_sender_partner_system_sends_with_its_api_key(flow):
    referral = referral_in(flow, "draft")
    response = perform(flow, "send", referral["id"], "partner_system")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "sent"


def test_a_draft_withdrawn_before_sending_stays_invisible_to_the_recipient(flow, personas):
    referral = referral_in(flow, "draft")
    assert perform(flow, "withdraw", referral["id"], "caseworker").status_code == 200

    recipient = personas["recipient_caseworker"].client
    assert recipient.get(f"/api/v1/referrals/{referral['id']}/").status_code == 404
    listed = recipient.get("/api/v1/referrals/").json()["results"]
    assert referral["id"] not in [r["id"] for r in listed]
    coordinator_list = personas["coordinator"].client.get("/api/v1/referrals/").json()["results"]
    assert referral["id"] not in [r["id"] for r in coordinator_list]


def test_accepting_a_service_referral_involves_the_recipient_once(flow, orgs):
    referral = referral_in(flow, "accepted")
    involvement = Involvement.objects.get(
        case_id=referral["case"], organisation=orgs["shelter-be"], ended_at__isnull=True
    )
    assert involvement.role == "supporting"
    assert str(involvement.referral_id) == referral["id"]


# --- bodies the recipient must give ------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"reason_code": "no_capacity"},
        {"reason": "We are full."},
        {"reason_code": "no_capacity", "reason": ""},
        {"reason_code": "too_busy", "reason": "We are full."},
    ],
    ids=["nothing", "no-reason", "no-code", "blank-reason", "unknown-code"],
)
def test_declining_needs_a_reason_code_and_a_reason(flow, body):
    referral = referral_in(flow, "acknowledged")
    before = stored(referral["id"])
    response = perform(flow, "decline", referral["id"], "recipient_caseworker", body)
    assert response.status_code == 400
    assert response.json()["type"] == "urn:coalition:problem:validation-error"
    assert stored(referral["id"]) == before


def test_declining_records_the_code_and_shows_the_reason_to_the_sender(flow, personas):
    referral = referral_in(flow, "sent")
    perform(flow, "decline", referral["id"], "recipient_caseworker", ACTIONS["decline"][3])
    seen = personas["caseworker"].client.get(f"/api/v1/referrals/{referral['id']}/").json()
    assert seen["decline_reason_code"] == "no_capacity"
    assert seen["decline_reason"] == "No bed free this week."


@pytest.mark.parametrize(
    "body", [{}, {"outcome_code": ""}, {"outcome_code": "done"}], ids=["nothing", "blank", "unknown"]
)
def test_completing_needs_an_outcome_code(flow, body):
    referral = referral_in(flow, "accepted")
    before = stored(referral["id"])
    response = perform(flow, "complete", referral["id"], "recipient_caseworker", body)
    assert response.status_code == 400
    assert stored(referral["id"]) == before


# --- who can receive ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"membership_status": MembershipStatus.SUSPENDED},
        {"membership_status": MembershipStatus.LEFT},
        {"accepting_referrals": False},
    ],
    ids=["suspended", "left", "not-accepting"],
)
def test_sending_to_an_organisation_that_cannot_receive_is_422(flow, orgs, change):
    referral = referral_in(flow, "draft")
    type(orgs["shelter-be"]).objects.filter(pk=orgs["shelter-be"].pk).update(**change)
    response = perform(flow, "send", referral["id"], "caseworker")
    assert response.status_code == 422
    assert stored(referral["id"])["status"] == "draft"


def test_sending_to_the_coordination_is_422(flow):
    referral = referral_in(flow, "draft", recipient="coordination")
    response = perform(flow, "send", referral["id"], "caseworker")
    assert response.status_code == 422
    assert stored(referral["id"])["status"] == "draft"


def test_referring_to_your_own_organisation_is_422(flow, personas):
    case = flow.open_case()
    body = {
        "case": case["id"],
        "recipient": str(flow.orgs["hotline-be"].id),
        "kind": "service",
        "phenomenon": "teen_pimp",
        "urgency": "normal",
        "requested_service": "counselling",
    }
    response = personas["caseworker"].client.post("/api/v1/referrals/", body, format="json")
    assert response.status_code == 422
    assert not Referral.objects.filter(case_id=case["id"]).exists()


def test_changing_a_draft_to_point_at_yourself_is_422(flow, orgs):
    referral = referral_in(flow, "draft")
    response = perform(flow, "update", referral["id"], "caseworker", {"recipient": str(orgs["hotline-be"].id)})
    assert response.status_code == 422
    assert Referral.objects.get(pk=referral["id"]).recipient == orgs["shelter-be"]


def test_sending_a_service_referral_to_an_organisation_already_involved_is_422(flow):
    accepted = referral_in(flow, "accepted")
    consent = flow.consent(accepted["case"])
    again = flow.draft(accepted["case"], consent=consent["id"])
    response = perform(flow, "send", again["id"], "caseworker")
    assert response.status_code == 422
    assert stored(again["id"])["status"] == "draft"


# --- transfers -----------------------------------------------------------------------------


def test_a_supporting_organisation_cannot_transfer_the_case(flow, orgs):
    accepted = referral_in(flow, "accepted")  # shelter-be now supports hotline-be's case
    consent = flow.consent(accepted["case"], persona="recipient_caseworker")
    body = {
        "case": accepted["case"],
        "recipient": str(orgs["care-nl"].id),
        "kind": "transfer",
        "phenomenon": "teen_pimp",
        "urgency": "normal",
        "requested_service": "case_management",
        "consent": consent["id"],
    }
    response = flow.p["recipient_caseworker"].client.post("/api/v1/referrals/", body, format="json")
    assert response.status_code == 422
    # Nor by turning a service draft into a transfer.
    service = dict(body, kind="service")
    draft = flow.p["recipient_caseworker"].client.post("/api/v1/referrals/", service, format="json")
    assert draft.status_code == 201, draft.json()
    patched = perform(flow, "update", draft.json()["id"], "recipient_caseworker", {"kind": "transfer"})
    assert patched.status_code == 422
    assert Referral.objects.get(pk=draft.json()["id"]).kind == "service"


def test_a_transfer_drafted_by_a_lead_that_lost_the_lead_cannot_be_sent(flow, orgs):
    case = flow.open_case()
    consent = flow.consent(case["id"])
    first = flow.draft(case["id"], kind="transfer", consent=consent["id"])
    second = flow.draft(case["id"], recipient="care-nl", kind="transfer", consent=consent["id"])
    assert perform(flow, "send", first["id"], "caseworker").status_code == 200
    assert perform(flow, "accept", first["id"], "recipient_caseworker").status_code == 200

    # hotline-be is no longer involved at all: its draft was withdrawn and cannot go out.
    assert stored(second["id"])["status"] == "withdrawn"
    response = perform(flow, "send", second["id"], "caseworker")
    assert response.status_code == 409
    assert stored(second["id"])["status"] == "withdrawn"


def test_accepting_a_transfer_withdraws_the_old_leads_other_pending_transfers(flow, orgs):
    case = flow.open_case()
    consent = flow.consent(case["id"])
    first = flow.draft(case["id"], kind="transfer", consent=consent["id"])
    second = flow.draft(case["id"], recipient="care-nl", kind="transfer", consent=consent["id"])
    assert perform(flow, "send", first["id"], "caseworker").status_code == 200
    assert perform(flow, "send", second["id"], "caseworker").status_code == 200

    assert perform(flow, "accept", first["id"], "recipient_caseworker").status_code == 200

    assert stored(second["id"])["status"] == "withdrawn"
    late = perform(flow, "accept", second["id"], "outsider_caseworker")
    assert late.status_code == 409
    assert (
        Involvement.objects.filter(case_id=case["id"], role="lead", ended_at__isnull=True).get().organisation
        == orgs["shelter-be"]
    )


# --- re-routing ------------------------------------------------------------------------------


def test_after_a_decline_the_sender_reroutes_to_another_organisation(flow, orgs, personas):
    declined = referral_in(flow, "declined")
    consent = flow.consent(declined["case"])
    reroute = flow.draft(declined["case"], recipient="care-nl", consent=consent["id"], rerouted_from=declined["id"])
    assert reroute["rerouted_from"] == declined["id"]
    sent = perform(flow, "send", reroute["id"], "caseworker")
    assert sent.status_code == 200
    seen = personas["outsider_caseworker"].client.get(f"/api/v1/referrals/{reroute['id']}/").json()
    assert seen["rerouted_from"] == declined["id"]
    assert Referral.objects.get(pk=declined["id"]).reroutes.get().recipient == orgs["care-nl"]


@pytest.mark.parametrize("status", ["draft", "sent", "acknowledged", "accepted", "withdrawn", "completed"])
def test_rerouting_a_referral_that_was_not_declined_is_422(flow, personas, status):
    original = referral_in(flow, status)
    body = {
        "case": original["case"],
        "recipient": str(flow.orgs["care-nl"].id),
        "kind": "service",
        "phenomenon": "teen_pimp",
        "urgency": "normal",
        "requested_service": "counselling",
        "rerouted_from": original["id"],
    }
    count = Referral.objects.count()
    response = personas["caseworker"].client.post("/api/v1/referrals/", body, format="json")
    assert response.status_code == 422, response.json()
    assert Referral.objects.count() == count


def test_rerouting_a_declined_referral_of_another_case_is_422(flow, personas):
    declined = referral_in(flow, "declined")
    other_case = flow.open_case()
    body = {
        "case": other_case["id"],
        "recipient": str(flow.orgs["care-nl"].id),
        "kind": "service",
        "phenomenon": "teen_pimp",
        "urgency": "normal",
        "requested_service": "counselling",
        "rerouted_from": declined["id"],
    }
    response = personas["caseworker"].client.post("/api/v1/referrals/", body, format="json")
    assert response.status_code == 422


def test_a_draft_cannot_be_changed_to_reroute_a_referral_that_was_not_declined(flow):
    sent = referral_in(flow, "sent")
    draft = flow.draft(sent["case"], recipient="care-nl")
    response = perform(flow, "update", draft["id"], "caseworker", {"rerouted_from": sent["id"]})
    assert response.status_code == 422
    assert Referral.objects.get(pk=draft["id"]).rerouted_from_id is None


def test_rerouting_an_unknown_referral_is_400(flow, personas):
    case = flow.open_case()
    body = {
        "case": case["id"],
        "recipient": str(flow.orgs["care-nl"].id),
        "kind": "service",
        "phenomenon": "teen_pimp",
        "urgency": "normal",
        "requested_service": "counselling",
        "rerouted_from": "00000000-0000-4000-8000-000000000000",
    }
    response = personas["caseworker"].client.post("/api/v1/referrals/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["pointer"] == "#/rerouted_from"


def test_a_transition_locks_the_referral_row(flow):
    if connection.vendor != "postgresql":
        pytest.skip("SELECT ... FOR UPDATE is a no-op on SQLite")
    referral = referral_in(flow, "sent")
    with CaptureQueriesContext(connection) as queries:
        assert perform(flow, "acknowledge", referral["id"], "recipient_caseworker").status_code == 200
    assert any("FOR UPDATE" in q["sql"] and '"referrals_referral"' in q["sql"] for q in queries.captured_queries)
