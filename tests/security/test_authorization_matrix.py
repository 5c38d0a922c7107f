"""Authorization matrix (ASVS 8.1.1): every operation × every persona × own / partner / unrelated object.

tests/authz_matrix.yaml says what each persona must get; one parametrised test
checks every cell against the running API, and a route walk fails the suite when
an operation of /api/v1/ has no rows (or a row names an operation that is gone).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.db import transaction
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from partners import services
from partners.authentication import split_api_key
from partners.choices import ApiKeyScope
from partners.models import ApiKey, Organisation
from partners.tokens import issue_tokens_for_tests
from referrals.choices import (
    CaseStatus,
    ExceptionReview,
    ReferralStatus,
)
from tests.support.matrix_objects import (
    CASE_OBJECTS,
    OBJECT_BUILDERS,
    PERSONAL_OBJECTS,
    open_case,
    parties,
)
from tests.support.personas import PASSWORD, Persona, the_orgs, the_personas
from tests.support.routes import ROUTES, SERVED_METHODS

MATRIX_PATH = Path(__file__).resolve().parent.parent / "authz_matrix.yaml"
MATRIX = yaml.safe_load(MATRIX_PATH.read_text(encoding="utf-8"))
PERSONAS: list[str] = MATRIX["personas"]
# More rows, one file per part of the API (audit, oversight, statistics, events, webhooks),
# in the same format; only the main file names the personas.
MATRIX_PARTS = sorted((MATRIX_PATH.parent / "authz_matrix.d").glob("*.yaml"))
ROWS: list[dict[str, Any]] = MATRIX["rows"] + [
    row for part in MATRIX_PARTS for row in yaml.safe_load(part.read_text(encoding="utf-8"))["rows"]
]

# The one route under /api/v1/ that is not an API operation: the schema itself
# (covered by tests/security/test_deny_by_default.py).
NOT_IN_MATRIX = {"/api/v1/schema/"}

ROW_FIELDS = {"route", "method", "object", "relation", "state", "setup", "body", "expect"}
RELATIONS = ("own", "partner", "unrelated")
PLACEHOLDERS = {"password", "refresh", "totp", "own_case", "partner_organisation"}
PROBLEM_TYPES = {401: "not-authenticated", 403: "forbidden", 404: "not-found", 409: "conflict", 422: "business-rule"}


# The states a builder can bring its object to (directory objects take any field values).
STATES: dict[str, dict[str, set[str]]] = {
    "case": {"status": {CaseStatus.OPEN, CaseStatus.CLOSED}},
    "consent": {"status": {"valid", "withdrawn"}},
    "referral": {"status": set(ReferralStatus.values)},
    "exception": {"review_status": set(ExceptionReview.values)},
}


def _object_key(row: dict, persona: Persona, orgs: dict[str, Organisation]) -> tuple:
    owner, counterpart = parties(row["relation"], row["object"], persona, orgs)
    return row["object"], owner, counterpart, tuple(sorted((row.get("state") or {}).items()))


def _build(key: tuple) -> dict[str, Any]:
    kind, owner, counterpart, state = key
    return OBJECT_BUILDERS[kind](owner, counterpart, dict(state))


def _prepared_case_objects(
    orgs: dict[str, Organisation], personas: dict[str, Persona]
) -> dict[tuple, dict[str, Any] | Exception]:
    """Every case, consent, referral and exception a cell acts on, each built once.

    They are built in the module's transaction, so a cell that changes one (accepts a
    referral, closes a case) changes it inside its own savepoint, which is rolled back:
    the next cell finds it as built. Walking a referral through the services costs about
    fifty queries; a thousand cells would spend most of their time there.
    """
    prepared: dict[tuple, dict[str, Any] | Exception] = {}
    for row in ROWS:
        if row.get("object") in CASE_OBJECTS:
            for name in PERSONAS:
                key = _object_key(row, personas[name], orgs)
                if key not in prepared:
                    try:
                        with transaction.atomic():
                            prepared[key] = _build(key)
                    except Exception as error:  # a bad row fails its own cells, not the module
                        prepared[key] = error
    return prepared


def _target(row: dict, persona: Persona, cast: Cast) -> dict[str, Any]:
    """The route's path parameters naming the row's object, seen from ``persona``."""
    key = _object_key(row, persona, cast.orgs)
    if row["object"] in CASE_OBJECTS:
        parameters = cast.case_objects[key]
        if isinstance(parameters, Exception):
            pytest.fail(f"Could not build the {row['object']} of {_row_id(row)}: {parameters!r}")
        return parameters
    # Directory objects are cheap, and a row's state (a suspended member) must not outlive the cell.
    if row["object"] in PERSONAL_OBJECTS:
        kind, owner, counterpart, state = key
        return OBJECT_BUILDERS[kind](owner, counterpart, dict(state), persona=persona)
    return _build(key)


# --- persona preparation and body placeholders -------------------------------------------


def _pending_totp(persona: Persona) -> None:
    if persona.user is not None:
        services.totp_enrol(user=persona.user)


def _key_scopes(*scopes: str) -> Callable[[Persona], None]:
    """The partner system's key narrowed to ``scopes`` (people are left as they are)."""

    def narrow(persona: Persona) -> None:
        if persona.raw_api_key is not None:
            ApiKey.objects.filter(prefix=split_api_key(persona.raw_api_key)).update(scopes=list(scopes))

    return narrow


SETUPS: dict[str, Callable[[Persona], None]] = {
    "pending_totp": _pending_totp,
    "key_reads_only": _key_scopes(ApiKeyScope.ORGANISATIONS_READ, ApiKeyScope.REFERRALS_READ),
    "key_without_referral_scopes": _key_scopes(ApiKeyScope.ORGANISATIONS_READ, ApiKeyScope.EVENTS_READ),
}


def _current_totp(persona: Persona) -> str:
    device = TOTPDevice.objects.filter(user=persona.user, confirmed=False).first() if persona.user else None
    if device is None:
        return "000000"  # the persona cannot enrol: any well-formed code will do
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return str(totp.token()).zfill(device.digits)


def _placeholders(
    persona: Persona, personas: dict[str, Persona], orgs: dict[str, Organisation]
) -> dict[str, Callable[[], str]]:
    return {
        "password": lambda: PASSWORD,
        # Another login of the caseworker's: refreshing it must not depend on the caller.
        "refresh": lambda: issue_tokens_for_tests(personas["caseworker"].user).refresh,
        "totp": lambda: _current_totp(persona),
        # A case the persona's organisation leads (hotline-be's for those that hold none).
        "own_case": lambda: str(open_case(parties("own", "case", persona, orgs)[0])[0].pk),
        # The organisation the persona's organisation refers to.
        "partner_organisation": lambda: str(parties("own", "case", persona, orgs)[1].pk),
    }


def _fill(value, placeholders: dict[str, Callable[[], str]]):
    if isinstance(value, str):
        return re.sub(r"\$\{(\w+)\}", lambda match: placeholders[match.group(1)](), value)
    if isinstance(value, list):
        return [_fill(item, placeholders) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, placeholders) for key, item in value.items()}
    return value


# --- the cast, built once per module -----------------------------------------------------


@dataclass(frozen=True)
class Cast:
    orgs: dict[str, Organisation]
    personas: dict[str, Persona]
    case_objects: dict[tuple, dict[str, Any] | Exception]


@pytest.fixture(scope="module")
def _cast_for_the_module(django_db_setup, django_db_blocker):
    """The suite's personas, built once, inside a transaction that is rolled back at the end.

    Each test runs in a savepoint of it (pytest-django's ``db``), so every cell still
    starts from the same database and nothing leaks, while the 9 personas and the
    cases and referrals are not rebuilt for each of the ~1000 cells. The cast comes
    from the functions the conftest fixtures call, so it is the suite's cast by construction.
    """
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            orgs = the_orgs()
            personas = the_personas(orgs)
            yield Cast(orgs=orgs, personas=personas, case_objects=_prepared_case_objects(orgs, personas))
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def cast(db, _cast_for_the_module):
    return _cast_for_the_module


def _signed_in(persona: Persona) -> Persona:
    """A fresh login for a person: the module may outlive a 5-minute access token."""
    if persona.user is not None:
        persona.client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens_for_tests(persona.user).access}")
    return persona


# --- the matrix, cell by cell --------------------------------------------------------------


def _row_id(row: dict) -> str:
    where = [row["relation"]] if "relation" in row else []
    where += [f"{key}={value}" for key, value in (row.get("state") or {}).items()]
    where += [row["setup"]] if "setup" in row else []
    return f"{row['method']} {row['route']}" + (f" [{', '.join(where)}]" if where else "")


CELLS = [pytest.param(row, name, id=f"{_row_id(row)} as {name}") for row in ROWS for name in PERSONAS]


@pytest.mark.parametrize(("row", "persona_name"), CELLS)
def test_persona_gets_the_status_the_matrix_expects(row, persona_name, cast):
    orgs, personas = cast.orgs, cast.personas
    persona = _signed_in(personas[persona_name])
    path = row["route"]
    if "object" in row:
        parameters = _target(row, persona, cast)
        path = re.sub(r"\{(\w+)\}", lambda match: str(parameters[match.group(1)]), path)
    if "setup" in row:
        SETUPS[row["setup"]](persona)
    body = _fill(row.get("body"), _placeholders(persona, personas, orgs))

    # SchemaCheckedClient: every answer, success or problem, must also match the committed schema.
    response = getattr(persona.client, row["method"].lower())(path, body, format="json")

    expected = row["expect"][persona_name]
    assert response.status_code == expected, (
        f"{_row_id(row)} as {persona_name}: expected {expected}, got {response.status_code}: {response.content[:400]!r}"
    )
    if expected < 300 and row.get("object") in CASE_OBJECTS and isinstance(response.json(), dict):
        # The success is about the object the row built, not some other one the persona holds.
        target = str(parameters.get("consent_id", parameters["id"]))
        named = {str(response.json().get(field)) for field in ("id", "case", "referral")}
        assert target in named, f"{_row_id(row)} as {persona_name}: the answer is not about {target}"
    if expected >= 400:
        assert response["Content-Type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == expected
        if expected in PROBLEM_TYPES:
            assert problem["type"] == f"urn:coalition:problem:{PROBLEM_TYPES[expected]}"


# --- the matrix itself: complete and well-formed --------------------------------------------


def _api_operations() -> set[tuple[str, str]]:
    return {
        (route.path, method)
        for route in ROUTES
        if route.path.startswith("/api/v1/") and route.path not in NOT_IN_MATRIX
        for method in route.methods
    }


def test_matrix_covers_every_api_operation_of_the_url_conf():
    operations = _api_operations()
    in_matrix = {(row["route"], row["method"]) for row in ROWS}
    missing = sorted(operations - in_matrix)
    unknown = sorted(in_matrix - operations)
    assert not missing, f"Operations without rows in tests/authz_matrix.yaml: {missing}"
    assert not unknown, f"tests/authz_matrix.yaml names operations the URL conf does not serve: {unknown}"
    assert len(operations) >= 20  # the walk found the API


def test_every_row_is_well_formed():
    for row in ROWS:
        where = _row_id(row)
        assert set(row) <= ROW_FIELDS, f"{where}: unknown fields {sorted(set(row) - ROW_FIELDS)}"
        assert row["method"] in SERVED_METHODS, where
        assert list(row["expect"]) == PERSONAS, f"{where}: expect must name every persona once, in the header's order"
        assert all(isinstance(status, int) and 200 <= status < 600 for status in row["expect"].values()), where
        if "{" in row["route"]:
            assert row.get("object") in OBJECT_BUILDERS, f"{where}: unknown object {row.get('object')!r}"
            assert row.get("relation") in RELATIONS, f"{where}: relation must be one of {RELATIONS}"
            if row["object"] in STATES:
                allowed = STATES[row["object"]]
                for key, value in (row.get("state") or {}).items():
                    assert value in allowed.get(key, ()), f"{where}: no builder makes a {row['object']} {key}={value}"
            if row["object"] == "referral":
                assert "status" in (row.get("state") or {}), f"{where}: say which status the referral must be in"
        else:
            assert not {"object", "relation", "state"} & set(row), f"{where}: this route has no object"
        assert row.get("setup") in (None, *SETUPS), where
        placeholders = re.findall(r"\$\{(\w+)\}", str(row.get("body", "")))
        assert set(placeholders) <= PLACEHOLDERS, f"{where}: unknown placeholder"


def test_object_routes_have_own_and_unrelated_rows_and_no_duplicates():
    rows = Counter(_row_id(row) for row in ROWS)
    assert [row for row, count in rows.items() if count > 1] == []
    relations = {(row["route"], row["method"], row.get("relation")) for row in ROWS}
    for route, method, relation in relations:
        if relation is not None:
            assert {(route, method, "own"), (route, method, "unrelated")} <= relations, f"{method} {route}"


def test_matrix_names_exactly_the_suites_personas(cast):
    assert set(PERSONAS) == set(cast.personas)
