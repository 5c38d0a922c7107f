"""Capacity in the directory: org admins publish places available and waitlist per requested service.

PUT /api/v1/organisations/{id}/capacity/ (``partners.services.capacity_set``) replaces the
organisation's published capacity; the directory shows it with ``stale`` after
``CAPACITY_STALE_DAYS``, filters on ``has_capacity`` and orders by ``ordering=capacity``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from coalition.audit.models import AuditEntry
from coalition.core.errors import Forbidden, InvalidInput
from coalition.events.models import Event
from partners import services
from partners.choices import MembershipStatus, OrganisationKind, RequestedService
from partners.models import Organisation, OrganisationCapacity
from tests.support.personas import make_organisation
from tests.support.problems import assert_problem

DIRECTORY = "/api/v1/organisations/"
S = RequestedService


def capacity_url(organisation) -> str:
    return f"{DIRECTORY}{organisation.pk}/capacity/"


def put(persona, organisation, capacity):
    return persona.client.put(capacity_url(organisation), {"capacity": capacity}, format="json")


def rows(organisation) -> list[tuple[str, int, int]]:
    return [
        (row.service, row.places_available, row.waitlist_length)
        for row in OrganisationCapacity.objects.filter(organisation=organisation).order_by("service")
    ]


def age(organisation, service: str, days: float) -> None:
    """Move a row's last confirmation ``days`` into the past (time is not frozen: the row is)."""
    OrganisationCapacity.objects.filter(organisation=organisation, service=service).update(
        updated_at=timezone.now() - timedelta(days=days)
    )


# --- setting it ------------------------------------------------------------------------------------


def test_org_admin_sets_their_organisations_capacity_per_service(personas, orgs):
    admin, hotline = personas["org_admin"], orgs["hotline-be"]
    response = put(admin, hotline, [
        {"service": S.SHELTER, "places_available": 2, "waitlist_length": 0},
        {"service": S.COUNSELLING, "places_available": 0, "waitlist_length": 3},
    ])
    assert response.status_code == 200, response.content
    capacity = response.json()["capacity"]
    assert [(c["service"], c["places_available"], c["waitlist_length"], c["stale"]) for c in capacity] == [
        ("counselling", 0, 3, False), ("shelter", 2, 0, False),
    ]
    assert all(c["updated_at"] for c in capacity)
    row = OrganisationCapacity.objects.get(organisation=hotline, service=S.SHELTER)
    assert (row.updated_by, row.updated_by_api_key) == (admin.user, None)


def test_setting_again_replaces_what_was_published_and_confirms_it_as_of_now(personas, orgs):
    admin, hotline = personas["org_admin"], orgs["hotline-be"]
    put(admin, hotline, [{"service": S.SHELTER, "places_available": 2}, {"service": S.MEDICAL, "places_available": 1}])
    age(hotline, S.SHELTER, 10)
    response = put(admin, hotline, [{"service": S.SHELTER, "places_available": 2}])
    assert response.status_code == 200
    assert rows(hotline) == [("shelter", 2, 0)]  # medical left out: removed
    assert response.json()["capacity"][0]["stale"] is False  # the same numbers, confirmed again


def test_an_organisation_that_offers_one_service_sets_one_row_and_an_empty_list_publishes_none(personas, orgs):
    admin, hotline = personas["org_admin"], orgs["hotline-be"]
    assert put(admin, hotline, [{"service": S.OUTREACH, "places_available": 4}]).status_code == 200
    assert rows(hotline) == [("outreach", 4, 0)]
    response = put(admin, hotline, [])
    assert response.status_code == 200
    assert response.json()["capacity"] == [] and rows(hotline) == []


def test_every_change_is_audited_with_codes_and_numbers_only(personas, orgs):
    admin, hotline = personas["org_admin"], orgs["hotline-be"]
    put(admin, hotline, [{"service": S.SHELTER, "places_available": 2}, {"service": S.MEDICAL, "places_available": 1}])
    put(admin, hotline, [{"service": S.SHELTER, "places_available": 1, "waitlist_length": 2}])
    entries = list(AuditEntry.objects.filter(action="organisation.capacity").order_by("seq"))
    assert len(entries) == 2
    last = entries[-1]
    assert (last.actor_user, last.organisation, last.object_id) == (admin.user.pk, hotline.pk, str(hotline.pk))
    assert last.detail == {
        "capacity": [{"service": "shelter", "places_available": 1, "waitlist_length": 2}], "removed": ["medical"],
    }


def test_every_change_is_an_event_for_every_active_member_with_codes_and_numbers_only(personas, orgs):
    admin, hotline = personas["org_admin"], orgs["hotline-be"]
    suspended = make_organisation("suspended-be", membership_status=MembershipStatus.SUSPENDED)
    put(admin, hotline, [{"service": S.SHELTER, "places_available": 2, "waitlist_length": 1}])
    [event] = Event.objects.filter(type="organisation.capacity_changed")
    active = {str(o.pk) for o in Organisation.objects.filter(membership_status=MembershipStatus.ACTIVE)}
    assert set(event.organisations) == active and str(suspended.pk) not in event.organisations
    assert (event.case, event.referral) == (None, None)
    row = OrganisationCapacity.objects.get(organisation=hotline)
    assert event.data == {
        "organisation": str(hotline.pk),
        "capacity": [{"service": "shelter", "places_available": 2, "waitlist_length": 1,
                      "updated_at": row.updated_at.isoformat()}],
        "removed": [],
    }
    # Another member's partner system reads it in its feed.
    feed = personas["outsider_caseworker"].client.get("/api/v1/events/").json()["results"]
    assert [e["type"] for e in feed] == ["organisation.capacity_changed"]


# --- who may not ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["caseworker", "coordinator", "auditor", "partner_system"])
def test_only_org_admins_set_capacity(personas, orgs, persona):
    response = put(personas[persona], orgs["hotline-be"], [{"service": S.SHELTER, "places_available": 2}])
    assert_problem(response, 403)
    assert rows(orgs["hotline-be"]) == []
    assert not Event.objects.filter(type="organisation.capacity_changed").exists()


def test_another_organisations_admin_cannot_set_its_capacity(personas, orgs):
    response = put(personas["outsider_admin"], orgs["hotline-be"], [{"service": S.SHELTER, "places_available": 2}])
    assert_problem(response, 403)
    assert rows(orgs["hotline-be"]) == []
    assert not AuditEntry.objects.filter(action="organisation.capacity").exists()


def test_the_service_refuses_anyone_but_the_organisations_own_admins(personas, orgs):
    for name in ("caseworker", "coordinator", "outsider_admin"):
        with pytest.raises(Forbidden):
            services.capacity_set(
                actor=personas[name].user, organisation=orgs["hotline-be"],
                entries=[{"service": S.SHELTER, "places_available": 1}],
            )
    assert rows(orgs["hotline-be"]) == []


def test_the_coordination_publishes_no_capacity(personas, orgs):
    from tests.support.personas import Persona, make_user

    admin = Persona("coordination_admin", user=make_user("coordination-admin", orgs["coordination"], ["org_admin"]))
    response = put(admin, orgs["coordination"], [{"service": S.SHELTER, "places_available": 1}])
    assert_problem(response, 422)
    assert rows(orgs["coordination"]) == []


BAD = [
    ([{"service": S.SHELTER, "places_available": -1}], "/capacity/0/places_available"),
    ([{"service": S.SHELTER, "places_available": 1, "waitlist_length": -3}], "/capacity/0/waitlist_length"),
    ([{"service": S.SHELTER, "places_available": 1000}], "/capacity/0/places_available"),
    ([{"service": S.SHELTER, "places_available": 1.5}], "/capacity/0/places_available"),
    ([{"service": S.SHELTER, "places_available": "two"}], "/capacity/0/places_available"),
    ([{"service": S.SHELTER}], "/capacity/0/places_available"),
    ([{"service": "beds", "places_available": 1}], "/capacity/0/service"),
    ([{"service": S.SHELTER, "places_available": 1}, {"service": S.SHELTER, "places_available": 2}], "/capacity"),
    ("shelter", "/capacity"),
]


@pytest.mark.parametrize(("capacity", "pointer"), BAD, ids=[pointer + repr(c)[:40] for c, pointer in BAD])
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(personas, orgs, capacity, pointer):
    admin, hotline = personas["org_admin"], orgs["hotline-be"]
    put(admin, hotline, [{"service": S.MEDICAL, "places_available": 1}])
    body = assert_problem(put(admin, hotline, capacity), 400, "validation-error")
    assert any(error["pointer"] == f"#{pointer}" for error in body["errors"]), body
    assert rows(hotline) == [("medical", 1, 0)]
    assert AuditEntry.objects.filter(action="organisation.capacity").count() == 1


@pytest.mark.parametrize("entries", [
    [{"service": S.SHELTER, "places_available": -1}],
    [{"service": S.SHELTER, "places_available": True}],
    [{"service": "beds", "places_available": 1}],
    [{"service": S.SHELTER, "places_available": 1}, {"service": S.SHELTER, "places_available": 1}],
])
def test_the_service_checks_its_input_itself(personas, orgs, entries):
    with pytest.raises(InvalidInput) as refused:
        services.capacity_set(actor=personas["org_admin"].user, organisation=orgs["hotline-be"], entries=entries)
    assert list(refused.value.errors) == ["capacity"]
    assert rows(orgs["hotline-be"]) == []


# --- staleness ------------------------------------------------------------------------------------


def _capacity_of(persona, organisation) -> dict[str, dict]:
    body = persona.client.get(f"{DIRECTORY}{organisation.pk}/").json()
    return {c["service"]: c for c in body["capacity"]}


def test_capacity_not_confirmed_for_seven_days_is_stale(personas, orgs):
    admin, hotline = personas["org_admin"], orgs["hotline-be"]
    put(admin, hotline, [{"service": S.SHELTER, "places_available": 2}, {"service": S.MEDICAL, "places_available": 1}])
    age(hotline, S.SHELTER, 7.01)
    age(hotline, S.MEDICAL, 6.99)
    capacity = _capacity_of(personas["caseworker"], hotline)
    assert (capacity["shelter"]["stale"], capacity["medical"]["stale"]) == (True, False)


@override_settings(CAPACITY_STALE_DAYS=2)
def test_the_stale_age_is_configured(personas, orgs):
    admin, hotline = personas["org_admin"], orgs["hotline-be"]
    put(admin, hotline, [{"service": S.SHELTER, "places_available": 2}])
    age(hotline, S.SHELTER, 3)
    assert _capacity_of(personas["caseworker"], hotline)["shelter"]["stale"] is True


# --- the directory filters and orders by it ---------------------------------------------------------


@pytest.fixture
def published(personas, orgs):
    """hotline-be 3 places (fresh), shelter-be 5 places (stale), care-nl 0 places and a waitlist; ngo-x 1 place."""
    from tests.support.personas import make_user

    ngo = make_organisation("ngo-x", OrganisationKind.NGO)
    for organisation, capacity in [
        (orgs["hotline-be"], [(S.SHELTER, 2, 0), (S.COUNSELLING, 1, 0)]),
        (orgs["shelter-be"], [(S.SHELTER, 5, 0)]),
        (orgs["care-nl"], [(S.COUNSELLING, 0, 4)]),
        (ngo, [(S.LEGAL_SUPPORT, 1, 0)]),
    ]:
        admin = make_user(f"{organisation.slug}-capacity-admin", organisation, ["org_admin"])
        services.capacity_set(actor=admin, organisation=organisation, entries=[
            {"service": service, "places_available": places, "waitlist_length": waitlist}
            for service, places, waitlist in capacity
        ])
    age(orgs["shelter-be"], S.SHELTER, 8)
    return personas


def _slugs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [o["slug"] for o in response.json()["results"]]


def test_has_capacity_lists_members_with_places_that_are_not_stale(published):
    client = published["caseworker"].client
    assert _slugs(client.get(DIRECTORY, {"has_capacity": "true"})) == ["hotline-be", "ngo-x"]
    # Stale places, no places, no capacity published: none of them has capacity.
    assert _slugs(client.get(DIRECTORY, {"has_capacity": "false"})) == ["care-nl", "coordination", "shelter-be"]


def test_has_capacity_combines_with_the_other_filters(published):
    client = published["partner_system"].client
    assert _slugs(client.get(DIRECTORY, {"has_capacity": "true", "kind": "ngo"})) == ["ngo-x"]


def test_ordering_by_capacity_counts_places_that_are_not_stale_with_slug_as_tie_break(published):
    client = published["caseworker"].client
    # hotline-be 3, ngo-x 1; care-nl, coordination, shelter-be (stale) 0, by slug.
    most_first = ["hotline-be", "ngo-x", "care-nl", "coordination", "shelter-be"]
    assert _slugs(client.get(DIRECTORY, {"ordering": "-capacity"})) == most_first
    assert _slugs(client.get(DIRECTORY, {"ordering": "capacity"})) == [
        "care-nl", "coordination", "shelter-be", "ngo-x", "hotline-be",
    ]


def test_ordering_by_capacity_pages_through_every_member_once(published):
    client = published["caseworker"].client
    seen, url, params = [], DIRECTORY, {"ordering": "-capacity", "page_size": 2}
    while url:
        body = client.get(url, params).json()
        seen += [o["slug"] for o in body["results"]]
        url, params = body["next"], None
    assert seen == ["hotline-be", "ngo-x", "care-nl", "coordination", "shelter-be"]


@pytest.mark.parametrize("params", [{"has_capacity": "maybe"}, {"ordering": "name"}, {"ordering": "places"}])
def test_a_bad_capacity_filter_or_order_is_a_400_naming_it(published, params):
    body = assert_problem(published["caseworker"].client.get(DIRECTORY, params), 400)
    (name,) = params
    assert any(error["pointer"] == f"#/{name}" for error in body["errors"]), body


def _count_list_queries(client, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(DIRECTORY, params)
    assert response.status_code == 200
    return len(queries.captured_queries)


@pytest.mark.parametrize("params", [{}, {"has_capacity": "true", "ordering": "-capacity"}])
def test_the_directorys_query_count_does_not_grow_with_the_number_of_organisations(published, params):
    from tests.support.personas import make_user

    client = published["caseworker"].client
    params = params | {"page_size": 100}
    client.get(DIRECTORY, params)  # warm up
    few = _count_list_queries(client, params)
    for i in range(12):
        organisation = make_organisation(f"more-{i:02d}")
        admin = make_user(f"more-{i:02d}-admin", organisation, ["org_admin"])
        services.capacity_set(actor=admin, organisation=organisation, entries=[
            {"service": S.SHELTER, "places_available": 1}, {"service": S.MEDICAL, "places_available": i},
        ])
    many = _count_list_queries(client, params)
    assert len(client.get(DIRECTORY, params).json()["results"]) >= 14
    assert many == few


# --- the demo coalition -----------------------------------------------------------------------------


def test_the_demo_coalition_publishes_capacity_once(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("seed_demo", password="demo-password-for-the-capacity-test-1", stdout=out)
    assert "Published the capacity of shelter-be, ecpat-be, streetwork-be." in out.getvalue()
    by_slug = {
        slug: {(row.service, row.places_available, row.waitlist_length, row.stale)
               for row in OrganisationCapacity.objects.filter(organisation__slug=slug)}
        for slug in ("shelter-be", "ecpat-be", "streetwork-be")
    }
    assert by_slug["shelter-be"] == {("shelter", 2, 0, False)}
    assert {(places, waitlist) for _s, places, waitlist, _stale in by_slug["ecpat-be"]} == {(0, 3)}
    assert by_slug["streetwork-be"] == {("outreach", 1, 0, True)}
    events = Event.objects.filter(type="organisation.capacity_changed").count()
    again = StringIO()
    call_command("seed_demo", password="demo-password-for-the-capacity-test-1", stdout=again)
    assert "Published the capacity" not in again.getvalue()
    assert Event.objects.filter(type="organisation.capacity_changed").count() == events == 3
