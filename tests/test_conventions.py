"""The API's conventions (api_docs/guide.md): problem details, limits, caching, request ids, pagination.

Every error is ``application/problem+json`` with ``type``, ``title``, ``status``,
``detail`` and the request id, whatever layer produced it (DRF, Django's URL
resolver, a middleware, an unhandled exception) and whether debug is on or not.
"""

from __future__ import annotations

import ast
import base64
import json
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from partners.api.views import OrganisationViewSet
from partners.choices import OrganisationKind
from partners.models import Organisation, User
from tests.support.personas import PASSWORD
from tests.support.problems import assert_problem

ORGANISATIONS = "/api/v1/organisations/"
# Any authenticated person or key may GET it.
VOCABULARIES = "/api/v1/vocabularies/"


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Throttle counters live in the cache: no test inherits another's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def throttle_rates(monkeypatch):
    """Lower throttle rates for one test.

    DRF reads ``DEFAULT_THROTTLE_RATES`` once, into ``SimpleRateThrottle.THROTTLE_RATES``
    at import: overriding the setting reloads ``api_settings`` but not that class
    attribute, so it is pointed at the reloaded rates too.
    """
    overrides = []

    def lower(**rates):
        lowered = {**api_settings.DEFAULT_THROTTLE_RATES, **rates}
        config = {**api_settings.user_settings, "DEFAULT_THROTTLE_RATES": lowered}
        override = override_settings(REST_FRAMEWORK=config)
        override.enable()
        overrides.append(override)
        api_settings.reload()
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", api_settings.DEFAULT_THROTTLE_RATES)
        assert SimpleRateThrottle.THROTTLE_RATES == config["DEFAULT_THROTTLE_RATES"]

    yield lower
    for override in reversed(overrides):
        override.disable()
    api_settings.reload()


# --- problem details for every status -----------------------------------------------


def test_malformed_json_body_is_a_400_problem(personas):
    client = personas["org_admin"].client
    response = client.post("/api/v1/invitations/", data='{"username": "x",', content_type="application/json")
    body = assert_problem(response, 400, "malformed-request")
    assert "errors" not in body or body["errors"]


def test_validation_error_is_a_400_problem_with_field_pointers(personas):
    client = personas["org_admin"].client
    response = client.post(
        "/api/v1/invitations/",
        {"username": "new-colleague", "email": "new@example.org", "roles": ["wizard"]},
        format="json",
    )
    body = assert_problem(response, 400, "validation-error")
    pointers = {error["pointer"] for error in body["errors"]}
    assert "#/roles/0" in pointers
    assert all(error["detail"] and error["code"] for error in body["errors"])
    assert not User.objects.filter(username="new-colleague").exists()


def test_missing_required_fields_point_at_each_field(personas):
    response = personas["org_admin"].client.post("/api/v1/invitations/", {}, format="json")
    body = assert_problem(response, 400, "validation-error")
    pointers = {error["pointer"] for error in body["errors"]}
    assert {"#/username", "#/email", "#/roles"} <= pointers


def test_anonymous_request_is_a_401_problem_with_a_challenge(anonymous_client):
    response = anonymous_client.get(VOCABULARIES)
    assert_problem(response, 401, "not-authenticated")
    assert "Bearer" in response["WWW-Authenticate"]


def test_bad_credentials_are_a_401_problem(anonymous_client):
    anonymous_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    response = anonymous_client.get(VOCABULARIES)
    assert_problem(response, 401)


def test_role_not_allowed_is_a_403_problem(personas):
    response = personas["caseworker"].client.get("/api/v1/users/")
    assert_problem(response, 403, "forbidden")


def test_unknown_object_is_a_404_problem(personas):
    response = personas["caseworker"].client.get(f"{ORGANISATIONS}00000000-0000-0000-0000-000000000000/")
    assert_problem(response, 404, "not-found")


def test_unrouted_api_url_is_a_404_problem(personas):
    response = personas["caseworker"].client.get("/api/v1/nope/")
    assert_problem(response, 404, "not-found")


def test_unrouted_url_is_a_404_problem_even_for_anonymous_callers(anonymous_client):
    response = anonymous_client.get("/api/v1/nope/deeper/")
    assert_problem(response, 404, "not-found")


@override_settings(DEBUG=True)
def test_unrouted_api_url_is_a_404_problem_not_the_debug_page_in_debug(personas):
    response = personas["caseworker"].client.get("/api/v1/nope/")
    body = assert_problem(response, 404, "not-found")
    text = response.content.decode()
    assert "<html" not in text.lower()
    assert "urlpatterns" not in text and "URLconf" not in text
    assert set(body) <= {"type", "title", "status", "detail", "request_id"}


def test_unsupported_method_is_a_405_problem_with_allow(personas):
    client = personas["caseworker"].client
    client.validate = False  # DELETE /me/ is not an operation of the schema, by design
    response = client.delete("/api/v1/me/")
    assert_problem(response, 405, "method-not-allowed")
    allowed = {method.strip() for method in response["Allow"].split(",")}
    assert "GET" in allowed
    assert "DELETE" not in allowed


def test_oversized_body_is_a_413_problem_refused_before_the_view(personas, settings, monkeypatch):
    settings.MAX_REQUEST_BODY_BYTES = 1024
    reached = []
    monkeypatch.setattr("partners.services.invitation_create", lambda **kwargs: reached.append(kwargs))
    payload = {"username": "big", "email": "big@example.org", "roles": ["caseworker"]}
    payload["first_name"] = "x" * 2000
    response = personas["org_admin"].client.post("/api/v1/invitations/", payload, format="json")
    assert_problem(response, 413, "payload-too-large")
    assert reached == []


def test_oversized_body_is_refused_before_authentication(anonymous_client, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1024
    response = anonymous_client.post("/api/v1/auth/token/", {"username": "u" * 2000, "password": "p"}, format="json")
    assert_problem(response, 413, "payload-too-large")


def test_body_at_the_limit_is_accepted(personas, settings):
    body = json.dumps({"name": "Hotline Belgium", "description": ""})
    body = body.replace('""', '"' + "d" * 100 + '"')
    settings.MAX_REQUEST_BODY_BYTES = len(body.encode())
    hotline = personas["org_admin"].organisation
    client = personas["org_admin"].client
    response = client.patch(f"{ORGANISATIONS}{hotline.pk}/", body, content_type="application/json")
    assert response.status_code == 200, response.content


def test_form_encoded_post_is_a_415_problem(personas):
    response = personas["org_admin"].client.post(
        "/api/v1/invitations/",
        urlencode({"username": "formuser", "email": "f@example.org", "roles": "caseworker"}),
        content_type="application/x-www-form-urlencoded",
    )
    assert_problem(response, 415, "unsupported-media-type")
    assert not User.objects.filter(username="formuser").exists()


def test_too_many_requests_is_a_429_problem_with_retry_after(personas, throttle_rates):
    throttle_rates(principal="3/min")
    client = personas["caseworker"].client
    statuses = [client.get(VOCABULARIES).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    response = client.get(VOCABULARIES)
    assert_problem(response, 429, "throttled")
    assert 0 < int(response["Retry-After"]) <= 60


def test_principal_throttle_counts_each_principal_apart(personas, throttle_rates):
    throttle_rates(principal="2/min")
    for _ in range(2):
        assert personas["caseworker"].client.get(VOCABULARIES).status_code == 200
    assert personas["caseworker"].client.get(VOCABULARIES).status_code == 429
    assert personas["recipient_caseworker"].client.get(VOCABULARIES).status_code == 200
    assert personas["partner_system"].client.get(VOCABULARIES).status_code == 200


def test_login_throttle_is_a_429_problem(anonymous_client, throttle_rates):
    throttle_rates(login="2/min")
    for _ in range(2):
        assert anonymous_client.post("/api/v1/auth/token/", {}, format="json").status_code == 400
    response = anonymous_client.post("/api/v1/auth/token/", {}, format="json")
    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


def test_forged_x_forwarded_for_does_not_give_a_fresh_throttle_bucket(anonymous_client, throttle_rates):
    assert api_settings.NUM_PROXIES == 0
    throttle_rates(login="2/min")
    for _ in range(2):
        assert anonymous_client.post("/api/v1/auth/token/", {}, format="json").status_code == 400
    for forged in ("203.0.113.7", "198.51.100.1, 203.0.113.8"):
        response = anonymous_client.post("/api/v1/auth/token/", {}, format="json", HTTP_X_FORWARDED_FOR=forged)
        assert_problem(response, 429, "throttled")


def test_another_client_address_has_its_own_throttle_bucket(anonymous_client, throttle_rates):
    # The control for the test above: the bucket is per address, so a real new address is fresh.
    throttle_rates(login="1/min")
    assert anonymous_client.post("/api/v1/auth/token/", {}, format="json").status_code == 400
    assert anonymous_client.post("/api/v1/auth/token/", {}, format="json").status_code == 429
    response = anonymous_client.post("/api/v1/auth/token/", {}, format="json", REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 400


# --- unhandled errors ------------------------------------------------------------------

SECRET_EXCEPTION_TEXT = "kaboom-internal-detail-7f3a"


@pytest.fixture
def broken_directory(monkeypatch):
    def explode(actor):
        raise RuntimeError(SECRET_EXCEPTION_TEXT)

    monkeypatch.setattr(OrganisationViewSet, "selector", staticmethod(explode))


def _assert_safe_500(response):
    body = assert_problem(response, 500, "server-error")
    text = response.content.decode()
    assert SECRET_EXCEPTION_TEXT not in text
    assert "Traceback" not in text and "RuntimeError" not in text and "explode" not in text
    assert "<html" not in text.lower()
    assert set(body) <= {"type", "title", "status", "detail", "request_id"}


def test_unhandled_error_is_a_500_problem_without_internals(personas, broken_directory):
    client = personas["caseworker"].client
    client.raise_request_exception = False
    client.validate = False  # 500 is undocumented on purpose: the suite's fuzzing asserts there are none
    _assert_safe_500(client.get(ORGANISATIONS))


@override_settings(DEBUG=True)
def test_unhandled_error_is_a_500_problem_not_the_debug_page_in_debug(personas, broken_directory):
    client = personas["caseworker"].client
    client.raise_request_exception = False
    client.validate = False
    # Django's debug view answers HTML to browsers (any Accept) and plain text otherwise.
    _assert_safe_500(client.get(ORGANISATIONS))
    _assert_safe_500(client.get(ORGANISATIONS, HTTP_ACCEPT="application/json"))


@override_settings(DEBUG=True)
def test_fallback_leaves_non_api_paths_to_django(client):
    # The fallback is for the API only: elsewhere Django's own debug page stays.
    response = client.get("/not-the-api/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- caching and request ids -------------------------------------------------------------


@pytest.mark.parametrize("persona", ["caseworker", "org_admin", "coordinator", "partner_system"])
def test_authenticated_responses_are_never_stored(personas, persona):
    response = personas[persona].client.get(VOCABULARIES)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_authenticated_error_responses_are_never_stored(personas):
    response = personas["caseworker"].client.get("/api/v1/users/")
    assert response.status_code == 403
    assert response["Cache-Control"] == "no-store"


def test_token_endpoint_responses_are_never_stored(personas, anonymous_client):
    response = anonymous_client.post(
        "/api/v1/auth/token/", {"username": "hotline-be-caseworker", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200
    assert "access" in response.json()
    assert response["Cache-Control"] == "no-store"


def test_safe_incoming_request_id_is_echoed(personas):
    response = personas["caseworker"].client.get(VOCABULARIES, HTTP_X_REQUEST_ID="trace-0123456789.abc_DEF")
    assert response["X-Request-ID"] == "trace-0123456789.abc_DEF"


@pytest.mark.parametrize(
    "unsafe", ["<script>alert(1)</script>", "short", "a" * 65, "id with spaces 123", "../../etc/passwd"]
)
def test_unsafe_incoming_request_id_is_replaced(personas, unsafe):
    response = personas["caseworker"].client.get("/api/v1/users/", HTTP_X_REQUEST_ID=unsafe)
    assert response["X-Request-ID"] != unsafe
    assert len(response["X-Request-ID"]) == 32 and response["X-Request-ID"].isalnum()
    assert response.json()["request_id"] == response["X-Request-ID"]


def test_each_request_without_an_id_gets_a_new_one(personas):
    client = personas["caseworker"].client
    first, second = client.get(VOCABULARIES)["X-Request-ID"], client.get(VOCABULARIES)["X-Request-ID"]
    assert first and second and first != second


# --- cursor pagination -------------------------------------------------------------------


def _add_organisations(count: int, prefix: str) -> None:
    Organisation.objects.bulk_create(
        Organisation(slug=f"{prefix}-{i:04d}", name=f"Org {prefix} {i}", kind=OrganisationKind.NGO, country="BE")
        for i in range(count)
    )


def _slugs(response) -> list[str]:
    return [item["slug"] for item in response.json()["results"]]


def test_page_size_is_capped_at_200(personas):
    _add_organisations(210, "bulk")
    response = personas["caseworker"].client.get(ORGANISATIONS, {"page_size": 10000})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 200
    assert response.json()["next"]


def test_default_page_size_is_50(personas):
    _add_organisations(60, "bulk")
    response = personas["caseworker"].client.get(ORGANISATIONS)
    assert len(response.json()["results"]) == 50


def test_requested_page_size_is_honoured(personas):
    _add_organisations(10, "bulk")
    response = personas["caseworker"].client.get(ORGANISATIONS, {"page_size": 3})
    assert len(response.json()["results"]) == 3


@pytest.mark.parametrize("page_size", ["0", "-1", "abc", "1.5", ""])
def test_invalid_page_size_is_a_400_problem(personas, page_size):
    response = personas["caseworker"].client.get(ORGANISATIONS, {"page_size": page_size})
    body = assert_problem(response, 400)
    assert any(error["pointer"] == "#/page_size" for error in body["errors"])


def _next_path(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_next_and_previous_links_walk_the_whole_list_without_duplicates_or_gaps(personas):
    _add_organisations(23, "walk")
    client = personas["caseworker"].client
    everything = sorted(Organisation.objects.values_list("slug", flat=True))

    forward, pages = [], []
    url = f"{ORGANISATIONS}?page_size=5"
    while url:
        response = client.get(url)
        assert response.status_code == 200
        pages.append(response.json())
        forward += _slugs(response)
        url = _next_path(response.json()["next"])
    assert forward == everything
    assert pages[0]["previous"] is None

    backward = []
    url = _next_path(pages[-1]["previous"])
    while url:
        response = client.get(url)
        backward = _slugs(response) + backward
        url = _next_path(response.json()["previous"])
    assert backward + [o["slug"] for o in pages[-1]["results"]] == everything


def test_pages_stay_stable_when_rows_are_inserted_between_pages(personas):
    _add_organisations(20, "walk")
    client = personas["caseworker"].client
    before = set(Organisation.objects.values_list("slug", flat=True))

    seen: list[str] = []
    url = f"{ORGANISATIONS}?page_size=4"
    round_ = 0
    while url:
        response = client.get(url)
        page = _slugs(response)
        seen += page
        # Inserts on both sides of the cursor: before it ("aaa-") and after it ("zzz-").
        Organisation.objects.create(slug=f"aaa-{round_:02d}", name="early", kind=OrganisationKind.NGO, country="BE")
        Organisation.objects.create(slug=f"zzz-{round_:02d}", name="late", kind=OrganisationKind.NGO, country="BE")
        round_ += 1
        url = _next_path(response.json()["next"])

    assert len(seen) == len(set(seen)), "a row was served twice"
    assert before <= set(seen), "a row that existed from the start was skipped"
    assert seen == sorted(seen)
    assert not any(slug.startswith("aaa-") for slug in seen)


def _cursor(**params) -> str:
    return base64.b64encode(urlencode(params).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        _cursor(o="-5"),
        _cursor(o="abc"),
        _cursor(r="maybe"),
        _cursor(p="\x00"),
        base64.b64encode(b"\xff\xfe").decode(),
    ],
)
def test_tampered_cursor_is_a_400_problem(personas, cursor):
    response = personas["caseworker"].client.get(ORGANISATIONS, {"cursor": cursor})
    body = assert_problem(response, 400)
    assert any(error["pointer"] == "#/cursor" for error in body["errors"])


def test_cursor_of_a_real_page_still_works_after_a_round_trip(personas):
    _add_organisations(6, "walk")
    client = personas["caseworker"].client
    first = client.get(ORGANISATIONS, {"page_size": 2}).json()
    cursor = parse_qs(urlsplit(first["next"]).query)["cursor"][0]
    response = client.get(ORGANISATIONS, {"page_size": 2, "cursor": cursor})
    assert response.status_code == 200
    assert not set(_slugs(response)) & {o["slug"] for o in first["results"]}


# --- the test suite's own layout ------------------------------------------------------

TESTS_DIR = Path(__file__).resolve().parent
# tests/fuzz belongs to another change of issue 13 (it moves `rolled_back` and its
# imports to tests/support); each entry must still import one, so it is dropped then.
_NOT_YET_MOVED: set[str] = set()


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports (relative imports resolved), and every name taken from a package."""
    package = ".".join(("tests", *path.relative_to(TESTS_DIR).parent.parts))
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            # `from tests.security import test_x` imports the module test_x.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _test_or_conftest_imports(path: Path) -> list[str]:
    """The test modules and conftest modules ``path`` imports: helpers belong in tests/support/."""
    offending = set()
    for module in _imported_modules(path):
        parts = module.split(".")
        if parts[0] != "tests":
            continue
        for end, part in enumerate(parts[1:], start=2):
            if part == "conftest" or part.startswith("test_"):
                offending.add(".".join(parts[:end]))
                break
    return sorted(offending)


def test_no_module_under_tests_imports_a_test_module_or_a_conftest():
    """Personas, flows and problem checks live once in tests/support/; test modules never import each other."""
    offenders = {}
    for path in sorted(TESTS_DIR.rglob("*.py")):
        name = path.relative_to(TESTS_DIR).as_posix()
        imports = _test_or_conftest_imports(path)
        if name in _NOT_YET_MOVED:
            assert imports, f"{name} no longer imports a test module or conftest: drop it from _NOT_YET_MOVED"
        elif imports:
            offenders[name] = imports
    assert not offenders, f"Import these helpers from tests/support/ instead: {offenders}"


def test_the_import_check_sees_every_way_of_importing_a_test_module_or_a_conftest(tmp_path, monkeypatch):
    package = tmp_path / "security"
    package.mkdir()
    written = package / "helpers.py"
    written.write_text(
        "from tests.referrals.conftest import CHILD\n"
        "from tests.test_settings import run_python\n"
        "import tests.security.test_login\n"
        "from tests.oversight import test_figures\n"
        "from .conftest import rolled_back\n"
        "from .test_tokens import sign\n"
        "from tests.support.flows import Flow\n"
        "from tests import hashers\n"
    )
    monkeypatch.setattr(f"{__name__}.TESTS_DIR", tmp_path)

    assert _test_or_conftest_imports(written) == [
        "tests.oversight.test_figures",
        "tests.referrals.conftest",
        "tests.security.conftest",
        "tests.security.test_login",
        "tests.security.test_tokens",
        "tests.test_settings",
    ]
    support = tmp_path / "support.py"
    support.write_text("from tests.support.flows import Flow\nfrom tests import hashers\nimport pytest\n")
    assert _test_or_conftest_imports(support) == []
