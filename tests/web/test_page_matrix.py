"""Page authorization matrix (ASVS 8.1.1): every web route × persona × own / partner / unrelated object.

tests/web/page_matrix.yaml says what each persona gets from each page and form of the web
app; one parametrised test per row checks every persona's cell in a signed-in browser session, and a route
walk fails the suite when a page under /app/ has no rows (or a row names a page that is
gone). Methods a page does not list must be refused (405) to everyone signed in.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.db import transaction
from django.test import Client

from referrals.models import Case, Consultation, Match, Referral
from tests.support.matrix_objects import OBJECT_BUILDERS, PERSONAL_OBJECTS, parties
from tests.support.personas import Persona
from tests.support.routes import SERVED_METHODS, WEB_ROUTES
from tests.support.web import web_client_for

MATRIX_PATH = Path(__file__).with_name("page_matrix.yaml")
MATRIX = yaml.safe_load(MATRIX_PATH.read_text(encoding="utf-8"))
PERSONAS: list[str] = MATRIX["personas"]
# More rows, one file per area of the app (oversight, figures, administration, audit), in the
# same format; only the main file names the personas.
MATRIX_PARTS = sorted((MATRIX_PATH.parent / "page_matrix.d").glob("*.yaml"))
ROWS: list[dict[str, Any]] = MATRIX["rows"] + [
    row for part in MATRIX_PARTS for row in yaml.safe_load(part.read_text(encoding="utf-8"))["rows"]
]
# The objects whose pages carry the version they were read at (a hidden field, ${version}).
VERSIONED: dict[str, type[Case] | type[Referral] | type[Match] | type[Consultation]] = {
    "referral": Referral, "case": Case, "consent": Case, "match": Match, "consultation": Consultation,
}
ROW_FIELDS = {"route", "method", "object", "relation", "state", "params", "form", "expect"}
STATUSES = {200, 204, 302, 303, 403, 404, 405, 409, 422, 429}
SIGN_IN = "/app/sign-in/"
# Pages anyone may use signed out: signing in (and out), the language, the mailed one-time links.
PUBLIC_PAGES = {"/app/sign-in/", "/app/sign-out/", "/app/language/", "/app/invitation/", "/app/password-reset/"}


def _row_id(row: dict) -> str:
    parts = [row["method"], row["route"]]
    if row.get("params"):
        parts.append(",".join(f"{k}={v}" for k, v in sorted(row["params"].items())))
    if row.get("relation"):
        parts.append(row["relation"])
    if row.get("state"):
        parts.append(",".join(f"{k}={v}" for k, v in sorted(row["state"].items())))
    return " ".join(parts)


ROW_PARAMS = [pytest.param(row, id=_row_id(row)) for row in ROWS]


def _client_for(persona: Persona) -> Client:
    return web_client_for(persona.user) if persona.user is not None else Client()


def _target(row: dict, persona: Persona, orgs) -> tuple[str, dict[str, Any]]:
    """The row's path with its object built for ``persona``, and its form with ``${version}`` filled in."""
    parameters: dict[str, Any] = dict(row.get("params") or {})
    version = None
    if row.get("object"):
        owner, counterpart = parties(row["relation"], row["object"], persona, orgs)
        mine = {"persona": persona} if row["object"] in PERSONAL_OBJECTS else {}
        parameters |= OBJECT_BUILDERS[row["object"]](owner, counterpart, dict(row.get("state") or {}), **mine)
        model = VERSIONED.get(row["object"])
        version = model.objects.get(pk=parameters["id"]).version if model is not None else None
    path = row["route"]
    for name, value in parameters.items():
        path = path.replace("{" + name + "}", str(value))
    assert "{" not in path, f"unfilled parameter in {path}"
    form = {name: (version if value == "${version}" else value) for name, value in (row.get("form") or {}).items()}
    return path, form


class _Undone(Exception):
    """Raised to roll back what one persona's request built and changed, before the next persona's."""


def _answer(row: dict, persona: Persona, orgs) -> tuple[int, str]:
    """The status (and redirect) ``persona`` gets from the row's page, with everything it built undone after.

    Each persona's objects and request run in a savepoint that is rolled back, so the next
    persona meets the database as the test began, as if each cell were its own test (one
    test per row saves building the personas seven times).
    """
    answer: tuple[int, str] = (0, "")
    try:
        with transaction.atomic():
            path, form = _target(row, persona, orgs)
            client = _client_for(persona)
            response = client.get(path) if row["method"] == "GET" else client.post(path, form)
            answer = (response.status_code, response.get("Location", ""))
            raise _Undone
    except _Undone:
        pass
    return answer


@pytest.mark.parametrize("row", ROW_PARAMS)
def test_page_answers_each_persona_as_the_matrix_says(row, personas, orgs):
    wrong = []
    for name in PERSONAS:
        status, location = _answer(row, personas[name], orgs)
        expected = row["expect"][name]
        if status != expected:
            wrong.append(f"{name}: {status}, the matrix says {expected}")
        elif name == "anonymous" and expected == 302 and row["route"] not in PUBLIC_PAGES | {"/"}:
            if not location.startswith(SIGN_IN):
                wrong.append(f"anonymous: sent to {location}, not to sign in")
    assert not wrong, f"{_row_id(row)}: " + "; ".join(wrong)


# --- the matrix itself -----------------------------------------------------------------


def _route_pattern(route: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(route)) + "$")


def test_every_page_of_the_web_app_is_in_the_matrix():
    in_matrix = {row["route"] for row in ROWS}
    missing = sorted({route.path for route in WEB_ROUTES} - in_matrix)
    assert not missing, f"pages without rows in tests/web/page_matrix.yaml: {missing}"


def test_every_row_names_a_page_that_exists_and_is_well_formed():
    pages = {route.path for route in WEB_ROUTES}
    for row in ROWS:
        assert set(row) <= ROW_FIELDS, _row_id(row)
        assert row["route"] in pages, f"{_row_id(row)}: no such page"
        assert row["method"] in ("GET", "POST"), _row_id(row)
        assert set(row["expect"]) == set(PERSONAS), f"{_row_id(row)}: every persona once"
        assert set(row["expect"].values()) <= STATUSES, _row_id(row)
        if "{id}" in row["route"]:  # every other parameter is in params
            assert row.get("object") in OBJECT_BUILDERS and row.get("relation") in ("own", "partner", "unrelated"), (
                _row_id(row)
            )


def _listed_methods(path: str) -> set[str]:
    return {row["method"] for row in ROWS if row["route"] == path}


UNLISTED = [
    pytest.param(route.path, method, id=f"{method} {route.path}")
    for route in WEB_ROUTES
    for method in SERVED_METHODS
    if method not in {"GET", "POST"} or method not in _listed_methods(route.path)
]


@pytest.mark.parametrize(("path", "method"), UNLISTED)
def test_methods_a_page_does_not_list_are_refused(path, method, personas):
    client = web_client_for(personas["caseworker"].user)
    example = path
    for row in ROWS:  # parameters other than ids as the matrix gives them (an action's name)
        if row["route"] == path:
            for name, value in (row.get("params") or {}).items():
                example = example.replace("{" + name + "}", str(value))
    example = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", example)
    response = client.generic(method, example)
    assert response.status_code == 405, f"{method} {path}: {response.status_code}"
