"""Lists of referrals and cases: filters, cursor pagination and a query count that does not grow.

The contract: api_docs/guide.md, "Pagination".
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from referrals import services
from referrals.models import Case, Involvement, LegalBasisException, Referral
from tests.support.flows import CHILD


def ids(response) -> set[str]:
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def act(flow, referral, action, persona, body=None):
    response = flow.act(referral["id"], action, persona, body)
    assert response.status_code == 200, response.json()
    return response.json()


# --- referral filters ---------------------------------------------------------------------------


@pytest.fixture
def network(flow):
    """hotline-be refers to shelter-be and care-nl; shelter-be refers back to care-nl and hotline-be."""
    case = flow.open_case()
    consent = flow.consent(case["id"])
    other_case = flow.open_case(phenomena=["grooming"])
    other_consent = flow.consent(other_case["id"])
    r = {}
    # In the case hotline-be keeps: its referrals in the first one are withdrawn when care-nl takes the lead.
    r["to_shelter_sent"] = flow.draft(other_case["id"], consent=other_consent["id"], urgency="immediate")
    act(flow, r["to_shelter_sent"], "send", "caseworker")
    r["to_care_accepted"] = flow.draft(
        case["id"], recipient="care-nl", consent=consent["id"], kind="transfer", urgency="normal"
    )
    act(flow, r["to_care_accepted"], "send", "caseworker")
    act(flow, r["to_care_accepted"], "accept", "outsider_caseworker")  # care-nl now leads the first case
    r["draft_to_shelter"] = flow.draft(other_case["id"], consent=other_consent["id"], phenomenon="grooming")
    r["to_shelter_declined"] = flow.draft(other_case["id"], consent=other_consent["id"], phenomenon="grooming")
    act(flow, r["to_shelter_declined"], "send", "caseworker")
    act(
        flow,
        r["to_shelter_declined"],
        "decline",
        "recipient_caseworker",
        {"reason_code": "out_of_region", "reason": "Far."},
    )
    # shelter-be's own case, referred to hotline-be.
    shelter_case = flow.open_case(persona="recipient_caseworker")
    shelter_consent = flow.consent(shelter_case["id"], persona="recipient_caseworker")
    r["from_shelter"] = flow.draft(
        shelter_case["id"],
        recipient="hotline-be",
        persona="recipient_caseworker",
        consent=shelter_consent["id"],
        urgency="immediate",
    )
    act(flow, r["from_shelter"], "send", "recipient_caseworker")
    r["case"], r["other_case"], r["shelter_case"] = case, other_case, shelter_case
    return {k: v["id"] for k, v in r.items()}


def test_direction_splits_what_an_organisation_received_from_what_it_sent(personas, network):
    client = personas["recipient_caseworker"].client
    assert ids(client.get("/api/v1/referrals/?direction=incoming")) == {
        network["to_shelter_sent"],
        network["to_shelter_declined"],
    }
    assert ids(client.get("/api/v1/referrals/?direction=outgoing")) == {network["from_shelter"]}
    assert ids(client.get("/api/v1/referrals/")) == {
        network["to_shelter_sent"],
        network["to_shelter_declined"],
        network["from_shelter"],
    }

    sender = personas["caseworker"].client
    assert ids(sender.get("/api/v1/referrals/?direction=outgoing")) == {
        network["to_shelter_sent"],
        network["to_care_accepted"],
        network["draft_to_shelter"],
        network["to_shelter_declined"],
    }
    assert ids(sender.get("/api/v1/referrals/?direction=incoming")) == {network["from_shelter"]}


def test_a_partner_system_lists_like_its_organisation(personas, network):
    by_key = ids(personas["partner_system"].client.get("/api/v1/referrals/?direction=outgoing"))
    by_person = ids(personas["caseworker"].client.get("/api/v1/referrals/?direction=outgoing"))
    assert by_key == by_person and len(by_key) == 4


def test_status_filter_takes_several_values(personas, network):
    client = personas["caseworker"].client
    assert ids(client.get("/api/v1/referrals/?status=sent")) == {network["to_shelter_sent"], network["from_shelter"]}
    assert ids(client.get("/api/v1/referrals/?status=accepted&status=declined")) == {
        network["to_care_accepted"],
        network["to_shelter_declined"],
    }
    assert ids(client.get("/api/v1/referrals/?status=draft")) == {network["draft_to_shelter"]}
    assert ids(client.get("/api/v1/referrals/?status=completed")) == set()


def test_urgency_kind_phenomenon_and_case_filters(personas, network):
    client = personas["caseworker"].client
    assert ids(client.get("/api/v1/referrals/?urgency=immediate")) == {
        network["to_shelter_sent"],
        network["from_shelter"],
    }
    assert ids(client.get("/api/v1/referrals/?urgency=normal")) == {network["to_care_accepted"]}
    assert ids(client.get("/api/v1/referrals/?kind=transfer")) == {network["to_care_accepted"]}
    assert ids(client.get("/api/v1/referrals/?phenomenon=grooming")) == {
        network["draft_to_shelter"],
        network["to_shelter_declined"],
    }
    assert ids(client.get(f"/api/v1/referrals/?case={network['other_case']}")) == {
        network["to_shelter_sent"],
        network["draft_to_shelter"],
        network["to_shelter_declined"],
    }
    assert ids(client.get(f"/api/v1/referrals/?case={network['other_case']}&status=declined&direction=outgoing")) == {
        network["to_shelter_declined"],
    }


def test_the_coordinator_lists_every_sent_referral_and_filters_them(personas, network):
    client = personas["coordinator"].client
    every = ids(client.get("/api/v1/referrals/"))
    assert network["draft_to_shelter"] not in every
    assert every == {network[k] for k in ("to_shelter_sent", "to_care_accepted", "to_shelter_declined", "from_shelter")}
    assert ids(client.get("/api/v1/referrals/?status=sent&urgency=immediate")) == {
        network["to_shelter_sent"],
        network["from_shelter"],
    }
    rows = client.get("/api/v1/referrals/").json()["results"]
    assert all(row["reason"] is None and row["decline_reason"] is None for row in rows)


def test_a_filter_on_another_organisations_case_finds_nothing(personas, network):
    client = personas["outsider_caseworker"].client
    assert ids(client.get(f"/api/v1/referrals/?case={network['other_case']}")) == set()


@pytest.mark.parametrize(
    "query",
    [
        "direction=sideways",
        "status=lost",
        "urgency=asap",
        "kind=loan",
        "phenomenon=unknown",
        "case=not-a-uuid",
        "overdue=sometimes",
    ],
)
def test_a_malformed_referral_filter_is_400(personas, query):
    response = personas["caseworker"].client.get(f"/api/v1/referrals/?{query}")
    assert response.status_code == 400
    assert response.json()["type"] == "urn:coalition:problem:validation-error"


# --- case filters -------------------------------------------------------------------------------


def test_case_filters_by_status_phenomenon_and_lead(flow, personas, network):
    client = personas["caseworker"].client
    closed = flow.open_case(phenomena=["sextortion", "grooming"])
    assert (
        client.post(f"/api/v1/cases/{closed['id']}/close/", {"outcome": "lost_contact"}, format="json").status_code
        == 200
    )

    # hotline-be opened three cases and handed the first to care-nl.
    assert ids(client.get("/api/v1/cases/")) == {network["case"], network["other_case"], closed["id"]}
    assert ids(client.get("/api/v1/cases/?status=closed")) == {closed["id"]}
    assert ids(client.get("/api/v1/cases/?status=open")) == {network["case"], network["other_case"]}
    assert ids(client.get("/api/v1/cases/?phenomenon=grooming")) == {network["other_case"], closed["id"]}
    assert ids(client.get("/api/v1/cases/?phenomenon=sextortion")) == {closed["id"]}
    assert ids(client.get("/api/v1/cases/?led_by_me=true")) == {network["other_case"], closed["id"]}
    assert ids(client.get("/api/v1/cases/?led_by_me=false")) == {network["case"]}
    assert ids(client.get("/api/v1/cases/?led_by_me=true&status=open")) == {network["other_case"]}

    care = personas["outsider_caseworker"].client
    assert ids(care.get("/api/v1/cases/?led_by_me=true")) == {network["case"]}


@pytest.mark.parametrize("query", ["status=pending", "phenomenon=unknown", "led_by_me=perhaps"])
def test_a_malformed_case_filter_is_400(personas, query):
    assert personas["caseworker"].client.get(f"/api/v1/cases/?{query}").status_code == 400


# --- pagination -----------------------------------------------------------------------------------


def make_case(actor) -> Case:
    return services.case_open(actor=actor, subject=CHILD, phenomena=["teen_pimp"], region="BE-VLG")


def make_referrals(case: Case, count: int, *, sender, recipient, status="sent", **fields) -> list[Referral]:
    now = timezone.now()
    rows = [
        Referral(
            case=case,
            sender=sender,
            recipient=recipient,
            kind="service",
            status=status,
            phenomenon="teen_pimp",
            urgency="urgent",
            requested_service="shelter",
            reason="Needs a safe place.",
            sent_at=now,
            acknowledge_due=now + timedelta(hours=4),
            decide_due=now + timedelta(hours=24),
            created_at=now - timedelta(seconds=index),
            **fields,
        )
        for index in range(count)
    ]
    return Referral.objects.bulk_create(rows)


def walk(client, url):
    pages, seen = 0, []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.json()
        body = response.json()
        seen.extend(row["id"] for row in body["results"])
        pages += 1
        url = body["next"]
        if url:
            parts = urlsplit(url)
            url = f"{parts.path}?{parts.query}"
        assert pages < 50
    return pages, seen


def test_cursor_pagination_walks_every_referral_once_newest_first(personas, orgs):
    case = make_case(personas["caseworker"].user)
    made = make_referrals(case, 11, sender=orgs["hotline-be"], recipient=orgs["shelter-be"])
    pages, seen = walk(personas["recipient_caseworker"].client, "/api/v1/referrals/?page_size=3")
    assert pages == 4
    assert seen == [str(r.pk) for r in sorted(made, key=lambda r: r.created_at, reverse=True)]


def test_cursor_pagination_is_stable_when_rows_arrive_meanwhile(personas, orgs):
    case = make_case(personas["caseworker"].user)
    made = make_referrals(case, 6, sender=orgs["hotline-be"], recipient=orgs["shelter-be"])
    client = personas["recipient_caseworker"].client
    first = client.get("/api/v1/referrals/?page_size=3").json()
    make_referrals(case, 2, sender=orgs["hotline-be"], recipient=orgs["shelter-be"])  # newer than every row listed
    parts = urlsplit(first["next"])
    rest = client.get(f"{parts.path}?{parts.query}").json()
    assert [r["id"] for r in first["results"] + rest["results"]] == [
        str(r.pk) for r in sorted(made, key=lambda r: r.created_at, reverse=True)
    ]


def test_cursor_pagination_walks_every_case(personas):
    user = personas["caseworker"].user
    made = {str(make_case(user).pk) for _ in range(7)}
    pages, seen = walk(personas["caseworker"].client, "/api/v1/cases/?page_size=2")
    assert pages == 4
    assert len(seen) == len(set(seen)) == 7 and set(seen) == made


def test_a_tampered_cursor_is_400(personas):
    assert personas["caseworker"].client.get("/api/v1/referrals/?cursor=bz1hYmM=").status_code == 400


# --- query counts -----------------------------------------------------------------------------------


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.json()
    return len(queries.captured_queries)


def grow_referrals(personas, orgs, count):
    """``count`` referrals of every kind a list shows: pending, accepted (involved), under an exception."""
    case = make_case(personas["caseworker"].user)
    hotline, shelter = orgs["hotline-be"], orgs["shelter-be"]
    third = count // 3
    make_referrals(case, third, sender=hotline, recipient=shelter)
    accepted = make_referrals(
        case, third, sender=hotline, recipient=shelter, status="accepted", accepted_at=timezone.now()
    )
    Involvement.objects.get_or_create(
        case=case, organisation=shelter, ended_at=None, defaults={"role": "supporting", "referral": accepted[0]}
    )
    for referral in make_referrals(
        case,
        count - 2 * third,
        sender=hotline,
        recipient=shelter,
        legal_basis="vital_interest",
        legal_basis_justification="Imminent danger tonight, really.",
    ):
        LegalBasisException.objects.create(
            referral=referral,
            case=case,
            organisation=hotline,
            basis="vital_interest",
            justification="Imminent danger tonight, really.",
        )


LIST_URLS = ["/api/v1/referrals/", "/api/v1/referrals/?direction=incoming&overdue=false", "/api/v1/cases/"]


@pytest.mark.parametrize("persona", ["caseworker", "recipient_caseworker", "coordinator", "partner_system"])
@pytest.mark.parametrize("url", LIST_URLS)
def test_list_queries_do_not_grow_with_the_number_of_rows(personas, orgs, persona, url):
    client = personas[persona].client
    grow_referrals(personas, orgs, 3)
    client.get(url)  # warm up: first-use bookkeeping of a key or a login is not the list's cost
    few = count_queries(client, url)
    grow_referrals(personas, orgs, 27)
    for _ in range(9):
        make_case(personas["caseworker"].user)
    many = count_queries(client, url)
    assert many == few, f"{url} as {persona}: {few} queries for a few rows, {many} for many"


@pytest.mark.parametrize("persona", ["caseworker", "recipient_caseworker", "coordinator"])
@pytest.mark.parametrize("path", ["/api/v1/referrals/", "/api/v1/cases/"])
def test_list_queries_do_not_grow_with_the_page_size(personas, orgs, persona, path):
    grow_referrals(personas, orgs, 30)
    for _ in range(29):
        make_case(personas["caseworker"].user)
    client = personas[persona].client
    client.get(path)
    small = count_queries(client, f"{path}?page_size=2")
    large = count_queries(client, f"{path}?page_size=50")
    assert large == small


def test_the_exception_queue_queries_do_not_grow(personas, orgs):
    client = personas["coordinator"].client
    grow_referrals(personas, orgs, 3)
    client.get("/api/v1/oversight/exceptions/")
    few = count_queries(client, "/api/v1/oversight/exceptions/")
    grow_referrals(personas, orgs, 30)
    many = count_queries(client, "/api/v1/oversight/exceptions/")
    assert LegalBasisException.objects.count() == 11
    assert many == few


def test_a_list_page_takes_a_handful_of_queries(personas, orgs, django_assert_max_num_queries):
    grow_referrals(personas, orgs, 30)
    client = personas["recipient_caseworker"].client
    client.get("/api/v1/referrals/")
    # One to authenticate, one for the page (the rows carry ids, not related objects), and
    # one for the page's cases the organisation is involved in, where free text depends on it.
    with django_assert_max_num_queries(3):
        response = client.get("/api/v1/referrals/?direction=incoming")
    assert len(response.json()["results"]) == 30
