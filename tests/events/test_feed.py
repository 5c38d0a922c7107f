"""The event feed: in order, resumable after a cursor, only an organisation's own events."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coalition.events.models import Event
from tests.support.flows import CHILD

FEED = "/api/v1/events/"


def read_all(client, after="0", limit=2):
    """Page through the feed from ``after`` like a partner would; returns (events, last cursor)."""
    events = []
    while True:
        response = client.get(FEED, {"after": after, "limit": limit})
        assert response.status_code == 200, response.content
        body = response.json()
        events += body["results"]
        after = body["next_after"]
        if not body["has_more"]:
            return events, after


def test_a_partner_resumes_after_its_cursor_with_nothing_skipped_or_repeated(flow, personas):
    partner = personas["partner_system"].client
    _case, referral = flow.sent_referral()
    first, cursor = read_all(partner)
    assert [e["type"] for e in first] == ["referral.sent"]

    flow.act(referral["id"], "acknowledge", "recipient_caseworker")
    flow.act(referral["id"], "accept", "recipient_caseworker")
    flow.sent_referral()
    second, cursor = read_all(partner, after=cursor)
    assert [e["type"] for e in second] == ["referral.acknowledged", "referral.accepted", "referral.sent"]

    again = partner.get(FEED, {"after": cursor}).json()
    assert again["results"] == [] and again["next_after"] == cursor and again["has_more"] is False

    everything, _ = read_all(partner, limit=500)
    assert [e["id"] for e in everything] == [e["id"] for e in first + second]
    expected = Event.objects.filter(audience__organisation=personas["partner_system"].organisation).order_by("seq")
    assert [e["seq"] for e in everything] == list(expected.values_list("seq", flat=True))


def test_events_of_a_referral_keep_their_order_in_the_feed(flow, personas):
    _case, referral = flow.sent_referral()
    flow.act(referral["id"], "acknowledge", "recipient_caseworker")
    flow.sent_referral()  # another referral's events interleave
    flow.act(referral["id"], "accept", "recipient_caseworker")
    flow.act(referral["id"], "complete", "recipient_caseworker", {"outcome_code": "service_delivered"})

    for persona in ("caseworker", "recipient_caseworker", "coordinator"):
        events, _ = read_all(personas[persona].client, limit=3)
        mine = [e["type"] for e in events if e["referral"] == referral["id"]]
        assert mine == ["referral.sent", "referral.acknowledged", "referral.accepted", "referral.completed"], persona
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_an_unrelated_organisation_sees_nothing_of_a_referral_between_two_others(flow, personas):
    case, referral = flow.sent_referral()
    flow.act(referral["id"], "accept", "recipient_caseworker")

    outsider, _ = read_all(personas["outsider_caseworker"].client, limit=500)
    assert outsider == []
    recipient, _ = read_all(personas["recipient_caseworker"].client, limit=500)
    assert {e["referral"] for e in recipient} == {referral["id"]}
    coordinator, _ = read_all(personas["coordinator"].client, limit=500)
    assert {e["case"] for e in coordinator} == {case["id"]}


def test_the_recipient_sees_no_event_of_a_referral_never_sent(flow, personas):
    case = flow.open_case()
    draft = flow.draft(case["id"])
    flow.act(draft["id"], "withdraw", "caseworker")
    assert read_all(personas["recipient_caseworker"].client)[0] == []
    assert [e["type"] for e in read_all(personas["caseworker"].client)[0]] == ["referral.withdrawn"]


def test_the_feed_carries_no_personal_data(flow, personas):
    _case, referral = flow.sent_referral()
    flow.act(referral["id"], "accept", "recipient_caseworker")
    for persona in ("caseworker", "recipient_caseworker", "coordinator", "partner_system"):
        content = personas[persona].client.get(FEED, {"limit": 500}).content.decode()
        for value in (CHILD["given_name"], CHILD["family_name"], CHILD["date_of_birth"], CHILD["safe_contact"]):
            assert value not in content


@pytest.mark.parametrize(
    "query", [{"after": "-1"}, {"after": "abc"}, {"after": "1" * 19}, {"after": ""}, {"limit": "0"}, {"limit": "501"}, {"limit": ""}]
)
def test_a_malformed_cursor_or_limit_is_bad_input(personas, query):
    response = personas["caseworker"].client.get(FEED, query)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"


def test_org_admins_and_auditors_read_no_feed(personas):
    assert personas["org_admin"].client.get(FEED).status_code == 403
    assert personas["auditor"].client.get(FEED).status_code == 403


def test_reading_a_page_costs_the_same_few_queries_however_many_events(flow, personas):
    client = personas["partner_system"].client
    flow.sent_referral()
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(FEED, {"limit": 500}).json()["results"]) == 1
    for _ in range(3):
        flow.sent_referral()
    with CaptureQueriesContext(connection) as four:
        assert len(client.get(FEED, {"limit": 500}).json()["results"]) == 4
    assert len(four) == len(one) <= 10  # authentication and its audit entry, then one query for the page


def test_coordinators_feed_holds_no_events_of_drafts_that_were_never_sent(flow, personas):
    """A draft withdrawn by its sender, and one withdrawn by closing its case: the sender reads
    both withdrawals, the coordinator neither; a sent referral's withdrawal it does read."""
    case = flow.open_case()
    withdrawn_draft = flow.draft(case["id"])
    assert flow.act(withdrawn_draft["id"], "withdraw", "caseworker").status_code == 200
    closed_draft = flow.draft(case["id"], recipient="care-nl")
    _case, sent = flow.sent_referral()
    assert flow.act(sent["id"], "withdraw", "caseworker").status_code == 200
    closed = personas["caseworker"].client.post(f"/api/v1/cases/{case['id']}/close/", {"outcome": "safe_and_supported"}, format="json")
    assert closed.status_code == 200, closed.json()
    drafts = {withdrawn_draft["id"], closed_draft["id"]}

    sender, _ = read_all(personas["caseworker"].client, limit=500)
    assert sorted(e["type"] for e in sender if e["referral"] in drafts) == ["referral.withdrawn", "referral.withdrawn"]
    coordinator, _ = read_all(personas["coordinator"].client, limit=500)
    assert [e for e in coordinator if e["referral"] in drafts] == []
    assert [e["type"] for e in coordinator if e["referral"] == sent["id"]] == ["referral.sent", "referral.withdrawn"]
