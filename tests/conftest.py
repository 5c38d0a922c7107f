"""Shared personas and an API client that checks every response against the committed schema.

Personas (the suite's stable cast, in the demo coalition's organisations):
- ``caseworker``: hotline-be (the sender in referral scenarios)
- ``recipient_caseworker``: shelter-be (a partner)
- ``outsider_caseworker``: care-nl (unrelated)
- ``org_admin``: hotline-be's admin
- ``outsider_admin``: care-nl's admin
- ``coordinator`` and ``auditor``: the coordination
- ``partner_system``: hotline-be's API key with every scope
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from partners import services
from partners.choices import ApiKeyScope, Language, OrganisationKind, Phenomenon, Role
from partners.models import Organisation, User
from partners.tokens import issue_tokens_for_tests

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "api_docs" / "openapi.yaml"
PASSWORD = "correct-horse-battery-staple-42"


@functools.lru_cache(maxsize=1)
def committed_openapi():
    import json

    from openapi_core import Config, OpenAPI

    config = Config(
        extra_media_type_deserializers={"application/problem+json": json.loads, "text/csv": lambda body, **_: body.decode("utf-8")}
    )
    return OpenAPI.from_file_path(str(SCHEMA_PATH), config=config)


def validate_against_schema(response) -> None:
    """Fail the test if ``response`` is not what the committed schema promises."""
    from openapi_core.contrib.django import DjangoOpenAPIResponse

    request = response.wsgi_request
    committed_openapi().validate_response(_PathMatchedRequest(request), DjangoOpenAPIResponse(response))


class _PathMatchedRequest:
    """openapi-core request wrapper that lets the schema's templates match the concrete path."""

    def __init__(self, request):
        from openapi_core.contrib.django import DjangoOpenAPIRequest

        self._inner = DjangoOpenAPIRequest(request)
        self.host_url = self._inner.host_url
        self.path = self._inner.path
        self.method = self._inner.method
        self.body = self._inner.body
        self.content_type = self._inner.content_type
        self.parameters = self._inner.parameters
        self.path_pattern = None


class SchemaCheckedClient(APIClient):
    """APIClient whose every API response is validated against api_docs/openapi.yaml."""

    validate = True

    def request(self, **kwargs):
        response = super().request(**kwargs)
        path = response.wsgi_request.path
        if self.validate and (path.startswith("/api/v1/") or path in ("/healthz", "/readyz")) and path != "/api/v1/schema/":
            if response.status_code not in (404, 405) or response.wsgi_request.resolver_match is not None:
                validate_against_schema(response)
        return response


def make_organisation(slug: str, kind: str = OrganisationKind.NGO, **fields) -> Organisation:
    defaults = {
        "name": f"Test {slug}",
        "kind": kind,
        "country": "BE",
        "regions": ["BE-VLG"],
        "languages": [Language.NL, Language.EN],
        "phenomena": [Phenomenon.TEEN_PIMP, Phenomenon.GROOMING],
        "min_age": 10,
        "max_age": 18,
    }
    defaults.update(fields)
    organisation, _ = Organisation.objects.get_or_create(slug=slug, defaults=defaults)
    return organisation


def make_user(username: str, organisation: Organisation, roles: list[str], password: str = PASSWORD) -> User:
    user = User(username=username, organisation=organisation, roles=roles, email=f"{username}@example.org")
    user.set_password(password)
    user.save()
    return user


def approved_api_key(*, actor: User, approver: User, name: str, scopes: list[str]) -> services.NewApiKey:
    """A key made through the service and, where it needs one, approved by ``approver`` (a second person)."""
    from partners.models import AccessApproval

    created = services.api_key_create(actor=actor, name=name, scopes=scopes, expires_at=None)
    if created.api_key.awaiting_approval:
        approval = AccessApproval.objects.get(api_key=created.api_key)
        services.approval_decide(actor=approver, approval=approval, approve=True)
        created.api_key.refresh_from_db()
    return created


class Persona:
    """A named actor of the suite with an authenticated, schema-checked client."""

    def __init__(self, name: str, *, user: User | None = None, raw_api_key: str | None = None, organisation=None):
        self.name = name
        self.user = user
        self.raw_api_key = raw_api_key
        self.organisation = organisation or (user.organisation if user else None)
        self.client = SchemaCheckedClient()
        if user is not None:
            self.tokens = issue_tokens_for_tests(user, mfa_verified=True)
            self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.tokens.access}")
        elif raw_api_key is not None:
            self.client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_api_key}")

    def __repr__(self) -> str:
        return f"<Persona {self.name}>"


@pytest.fixture
def orgs(db):
    return {
        "hotline-be": make_organisation("hotline-be", OrganisationKind.HOTLINE, phenomena=list(Phenomenon.values), min_age=0),
        "shelter-be": make_organisation("shelter-be", OrganisationKind.SHELTER, phenomena=[Phenomenon.TEEN_PIMP], min_age=12),
        "care-nl": make_organisation(
            "care-nl", OrganisationKind.CARE_PROVIDER, country="NL", regions=["NL-NH"], phenomena=[Phenomenon.GROOMING]
        ),
        "coordination": make_organisation("coordination", OrganisationKind.COORDINATOR, phenomena=[], regions=[]),
    }


@pytest.fixture
def personas(orgs):
    hotline, shelter, care, coordination = orgs["hotline-be"], orgs["shelter-be"], orgs["care-nl"], orgs["coordination"]
    admin_user = make_user("hotline-be-admin", hotline, [Role.ORG_ADMIN])
    coordinator = make_user("coordinator", coordination, [Role.COORDINATOR])
    # hotline-be has no other org admin: the coordinator is the second person who approves the key.
    key = approved_api_key(actor=admin_user, approver=coordinator, name="Hotline case system", scopes=list(ApiKeyScope.values))
    people = {
        "caseworker": Persona("caseworker", user=make_user("hotline-be-caseworker", hotline, [Role.CASEWORKER])),
        "recipient_caseworker": Persona(
            "recipient_caseworker", user=make_user("shelter-be-caseworker", shelter, [Role.CASEWORKER])
        ),
        "outsider_caseworker": Persona("outsider_caseworker", user=make_user("care-nl-caseworker", care, [Role.CASEWORKER])),
        "org_admin": Persona("org_admin", user=admin_user),
        "outsider_admin": Persona("outsider_admin", user=make_user("care-nl-admin", care, [Role.ORG_ADMIN])),
        "coordinator": Persona("coordinator", user=coordinator),
        "auditor": Persona("auditor", user=make_user("auditor", coordination, [Role.AUDITOR])),
        "partner_system": Persona("partner_system", raw_api_key=key.raw_key, organisation=hotline),
        "anonymous": Persona("anonymous"),
    }
    return people


@pytest.fixture
def anonymous_client():
    return SchemaCheckedClient()


# The referral flow helper is for every test package (audit, events, oversight), not only referrals/.
from tests.referrals.conftest import flow  # noqa: E402,F401


def _flush_may_truncate_the_audit_trail():
    """Let the test flush (PostgreSQL: one TRUNCATE of every table) past the audit entries' TRUNCATE trigger.

    The trigger lets through a transaction that set ``coalition.allow_audit_truncate``
    (audit migration 0004); Django's flush runs its statements in one transaction, so a
    ``SET LOCAL`` before them lasts exactly as long as the flush.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    sql_flush = DatabaseOperations.sql_flush

    def flush_with_audit_truncate_allowed(self, style, tables, **kwargs):
        statements = sql_flush(self, style, tables, **kwargs)
        return ["SET LOCAL coalition.allow_audit_truncate = 'on';", *statements] if statements else statements

    DatabaseOperations.sql_flush = flush_with_audit_truncate_allowed


_flush_may_truncate_the_audit_trail()


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres_only`` are skipped before any set-up when the suite runs on SQLite.

    Skipping inside a fixture would come too late for transactional tests: their
    teardown flushes the tables, and SQLite's flush deletes rows, which the audit
    trail's append-only trigger refuses (PostgreSQL's flush truncates).
    """
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs real parallel connections (PostgreSQL)")
    for item in items:
        if item.get_closest_marker("postgres_only"):
            item.add_marker(skip)
