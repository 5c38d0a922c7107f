"""Deny by default (API5, ASVS 8.2.1): no route answers an anonymous caller outside an allowlist.

The URL resolver is walked (tests/support/routes.py), not a hand-kept list, so a
route added tomorrow is checked tomorrow.
"""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.permissions import IsAuthenticated
from rest_framework.test import APIClient, APIRequestFactory, force_authenticate

from coalition.api.permissions import ActionPolicy
from coalition.core.access import Rule
from tests.support.routes import ALL_METHODS, DOCS_ROUTES, PUBLIC_ROUTES, ROUTES, Route, drf_view_classes
from tests.support.schema import SchemaCheckedClient


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
