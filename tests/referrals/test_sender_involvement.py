"""A referral can only be accepted while its sender is still involved in the case (issue #11, item 7).

When a transfer moves the lead, the old lead's involvement ends: every referral it
still had open in that case (drafts, sent, acknowledged; service referrals as well
as transfers) is withdrawn, with its event, so that it cannot bring in an
organisation the new lead never chose. The same when a supporting organisation
completes its service referral. Accepting re-checks the sender's involvement too.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from coalition.events.models import Event
from partners.choices import OrganisationKind, Role
from referrals.models import Involvement, Referral
from tests.support.personas import Persona, make_organisation, make_user


@pytest.fixture
def streetwork(flow, orgs):
    organisation = make_organisation("streetwork-be", OrganisationKind.NGO)
    flow.orgs["streetwork-be"] = organisation
    flow.p["streetwork_caseworker"] = Persona(
        "streetwork_caseworker", user=make_user("streetwork-be-caseworker", organisation, [Role.CASEWORKER])
    )
    return organisation


def status(referral_id) -> str:
    return Referral.objects.get(pk=referral_id).status


def sent(flow, case_id, recipient, persona="caseworker", **extra) -> dict:
    draft = flow.draft(case_id, recipient=recipient, persona=persona, **extra)
    response = flow.act(draft["id"], "send", persona)
    assert response.status_code == 200, response.json()
    return response.json()


def accept(flow, referral_id, persona):
    return flow.act(referral_id, "accept", persona)


def test_a_former_leads_pending_service_referral_cannot_be_accepted_after_the_transfer(flow, orgs, streetwork):
    case = flow.open_case()
    consent = flow.consent(case["id"])["id"]
    # shelter-be supports the case and has a referral of its own pending with care-nl.
    support = sent(flow, case["id"], "shelter-be", consent=consent)
    assert accept(flow, support["id"], "recipient_caseworker").status_code == 200
    shelters_own = sent(flow, case["id"], "care-nl", persona="recipient_caseworker", consent=consent)
    # hotline-be (the lead) has a service referral out, one acknowledged, and a draft.
    pending_service = sent(flow, case["id"], "streetwork-be", consent=consent)
    draft = flow.draft(case["id"], recipient="streetwork-be", consent=consent)
    transfer = sent(flow, case["id"], "shelter-be", kind="transfer", consent=consent)

    assert accept(flow, transfer["id"], "recipient_caseworker").status_code == 200

    assert status(pending_service["id"]) == "withdrawn"
    assert status(draft["id"]) == "withdrawn"
    late = accept(flow, pending_service["id"], "streetwork_caseworker")
    assert late.status_code == 409
    assert not Involvement.objects.filter(case_id=case["id"], organisation=streetwork).exists()
    # Both parties of the sent one are told; the draft never reached its recipient.
    [event] = Event.objects.filter(type="referral.withdrawn", referral=pending_service["id"])
    assert sorted(event.organisations) == sorted([str(orgs["hotline-be"].id), str(streetwork.id)])
    [draft_event] = Event.objects.filter(type="referral.withdrawn", referral=draft["id"])
    assert draft_event.organisations == [str(orgs["hotline-be"].id)]
    # The new lead's own referral is untouched and can still be accepted.
    assert status(shelters_own["id"]) == "sent"
    assert accept(flow, shelters_own["id"], "outsider_caseworker").status_code == 200


def test_an_acknowledged_referral_of_the_former_lead_is_withdrawn_too(flow, streetwork):
    case = flow.open_case()
    consent = flow.consent(case["id"])["id"]
    pending = sent(flow, case["id"], "streetwork-be", consent=consent)
    assert flow.act(pending["id"], "acknowledge", "streetwork_caseworker").status_code == 200
    transfer = sent(flow, case["id"], "shelter-be", kind="transfer", consent=consent)

    assert accept(flow, transfer["id"], "recipient_caseworker").status_code == 200

    assert status(pending["id"]) == "withdrawn"
    assert accept(flow, pending["id"], "streetwork_caseworker").status_code == 409


def test_accepting_is_refused_while_the_sender_is_no_longer_involved(flow, orgs):
    """Defence in depth: even a referral that escaped the withdrawals cannot be accepted."""
    case, referral = flow.sent_referral()
    Involvement.objects.filter(case_id=case["id"], organisation=orgs["hotline-be"]).update(ended_at=timezone.now())

    response = accept(flow, referral["id"], "recipient_caseworker")

    assert response.status_code == 409
    assert status(referral["id"]) == "sent"
    assert not Involvement.objects.filter(case_id=case["id"], organisation=orgs["shelter-be"]).exists()


def test_completing_a_service_referral_withdraws_what_the_supporter_still_had_open(flow, orgs):
    case = flow.open_case()
    consent = flow.consent(case["id"])["id"]
    support = sent(flow, case["id"], "shelter-be", consent=consent)
    assert accept(flow, support["id"], "recipient_caseworker").status_code == 200
    onward = sent(flow, case["id"], "care-nl", persona="recipient_caseworker", consent=consent)
    leads_own = flow.draft(case["id"], recipient="care-nl", consent=consent)

    done = flow.act(support["id"], "complete", "recipient_caseworker", {"outcome_code": "service_delivered"})
    assert done.status_code == 200

    assert status(onward["id"]) == "withdrawn"
    assert accept(flow, onward["id"], "outsider_caseworker").status_code == 409
    assert status(leads_own["id"]) == "draft"
