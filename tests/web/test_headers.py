"""Every web page answers with the strict headers: a CSP without 'unsafe-inline' and with
frame-ancestors 'none', no referrer, never framed, never stored when signed in. The API's docs
pages work under the same policy (no inline script, no third-party request)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.support.routes import WEB_ROUTES
from tests.support.web import web_client_for

PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_strict_headers(response, *, signed_in: bool) -> None:
    policy = _policy(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    if signed_in:
        assert response["Cache-Control"] == "no-store"


def _answers(client: Client):
    for route in WEB_ROUTES:
        path = route.example_path(PLACEHOLDER)
        yield path, "GET", client.get(path)
        yield path, "POST", client.post(path, {})


def test_the_walk_finds_the_web_routes():
    paths = {route.path for route in WEB_ROUTES}
    assert {"/app/", "/app/sign-in/", "/app/sign-out/", "/app/language/", "/app/account/",
            "/app/account/second-factor/", "/app/invitation/", "/app/password-reset/", "/"} <= paths


def test_every_web_route_answers_a_signed_in_person_with_the_strict_headers(personas):
    client = web_client_for(personas["caseworker"].user)
    for path, method, response in _answers(client):
        assert_strict_headers(response, signed_in=path != "/")
        if path == "/app/sign-out/" and method == "POST":
            client = web_client_for(personas["caseworker"].user)  # the walk goes on signed in


def test_every_web_route_answers_a_signed_out_browser_with_the_strict_headers(db):
    for path, _method, response in _answers(Client()):
        assert_strict_headers(response, signed_in=False)
        if path.startswith("/app/"):
            assert response["Cache-Control"] == "no-store"


def test_error_pages_under_app_carry_the_strict_headers_too(personas):
    response = web_client_for(personas["caseworker"].user).get("/app/no-such-page/")
    assert response.status_code == 404
    assert_strict_headers(response, signed_in=True)


def test_web_pages_hold_no_inline_script_style_or_event_handler(personas):
    client = web_client_for(personas["caseworker"].user)
    pages = [client.get(path) for path in ("/app/account/", "/app/account/second-factor/")]
    pages += [Client().get(path) for path in ("/app/sign-in/", "/app/invitation/", "/app/password-reset/")]
    for page in pages:
        html = page.content.decode()
        assert page.status_code == 200
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
        assert "<style" not in html and "style=" not in html
        assert not re.search(r"\son[a-z]+=", html), "inline event handler"
        assert not re.search(r"(src|href)=\"(https?:)?//", html), "third-party resource"


# --- the API's docs under the same policy ------------------------------------------------------


@pytest.fixture
def public_docs(settings):
    settings.PUBLIC_API_DOCS = True


def test_swagger_ui_runs_from_files_under_the_strict_policy(db, public_docs):
    page = Client().get("/api/docs/")
    assert page.status_code == 200
    assert "unsafe-inline" not in page["Content-Security-Policy"]
    html = page.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and "<style" not in html
    script_url = re.search(r'<script src="([^"]*script=[^"]*)"', html).group(1).replace("&amp;", "&")
    script = Client().get(script_url)
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_redoc_runs_from_files_and_lets_in_only_its_own_nonced_styles(db, public_docs):
    page = Client().get("/api/redoc/")
    assert page.status_code == 200
    policy = _policy(page)
    header = page["Content-Security-Policy"]
    assert "unsafe-inline" not in header and policy["frame-ancestors"] == ["'none'"]
    [nonce] = [value for value in policy["style-src"] if value.startswith("'nonce-")]
    html = page.content.decode()
    assert f'data-csp-nonce="{nonce[7:-1]}"' in html
    assert policy["script-src"] == ["'self'"]
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and "<style" not in html
    assert "fonts.googleapis.com" not in html and "https://" not in html
    assert "redoc-init.js" in html
