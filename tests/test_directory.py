"""The coalition directory (GET /api/v1/organisations/): find the members that fit a young person.

The JSON list filters (phenomenon, region, language) go through ``coalition.core.db``'s
``has_item`` lookup, which has one implementation per database: the suite runs on
PostgreSQL and SQLite, and each test here runs on whichever the run uses.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partners import services
from partners.choices import ApiKeyScope, Language, MembershipStatus, OrganisationKind, Phenomenon
from partners.models import Organisation
from tests.support.personas import Persona, make_organisation

DIRECTORY = "/api/v1/organisations/"
P = Phenomenon


@pytest.fixture
def directory(personas):
    """The personas' four organisations plus four more, each differing on one axis.

    From conftest: hotline-be (hotline, BE, BE-VLG, nl/en, every phenomenon, 0-18),
    shelter-be (shelter, BE, BE-VLG, nl/en, teen_pimp, 12-18), care-nl (care_provider,
    NL, NL-NH, nl/en, grooming, 10-18), coordination (coordinator, BE, no regions,
    nl/en, no phenomena, 10-18).
    """
    make_organisation(
        "brussels-fr", OrganisationKind.NGO, regions=["BE-BRU"], languages=[Language.FR, Language.AR],
        phenomena=[P.SEXTORTION, P.BOYS_PROSTITUTION], min_age=14, max_age=23,
    )
    make_organisation(
        "paused-nl", OrganisationKind.NGO, country="NL", regions=["NL-ZH"], languages=[Language.NL],
        phenomena=[P.GROOMING, P.SEXTING], min_age=12, max_age=16, accepting_referrals=False,
    )
    make_organisation(
        "suspended-be", OrganisationKind.POLICE_LIAISON, regions=["BE-WAL"], languages=[Language.FR],
        phenomena=[P.TRAFFICKING, P.GROOMING], min_age=0, max_age=18, membership_status=MembershipStatus.SUSPENDED,
    )
    make_organisation(
        "left-nl", OrganisationKind.NGO, country="NL", regions=["NL-UT"], languages=[Language.NL],
        phenomena=[P.GROOMING], min_age=16, max_age=18, membership_status=MembershipStatus.LEFT,
    )
    assert Organisation.objects.count() == 8
    return personas


ALL = {"hotline-be", "shelter-be", "care-nl", "coordination", "brussels-fr", "paused-nl", "suspended-be", "left-nl"}

CASES = [
    # single filters
    ({"phenomenon": "grooming"}, {"hotline-be", "care-nl", "paused-nl", "suspended-be", "left-nl"}),
    ({"phenomenon": "sextortion"}, {"hotline-be", "brussels-fr"}),
    ({"phenomenon": "teen_pimp"}, {"hotline-be", "shelter-be"}),
    ({"phenomenon": "child_sex_tourism"}, {"hotline-be"}),
    ({"region": "BE-VLG"}, {"hotline-be", "shelter-be"}),
    ({"region": "BE-BRU"}, {"brussels-fr"}),
    ({"region": "NL-NH"}, {"care-nl"}),
    ({"region": "LU-L"}, set()),
    ({"language": "fr"}, {"brussels-fr", "suspended-be"}),
    ({"language": "ar"}, {"brussels-fr"}),
    ({"language": "en"}, {"hotline-be", "shelter-be", "care-nl", "coordination"}),
    ({"language": "de"}, set()),
    ({"kind": "ngo"}, {"brussels-fr", "paused-nl", "left-nl"}),
    ({"kind": "hotline"}, {"hotline-be"}),
    ({"kind": "coordinator"}, {"coordination"}),
    ({"kind": "prosecution_liaison"}, set()),
    ({"country": "NL"}, {"care-nl", "paused-nl", "left-nl"}),
    ({"country": "BE"}, {"hotline-be", "shelter-be", "coordination", "brussels-fr", "suspended-be"}),
    ({"membership_status": "active"}, ALL - {"suspended-be", "left-nl"}),
    ({"membership_status": "suspended"}, {"suspended-be"}),
    ({"membership_status": "left"}, {"left-nl"}),
    # accepting: an active member that accepts referrals now; suspended and left members never are
    ({"accepting": "true"}, {"hotline-be", "shelter-be", "care-nl", "coordination", "brussels-fr"}),
    ({"accepting": "false"}, {"paused-nl", "suspended-be", "left-nl"}),
    # age: inside, outside and on the boundaries of each range
    ({"age": "0"}, {"hotline-be", "suspended-be"}),
    ({"age": "11"}, {"hotline-be", "care-nl", "coordination", "suspended-be"}),
    ({"age": "12"}, {"hotline-be", "shelter-be", "care-nl", "coordination", "paused-nl", "suspended-be"}),
    ({"age": "13"}, {"hotline-be", "shelter-be", "care-nl", "coordination", "paused-nl", "suspended-be"}),
    ({"age": "14"}, ALL - {"left-nl"}),
    ({"age": "16"}, ALL),
    ({"age": "17"}, ALL - {"paused-nl"}),
    ({"age": "18"}, ALL - {"paused-nl"}),
    ({"age": "19"}, {"brussels-fr"}),
    ({"age": "23"}, {"brussels-fr"}),
    ({"age": "24"}, set()),
    ({"age": "25"}, set()),
    # combinations narrow down
    ({"phenomenon": "grooming", "accepting": "true"}, {"hotline-be", "care-nl"}),
    ({"phenomenon": "grooming", "country": "NL", "age": "15"}, {"care-nl", "paused-nl"}),
    ({"language": "nl", "region": "NL-ZH"}, {"paused-nl"}),
    ({"kind": "ngo", "accepting": "true"}, {"brussels-fr"}),
    ({"phenomenon": "grooming", "age": "17", "accepting": "true", "language": "en"}, {"hotline-be", "care-nl"}),
    ({"phenomenon": "sextortion", "language": "fr", "region": "BE-BRU", "age": "15"}, {"brussels-fr"}),
    ({"phenomenon": "sextortion", "language": "fr", "region": "BE-BRU", "age": "13"}, set()),
    ({"membership_status": "suspended", "accepting": "true"}, set()),
    ({"phenomenon": "trafficking", "country": "BE", "accepting": "false"}, {"suspended-be"}),
]


def _slugs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [organisation["slug"] for organisation in response.json()["results"]]


@pytest.mark.parametrize(("params", "expected"), CASES, ids=[repr(params) for params, _ in CASES])
def test_caseworker_filters_the_directory(directory, params, expected):
    slugs = _slugs(directory["caseworker"].client.get(DIRECTORY, params))
    assert set(slugs) == expected
    assert slugs == sorted(slugs)


@pytest.mark.parametrize(("params", "expected"), CASES[::4], ids=[repr(params) for params, _ in CASES[::4]])
def test_partner_system_with_directory_scope_sees_the_same(directory, params, expected):
    human = _slugs(directory["caseworker"].client.get(DIRECTORY, params))
    machine = _slugs(directory["partner_system"].client.get(DIRECTORY, params))
    assert machine == human
    assert set(machine) == expected


def test_unfiltered_directory_lists_every_member_whatever_its_status(directory):
    assert set(_slugs(directory["caseworker"].client.get(DIRECTORY))) == ALL


@pytest.mark.parametrize("persona", ["org_admin", "coordinator", "auditor", "outsider_caseworker"])
def test_every_human_role_reads_the_directory(directory, persona):
    assert set(_slugs(directory[persona].client.get(DIRECTORY, {"accepting": "true"}))) == {
        "hotline-be", "shelter-be", "care-nl", "coordination", "brussels-fr",
    }


def test_directory_entry_has_the_integration_fields(directory):
    care = Organisation.objects.get(slug="care-nl")
    response = directory["partner_system"].client.get(f"{DIRECTORY}{care.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert {
        "id", "slug", "name", "kind", "country", "regions", "languages", "phenomena",
        "min_age", "max_age", "accepting_referrals", "membership_status",
    } <= set(body)
    assert (body["slug"], body["kind"], body["country"]) == ("care-nl", "care_provider", "NL")
    assert body["regions"] == ["NL-NH"]
    assert (body["phenomena"], body["min_age"], body["max_age"]) == (["grooming"], 10, 18)


def test_partner_system_without_directory_scope_is_refused(directory):
    admin = directory["org_admin"].user
    key = services.api_key_create(actor=admin, name="Feed reader", scopes=[ApiKeyScope.EVENTS_READ], expires_at=None)
    reader = Persona("feed_reader", raw_api_key=key.raw_key, organisation=admin.organisation)
    response = reader.client.get(DIRECTORY)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"


def test_anonymous_caller_cannot_read_the_directory(directory, anonymous_client):
    assert anonymous_client.get(DIRECTORY).status_code == 401


INVALID = [
    {"phenomenon": "loverboys"},
    {"phenomenon": "GROOMING"},
    {"language": "xx"},
    {"kind": "bank"},
    {"membership_status": "gone"},
    {"accepting": "maybe"},
    {"age": "abc"},
    {"age": "-1"},
    {"age": "26"},
    {"age": "12.5"},
    {"region": "BE-" + "X" * 20},
    {"country": "BEL"},
]


@pytest.mark.parametrize("params", INVALID, ids=[repr(params) for params in INVALID])
def test_invalid_filter_value_is_a_400_problem_naming_the_parameter(directory, params):
    response = directory["caseworker"].client.get(DIRECTORY, params)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    (name,) = params
    assert any(error["pointer"] == f"#/{name}" for error in body["errors"]), body


@pytest.mark.parametrize("value", ['BE"]', "BE-VLG' OR '1'='1", "%", "_", "[]", "\\", '{"a":1}'])
def test_json_list_filter_treats_odd_values_as_plain_text(directory, value):
    # The has_item lookup must bind the value, never splice it into SQL or JSON.
    assert _slugs(directory["caseworker"].client.get(DIRECTORY, {"region": value[:10]})) == []


def test_json_list_filter_matches_whole_items_only(directory):
    # "BE" is a prefix of "BE-VLG" but not an item of any organisation's regions.
    assert _slugs(directory["caseworker"].client.get(DIRECTORY, {"region": "BE"})) == []
    assert _slugs(directory["caseworker"].client.get(DIRECTORY, {"phenomenon": "other_online_exploitation"})) == [
        "hotline-be"
    ]


def _count_list_queries(client, params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(DIRECTORY, params)
    assert response.status_code == 200
    return len(queries.captured_queries)


def _add_organisations(count: int, prefix: str) -> None:
    Organisation.objects.bulk_create(
        Organisation(
            slug=f"{prefix}-{i:03d}", name=f"Extra {i}", kind=OrganisationKind.NGO, country="BE",
            regions=["BE-VLG"], languages=["nl"], phenomena=["grooming"],
        )
        for i in range(count)
    )


@pytest.mark.parametrize("persona", ["caseworker", "partner_system"])
def test_list_query_count_does_not_grow_with_the_number_of_organisations(personas, persona):
    client = personas[persona].client
    params = {"phenomenon": "grooming", "page_size": 100}
    client.get(DIRECTORY, params)  # warm up: once-a-minute writes such as an API key's last use
    # hotline-be and care-nl handle grooming already.
    _add_organisations(1, "few")
    few_count = _count_list_queries(client, params)
    assert len(client.get(DIRECTORY, params).json()["results"]) == 3
    _add_organisations(27, "many")
    many_count = _count_list_queries(client, params)
    assert len(client.get(DIRECTORY, params).json()["results"]) == 30
    assert many_count == few_count
    assert many_count <= 4
