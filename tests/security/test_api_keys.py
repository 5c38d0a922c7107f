"""Partner-system API keys: shown once, stored as a digest, scoped, revocable, expiring, and
confined to their organisation (api_docs/concepts.md, "Words" and "Who may do what"; api_docs/security.md: API keys)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from partners.models import ApiKey
from tests.support.problems import assert_problem

from .helpers import PROBE_URL, api_key_client, get_me

API_KEYS_URL = "/api/v1/api-keys/"


def _create(org_admin, *, scopes, name="Case system", expires_at=None) -> dict:
    body = {"name": name, "scopes": scopes}
    if expires_at is not None:
        body["expires_at"] = expires_at.isoformat()
    response = org_admin.client.post(API_KEYS_URL, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def created(personas):
    """A key with a referrals scope, approved by the coordinator (hotline-be has no second org admin)."""
    body = _create(personas["org_admin"], scopes=["organisations:read", "referrals:read"])
    assert body["awaiting_approval"] is True
    coordinator = personas["coordinator"].client
    [approval] = [a for a in coordinator.get("/api/v1/approvals/").json()["results"] if a["api_key"] == body["id"]]
    assert coordinator.post(f"/api/v1/approvals/{approval['id']}/approve/").status_code == 200
    return body


# --- shown once, stored as a digest -------------------------------------------------------------


def test_the_raw_key_is_in_the_create_answer_with_its_prefix(created):
    raw = created["key"]
    assert raw.startswith(f"crn_{created['prefix']}_")
    assert len(raw.split("_", 2)[2]) >= 40  # 256 random bits, url-safe base64


def test_the_raw_key_is_never_in_list_or_detail(personas, created):
    client = personas["org_admin"].client
    raw = created["key"]
    secret = raw.split("_", 2)[2]

    listing = client.get(API_KEYS_URL)
    assert listing.status_code == 200
    entry = next(item for item in listing.json()["results"] if item["id"] == created["id"])
    assert entry["prefix"] == created["prefix"]
    assert "key" not in entry
    assert secret not in listing.content.decode()

    detail = client.get(f"{API_KEYS_URL}{created['id']}/")
    assert detail.status_code == 200
    assert detail.json()["prefix"] == created["prefix"]
    assert "key" not in detail.json()
    assert secret not in detail.content.decode()


def test_only_a_sha256_digest_of_the_key_is_stored(created):
    raw = created["key"]
    secret = raw.split("_", 2)[2]
    stored = ApiKey.objects.get(id=created["id"])
    assert stored.key_digest == hashlib.sha256(raw.encode()).hexdigest()

    table = connection.ops.quote_name(ApiKey._meta.db_table)
    with connection.cursor() as cursor:
        key_id = stored.pk.hex if connection.vendor == "sqlite" else stored.pk
        cursor.execute(f"SELECT * FROM {table} WHERE id = %s", [key_id])
        row = cursor.fetchone()
    assert row is not None
    flattened = " ".join(str(value) for value in row)
    assert raw not in flattened
    assert secret not in flattened
    assert created["prefix"] in flattened


# --- authenticating as the partner system ------------------------------------------------------


def test_an_api_key_authenticates_as_its_organisations_partner_system(personas, created):
    response = get_me(api_key_client(created["key"]))
    assert response.status_code == 200
    body = response.json()
    assert body["actor_type"] == "partner_system"
    assert body["username"] is None
    assert body["roles"] == []
    assert body["organisation"]["slug"] == "hotline-be"
    assert body["api_key"]["id"] == created["id"]
    assert body["api_key"]["prefix"] == created["prefix"]
    assert sorted(body["api_key"]["scopes"]) == ["organisations:read", "referrals:read"]
    assert "key" not in body["api_key"]


def test_a_key_with_organisations_read_reads_the_directory(created):
    assert api_key_client(created["key"]).get("/api/v1/organisations/").status_code == 200


def test_a_key_without_organisations_read_gets_403_on_the_directory(personas):
    created = _create(personas["org_admin"], scopes=["events:read"])
    client = api_key_client(created["key"])
    assert_problem(client.get("/api/v1/organisations/"), 403, "forbidden")
    assert client.get(PROBE_URL).status_code == 200  # the key itself is valid


def test_last_used_at_is_recorded(created):
    assert created["last_used_at"] is None
    before = timezone.now()
    assert api_key_client(created["key"]).get(PROBE_URL).status_code == 200
    last_used = ApiKey.objects.get(id=created["id"]).last_used_at
    assert last_used is not None
    assert before <= last_used <= timezone.now()


def test_last_used_at_is_shown_to_the_org_admin(personas, created):
    api_key_client(created["key"]).get(PROBE_URL)
    detail = personas["org_admin"].client.get(f"{API_KEYS_URL}{created['id']}/")
    assert detail.json()["last_used_at"] is not None


# --- refused keys -------------------------------------------------------------------------------


def test_a_revoked_key_is_401(personas, created):
    client = api_key_client(created["key"])
    assert client.get(PROBE_URL).status_code == 200
    assert personas["org_admin"].client.delete(f"{API_KEYS_URL}{created['id']}/").status_code == 204
    assert_problem(client.get(PROBE_URL), 401)
    detail = personas["org_admin"].client.get(f"{API_KEYS_URL}{created['id']}/")
    assert detail.json()["revoked_at"] is not None


def test_revoking_twice_is_409(personas, created):
    url = f"{API_KEYS_URL}{created['id']}/"
    assert personas["org_admin"].client.delete(url).status_code == 204
    assert_problem(personas["org_admin"].client.delete(url), 409)


def test_an_expired_key_is_401(personas):
    tomorrow = timezone.now() + timedelta(days=1)
    created = _create(personas["org_admin"], scopes=["organisations:read"], expires_at=tomorrow)
    client = api_key_client(created["key"])
    assert client.get(PROBE_URL).status_code == 200
    ApiKey.objects.filter(id=created["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_problem(client.get(PROBE_URL), 401)


def test_a_key_cannot_be_created_already_expired(personas):
    response = personas["org_admin"].client.post(
        API_KEYS_URL,
        {
            "name": "Stale",
            "scopes": ["organisations:read"],
            "expires_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        },
        format="json",
    )
    assert_problem(response, 400, "validation-error")


def _malformed_keys(raw: str) -> list[str]:
    prefix, secret = raw.split("_", 2)[1:]
    return [
        "not-a-key",
        "crn_",
        f"crn_{prefix}",
        f"crn_{prefix}_",
        f"crn_{prefix}_{secret[:-1]}",  # truncated
        f"crn_{prefix}_{secret}x",  # extended
        f"crn_{prefix}_{'A' * len(secret)}",  # right prefix, wrong secret
        f"crn_00000000_{secret}",  # wrong prefix, right secret
        f"xyz_{prefix}_{secret}",
        f"crn_{prefix}_{secret}_extra",
    ]


def test_malformed_or_wrong_keys_are_401(created):
    for bad in _malformed_keys(created["key"]):
        response = api_key_client(bad).get(PROBE_URL)
        assert_problem(response, 401)
    assert api_key_client(created["key"]).get(PROBE_URL).status_code == 200


def test_an_empty_api_key_header_is_401(db):
    client = api_key_client("")
    assert_problem(client.get(PROBE_URL), 401)


# --- what a key may not reach ------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v1/api-keys/"),
        ("post", "/api/v1/api-keys/"),
        ("get", "/api/v1/users/"),
        ("post", "/api/v1/invitations/"),
        ("post", "/api/v1/me/password/"),
        ("post", "/api/v1/auth/totp/"),
    ],
)
def test_api_keys_cannot_manage_keys_or_users(personas, method, path):
    client = personas["partner_system"].client  # a key holding every scope
    response = getattr(client, method)(path, {}, format="json") if method == "post" else client.get(path)
    assert_problem(response, 403, "forbidden")


def test_api_keys_cannot_reach_a_key_or_user_detail(personas, created):
    client = personas["partner_system"].client
    assert_problem(client.get(f"{API_KEYS_URL}{created['id']}/"), 403)
    assert_problem(client.delete(f"{API_KEYS_URL}{created['id']}/"), 403)
    assert_problem(client.get(f"/api/v1/users/{personas['caseworker'].user.id}/"), 403)
    assert ApiKey.objects.get(id=created["id"]).revoked_at is None


def test_people_other_than_org_admins_cannot_manage_keys(personas, created):
    for name in ("caseworker", "coordinator", "auditor"):
        client = personas[name].client
        assert_problem(client.get(API_KEYS_URL), 403)
        assert_problem(client.post(API_KEYS_URL, {"name": "x", "scopes": ["events:read"]}, format="json"), 403)
        assert_problem(client.delete(f"{API_KEYS_URL}{created['id']}/"), 403)


# --- confined to the organisation -----------------------------------------------------------------


def test_an_org_admin_of_another_organisation_gets_404_on_the_key(personas, created):
    outsider = personas["outsider_admin"].client
    url = f"{API_KEYS_URL}{created['id']}/"
    missing = assert_problem(outsider.get(f"{API_KEYS_URL}00000000-0000-0000-0000-000000000000/"), 404)
    foreign = assert_problem(outsider.get(url), 404)
    assert {k: v for k, v in foreign.items() if k != "request_id"} == {
        k: v for k, v in missing.items() if k != "request_id"
    }
    assert_problem(outsider.delete(url), 404)
    assert ApiKey.objects.get(id=created["id"]).revoked_at is None
    assert api_key_client(created["key"]).get(PROBE_URL).status_code == 200


def test_another_organisations_keys_are_not_listed(personas, created):
    listing = personas["outsider_admin"].client.get(API_KEYS_URL)
    assert listing.status_code == 200
    assert created["id"] not in {item["id"] for item in listing.json()["results"]}


def test_a_new_key_belongs_to_the_creators_organisation_whatever_the_body_says(personas):
    response = personas["org_admin"].client.post(
        API_KEYS_URL,
        {
            "name": "Sneaky",
            "scopes": ["organisations:read"],
            "organisation": str(personas["outsider_admin"].organisation.id),
        },
        format="json",
    )
    assert response.status_code == 201
    assert ApiKey.objects.get(id=response.json()["id"]).organisation == personas["org_admin"].organisation
