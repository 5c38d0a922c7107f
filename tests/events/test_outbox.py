"""Events are written in the same transaction as the state change they report, thin, to the parties only."""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from coalition.events.models import Event, EventAudience
from coalition.events.services import emit
from referrals import services
from referrals.models import Referral
from tests.support.flows import CHILD

pytestmark = pytest.mark.django_db


def types_for(referral_id) -> list[str]:
    return list(Event.objects.filter(referral=referral_id).order_by("seq").values_list("type", flat=True))


def audience(event: Event) -> set[str]:
    return {str(org) for org in EventAudience.objects.filter(event=event).values_list("organisation_id", flat=True)}


def test_a_referrals_whole_life_emits_one_event_per_transition_in_order(flow, orgs):
    case, referral = flow.sent_referral()
    for action, persona, body in (
        ("acknowledge", "recipient_caseworker", {}),
        ("accept", "recipient_caseworker", {}),
        ("complete", "recipient_caseworker", {"outcome_code": "service_delivered"}),
    ):
        assert flow.act(referral["id"], action, persona, body).status_code == 200
    assert types_for(referral["id"]) == [
        "referral.sent", "referral.acknowledged", "referral.accepted", "referral.completed",
    ]
    parties = {str(orgs["hotline-be"].pk), str(orgs["shelter-be"].pk)}
    for event in Event.objects.filter(referral=referral["id"]):
        assert audience(event) == parties == set(event.organisations)
        assert str(event.case) == case["id"]


def test_an_event_is_thin_and_holds_no_personal_data(flow, personas):
    case, referral = flow.sent_referral()
    personas["recipient_caseworker"].client.post(
        f"/api/v1/referrals/{referral['id']}/messages/", {"body": f"About {CHILD['given_name']}"}, format="json"
    )
    events = list(Event.objects.all())
    assert {event.type for event in events} == {"referral.sent", "referral.message_posted"}
    for event in events:
        assert set(event.data) <= {"status", "kind", "urgency", "message", "exception", "basis", "outcome", "from", "to"}
    dumped = json.dumps([[e.type, e.case, e.referral, e.organisations, e.data] for e in events], default=str)
    for secret in (CHILD["given_name"], CHILD["family_name"], CHILD["date_of_birth"], "safe bed"):
        assert secret not in dumped


def test_an_unrelated_organisation_is_never_in_an_events_audience(flow, orgs):
    flow.sent_referral()
    assert not EventAudience.objects.filter(organisation=orgs["care-nl"]).exists()


def test_a_refused_transition_emits_nothing(flow):
    case_id = flow.open_case()["id"]
    draft = flow.draft(case_id)  # no consent
    assert flow.act(draft["id"], "send", "caseworker").status_code == 422
    assert not Event.objects.exists()


def test_an_action_rolled_back_after_emitting_leaves_no_event(orgs):
    with pytest.raises(RuntimeError), transaction.atomic():
        emit(type="case.closed", organisations=[orgs["hotline-be"].pk])
        raise RuntimeError("the action failed after emitting")
    assert not Event.objects.exists()
    assert not EventAudience.objects.exists()


def test_withdrawing_a_draft_tells_only_the_sender(flow, orgs):
    case_id = flow.open_case()["id"]
    draft = flow.draft(case_id)
    assert flow.act(draft["id"], "withdraw", "caseworker").status_code == 200
    [event] = Event.objects.filter(type="referral.withdrawn")
    assert audience(event) == {str(orgs["hotline-be"].pk)}


def test_a_transfer_emits_lead_transferred_to_old_and_new_lead(flow, orgs):
    case = flow.open_case()
    consent = flow.consent(case["id"])
    draft = flow.draft(case["id"], kind="transfer", consent=consent["id"])
    flow.act(draft["id"], "send", "caseworker")
    assert flow.act(draft["id"], "accept", "recipient_caseworker").status_code == 200
    [event] = Event.objects.filter(type="case.lead_transferred")
    assert audience(event) == {str(orgs["hotline-be"].pk), str(orgs["shelter-be"].pk)}
    assert event.data == {"from": str(orgs["hotline-be"].pk), "to": str(orgs["shelter-be"].pk)}


def test_closing_reopening_and_consent_withdrawal_emit_their_events_and_withdraw_pending_referrals(flow, personas):
    case, referral = flow.sent_referral()
    consent_id = Referral.objects.get(pk=referral["id"]).consent_id
    response = personas["caseworker"].client.post(f"/api/v1/cases/{case['id']}/consents/{consent_id}/withdraw/")
    assert response.status_code == 200
    assert types_for(referral["id"]) == ["referral.sent", "referral.withdrawn"]
    assert Event.objects.filter(type="consent.withdrawn", case=case["id"]).count() == 1

    client = personas["caseworker"].client
    assert client.post(f"/api/v1/cases/{case['id']}/close/", {"outcome": "safe_and_supported"}, format="json").status_code == 200
    assert client.post(f"/api/v1/cases/{case['id']}/reopen/").status_code == 200
    case_events = list(Event.objects.filter(case=case["id"], referral__isnull=True).values_list("type", flat=True))
    assert case_events == ["consent.withdrawn", "case.closed", "case.reopened"]


def test_sending_under_a_legal_basis_asks_for_review(flow):
    case_id = flow.open_case()["id"]
    draft = flow.draft(
        case_id,
        legal_basis={"basis": "vital_interest", "justification": "Imminent danger tonight, no time to ask for consent."},
    )
    assert flow.act(draft["id"], "send", "caseworker").status_code == 200
    [event] = Event.objects.filter(type="exception.review_required")
    assert event.data["basis"] == "vital_interest"
    assert str(event.referral) == draft["id"]


def test_events_are_numbered_in_commit_order(flow, personas):
    services.case_open(actor=personas["caseworker"].user, subject={"given_name": "Fictia"}, phenomena=["grooming"])
    case, referral = flow.sent_referral()
    flow.act(referral["id"], "acknowledge", "recipient_caseworker")
    seqs = list(Event.objects.order_by("occurred_at", "seq").values_list("seq", flat=True))
    assert seqs == sorted(seqs)
