"""Deny by default (API5, ASVS 8.2.1): no route answers an anonymous caller outside an allowlist.

The URL resolver is walked, not a hand-kept list, so a route added tomorrow is
checked tomorrow. ``iter_routes`` is also what the authorization matrix and the
OpenAPI tests compare against.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from rest_framework.permissions import IsAuthenticated
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from coalition.api.permissions import ActionPolicy
from coalition.core.access import Rule
from tests.conftest import SchemaCheckedClient

# Every method a client can send; anonymous callers must get 401 on all of them.
ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# Methods a route serves are these; HEAD mirrors GET and OPTIONS is switched off.
SERVED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# Open to anonymous callers by design, whatever the settings.
PUBLIC_ROUTES = {
    "/healthz": "liveness probe",
    "/readyz": "readiness probe",
    "/api/v1/auth/token/": "login: the credentials are in the body",
    "/api/v1/auth/token/refresh/": "rotation: the refresh token in the body is the credential",
    "/api/v1/auth/invitations/accept/": "accepting an invitation: the mailed one-time token in the body is the credential",
    "/api/v1/auth/password-reset/": "completing a password reset: the mailed one-time token in the body is the credential",
}
# Open to anonymous callers only while settings.PUBLIC_API_DOCS is true.
DOCS_ROUTES = {"/api/v1/schema/", "/api/docs/", "/api/redoc/"}


@dataclass(frozen=True)
class Route:
    """One URL pattern of the project, its path written as the OpenAPI schema writes it."""

    path: str
    methods: tuple[str, ...]
    callback: Callable[..., Any]

    @property
    def view_class(self) -> type | None:
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    @property
    def actions(self) -> dict[str, str] | None:
        """A DRF viewset route's method → action map (without the HEAD alias DRF adds at runtime)."""
        actions = getattr(self.callback, "actions", None)
        if actions is None:
            return None
        return {method: action for method, action in actions.items() if method in {m.lower() for m in SERVED_METHODS}}

    def example_path(self, placeholder: str = "00000000-0000-0000-0000-000000000000") -> str:
        return re.sub(r"\{[^}]+\}", placeholder, self.path)


def _pattern_text(pattern) -> str:
    """A URL pattern in schema style: ``organisations/<uuid:pk>/`` becomes ``organisations/{id}/``."""
    if isinstance(pattern, RoutePattern):
        text = re.sub(r"<(?:[^>:]+:)?([^>]+)>", r"{\1}", str(pattern))
    elif isinstance(pattern, RegexPattern):
        text = str(pattern.regex.pattern).lstrip("^").rstrip("$").replace("\\Z", "")
        text = re.sub(r"\(\?P<([^>]+)>[^)]*\)", r"{\1}", text).replace("\\", "")
    else:  # pragma: no cover - Django has only these two pattern kinds
        raise TypeError(f"Unknown URL pattern type {type(pattern)!r}")
    # drf-spectacular (SCHEMA_COERCE_PATH_PK) names the primary key "id" in the schema.
    return text.replace("{pk}", "{id}")


def _served_methods(callback) -> tuple[str, ...]:
    actions = getattr(callback, "actions", None)
    if actions is not None:  # DRF viewset route: the router's method → action map
        served = {method.upper() for method in actions}
    else:
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if view_class is None:
            # A plain function view: its methods cannot be known, so every one must be accounted for.
            served = set(SERVED_METHODS)
        else:
            served = {m.upper() for m in view_class.http_method_names if hasattr(view_class, m)}
    return tuple(m for m in SERVED_METHODS if m in served)


def iter_routes(patterns=None, prefix: str = "/") -> Iterator[Route]:
    """Every URL pattern reachable from ROOT_URLCONF, recursively through ``include()``."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from iter_routes(entry.url_patterns, prefix + _pattern_text(entry.pattern))
        elif isinstance(entry, URLPattern):
            path = prefix + _pattern_text(entry.pattern)
            yield Route(path=path, methods=_served_methods(entry.callback), callback=entry.callback)


def all_routes() -> list[Route]:
    routes = list(iter_routes())
    paths = [route.path for route in routes]
    duplicates = {path for path in paths if paths.count(path) > 1}
    assert not duplicates, f"Two URL patterns share a path: {sorted(duplicates)}"
    return routes


ROUTES = all_routes()


def drf_view_classes() -> dict[type[APIView], list[Route]]:
    """DRF view classes reachable from the URL conf, with the routes that reach each."""
    classes: dict[type[APIView], list[Route]] = {}
    for route in ROUTES:
        if isinstance(route.view_class, type) and issubclass(route.view_class, APIView):
            classes.setdefault(route.view_class, []).append(route)
    return classes


def _is_problem(response, status: int) -> bool:
    if response["Content-Type"] != "application/problem+json":
        return False
    if response.wsgi_request.method == "HEAD":
        return True  # no body on HEAD; the content type is the promise
    body = response.json()
    return body.get("status") == status and str(body.get("type", "")).startswith("urn:coalition:problem:")


def _anonymous_request(route: Route, method: str):
    # Operations the schema documents are schema-checked; other methods (405 for a signed-in
    # caller, 401 here) are not in the schema, so a plain client sends those.
    client = SchemaCheckedClient() if method in route.methods else APIClient()
    return client.generic(method, route.example_path(), data="{}" if method in ("POST", "PUT", "PATCH") else "",
                          content_type="application/json")


_PROTECTED = [
    pytest.param(route, method, id=f"{method} {route.path}")
    for route in ROUTES
    if route.path not in PUBLIC_ROUTES and route.path not in DOCS_ROUTES
    for method in ALL_METHODS
]


@pytest.mark.django_db
@pytest.mark.parametrize("public_api_docs", [False, True], ids=["private-docs", "public-docs"])
@pytest.mark.parametrize(("route", "method"), _PROTECTED)
def test_anonymous_caller_gets_401_on_every_route_outside_the_allowlist(route, method, public_api_docs):
    with override_settings(PUBLIC_API_DOCS=public_api_docs):
        response = _anonymous_request(route, method)
    assert response.status_code == 401, f"{method} {route.path} answered {response.status_code} to an anonymous caller"
    assert _is_problem(response, 401)
    assert response.has_header("WWW-Authenticate")


@pytest.mark.django_db
@pytest.mark.parametrize("path", sorted(DOCS_ROUTES))
def test_schema_and_docs_need_a_login_when_public_api_docs_is_off(path):
    with override_settings(PUBLIC_API_DOCS=False):
        for method in ("GET", "HEAD"):
            response = APIClient().generic(method, path)
            assert response.status_code == 401, f"{method} {path} answered {response.status_code}"
            assert _is_problem(response, 401)


@pytest.mark.django_db
@pytest.mark.parametrize("path", sorted(DOCS_ROUTES))
def test_schema_and_docs_are_served_to_anyone_when_public_api_docs_is_on(path):
    with override_settings(PUBLIC_API_DOCS=True):
        response = APIClient().get(path)
    assert response.status_code == 200
    if path == "/api/v1/schema/":
        assert b"openapi:" in response.content
    else:
        assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_signed_in_person_reads_the_schema_when_public_api_docs_is_off(personas):
    with override_settings(PUBLIC_API_DOCS=False):
        response = personas["caseworker"].client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert b"openapi:" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/healthz", 200),
        ("GET", "/readyz", 200),
        # An empty body reaches the serializer: the view ran without asking who is calling.
        ("POST", "/api/v1/auth/token/", 400),
        ("POST", "/api/v1/auth/token/refresh/", 400),
    ],
)
def test_allowlisted_routes_answer_anonymous_callers(method, path, expected):
    response = SchemaCheckedClient().generic(method, path, data="{}", content_type="application/json")
    assert response.status_code == expected


def test_allowlist_names_only_routes_that_exist():
    paths = {route.path for route in ROUTES}
    assert set(PUBLIC_ROUTES) | DOCS_ROUTES <= paths, sorted((set(PUBLIC_ROUTES) | DOCS_ROUTES) - paths)


def test_route_walk_finds_viewset_and_plain_view_routes():
    """Guards the walker itself: if it found nothing, every test above would pass vacuously."""
    by_path = {route.path: route for route in ROUTES}
    assert by_path["/api/v1/organisations/{id}/"].methods == ("GET", "PATCH")
    assert by_path["/api/v1/organisations/{id}/suspend/"].methods == ("POST",)
    assert by_path["/api/v1/me/"].methods == ("GET",)
    assert by_path["/healthz"].methods == ("GET",)
    assert len(_PROTECTED) >= len(ALL_METHODS) * 15


# --- every view names a rule for every action --------------------------------------------

PUBLIC_VIEW_PATHS = set(PUBLIC_ROUTES) | DOCS_ROUTES


def _guarded_view_classes():
    return [
        pytest.param(view_class, routes, id=view_class.__name__)
        for view_class, routes in drf_view_classes().items()
        if not {route.path for route in routes} <= PUBLIC_VIEW_PATHS
    ]


def test_only_allowlisted_routes_reach_views_without_a_policy():
    for view_class, routes in drf_view_classes().items():
        paths = {route.path for route in routes}
        if paths <= PUBLIC_VIEW_PATHS:
            continue
        assert not paths & PUBLIC_VIEW_PATHS, f"{view_class.__name__} serves public and guarded routes: {sorted(paths)}"
        assert isinstance(getattr(view_class, "policy", None), dict), f"{view_class.__name__} has no policy dict"


class _RecordingPolicy(dict):
    """A view's policy that notes every rule ActionPolicy asks for and grants none."""

    def __init__(self, rules):
        super().__init__(rules)
        self.asked: list[str] = []

    def get(self, key, default=None):
        self.asked.append(key)
        return None  # refused, so no view code runs


@pytest.mark.django_db
@pytest.mark.parametrize(("view_class", "routes"), _guarded_view_classes())
def test_view_policy_names_exactly_the_actions_it_serves(view_class, routes, personas, monkeypatch):
    """Each served method is sent for real, so actions renamed in ``initial()`` count too."""
    policy = getattr(view_class, "policy", None)
    assert isinstance(policy, dict), f"{view_class.__name__} has no policy: it would deny everything"
    assert all(isinstance(rule, Rule) for rule in policy.values())
    recording = _RecordingPolicy(policy)
    monkeypatch.setattr(view_class, "policy", recording)
    client = APIClient()  # refusals of undocumented shapes are not the point here
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {personas['caseworker'].tokens.access}")
    for route in routes:
        for method in route.methods:
            asked_before = len(recording.asked)
            response = client.generic(method, route.example_path(), data="{}", content_type="application/json")
            assert len(recording.asked) == asked_before + 1, f"{method} {route.path} never consulted the policy"
            assert response.status_code == 403, f"{method} {route.path} ran without a rule: {response.status_code}"
    asked = set(recording.asked)
    assert asked == set(policy), (
        f"{view_class.__name__}: actions without a rule {sorted(asked - set(policy))}, "
        f"rules for no action {sorted(set(policy) - asked)}"
    )


@pytest.mark.parametrize(("view_class", "routes"), _guarded_view_classes())
def test_guarded_view_authenticates_and_checks_its_policy(view_class, routes):
    permission_classes = list(view_class.permission_classes)
    assert IsAuthenticated in permission_classes, f"{view_class.__name__} dropped IsAuthenticated"
    assert ActionPolicy in permission_classes, f"{view_class.__name__} dropped ActionPolicy: its policy is never read"
    # Without an authenticator an anonymous caller would get 403 instead of 401.
    assert view_class.authentication_classes, f"{view_class.__name__} has no authentication classes"


@pytest.mark.django_db
def test_action_missing_from_a_policy_is_refused_to_everyone(personas):
    """Deny by default holds in ActionPolicy itself, not only in the policies written so far."""
    from partners.api.views import OrganisationViewSet

    class WithoutListRule(OrganisationViewSet):
        policy = {key: rule for key, rule in OrganisationViewSet.policy.items() if key != "list"}

    view = WithoutListRule.as_view({"get": "list"})
    for name in ("caseworker", "coordinator", "org_admin"):
        request = APIRequestFactory().get("/api/v1/organisations/")
        force_authenticate(request, user=personas[name].user)
        assert view(request).status_code == 403
    # The same request passes with the full policy, so the 403 above is the missing rule.
    request = APIRequestFactory().get("/api/v1/organisations/")
    force_authenticate(request, user=personas["caseworker"].user)
    assert OrganisationViewSet.as_view({"get": "list"})(request).status_code == 200
