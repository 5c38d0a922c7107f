"""Schemathesis over every operation of the committed schema, in-process, as each persona
(api_docs/security.md: fuzzing).

Requests go to the Django WSGI app in this process with real credentials: a
fresh login's bearer token for people, the partner system's API key. Each
operation gets at least 100 examples as a caseworker and 25 as every other
persona, positive and negative, and every response must be free of server
errors and conform to api_docs/openapi.yaml (status code, content type,
headers, body); negative input must be rejected and authentication enforced.

Path parameters are steered to real objects of the demo coalition (own and
other organisations'), so detail routes and actions are exercised on objects
that exist rather than only answering 404 for random ids.
"""

from __future__ import annotations

import uuid
from collections import Counter

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, settings
from schemathesis import checks

from tests.support.schema import SCHEMA_PATH
from tests.support.transactions import rolled_back

schema = schemathesis.openapi.from_path(
    SCHEMA_PATH,
    config=schemathesis.Config.from_dict(
        {
            # Credentials are real and set per request below: do not fuzz the Authorization header.
            "generation": {"with-security-parameters": False},
            # The deterministic boundary-value phase adds ~60 cases per operation and persona: over
            # the time budget. Run once over every persona (no failure), it is left to the fuzzing phase.
            "phases": {"coverage": {"enabled": False}},
            # Strings harvested from the app's source add ~12% to generation time for little the
            # schema's own enums do not already give.
            "analysis": {"constants": {"enabled": False}},
        }
    ),
)
schema.app = WSGIHandler()

CASEWORKER_EXAMPLES = 100
OTHER_PERSONA_EXAMPLES = 25
OTHER_PERSONAS = ["org_admin", "coordinator", "auditor", "partner_system"]

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.missing_required_header,
    # Not positive_data_acceptance: schema-valid input is legitimately refused with 400 or 422 by
    # rules a schema cannot state (password policy, wrong current password, a case not yours, no
    # consent, a referral in another state). Not unsupported_method: it only judges the coverage phase.
]

# Operations whose authentication was proven enforced: ignored_auth re-sends a successful request
# without and with bad credentials; once per operation is proof enough.
_AUTH_ENFORCED: set[str] = set()


def ignored_auth_once(ctx, response, case):
    """schemathesis' ``ignored_auth``, until it passes once for this operation."""
    label = case.operation.label
    if label in _AUTH_ENFORCED:
        return None
    result = checks.ignored_auth(ctx, response, case)
    if 200 <= response.status_code < 300:
        _AUTH_ENFORCED.add(label)
    return result


def _requires_credentials(operation) -> bool:
    requirements = operation.definition.raw.get("security", schema.raw_schema.get("security", []))
    return any(requirement for requirement in requirements)


def credentials_accepted(ctx, response, case):
    """Every request carries the persona's valid credential: a 401 means the fuzzer lost its login."""
    if response.status_code == 401 and _requires_credentials(case.operation):
        raise AssertionError(f"{case.operation.label} refused a valid credential with 401")
    return None


CHECKS += [ignored_auth_once, credentials_accepted]

FUZZ_SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": list(HealthCheck),
}

# (persona, operation) -> examples sent, checked by the last test of the module.
EXAMPLES: Counter[tuple[str, str]] = Counter()
# The world and the persona of the running test, for the hooks below (set before any example is drawn).
WORLD = {}


# --- steering ids to real objects ---------------------------------------------------------

# Body fields that name another object: the URL segment of that object, and whether the persona's
# own objects are preferred (a case, a consent) or any will do (a recipient organisation).
BODY_REFERENCES = {
    "case": ("cases", True),
    "consent": ("consents", True),
    "rerouted_from": ("referrals", True),
    "recipient": ("organisations", False),
}
BODY_REFERENCE_LISTS = {"recipients": ("organisations", False)}


def _as_uuid(value) -> uuid.UUID | None:
    if not isinstance(value, str):
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _steer(value, own: list[str], others: list[str]):
    """A generated UUID becomes an id of the persona's own objects (half the time), of another
    organisation's (a quarter) or stays a random id (a quarter); the choice follows from the value,
    so it is as reproducible and shrinkable as the value itself."""
    generated = _as_uuid(value)
    if generated is None:
        return value
    bucket, rest = generated.int % 4, generated.int // 4
    if bucket == 3:
        return value
    pool = (own or others) if bucket < 2 else (others or own)
    return pool[rest % len(pool)] if pool else value


def _segment_before(path: str, name: str) -> str:
    segments = path.strip("/").split("/")
    return segments[segments.index("{" + name + "}") - 1]


@schema.hook
def map_path_parameters(context, path_parameters):
    world, persona = WORLD.get("world"), WORLD.get("persona")
    # Cases built before the world exists (explicit examples) keep their ids.
    if world is None or not isinstance(path_parameters, dict):
        return path_parameters
    path = context.operation.path
    parent = None
    for name in list(path_parameters):
        segment = _segment_before(path, name)
        own, others = world.own_and_other_ids(persona, segment)
        if parent is not None and (parent[0], segment) in world.children:
            own, others = world.children[(parent[0], segment)].get(parent[1], []), []
        path_parameters[name] = _steer(path_parameters[name], own, others)
        parent = (segment, str(path_parameters[name]))
    return path_parameters


@schema.hook
def map_body(context, body):
    world, persona = WORLD.get("world"), WORLD.get("persona")
    if world is None or not isinstance(body, dict):
        return body

    def steer(value, segment: str, prefer_own: bool):
        own, others = world.own_and_other_ids(persona, segment)
        return _steer(value, own, others) if prefer_own else _steer(value, [], own + others)

    for name, (segment, prefer_own) in BODY_REFERENCES.items():
        if name in body:
            body[name] = steer(body[name], segment, prefer_own)
    for name, (segment, prefer_own) in BODY_REFERENCE_LISTS.items():
        if isinstance(body.get(name), list):
            body[name] = [steer(item, segment, prefer_own) for item in body[name]]
    return body


# --- the fuzz tests ------------------------------------------------------------------------


def _persona_of(item) -> str:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("persona", "caseworker") if callspec is not None else "caseworker"


@pytest.fixture
def world(request, fuzz_world, db):
    """The module's demo coalition; ``db`` adds a savepoint per test on top of the one per example."""
    WORLD["world"] = fuzz_world
    WORLD["persona"] = _persona_of(request.node)
    return fuzz_world


@pytest.fixture
def credentials(world):
    """One fresh credential per persona and test: examples run in rolled-back savepoints, so none revokes it."""
    issued = {}

    def authorization(persona: str) -> str:
        if persona not in issued:
            issued[persona] = world.authorization(persona)
        return issued[persona]

    return authorization


def _send(case, credentials, persona: str):
    # Issued outside the example's savepoint, or the login it belongs to would vanish with it.
    headers = {"Authorization": credentials(persona)}
    with rolled_back():
        return case.call_and_validate(headers=headers, checks=CHECKS)


@pytest.mark.fuzz
@schema.parametrize()
@settings(max_examples=CASEWORKER_EXAMPLES, **FUZZ_SETTINGS)
def test_caseworker_gets_no_server_error_or_schema_violation(case, credentials):
    EXAMPLES[("caseworker", case.operation.label)] += 1
    _send(case, credentials, "caseworker")


@pytest.mark.fuzz
@pytest.mark.parametrize("persona", OTHER_PERSONAS)
@schema.parametrize()
@settings(max_examples=OTHER_PERSONA_EXAMPLES, **FUZZ_SETTINGS)
def test_persona_gets_no_server_error_or_schema_violation(case, persona, credentials):
    EXAMPLES[(persona, case.operation.label)] += 1
    _send(case, credentials, persona)


# Inputs the fuzzer found or rarely draws, that once got a 500 or a 200: Unicode digits ("²" passes
# str.isdigit() but not int()), more digits than int() accepts, and a coordinator-only field with a
# value the schema forbids, which an org admin's profile edit used to ignore.
HAND_PICKED = {
    "page_size of Unicode digits": ("caseworker", "GET /api/v1/organisations/", {"query": {"page_size": "\u00b2"}}),
    "page_size of 5000 digits": ("caseworker", "GET /api/v1/referrals/", {"query": {"page_size": "9" * 5000}}),
    "If-Match of Unicode digits": (
        "caseworker", "PATCH /api/v1/cases/{id}/", {"headers": {"If-Match": '"\u00b2"'}, "body": {}}
    ),
    "If-Match of 5000 digits": (
        "caseworker", "PATCH /api/v1/referrals/{id}/", {"headers": {"If-Match": "9" * 5000}, "body": {}}
    ),
    "org admin sends an unknown kind": (
        "org_admin", "PATCH /api/v1/organisations/{id}/", {"body": {"kind": "no-such-kind"}}
    ),
}


@pytest.mark.parametrize("persona, label, request_parts", HAND_PICKED.values(), ids=HAND_PICKED.keys())
def test_hand_picked_malformed_input_is_a_bad_request(persona, label, request_parts, world, credentials):
    operation = schema.find_operation_by_label(label)
    path_parameters = {}
    if "{id}" in label:
        own, _others = world.own_and_other_ids(persona, _segment_before(operation.path, "id"))
        path_parameters["id"] = own[0]
    case = operation.Case(path_parameters=path_parameters, **request_parts)
    response = _send(case, credentials, persona)
    assert response.status_code == 400


def _takes_input(operation) -> bool:
    """Whether requests to ``operation`` can differ at all (credentials aside)."""
    headers = [parameter for parameter in operation.headers if parameter.name.lower() != "authorization"]
    return bool(operation.path_parameters or operation.query or operation.cookies or headers or operation.body)


@pytest.mark.fuzz
def test_every_operation_was_fuzzed_with_enough_examples_as_each_persona(request):
    """Runs last: each fuzz test selected in this session sent its minimum number of examples.

    An operation without any input (GET /me/, /healthz, ...) has exactly one possible
    request per persona; hypothesis rightly stops after it.
    """
    minimum = {"caseworker": CASEWORKER_EXAMPLES} | dict.fromkeys(OTHER_PERSONAS, OTHER_PERSONA_EXAMPLES)
    operations = {result.ok().label: result.ok() for result in schema.get_all_operations()}
    selected = [
        item
        for item in request.session.items
        if item.module.__name__ == __name__ and getattr(item, "operation_label", None) in operations
    ]
    if not selected:
        pytest.skip("no fuzz test was selected in this session")
    short = {}
    for item in selected:
        persona, label = _persona_of(item), item.operation_label
        needed = minimum[persona] if _takes_input(operations[label]) else 1
        if EXAMPLES[(persona, label)] < needed:
            short[f"{persona} {label}"] = EXAMPLES[(persona, label)]
    assert short == {}

