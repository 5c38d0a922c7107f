"""Capacity in the web app: the org admin publishes it (/app/organisation/capacity/); the directory pages show it.

The page writes through ``partners.services.capacity_set`` after the API's
``CapacityUpdateSerializer``; a refused input comes back beside its field (422) and nothing
changes. The coordinator's members list and a member's page, and the referral form's
recipient list (with its "places available now" filter and order) show each service's
places and waitlist, stale ones marked so.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from coalition.audit.models import AuditEntry
from partners import services
from partners.choices import OrganisationKind, Phenomenon, RequestedService
from partners.models import OrganisationCapacity
from tests.support.personas import make_organisation, make_user
from tests.support.web import web_client_for

CAPACITY = "/app/organisation/capacity/"
S = RequestedService


def publish(organisation, capacity, *, days_ago: float = 0) -> None:
    admin = make_user(f"{organisation.slug}-publisher", organisation, ["org_admin"])
    services.capacity_set(actor=admin, organisation=organisation, entries=[
        {"service": service, "places_available": places, "waitlist_length": waitlist}
        for service, places, waitlist in capacity
    ])
    if days_ago:
        OrganisationCapacity.objects.filter(organisation=organisation).update(
            updated_at=timezone.now() - timedelta(days=days_ago)
        )


def rows(organisation) -> list[tuple[str, int, int]]:
    return list(OrganisationCapacity.objects.filter(organisation=organisation).order_by("service").values_list(
        "service", "places_available", "waitlist_length"
    ))


@pytest.fixture
def page(personas):
    return web_client_for(personas["org_admin"].user)


def error_beside(html: str, field: str) -> str:
    """The error list Django renders for ``field`` (just before its input), or ''."""
    match = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    return match.group(1) if match else ""


# --- the org admin's page ------------------------------------------------------------------------


def test_the_page_offers_every_service_with_places_and_waitlist(page):
    response = page.get(CAPACITY)
    assert response.status_code == 200
    html = response.content.decode()
    for code, label in S.choices:
        assert f'name="places_{code}"' in html and f'name="waitlist_{code}"' in html
        assert f"<legend>{label}</legend>" in html
    assert "Not published" in html
    assert 'aria-current="page"' in html and ">Capacity</a>" in html


def test_the_org_admin_publishes_capacity_and_sees_when_it_was_confirmed(page, orgs):
    response = page.post(CAPACITY, {
        "places_shelter": "2", "waitlist_shelter": "", "places_counselling": "0", "waitlist_counselling": "3",
    })
    assert response.status_code == 302 and response["Location"] == CAPACITY
    assert rows(orgs["hotline-be"]) == [("counselling", 0, 3), ("shelter", 2, 0)]
    assert AuditEntry.objects.filter(action="organisation.capacity").count() == 1
    html = page.get(CAPACITY).content.decode()
    assert html.count("Last confirmed") == 2
    assert 'name="places_shelter" value="2"' in html
    assert "The capacity was published, as of now." in html


def test_emptying_a_services_places_stops_publishing_it(page, orgs):
    publish(orgs["hotline-be"], [(S.SHELTER, 2, 0), (S.MEDICAL, 1, 0)])
    assert page.post(CAPACITY, {"places_shelter": "1"}).status_code == 302
    assert rows(orgs["hotline-be"]) == [("shelter", 1, 0)]


def test_stale_capacity_is_marked_on_the_page(page, orgs):
    publish(orgs["hotline-be"], [(S.SHELTER, 2, 0)], days_ago=8)
    html = page.get(CAPACITY).content.decode()
    assert '<span class="badge capacity-stale">stale</span>' in html


@pytest.mark.parametrize(("form", "field", "words"), [
    ({"places_shelter": "-1"}, "places_shelter", "greater than or equal to 0"),
    ({"places_shelter": "1000"}, "places_shelter", "less than or equal to 999"),
    ({"places_shelter": "two"}, "places_shelter", "Enter a whole number."),
    ({"places_shelter": "1", "waitlist_shelter": "-2"}, "waitlist_shelter", "greater than or equal to 0"),
    ({"waitlist_shelter": "3"}, "places_shelter", "Give the places available too (0 if none)."),
])
def test_a_refused_number_stands_beside_its_field_and_nothing_changes(page, orgs, form, field, words):
    publish(orgs["hotline-be"], [(S.MEDICAL, 1, 0)])
    response = page.post(CAPACITY, form)
    assert response.status_code == 422
    html = response.content.decode()
    assert words in error_beside(html, field)
    assert 'aria-invalid="true"' in html and "Nothing was saved." in html
    assert rows(orgs["hotline-be"]) == [("medical", 1, 0)]
    assert AuditEntry.objects.filter(action="organisation.capacity").count() == 1


@pytest.mark.parametrize("persona", ["caseworker", "coordinator", "auditor"])
def test_only_org_admins_have_the_page(personas, persona):
    client = web_client_for(personas[persona].user)
    assert client.get(CAPACITY).status_code == 403
    assert client.post(CAPACITY, {"places_shelter": "1"}).status_code == 403


def test_the_coordinations_admin_is_told_it_has_no_capacity_to_publish(orgs):
    admin = make_user("coordination-admin", orgs["coordination"], ["org_admin"])
    response = web_client_for(admin).post(CAPACITY, {"places_shelter": "1"})
    assert response.status_code == 422
    assert "takes no referrals" in response.content.decode()
    assert rows(orgs["coordination"]) == []


# --- the directory pages show it -------------------------------------------------------------------


def test_the_members_list_and_a_members_page_show_capacity_with_stale_marked(personas, orgs):
    publish(orgs["shelter-be"], [(S.SHELTER, 2, 0)])
    publish(orgs["care-nl"], [(S.COUNSELLING, 0, 3)], days_ago=10)
    client = web_client_for(personas["coordinator"].user)
    listing = client.get("/app/members/").content.decode()
    assert "Shelter or safe housing: 2 places" in listing
    assert "Counselling and therapy: 0 places, 3 waiting" in listing
    assert listing.count('class="badge capacity-stale"') == 1
    member = client.get(f"/app/members/{orgs['care-nl'].pk}/").content.decode()
    assert "0 places available, waitlist of 3" in member and "capacity-stale" in member
    assert "Not published" in client.get(f"/app/members/{orgs['hotline-be'].pk}/").content.decode()


def test_the_members_list_costs_the_same_queries_whatever_the_number_of_members(personas, orgs):
    client = web_client_for(personas["coordinator"].user)
    client.get("/app/members/")
    publish(orgs["shelter-be"], [(S.SHELTER, 2, 0)])
    with CaptureQueriesContext(connection) as few:
        assert client.get("/app/members/").status_code == 200
    for i in range(6):
        publish(make_organisation(f"member-{i}"), [(S.SHELTER, i, 1), (S.MEDICAL, 1, 0)])
    with CaptureQueriesContext(connection) as many:
        assert client.get("/app/members/").status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.fixture
def referral_page(flow, personas, orgs):
    """hotline-be's caseworker on the referral form of a teen-pimp case, with three members that take such cases."""
    case = flow.open_case()
    shelter = orgs["shelter-be"]
    street = make_organisation("streetwork-be", OrganisationKind.CARE_PROVIDER, phenomena=[Phenomenon.TEEN_PIMP])
    stale = make_organisation("stale-be", OrganisationKind.NGO, phenomena=[Phenomenon.TEEN_PIMP])
    publish(shelter, [(S.SHELTER, 2, 0)])
    publish(street, [(S.OUTREACH, 5, 0)])
    publish(stale, [(S.SHELTER, 9, 0)], days_ago=10)
    client = web_client_for(personas["caseworker"].user)
    return client, f"/app/cases/{case['id']}/referrals/new/"


def _listed(html: str) -> list[str]:
    return re.findall(r'<label for="recipient-[^"]+">([^<]+)</label>', html)


def test_the_recipient_list_shows_each_members_capacity(referral_page):
    client, url = referral_page
    html = client.get(url).content.decode()
    assert "Shelter or safe housing: 2 places" in html
    assert "Outreach and street work: 5 places" in html
    assert re.search(r"9 places <span class=\"badge capacity-stale\">stale</span>", html)
    assert "is stale and does not count." in html  # the filter says what stale means


def test_the_recipient_list_filters_on_places_available_now_and_orders_by_them(referral_page):
    client, url = referral_page
    query = "?phenomenon=teen_pimp&age=&region=&language="
    assert _listed(client.get(url + query).content.decode()) == ["Test shelter-be", "Test stale-be", "Test streetwork-be"]
    with_places = _listed(client.get(url + query + "&has_capacity=on").content.decode())
    assert with_places == ["Test shelter-be", "Test streetwork-be"]  # stale places do not count
    most_first = _listed(client.get(url + query + "&ordering=-capacity").content.decode())
    assert most_first == ["Test streetwork-be", "Test shelter-be", "Test stale-be"]
    partial = client.get(url + query + "&has_capacity=on&ordering=-capacity", HTTP_HX_REQUEST="true")
    assert _listed(partial.content.decode()) == ["Test streetwork-be", "Test shelter-be"]
