"""Messages on a referral: between its sender and its recipient only, short, never on a draft."""

from __future__ import annotations

import pytest
from django.conf import settings

from referrals.models import ReferralMessage


def messages_url(referral_id):
    return f"/api/v1/referrals/{referral_id}/messages/"


def say(persona, referral_id, body):
    return persona.client.post(messages_url(referral_id), {"body": body}, format="json")


def test_sender_and_recipient_exchange_messages_and_both_read_them(flow, personas, orgs):
    _case, referral = flow.sent_referral()
    question = say(personas["recipient_caseworker"], referral["id"], "Can she come before 18:00?")
    assert question.status_code == 201, question.json()
    assert question.json()["organisation"] == str(orgs["shelter-be"].id)
    assert question.json()["referral"] == referral["id"]
    answer = say(personas["caseworker"], referral["id"], "Yes, with the school counsellor.")
    assert answer.status_code == 201

    for persona in ("caseworker", "recipient_caseworker"):
        listed = personas[persona].client.get(messages_url(referral["id"]))
        assert listed.status_code == 200
        assert [(m["organisation"], m["body"]) for m in listed.json()] == [
            (str(orgs["shelter-be"].id), "Can she come before 18:00?"),
            (str(orgs["hotline-be"].id), "Yes, with the school counsellor."),
        ]


def test_a_partner_system_posts_for_its_organisation(flow, personas, orgs):
    _case, referral = flow.sent_referral()
    posted = say(personas["partner_system"], referral["id"], "Synced from our case system.")
    assert posted.status_code == 201
    message = ReferralMessage.objects.get()
    assert message.organisation == orgs["hotline-be"]
    assert message.created_by is None and message.created_by_api_key is not None


def test_a_message_of_the_maximum_length_is_accepted_and_a_longer_one_is_400(flow, personas):
    _case, referral = flow.sent_referral()
    limit = settings.MESSAGE_MAX_LENGTH
    assert say(personas["caseworker"], referral["id"], "a" * limit).status_code == 201
    too_long = say(personas["caseworker"], referral["id"], "a" * (limit + 1))
    assert too_long.status_code == 400
    assert too_long.json()["errors"][0]["pointer"] == "#/body"
    assert ReferralMessage.objects.count() == 1


@pytest.mark.parametrize("body", [{}, {"body": ""}, {"body": "   "}], ids=["missing", "empty", "blank"])
def test_an_empty_message_is_400(flow, personas, body):
    _case, referral = flow.sent_referral()
    response = personas["caseworker"].client.post(messages_url(referral["id"]), body, format="json")
    assert response.status_code == 400
    assert not ReferralMessage.objects.exists()


def test_a_draft_takes_no_messages(flow, personas):
    case = flow.open_case()
    draft = flow.draft(case["id"])
    response = say(personas["caseworker"], draft["id"], "Note to self.")
    assert response.status_code == 409
    # The recipient does not even see the draft.
    assert say(personas["recipient_caseworker"], draft["id"], "Hello?").status_code == 404
    assert personas["recipient_caseworker"].client.get(messages_url(draft["id"])).status_code == 404
    assert not ReferralMessage.objects.exists()


def test_an_unrelated_organisation_gets_404(flow, personas):
    _case, referral = flow.sent_referral()
    say(personas["caseworker"], referral["id"], "For the shelter only.")
    outsider = personas["outsider_caseworker"]
    assert outsider.client.get(messages_url(referral["id"])).status_code == 404
    assert say(outsider, referral["id"], "Let me in.").status_code == 404
    assert ReferralMessage.objects.count() == 1


@pytest.mark.parametrize("persona", ["coordinator", "auditor", "org_admin", "outsider_admin"])
def test_people_without_the_caseworker_role_never_read_messages(flow, personas, persona):
    # The coordinator sees the referral's metadata but never free text: the route is
    # closed to its role altogether (403), before any object is looked up.
    _case, referral = flow.sent_referral()
    say(personas["caseworker"], referral["id"], "Free text the coordination must not read.")
    client = personas[persona].client
    assert client.get(messages_url(referral["id"])).status_code == 403
    assert client.post(messages_url(referral["id"]), {"body": "Hi"}, format="json").status_code == 403
    assert ReferralMessage.objects.count() == 1


def test_a_recipient_that_declined_no_longer_reads_the_messages(flow, personas):
    _case, referral = flow.sent_referral()
    say(personas["caseworker"], referral["id"], "She trusts only female staff.")
    declined = flow.act(
        referral["id"], "decline", "recipient_caseworker", {"reason_code": "no_capacity", "reason": "Full."}
    )
    assert declined.status_code == 200
    recipient = personas["recipient_caseworker"]
    assert recipient.client.get(messages_url(referral["id"])).status_code == 404
    assert say(recipient, referral["id"], "One more thing").status_code == 404
    # The sender, still involved in the case, keeps its thread.
    assert len(personas["caseworker"].client.get(messages_url(referral["id"])).json()) == 1


def test_an_accepted_referral_keeps_its_thread_while_the_recipient_is_involved(flow, personas):
    _case, referral = flow.sent_referral()
    assert flow.act(referral["id"], "accept", "recipient_caseworker").status_code == 200
    assert say(personas["recipient_caseworker"], referral["id"], "She arrived safely.").status_code == 201
    completed = flow.act(referral["id"], "complete", "recipient_caseworker", {"outcome_code": "service_delivered"})
    assert completed.status_code == 200
    # Its involvement ended with the service: no more free text for it.
    assert personas["recipient_caseworker"].client.get(messages_url(referral["id"])).status_code == 404
