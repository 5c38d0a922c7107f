"""The committed OpenAPI schema is the contract: it matches the code, the routes and the data rules.

Partner systems generate clients from api_docs/openapi.yaml and every API response
in the suite is validated against it (tests.support.schema.SchemaCheckedClient), so a
schema that drifts from the code makes both of those lie.
"""

from __future__ import annotations

import copy
import functools
import importlib
import json
import pkgutil
import re

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.drainage import reset_generator_stats
from rest_framework import serializers
from rest_framework.response import Response

from tests.support.routes import DOCS_ROUTES, ROUTES
from tests.support.schema import SCHEMA_PATH, SchemaCheckedClient, validate_against_schema

REGENERATE_HINT = (
    "api_docs/openapi.yaml is not the schema the code generates. Run `make schema` "
    "and commit the result (and check the diff: it is what partner systems will see)."
)

# Subject fields (api_docs/concepts.md, "Minimum data") that identify a young person, and the usual spellings
# of the same facts. None may be a query parameter: URLs end up in logs and histories.
# `gender` and `language` are subject fields too, but on their own they identify no one:
# they are triage data of a referral and `language` is a directory filter
# (the organisation's working languages), so they are not listed here.
IDENTITY_FIELDS = (
    "given_name", "family_name", "date_of_birth", "birth_year", "municipality",
    "safe_contact", "guardian_contact",
)
IDENTITY_SPELLINGS = re.compile(
    r"given.?name|family.?name|first.?name|last.?name|surname|full.?name|child.?name|"
    r"date.?of.?birth|birth.?date|birthdate|\bdob\b|birth.?year|municipality|safe.?contact|guardian",
    re.IGNORECASE,
)


_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(text: str) -> dict:
    return yaml.load(text, Loader=_YamlLoader)  # noqa: S506  a safe loader, the C one when available


@functools.lru_cache(maxsize=1)
def _committed_schema_cached() -> dict:
    return _load_yaml(SCHEMA_PATH.read_text(encoding="utf-8"))


def _committed_schema() -> dict:
    """The committed schema, parsed once; callers that change it get their own copy."""
    return copy.deepcopy(_committed_schema_cached())


# --- (a) committed schema = generated schema ---------------------------------------------


def test_committed_schema_is_the_schema_the_code_generates(tmp_path):
    generated_file = tmp_path / "openapi.yaml"
    reset_generator_stats()  # --fail-on-warn counts warnings of this generation only
    try:
        # As `make schema` does: warnings are errors, and the result must be valid OpenAPI 3.
        call_command("spectacular", file=str(generated_file), validate=True, fail_on_warn=True)
    except Exception as exc:  # noqa: BLE001  re-raised with the fix
        pytest.fail(f"The schema cannot be generated cleanly ({exc}). Fix the warnings, then run `make schema`.")
    generated = _load_yaml(generated_file.read_text(encoding="utf-8"))
    committed = _load_yaml(SCHEMA_PATH.read_text(encoding="utf-8"))
    if generated != committed:
        changed = [
            f"paths {path}"
            for path in sorted(set(generated["paths"]) | set(committed["paths"]))
            if generated["paths"].get(path) != committed["paths"].get(path)
        ]
        generated_components, committed_components = generated.get("components", {}), committed.get("components", {})
        for section in sorted(set(generated_components) | set(committed_components)):
            ours, theirs = generated_components.get(section, {}), committed_components.get(section, {})
            names = sorted(set(ours) | set(theirs))
            changed += [f"components/{section}/{name}" for name in names if ours.get(name) != theirs.get(name)]
        pytest.fail(f"{REGENERATE_HINT}\nDiffering: {changed or 'top-level fields'}")


# --- (b) routes = schema paths --------------------------------------------------------------

# The schema does not describe itself or its two HTML viewers (Swagger UI, ReDoc).
UNDOCUMENTED_ROUTES = DOCS_ROUTES


def test_every_url_route_is_a_schema_operation_and_back():
    routes = {
        (route.path, method.lower())
        for route in ROUTES
        if route.path not in UNDOCUMENTED_ROUTES
        for method in route.methods
    }
    documented = {
        (path, method)
        for path, item in _committed_schema()["paths"].items()
        for method in item
        if method in {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
    }
    assert routes - documented == set(), "Routes missing from api_docs/openapi.yaml: run `make schema`"
    assert documented - routes == set(), "Schema operations that no route serves: run `make schema`"
    assert len(routes) >= 20  # the walk found the API, not an empty set


def test_undocumented_routes_are_only_the_schema_and_its_viewers():
    paths = {route.path for route in ROUTES}
    assert UNDOCUMENTED_ROUTES <= paths
    assert not UNDOCUMENTED_ROUTES & set(_committed_schema()["paths"])


# --- (c) no identity in query parameters ----------------------------------------------------


def identity_query_parameters(schema: dict) -> list[str]:
    """``METHOD path ?name`` for every query (or path) parameter that names an identity field."""
    found = []
    for path, item in schema.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if not isinstance(operation, dict) or method == "parameters":
                continue
            for parameter in [*shared, *operation.get("parameters", [])]:
                if "$ref" in parameter:
                    name = parameter["$ref"].rsplit("/", 1)[-1]
                    parameter = schema["components"]["parameters"][name]
                if parameter.get("in") not in ("query", "path"):
                    continue
                name = parameter.get("name", "")
                if name in IDENTITY_FIELDS or IDENTITY_SPELLINGS.search(name):
                    found.append(f"{method.upper()} {path} ?{name}")
    for path in schema.get("paths", {}):
        for variable in re.findall(r"\{([^}]+)\}", path):
            if variable in IDENTITY_FIELDS or IDENTITY_SPELLINGS.search(variable):
                found.append(f"{path} {{{variable}}}")
    return found


def test_no_query_parameter_carries_identity_of_a_young_person():
    schema = _committed_schema()
    query_parameters = [
        p for item in schema["paths"].values() for op in item.values() if isinstance(op, dict)
        for p in op.get("parameters", []) if p.get("in") == "query"
    ]
    assert query_parameters, "the schema has query parameters (directory filters): the check below is not vacuous"
    assert identity_query_parameters(schema) == []


@pytest.mark.parametrize("name", [*IDENTITY_FIELDS, "dob", "firstName", "child_name"])
def test_identity_check_catches_an_identity_query_parameter(name):
    schema = _committed_schema()
    operation = schema["paths"]["/api/v1/organisations/"]["get"]
    operation["parameters"].append({"in": "query", "name": name, "schema": {"type": "string"}})
    assert identity_query_parameters(schema) == [f"GET /api/v1/organisations/ ?{name}"]


# --- (d) no serializer exposes fields wholesale ----------------------------------------------

PROJECT_PACKAGES = ("coalition", "partners", "referrals")
# Modules that do something when imported (settings read the environment, WSGI builds an app).
NOT_IMPORTED = re.compile(r"\.(settings|wsgi|asgi|migrations)(\.|$)")


def _project_serializer_classes() -> list[type]:
    for package_name in PROJECT_PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}."):
            if not NOT_IMPORTED.search(module.name):
                importlib.import_module(module.name)
    found, pending = [], [serializers.BaseSerializer]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            pending.append(sub)
            if sub.__module__.split(".")[0] in PROJECT_PACKAGES:
                found.append(sub)
    return sorted(set(found), key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def test_no_serializer_uses_all_fields_or_exclude():
    classes = _project_serializer_classes()
    names = {cls.__name__ for cls in classes}
    assert {"OrganisationSerializer", "InvitationCreateSerializer", "ProblemSerializer"} <= names  # the scan saw the code
    offenders = []
    for cls in classes:
        meta = getattr(cls, "Meta", None)
        if meta is None:
            continue
        if getattr(meta, "fields", None) == serializers.ALL_FIELDS:
            offenders.append(f"{cls.__module__}.{cls.__qualname__}: fields = '__all__'")
        if getattr(meta, "exclude", None) is not None:
            offenders.append(f"{cls.__module__}.{cls.__qualname__}: exclude")
        if issubclass(cls, serializers.ModelSerializer) and getattr(meta, "fields", None) is None:
            offenders.append(f"{cls.__module__}.{cls.__qualname__}: no explicit fields")
    assert offenders == [], "List every field explicitly (mass assignment, API3):\n" + "\n".join(offenders)


# --- (e) schema validation really fails on a response that breaks the schema --------------


@pytest.mark.django_db
def test_schema_validation_accepts_the_real_response(personas):
    """The positive control for the two tests below: the untouched response passes."""
    client = personas["caseworker"].client
    response = client.get("/api/v1/vocabularies/")
    assert response.status_code == 200
    validate_against_schema(response)


@pytest.mark.django_db
def test_schema_validation_rejects_a_body_that_breaks_the_schema(personas):
    client = personas["caseworker"].client
    client.validate = False
    response = client.get("/api/v1/vocabularies/")
    assert response.status_code == 200
    body = response.json()
    body["phenomena"] = "not a list of entries"
    response.content = json.dumps(body).encode()
    with pytest.raises(Exception) as caught:  # noqa: PT011  openapi-core's hierarchy varies by version
        validate_against_schema(response)
    assert "openapi_core" in type(caught.value).__module__


@pytest.mark.django_db
def test_schema_checked_client_fails_when_a_view_breaks_the_schema(personas, monkeypatch):
    from partners.api.views import VocabulariesView

    monkeypatch.setattr(VocabulariesView, "get", lambda self, request: Response({"phenomena": 42}))
    client = personas["caseworker"].client
    assert isinstance(client, SchemaCheckedClient) and client.validate
    with pytest.raises(Exception) as caught:  # noqa: PT011
        client.get("/api/v1/vocabularies/")
    assert "openapi_core" in type(caught.value).__module__


@pytest.mark.django_db
def test_schema_checked_client_fails_on_an_undocumented_status(personas, monkeypatch):
    from partners.api.views import MeView

    monkeypatch.setattr(MeView, "get", lambda self, request: Response({}, status=418))
    with pytest.raises(Exception) as caught:  # noqa: PT011
        personas["caseworker"].client.get("/api/v1/me/")
    assert "openapi_core" in type(caught.value).__module__
