"""Bad input is a 4xx, never a 500 (issue #12, item 6).

Found by a fuzzer run against ``make run``: deeply nested JSON, forged pagination cursors,
a signed token whose session id is no UUID, and undeclared methods each answered 500 (or a
400 about a header for a method the route does not have).
"""

from __future__ import annotations

import base64
import json
import logging
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coalition.api.parsers import MAX_JSON_DEPTH, json_depth_exceeds
from tests.support.problems import assert_problem

from .helpers import bearer_client, claims_of, sign

TOKEN_URL = "/api/v1/auth/token/"
CASES_URL = "/api/v1/cases/"


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _post_raw(client, path: str, body: str):
    return client.generic("POST", path, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="deep-1")


# --- (a) JSON nested thousands deep ------------------------------------------------------------------


@pytest.mark.parametrize("path", [TOKEN_URL, CASES_URL, "/api/v1/referrals/"])
@pytest.mark.parametrize("depth", [100_000, MAX_JSON_DEPTH + 1], ids=["200kB-deep", "just-too-deep"])
def test_json_nested_too_deep_is_400_not_a_500(personas, path, depth):
    """Before: 100,000 levels (200 KB, under the size limit) raised RecursionError, a 500, also on the login."""
    client = personas["caseworker"].client
    client.validate = False  # a malformed body's 400 is generic, not per route
    response = _post_raw(client, path, _nested(depth))
    body = assert_problem(response, 400, "malformed-request")
    assert str(MAX_JSON_DEPTH) in body["detail"]


def test_deep_objects_are_refused_as_arrays_are(personas):
    client = personas["anonymous"].client
    client.validate = False
    deep = '{"a":' * (MAX_JSON_DEPTH + 1) + "1" + "}" * (MAX_JSON_DEPTH + 1)
    assert_problem(client.generic("POST", TOKEN_URL, deep, content_type="application/json"), 400, "malformed-request")


def test_json_as_deep_as_the_limit_is_parsed():
    assert not json_depth_exceeds(json.loads(_nested(MAX_JSON_DEPTH)), MAX_JSON_DEPTH)
    assert json_depth_exceeds(json.loads(_nested(MAX_JSON_DEPTH + 1)), MAX_JSON_DEPTH)
    assert not json_depth_exceeds({"a": [1, {"b": 2}], "c": "x"}, 3)


def test_the_login_view_uses_the_depth_limited_parser():
    from coalition.api.parsers import DepthLimitedJSONParser
    from partners.api.views import TokenObtainView

    assert [type(parser) for parser in TokenObtainView().get_parsers()] == [DepthLimitedJSONParser]


# --- (b) forged pagination cursors ---------------------------------------------------------------------


def _cursor(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


FORGED = [
    _cursor("p=marker-not-a-date"),
    _cursor("p=2025-01-01T00:00:00"),  # naive: never written by the API
    _cursor("p=99999-01-01T00:00:00%2B00:00"),
    _cursor("o=1&r=1&p=%00"),
    _cursor("r=x"),
    "%%%not-base64",
    "marker-junk==",
]


@pytest.mark.parametrize("cursor", FORGED)
@pytest.mark.parametrize("path", [CASES_URL, "/api/v1/referrals/", "/api/v1/audit/entries/"])
def test_a_forged_cursor_is_a_400_problem_and_its_text_is_never_logged(personas, caplog, cursor, path):
    """Before: a cursor naming a position of the wrong type was a 500 whose log line quoted it."""
    persona = personas["auditor"] if "audit" in path else personas["caseworker"]
    persona.client.validate = False
    with caplog.at_level(logging.DEBUG):
        response = persona.client.get(path, {"cursor": cursor})
    body = assert_problem(response, 400, "validation-error")
    assert body["errors"][0]["pointer"] == "#/cursor"
    assert "marker" not in response.content.decode()
    logged = "\n".join(f"{record.getMessage()} {record.exc_text or ''} {record.args}" for record in caplog.records)
    assert "marker" not in logged
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_a_cursor_the_api_wrote_still_pages(flow, personas):
    for _ in range(3):
        flow.open_case()
    client = personas["caseworker"].client
    first = client.get(CASES_URL, {"page_size": 2}).json()
    assert first["next"]
    second = client.get(first["next"])
    assert second.status_code == 200 and len(second.json()["results"]) == 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cursor=st.one_of(
        st.text(max_size=80),
        st.binary(max_size=60).map(lambda raw: base64.b64encode(raw).decode()),
        st.builds(  # well-formed offset and direction, so the forged position reaches the query
            lambda head, p: _cursor(f"{head}p={p}"),
            st.sampled_from(["", "o=0&", "o=2&r=1&", "r=0&"]), st.text(min_size=1, max_size=40),
        ),
    )
)
def test_no_cursor_whatsoever_is_a_server_error(personas, cursor):
    """Random text, base64 junk and forged positions: 200 or 400, never a 500 (before: most positions were)."""
    client = personas["caseworker"].client
    client.validate = False
    response = client.get(CASES_URL, {"cursor": cursor})
    assert response.status_code in (200, 400), (cursor, response.status_code)


# --- (c) a signed token whose session id is no UUID ----------------------------------------------------------


@pytest.mark.parametrize(
    "claims",
    [{"sid": "not-a-uuid"}, {"sid": 12345}, {"sid": ["x"]}, {"sid": {"a": 1}}, {"sub": "not-an-id"}, {"sub": [1]}],
    ids=["sid-text", "sid-number", "sid-list", "sid-object", "sub-text", "sub-list"],
)
def test_a_correctly_signed_token_with_an_ill_typed_session_is_401(personas, claims):
    """Before: a sid that is no UUID raised Django's ValidationError in get_user, a 500."""
    forged = sign(claims_of(personas["caseworker"].tokens.access) | claims)
    client = bearer_client(forged)
    client.validate = False
    assert_problem(client.get("/api/v1/vocabularies/"), 401)


# --- (d) undeclared methods are 405 before any header is checked -----------------------------------------


ROUTES = [CASES_URL, f"/api/v1/referrals/{uuid.uuid4()}/send/", TOKEN_URL]
BAD_HEADERS = {"HTTP_IF_MATCH": "not an etag", "HTTP_IDEMPOTENCY_KEY": "has space"}


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "CONNECT", "propfind", "PUT"])
@pytest.mark.parametrize("path", ROUTES, ids=["list", "transition", "auth-token"])
def test_an_undeclared_method_is_405_with_allow_before_headers_are_validated(personas, method, path):
    """Before: the transition routes answered 400 (If-Match, Idempotency-Key checked first)."""
    client = personas["caseworker"].client
    client.validate = False
    response = client.generic(method, path, "", **BAD_HEADERS)
    assert_problem(response, 405, "method-not-allowed")
    allowed = {name.strip() for name in response["Allow"].split(",")}
    assert method.upper() not in allowed and allowed


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND"])
@pytest.mark.parametrize("path", ROUTES, ids=["list", "transition", "auth-token"])
def test_an_anonymous_undeclared_method_is_401_on_a_protected_route_and_405_on_a_public_one(personas, method, path):
    """Deny by default still comes first for who is asking; the header checks never run."""
    client = personas["anonymous"].client
    client.validate = False
    response = client.generic(method, path, "", **BAD_HEADERS)
    assert_problem(response, 405 if path == TOKEN_URL else 401)


@pytest.mark.parametrize("path", ROUTES[1:], ids=["transition", "auth-token"])
def test_a_declared_method_still_checks_its_headers(personas, path):
    client = personas["caseworker"].client
    client.validate = False
    response = client.generic("POST", path, "{}", content_type="application/json", **BAD_HEADERS)
    assert response.status_code == 400
