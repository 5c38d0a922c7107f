"""The match API: each side reads its side (its case, the other member's name and contact point), coordinators
an overview without cases; each side answers once; nothing about the girl anywhere.

hotline-be (``caseworker``, ``partner_system``) and care-nl (``outsider_caseworker``) hold
the two cases of ``known_twice``; shelter-be (``recipient_caseworker``) has nothing to do
with the match.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from coalition.audit.models import AuditEntry
from coalition.events.models import Event
from partners.authentication import split_api_key
from partners.choices import ApiKeyScope
from partners.models import ApiKey
from referrals.models import Match
from tests.support.flows import CHILD
from tests.support.problems import assert_problem

SIDE_FIELDS = {
    "id", "status", "created_at", "due_at", "escalated_at", "case", "other_organisation", "own_answer",
    "other_answer", "allowed_actions", "version",
}
OVERVIEW_FIELDS = {"id", "status", "created_at", "due_at", "escalated_at", "organisations", "version"}
BOTH_ANSWERS = ["contacted", "not_the_same_person"]
# Everything either member wrote down about the girl (care-nl writes her names swapped, with an accent).
IDENTITY = sorted(
    {str(value) for key, value in CHILD.items() if key not in ("gender", "language")} | {"zorîta", "Via the aunt"}
)


@pytest.fixture
def match(known_twice, orgs):
    orgs["care-nl"].contact_email = "intake@care-nl.example.org"
    orgs["care-nl"].contact_phone = "+31 20 555 0100"
    orgs["care-nl"].save()
    orgs["hotline-be"].contact_email = "team@hotline-be.example.org"
    orgs["hotline-be"].save()
    return Match.objects.get()


def _get(personas, persona, path="/api/v1/matches/", **headers):
    return personas[persona].client.get(path, **headers)


def _answer(personas, persona, match, action, **headers):
    route = {"contacted": "contacted", "not_the_same_person": "not-the-same-person"}[action]
    return personas[persona].client.post(f"/api/v1/matches/{match.pk}/{route}/", {}, format="json", **headers)


def _no_identity_in(body) -> None:
    text = json.dumps(body, ensure_ascii=False).casefold()
    leaked = [value for value in IDENTITY if value.casefold() in text]
    assert leaked == []


# --- reading ------------------------------------------------------------------------------------


def test_each_side_reads_the_match_as_its_own_case_and_the_other_members_contact_point(match, known_twice, personas, orgs):
    hotline_case, care_case = known_twice
    [hotline_side] = _get(personas, "caseworker").json()["results"]
    [care_side] = _get(personas, "outsider_caseworker").json()["results"]

    assert set(hotline_side) == SIDE_FIELDS == set(care_side)
    assert hotline_side["id"] == care_side["id"] == str(match.pk)
    assert hotline_side["case"] == hotline_case["id"]
    assert care_side["case"] == care_case["id"]
    assert hotline_side["other_organisation"] == {
        "id": str(orgs["care-nl"].pk), "name": orgs["care-nl"].name,
        "contact_email": "intake@care-nl.example.org", "contact_phone": "+31 20 555 0100",
    }
    assert care_side["other_organisation"] == {
        "id": str(orgs["hotline-be"].pk), "name": orgs["hotline-be"].name,
        "contact_email": "team@hotline-be.example.org", "contact_phone": "",
    }
    for side in (hotline_side, care_side):
        assert side["status"] == "open"
        assert side["own_answer"] is None and side["other_answer"] is None
        assert side["allowed_actions"] == BOTH_ANSWERS
        assert side["escalated_at"] is None
        assert side["version"] == match.version
    # Neither side learns the other's case.
    assert care_case["id"] not in json.dumps(hotline_side)
    assert hotline_case["id"] not in json.dumps(care_side)


def test_coordinators_read_the_two_members_and_no_case(match, known_twice, personas, orgs):
    [overview] = _get(personas, "coordinator").json()["results"]

    assert set(overview) == OVERVIEW_FIELDS
    assert overview["id"] == str(match.pk)
    assert overview["status"] == "open"
    assert sorted(overview["organisations"], key=lambda party: party["name"]) == sorted(
        [
            {"id": str(orgs["hotline-be"].pk), "name": orgs["hotline-be"].name, "answer": None},
            {"id": str(orgs["care-nl"].pk), "name": orgs["care-nl"].name, "answer": None},
        ],
        key=lambda party: party["name"],
    )
    text = json.dumps(overview)
    assert all(case["id"] not in text for case in known_twice)
    assert "contact" not in text  # the contact point is for the two sides


def test_the_detail_is_the_list_entry_with_its_etag(match, personas):
    for persona in ("caseworker", "outsider_caseworker", "coordinator", "partner_system"):
        [listed] = _get(personas, persona).json()["results"]
        response = _get(personas, persona, f"/api/v1/matches/{match.pk}/")
        assert response.status_code == 200
        assert response.json() == listed
        assert response["ETag"] == f'"{match.version}"'


def test_no_answer_about_a_match_holds_anything_about_the_girl(match, personas):
    _answer(personas, "caseworker", match, "contacted")
    for persona in ("caseworker", "outsider_caseworker", "coordinator", "partner_system"):
        _no_identity_in(_get(personas, persona).json())
        _no_identity_in(_get(personas, persona, f"/api/v1/matches/{match.pk}/").json())


def test_a_member_not_on_either_side_sees_no_match(match, personas):
    assert _get(personas, "recipient_caseworker").json()["results"] == []
    assert_problem(_get(personas, "recipient_caseworker", f"/api/v1/matches/{match.pk}/"), 404, "not-found")


@pytest.mark.parametrize("persona", ["org_admin", "outsider_admin", "auditor"])
def test_org_admins_and_auditors_may_not_read_matches(match, personas, persona):
    assert_problem(_get(personas, persona), 403, "forbidden")
    assert_problem(_get(personas, persona, f"/api/v1/matches/{match.pk}/"), 403, "forbidden")


def test_a_partner_system_reads_its_side_and_without_write_scope_is_offered_no_answer(match, known_twice, personas):
    [side] = _get(personas, "partner_system").json()["results"]
    assert side["case"] == known_twice[0]["id"]
    assert side["allowed_actions"] == BOTH_ANSWERS

    key = personas["partner_system"].raw_api_key
    ApiKey.objects.filter(prefix=split_api_key(key)).update(scopes=[ApiKeyScope.REFERRALS_READ])
    [side] = _get(personas, "partner_system").json()["results"]
    assert side["allowed_actions"] == []
    assert_problem(_answer(personas, "partner_system", match, "contacted"), 403, "forbidden")


# --- answering ----------------------------------------------------------------------------------


def test_contacted_makes_the_match_done_and_both_sides_and_the_coordinator_see_it(match, personas, orgs):
    response = _answer(personas, "caseworker", match, "contacted")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == SIDE_FIELDS
    assert body["status"] == "done"
    assert body["own_answer"]["action"] == "contacted"
    assert body["other_answer"] is None
    assert body["allowed_actions"] == []
    assert body["version"] == match.version + 1
    assert response["ETag"] == f'"{match.version + 1}"'

    [care_side] = _get(personas, "outsider_caseworker").json()["results"]
    assert care_side["status"] == "done"
    assert care_side["other_answer"] == body["own_answer"]
    assert care_side["own_answer"] is None
    assert care_side["allowed_actions"] == BOTH_ANSWERS  # the other side may still give its own answer

    [overview] = _get(personas, "coordinator").json()["results"]
    answers = {party["id"]: party["answer"] for party in overview["organisations"]}
    assert answers == {str(orgs["hotline-be"].pk): body["own_answer"], str(orgs["care-nl"].pk): None}


def test_not_the_same_person_settles_the_match_as_such(match, personas):
    response = _answer(personas, "outsider_caseworker", match, "not_the_same_person")

    assert response.status_code == 200
    assert response.json()["status"] == "not_the_same_person"
    assert response.json()["own_answer"]["action"] == "not_the_same_person"
    [hotline_side] = _get(personas, "caseworker").json()["results"]
    assert hotline_side["status"] == "not_the_same_person"
    assert hotline_side["other_answer"]["action"] == "not_the_same_person"


def test_not_the_same_person_after_contact_still_settles_it_as_not_the_same_person(match, personas):
    assert _answer(personas, "caseworker", match, "contacted").json()["status"] == "done"
    response = _answer(personas, "outsider_caseworker", match, "not_the_same_person")
    assert response.json()["status"] == "not_the_same_person"
    assert response.json()["other_answer"]["action"] == "contacted"


@pytest.mark.parametrize("second", ["contacted", "not_the_same_person"])
def test_a_side_answers_once(match, personas, second):
    assert _answer(personas, "caseworker", match, "contacted").status_code == 200
    assert_problem(_answer(personas, "caseworker", match, second), 409, "conflict")
    # Nor does a colleague's key answer again for the same organisation.
    assert_problem(_answer(personas, "partner_system", match, second), 409, "conflict")
    match.refresh_from_db()
    assert match.status == "done"


@pytest.mark.parametrize("action", ["contacted", "not_the_same_person"])
def test_a_coordinator_may_not_answer(match, personas, action):
    assert_problem(_answer(personas, "coordinator", match, action), 403, "forbidden")
    match.refresh_from_db()
    assert (match.action_a, match.action_b, match.status) == ("", "", "open")


@pytest.mark.parametrize("action", ["contacted", "not_the_same_person"])
def test_a_member_not_on_either_side_cannot_answer(match, personas, action):
    assert_problem(_answer(personas, "recipient_caseworker", match, action), 404, "not-found")
    match.refresh_from_db()
    assert match.status == "open"


def test_a_stale_if_match_is_refused_and_changes_nothing(match, personas, orgs):
    etag = _get(personas, "caseworker", f"/api/v1/matches/{match.pk}/")["ETag"]
    assert _answer(personas, "outsider_caseworker", match, "contacted", HTTP_IF_MATCH=etag).status_code == 200

    assert_problem(_answer(personas, "caseworker", match, "contacted", HTTP_IF_MATCH=etag), 412, "precondition-failed")
    match.refresh_from_db()
    assert getattr(match, f"action_{match.side_of(orgs['hotline-be'].pk)}") == ""

    fresh = _get(personas, "caseworker", f"/api/v1/matches/{match.pk}/")["ETag"]
    assert _answer(personas, "caseworker", match, "contacted", HTTP_IF_MATCH=fresh).status_code == 200


def test_a_retried_answer_is_replayed_not_given_twice(match, personas):
    first = _answer(personas, "caseworker", match, "contacted", HTTP_IDEMPOTENCY_KEY="answer-1")
    again = _answer(personas, "caseworker", match, "contacted", HTTP_IDEMPOTENCY_KEY="answer-1")

    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert AuditEntry.objects.filter(action="match.contacted").count() == 1


# --- filters ------------------------------------------------------------------------------------


def _listed(personas, persona, query):
    response = _get(personas, persona, f"/api/v1/matches/?{query}")
    assert response.status_code == 200, response.content
    return [entry["id"] for entry in response.json()["results"]]


def test_the_status_filter(match, personas):
    assert _listed(personas, "caseworker", "status=open") == [str(match.pk)]
    assert _listed(personas, "caseworker", "status=done") == []
    _answer(personas, "caseworker", match, "contacted")
    assert _listed(personas, "caseworker", "status=open") == []
    assert _listed(personas, "caseworker", "status=done") == [str(match.pk)]
    assert _listed(personas, "coordinator", "status=done") == [str(match.pk)]
    assert _listed(personas, "caseworker", "status=not_the_same_person") == []
    assert_problem(_get(personas, "caseworker", "/api/v1/matches/?status=closed"), 400)


def test_the_unattended_filter_lists_open_matches_past_their_due_time(match, personas):
    assert _listed(personas, "coordinator", "unattended=true") == []
    assert _listed(personas, "coordinator", "unattended=false") == [str(match.pk)]

    Match.objects.update(due_at=timezone.now() - timedelta(hours=1))
    assert _listed(personas, "coordinator", "unattended=true") == [str(match.pk)]
    assert _listed(personas, "outsider_caseworker", "unattended=true") == [str(match.pk)]
    assert _listed(personas, "coordinator", "unattended=false") == []

    _answer(personas, "outsider_caseworker", match, "contacted")  # answered late: attended to now
    assert _listed(personas, "coordinator", "unattended=true") == []
    assert_problem(_get(personas, "coordinator", "/api/v1/matches/?unattended=maybe"), 400)


def test_the_list_is_newest_first_and_paginated(matching, flow, known_twice, personas):
    # A second girl hotline-be and care-nl both know: a second match, found later.
    other_girl = {"given_name": "Quinty", "family_name": "Madeupson", "date_of_birth": "2011-06-07"}
    case = flow.open_case(subject=other_girl)
    flow.consent(case["id"], purposes=["information_sharing"])
    case = flow.open_case("outsider_caseworker", subject=other_girl, region="NL-NH")
    flow.consent(case["id"], "outsider_caseworker", purposes=["information_sharing"])
    newest, oldest = Match.objects.order_by("-created_at")

    first = _get(personas, "caseworker", "/api/v1/matches/?page_size=1").json()
    assert [entry["id"] for entry in first["results"]] == [str(newest.pk)]
    second = personas["caseworker"].client.get(first["next"]).json()
    assert [entry["id"] for entry in second["results"]] == [str(oldest.pk)]
    assert second["next"] is None


def test_the_list_reads_a_page_in_a_fixed_number_of_queries(matching, flow, known_twice, personas,
                                                          django_assert_max_num_queries):
    for name in ("Quinty", "Rosalind", "Saskia"):
        girl = {"given_name": name, "family_name": "Madeupson", "date_of_birth": "2011-06-07"}
        case = flow.open_case(subject=girl)
        flow.consent(case["id"], purposes=["information_sharing"])
        case = flow.open_case("outsider_caseworker", subject=girl, region="NL-NH")
        flow.consent(case["id"], "outsider_caseworker", purposes=["information_sharing"])
    assert Match.objects.count() == 4
    for persona in ("caseworker", "coordinator"):
        with django_assert_max_num_queries(3):
            assert len(_get(personas, persona).json()["results"]) == 4


# --- audit and events ---------------------------------------------------------------------------


def test_an_answer_is_audited_once_with_the_sides_own_case(match, known_twice, personas, orgs):
    hotline_case, _care_case = known_twice
    _answer(personas, "caseworker", match, "contacted")
    _answer(personas, "outsider_caseworker", match, "not_the_same_person")

    [contacted] = AuditEntry.objects.filter(action="match.contacted")
    assert contacted.object_id == str(match.pk)
    assert str(contacted.case) == hotline_case["id"]
    assert contacted.actor_user == personas["caseworker"].user.pk
    assert contacted.organisation == orgs["hotline-be"].pk
    assert contacted.detail == {"status": "done"}
    [not_same] = AuditEntry.objects.filter(action="match.not_the_same_person")
    assert not_same.actor_user == personas["outsider_caseworker"].user.pk
    assert not_same.detail == {"status": "not_the_same_person"}


def test_a_refused_answer_leaves_no_audit_entry_and_no_event(match, personas):
    _answer(personas, "caseworker", match, "contacted")
    entries, events = AuditEntry.objects.count(), Event.objects.count()

    _answer(personas, "caseworker", match, "not_the_same_person")  # 409
    _answer(personas, "coordinator", match, "contacted")  # 403
    _answer(personas, "recipient_caseworker", match, "contacted")  # 404
    assert (AuditEntry.objects.count(), Event.objects.count()) == (entries, events)


def test_an_answer_tells_both_sides_with_ids_and_codes_only(match, personas, orgs):
    _answer(personas, "caseworker", match, "contacted")

    [event] = Event.objects.filter(type="match.updated")
    assert sorted(event.organisations) == sorted([str(orgs["hotline-be"].pk), str(orgs["care-nl"].pk)])
    assert event.data == {"match": str(match.pk), "status": "done"}
    assert event.case is None and event.referral is None

    feed = personas["outsider_caseworker"].client.get("/api/v1/events/?after=0").json()["results"]
    assert [e["data"] for e in feed if e["type"] == "match.updated"] == [event.data]
    assert [e for e in personas["recipient_caseworker"].client.get("/api/v1/events/").json()["results"]
            if e["type"].startswith("match.")] == []
