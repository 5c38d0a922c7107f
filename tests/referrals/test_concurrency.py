"""Races on PostgreSQL with real parallel connections: one winner, clear 409s, one lead."""


import pytest
from django.db import connection

from referrals.models import Case, Involvement, Referral
from tests.support.concurrency import race

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs real parallel connections (PostgreSQL)")




def post(client, url, body=None):
    return lambda: client.post(url, body or {}, format="json")


def statuses(responses):
    return sorted(r.status_code for r in responses)


def test_twenty_simultaneous_accepts_give_one_success_and_nineteen_conflicts(flow, personas):
    _case, referral = flow.sent_referral()
    client = personas["recipient_caseworker"].client
    responses = race([post(client, f"/api/v1/referrals/{referral['id']}/accept/") for _ in range(20)])
    assert statuses(responses) == [200] + [409] * 19
    assert all(r["Content-Type"] == "application/problem+json" for r in responses if r.status_code == 409)
    assert Referral.objects.get(pk=referral["id"]).status == "accepted"
    assert Involvement.objects.filter(case_id=referral["case"], ended_at__isnull=True).count() == 2


def test_accept_against_decline_gives_exactly_one_outcome(flow, personas):
    _case, referral = flow.sent_referral()
    client = personas["recipient_caseworker"].client
    url = f"/api/v1/referrals/{referral['id']}"
    responses = race(
        [post(client, f"{url}/accept/"), post(client, f"{url}/decline/", {"reason_code": "no_capacity", "reason": "Full tonight."})]
    )
    assert statuses(responses) == [200, 409]
    final = Referral.objects.get(pk=referral["id"]).status
    winner = next(r for r in responses if r.status_code == 200)
    assert winner.json()["status"] == final


def test_two_transfers_of_one_case_accepted_at_once_leave_exactly_one_lead(flow, personas, orgs):
    case = flow.open_case()
    consent = flow.consent(case["id"])
    first = flow.draft(case["id"], recipient="shelter-be", kind="transfer", consent=consent["id"])
    second = flow.draft(case["id"], recipient="care-nl", kind="transfer", consent=consent["id"])
    for referral in (first, second):
        assert flow.act(referral["id"], "send", "caseworker").status_code == 200

    responses = race(
        [
            post(personas["recipient_caseworker"].client, f"/api/v1/referrals/{first['id']}/accept/"),
            post(personas["outsider_caseworker"].client, f"/api/v1/referrals/{second['id']}/accept/"),
        ]
    )
    assert statuses(responses) == [200, 409]
    leads = Involvement.objects.filter(case_id=case["id"], role="lead", ended_at__isnull=True)
    assert leads.count() == 1
    assert Case.objects.get(pk=case["id"]).lead_organisation_id == leads.get().organisation_id
    assert leads.get().organisation_id in (orgs["shelter-be"].id, orgs["care-nl"].id)


def test_closing_a_case_while_its_referral_is_accepted_never_leaves_an_accepted_referral_on_a_closed_case(flow, personas):
    case, referral = flow.sent_referral()
    responses = race(
        [
            post(personas["recipient_caseworker"].client, f"/api/v1/referrals/{referral['id']}/accept/"),
            post(personas["caseworker"].client, f"/api/v1/cases/{case['id']}/close/", {"outcome": "safe_and_supported"}),
        ]
    )
    assert 200 in statuses(responses)
    case_row = Case.objects.get(pk=case["id"])
    referral_row = Referral.objects.get(pk=referral["id"])
    if case_row.status == "closed" and referral_row.status == "accepted":
        # Accepted first, then closed: the supporter was released by the close.
        assert not Involvement.objects.filter(case=case_row, role="supporting", ended_at__isnull=True).exists()
    else:
        assert (case_row.status, referral_row.status) in {("closed", "withdrawn"), ("open", "accepted")}
