"""A flagged legal-basis exception stops what relied on it (issue #11, item 8).

When a coordinator flags an exception: its referral, if still pending, is withdrawn
(with its ``referral.withdrawn`` event); it no longer counts as a legal basis for
accepting, nor for re-routing under a legal basis; the sender organisation is told
by an ``exception.flagged`` event (ids and codes only); the review is audited. A
pending or approved exception still counts.
"""

from __future__ import annotations

import json

import pytest

from coalition.audit.models import AuditEntry
from coalition.events.models import Event
from referrals.models import LegalBasisException, Referral

JUSTIFICATION = "Imminent danger tonight: the pimp has found the shelter address."
NOTE = "The danger described is not imminent enough."


def exception_referral(flow) -> dict:
    """A referral of hotline-be to shelter-be sent under a vital-interest exception."""
    case = flow.open_case()
    body = flow.referral_body(
        case["id"], urgency="immediate", legal_basis={"basis": "vital_interest", "justification": JUSTIFICATION}
    )
    draft = flow.p["caseworker"].client.post("/api/v1/referrals/", body, format="json")
    assert draft.status_code == 201, draft.json()
    sent = flow.act(draft.json()["id"], "send", "caseworker")
    assert sent.status_code == 200, sent.json()
    return sent.json()


def review(flow, referral, decision, note=NOTE):
    exception = LegalBasisException.objects.get(referral_id=referral["id"])
    return flow.p["coordinator"].client.post(
        f"/api/v1/oversight/exceptions/{exception.pk}/review/", {"decision": decision, "note": note}, format="json"
    )


def status_of(referral) -> str:
    return Referral.objects.get(pk=referral["id"]).status


@pytest.mark.parametrize("acknowledged", [False, True], ids=["sent", "acknowledged"])
def test_flagging_withdraws_the_pending_referral_so_it_cannot_be_accepted(flow, orgs, acknowledged):
    referral = exception_referral(flow)
    if acknowledged:
        assert flow.act(referral["id"], "acknowledge", "recipient_caseworker").status_code == 200

    assert review(flow, referral, "flagged").status_code == 200

    assert status_of(referral) == "withdrawn"
    [event] = Event.objects.filter(type="referral.withdrawn", referral=referral["id"])
    assert sorted(event.organisations) == sorted([str(orgs["hotline-be"].id), str(orgs["shelter-be"].id)])
    assert flow.act(referral["id"], "accept", "recipient_caseworker").status_code == 409
    assert status_of(referral) == "withdrawn"


def test_the_sender_is_told_of_the_flag_with_ids_and_codes_only(flow, orgs):
    referral = exception_referral(flow)
    assert review(flow, referral, "flagged").status_code == 200

    [event] = Event.objects.filter(type="exception.flagged")
    exception = LegalBasisException.objects.get(referral_id=referral["id"])
    assert event.organisations == [str(orgs["hotline-be"].id)]
    assert str(event.case) == referral["case"] and str(event.referral) == referral["id"]
    assert event.data == {"exception": str(exception.pk), "basis": "vital_interest"}
    # The sender reads it in its feed; the recipient is not told about the review.
    feed = flow.p["caseworker"].client.get("/api/v1/events/").json()["results"]
    assert "exception.flagged" in [e["type"] for e in feed]
    recipient_feed = flow.p["recipient_caseworker"].client.get("/api/v1/events/").json()["results"]
    assert "exception.flagged" not in [e["type"] for e in recipient_feed]
    text = json.dumps([e.data for e in Event.objects.all()])
    assert NOTE not in text and JUSTIFICATION not in text


def test_the_flag_is_audited_with_what_it_withdrew_and_without_the_note(flow, personas):
    referral = exception_referral(flow)
    assert review(flow, referral, "flagged").status_code == 200

    [entry] = AuditEntry.objects.filter(action="exception.review")
    assert entry.detail == {"decision": "flagged", "referrals_withdrawn": 1}
    assert str(entry.actor_user) == str(personas["coordinator"].user.id)
    assert str(entry.case) == referral["case"]
    assert NOTE not in json.dumps(entry.detail)


def test_accepting_rechecks_that_the_exception_was_not_flagged(flow):
    """Even a referral still pending under a flagged exception cannot be accepted (422)."""
    referral = exception_referral(flow)
    LegalBasisException.objects.filter(referral_id=referral["id"]).update(review_status="flagged")

    response = flow.act(referral["id"], "accept", "recipient_caseworker")

    assert response.status_code == 422
    assert status_of(referral) == "sent"


def test_an_approved_exception_still_counts_and_nothing_is_withdrawn(flow):
    referral = exception_referral(flow)
    assert review(flow, referral, "approved", note="").status_code == 200

    assert status_of(referral) == "sent"
    assert not Event.objects.filter(type__in=["exception.flagged", "referral.withdrawn"]).exists()
    assert flow.act(referral["id"], "accept", "recipient_caseworker").status_code == 200


def test_flagging_after_acceptance_leaves_the_accepted_referral_but_tells_the_sender(flow):
    referral = exception_referral(flow)
    assert flow.act(referral["id"], "accept", "recipient_caseworker").status_code == 200

    assert review(flow, referral, "flagged").status_code == 200

    assert status_of(referral) == "accepted"
    assert Event.objects.filter(type="exception.flagged", referral=referral["id"]).count() == 1
    assert AuditEntry.objects.get(action="exception.review").detail == {"decision": "flagged", "referrals_withdrawn": 0}


def test_a_flagged_exception_cannot_be_relied_on_again_by_rerouting(flow, orgs):
    referral = exception_referral(flow)
    declined = flow.act(
        referral["id"], "decline", "recipient_caseworker", {"reason_code": "no_capacity", "reason": "No bed free."}
    )
    assert declined.status_code == 200
    assert review(flow, referral, "flagged").status_code == 200
    body = flow.referral_body(
        referral["case"],
        recipient="care-nl",
        urgency="immediate",
        rerouted_from=referral["id"],
        legal_basis={"basis": "vital_interest", "justification": JUSTIFICATION},
    )
    reroute = flow.p["caseworker"].client.post("/api/v1/referrals/", body, format="json")
    assert reroute.status_code == 201, reroute.json()

    response = flow.act(reroute.json()["id"], "send", "caseworker")

    assert response.status_code == 422
    assert Referral.objects.get(pk=reroute.json()["id"]).status == "draft"
    # With a consent instead, the re-route goes out.
    consent = flow.consent(referral["case"])
    patched = flow.p["caseworker"].client.patch(
        f"/api/v1/referrals/{reroute.json()['id']}/", {"legal_basis": None, "consent": consent["id"]}, format="json"
    )
    assert patched.status_code == 200, patched.json()
    assert flow.act(reroute.json()["id"], "send", "caseworker").status_code == 200
