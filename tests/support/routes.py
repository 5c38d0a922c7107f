"""The project's routes, found by walking the URL resolver (not a hand-kept list).

A route added tomorrow is found tomorrow: the deny-by-default tests, the authorization
matrix, the isolation tests and the OpenAPI tests all compare against ``ROUTES``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from rest_framework.views import APIView

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


# The web app's pages (under /app/, and / which redirects there) have their own route walk
# and page matrix (tests/web/); ROUTES are the API's and the probes'.
WEB_PREFIXES = ("/app/",)
WEB_ROUTES = [route for route in all_routes() if route.path.startswith(WEB_PREFIXES) or route.path == "/"]
ROUTES = [route for route in all_routes() if route not in WEB_ROUTES]


def drf_view_classes() -> dict[type[APIView], list[Route]]:
    """DRF view classes reachable from the URL conf, with the routes that reach each."""
    classes: dict[type[APIView], list[Route]] = {}
    for route in ROUTES:
        if isinstance(route.view_class, type) and issubclass(route.view_class, APIView):
            classes.setdefault(route.view_class, []).append(route)
    return classes
