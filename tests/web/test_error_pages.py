"""Under /app/ errors are HTML pages in the person's language; the API keeps its problem details."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory
from django.utils import translation

from coalition import error_views
from tests.support.web import web_client_for


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """A request activates its language on the thread; handlers called directly would inherit it."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def page_request():
    def make(path: str):
        request = RequestFactory().get(path)
        request.request_id = "r" * 16
        from django.contrib.auth.models import AnonymousUser
        from django.contrib.messages.storage.fallback import FallbackStorage
        from django.contrib.sessions.backends.db import SessionStore

        request.user = AnonymousUser()
        request.session = SessionStore()
        request._messages = FallbackStorage(request)
        return request

    return make


def _is_page(response, status: int, text: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert text in response.content.decode()


def _is_problem(response, status: int) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"


def test_an_unknown_page_is_the_404_page_and_an_unknown_api_route_a_problem(personas):
    _is_page(web_client_for(personas["caseworker"].user).get("/app/no-such-page/"), 404, "Not found")
    _is_page(Client().get("/app/no-such-page/"), 404, "Not found")
    _is_problem(Client().get("/api/v1/no-such-route/"), 404)


def test_the_404_page_is_in_the_browsers_language(db):
    page = Client().get("/app/no-such-page/", HTTP_ACCEPT_LANGUAGE="nl")
    _is_page(page, 404, "Niet gevonden")


@pytest.mark.parametrize(
    "handler, status, text",
    [
        (error_views.permission_denied, 403, "Not allowed"),
        (error_views.bad_request, 400, "Bad request"),
        (error_views.not_found, 404, "Not found"),
    ],
)
def test_each_handler_answers_a_page_under_app_and_a_problem_elsewhere(db, page_request, handler, status, text):
    _is_page(handler(page_request("/app/anything/"), Exception()), status, text)
    _is_problem(handler(page_request("/api/v1/anything/"), Exception()), status)


def test_a_server_error_under_app_is_a_plain_page_with_the_request_id_only(page_request):
    try:
        raise RuntimeError("a secret detail that must not show")
    except RuntimeError:
        page = error_views.server_error(page_request("/app/anything/"))
    _is_page(page, 500, "Something went wrong")
    assert "r" * 16 in page.content.decode() and "secret detail" not in page.content.decode()
    try:
        raise RuntimeError("a secret detail that must not show")
    except RuntimeError:
        _is_problem(error_views.server_error(page_request("/api/v1/anything/")), 500)


def test_a_database_outage_under_app_is_the_try_again_page(page_request):
    try:
        raise OperationalError("connection to server at 10.0.0.5 failed")
    except OperationalError:
        page = error_views.server_error(page_request("/app/anything/"))
    _is_page(page, 503, "Service unavailable")
    assert page["Retry-After"] and "10.0.0.5" not in page.content.decode()


def test_an_outage_in_a_page_view_is_the_try_again_page(personas, monkeypatch):
    from web.views import account

    def broken(*args, **kwargs):
        raise OperationalError("connection to server at 10.0.0.5 failed")

    client = web_client_for(personas["caseworker"].user)
    monkeypatch.setattr(account.tokens, "confirmed_totp_device", broken)
    page = client.get("/app/account/")
    _is_page(page, 503, "Service unavailable")


def test_an_unexpected_error_in_a_page_is_the_500_page(personas, monkeypatch):
    from web.views import account

    def broken(*args, **kwargs):
        raise RuntimeError("a secret detail that must not show")

    client = web_client_for(personas["caseworker"].user)
    client.raise_request_exception = False
    monkeypatch.setattr(account.tokens, "confirmed_totp_device", broken)
    page = client.get("/app/account/")
    _is_page(page, 500, "Something went wrong")
    assert "secret detail" not in page.content.decode()


def test_the_csrf_failure_view_answers_a_page_under_app_only(page_request):
    _is_page(error_views.csrf_failure(page_request("/app/sign-in/"), "no token"), 403, "The form expired")
    other = error_views.csrf_failure(page_request("/elsewhere/"), "no token")
    assert other.status_code == 403 and "The form expired" not in other.content.decode()
