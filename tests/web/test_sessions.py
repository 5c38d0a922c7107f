"""Web sessions: cookie flags, CSRF, idle and absolute timeouts, sign-out, and revocation on the
events that revoke tokens (deactivation, role change, password or TOTP reset)."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from coalition.audit.models import AuditEntry
from partners import services
from partners.choices import Role
from partners.models import LoginSession
from tests.security.helpers import bearer_client, give_confirmed_totp_device, login
from tests.support.personas import PASSWORD
from tests.support.processes import (  # noqa: F401  (production_env: fixture)
    assert_refused,
    production_env,
    run_python,
)
from tests.support.web import SIGN_IN, mailed_link, sign_in, web_client_for
from web import auth

ENDED = "Your session ended. Sign in again."
PAGE = "/app/account/"


def _signed_in_client(user) -> Client:
    client = Client()
    assert sign_in(client, user.username, PASSWORD).status_code == 302
    return client


def _login_of(client: Client) -> LoginSession:
    return LoginSession.objects.get(pk=client.session[auth.LOGIN_SESSION_KEY])


def _ended(client: Client) -> bool:
    """The next page asks for sign-in again and says why."""
    response = client.get(PAGE)
    if response.status_code != 302 or not response.url.startswith(SIGN_IN):
        return False
    return ENDED in client.get(response.url).content.decode()


def _last_seen(client: Client, seconds_ago: float) -> None:
    session = client.session
    session[auth.LAST_SEEN_KEY] = int(time.time() - seconds_ago)
    session.save()


# --- the cookie ------------------------------------------------------------------------------


def test_the_session_cookie_is_httponly_samesite_lax_and_secure_outside_debug(personas):
    assert settings.DEBUG is False
    response = sign_in(Client(), personas["caseworker"].user.username, PASSWORD)
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["secure"] is True
    csrf = response.cookies[settings.CSRF_COOKIE_NAME]
    assert csrf["httponly"] is True and csrf["samesite"] == "Lax" and csrf["secure"] is True


def test_the_cookie_ends_with_the_login_at_the_latest(personas):
    client = _signed_in_client(personas["caseworker"].user)
    assert abs(client.session.get_expiry_date() - _login_of(client).expires_at) < timedelta(seconds=1)
    assert settings.SESSION_COOKIE_AGE == settings.LOGIN_ABSOLUTE_LIFETIME.total_seconds()


def test_cookies_are_secure_only_outside_debug(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "DJANGO_SETTINGS_MODULE": "coalition.settings",
        "DEBUG": "true", "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}",
    }
    code = (
        "import json, django; django.setup(); from django.conf import settings; print(json.dumps("
        "[settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.LANGUAGE_COOKIE_SECURE, "
        "settings.WEB_SESSION_IDLE_MINUTES]))"
    )
    result = run_python(env, code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [False, False, False, 30]


@pytest.mark.parametrize("value", ["0", "-5", "thirty", "721"])
def test_a_bad_idle_timeout_stops_the_process(production_env, value):
    env = production_env | {"WEB_SESSION_IDLE_MINUTES": value}
    assert_refused(run_python(env, "import django; django.setup()"), "WEB_SESSION_IDLE_MINUTES")


# --- CSRF --------------------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_is_refused_with_an_html_page(personas):
    browser = Client(enforce_csrf_checks=True)
    logins_before = LoginSession.objects.count()
    refused = browser.post(SIGN_IN, {"username": personas["caseworker"].user.username, "password": PASSWORD})
    assert refused.status_code == 403
    assert refused["Content-Type"].startswith("text/html")
    assert "The form expired" in refused.content.decode()
    assert LoginSession.objects.count() == logins_before

    page = browser.get(SIGN_IN)
    token = page.context["csrf_token"]
    accepted = browser.post(
        SIGN_IN,
        {"username": personas["caseworker"].user.username, "password": PASSWORD, "csrfmiddlewaretoken": str(token)},
    )
    assert accepted.status_code == 302


def _post_like_a_browser(browser: Client, personas, *, secure: bool, **headers):
    page = browser.get(SIGN_IN, secure=secure)
    data = {
        "username": personas["caseworker"].user.username, "password": PASSWORD,
        "csrfmiddlewaretoken": str(page.context["csrf_token"]),
    }
    return browser.post(SIGN_IN, data, secure=secure, **headers)


@pytest.mark.parametrize("secure", [False, True])
def test_a_form_posted_from_a_no_referrer_page_of_this_site_is_accepted(personas, secure):
    """Under Referrer-Policy: no-referrer a browser sends Origin: null and no Referer, and says
    Sec-Fetch-Site: same-origin (Chromium does; found in a real browser)."""
    response = _post_like_a_browser(
        Client(enforce_csrf_checks=True), personas, secure=secure, HTTP_ORIGIN="null", HTTP_SEC_FETCH_SITE="same-origin"
    )
    assert response.status_code == 302


@pytest.mark.parametrize("fetch_site", ["cross-site", "same-site", None])
def test_a_null_origin_from_anywhere_else_is_refused(personas, fetch_site):
    headers = {"HTTP_ORIGIN": "null"} | ({"HTTP_SEC_FETCH_SITE": fetch_site} if fetch_site else {})
    response = _post_like_a_browser(Client(enforce_csrf_checks=True), personas, secure=True, **headers)
    assert response.status_code == 403 and "The form expired" in response.content.decode()


def test_another_origin_is_refused_even_with_the_token(personas):
    response = _post_like_a_browser(
        Client(enforce_csrf_checks=True), personas, secure=True,
        HTTP_ORIGIN="https://attacker.example", HTTP_SEC_FETCH_SITE="same-origin",
    )
    assert response.status_code == 403


def test_signing_out_needs_the_csrf_token_too(personas):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(SIGN_IN)
    browser.post(SIGN_IN, {
        "username": personas["caseworker"].user.username, "password": PASSWORD,
        "csrfmiddlewaretoken": str(page.context["csrf_token"]),
    })
    assert browser.post("/app/sign-out/").status_code == 403
    assert browser.get(PAGE).status_code == 200


# --- timeouts --------------------------------------------------------------------------------


def test_the_idle_timeout_is_thirty_minutes_by_default():
    assert settings.WEB_SESSION_IDLE_MINUTES == 30


def test_a_session_idle_longer_than_the_timeout_ends_and_its_login_with_it(personas):
    user = personas["caseworker"].user
    client = _signed_in_client(user)
    login_session = _login_of(client)
    _last_seen(client, settings.WEB_SESSION_IDLE_MINUTES * 60 + 5)
    assert _ended(client)
    login_session.refresh_from_db()
    assert login_session.revoked_at is not None and login_session.revoked_reason == "idle_timeout"
    entry = AuditEntry.objects.filter(action="auth.logout").latest("seq")
    assert entry.actor_user == user.pk and entry.detail == {"reason": "idle_timeout"}


def test_activity_within_the_timeout_keeps_the_session_and_moves_its_last_activity(personas):
    client = _signed_in_client(personas["caseworker"].user)
    _last_seen(client, settings.WEB_SESSION_IDLE_MINUTES * 60 - 60)
    assert client.get(PAGE).status_code == 200
    assert time.time() - client.session[auth.LAST_SEEN_KEY] < 5
    assert client.get(PAGE).status_code == 200


def test_the_inboxs_own_refresh_does_not_keep_an_unattended_session_alive(personas):
    client = _signed_in_client(personas["caseworker"].user)
    _last_seen(client, settings.WEB_SESSION_IDLE_MINUTES * 60 - 60)
    before = client.session[auth.LAST_SEEN_KEY]
    refresh = {"HTTP_HX_REQUEST": "true", "HTTP_X_BACKGROUND_REFRESH": "1"}
    assert client.get("/app/", **refresh).status_code == 200
    assert client.session[auth.LAST_SEEN_KEY] == before
    _last_seen(client, settings.WEB_SESSION_IDLE_MINUTES * 60 + 5)
    assert client.get("/app/", **refresh).status_code == 204  # htmx is sent to sign in (HX-Redirect)


def test_a_session_ends_at_its_logins_absolute_lifetime_however_active(personas):
    client = _signed_in_client(personas["caseworker"].user)
    LoginSession.objects.filter(pk=_login_of(client).pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _ended(client)


def test_an_ended_session_answers_an_htmx_request_with_a_redirect_of_the_whole_page(personas):
    client = _signed_in_client(personas["caseworker"].user)
    _last_seen(client, settings.WEB_SESSION_IDLE_MINUTES * 60 + 5)
    response = client.get(PAGE, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="https://testserver/app/account/")
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/app/sign-in/?next=/app/account/"


# --- signing out ---------------------------------------------------------------------------


def test_signing_out_ends_the_session_and_its_old_cookie_opens_nothing(personas):
    user = personas["caseworker"].user
    client = _signed_in_client(user)
    stolen = Client()
    stolen.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert stolen.get(PAGE).status_code == 200
    login_session = _login_of(client)

    response = client.post("/app/sign-out/")
    assert response.status_code == 302 and response.url == SIGN_IN
    assert "You signed out." in client.get(SIGN_IN).content.decode()
    assert client.get(PAGE).url.startswith(SIGN_IN)
    assert stolen.get(PAGE).url.startswith(SIGN_IN)
    login_session.refresh_from_db()
    assert login_session.revoked_reason == "logout"
    entry = AuditEntry.objects.filter(action="auth.logout").latest("seq")
    assert entry.actor_user == user.pk and entry.detail == {}


def test_sign_out_is_a_post_only(personas):
    client = _signed_in_client(personas["caseworker"].user)
    assert client.get("/app/sign-out/").status_code == 405
    assert client.get(PAGE).status_code == 200


def test_signing_in_again_in_the_same_browser_ends_the_previous_login(personas):
    client = _signed_in_client(personas["caseworker"].user)
    first = _login_of(client)
    sign_in(client, personas["recipient_caseworker"].user.username, PASSWORD)
    first.refresh_from_db()
    assert first.revoked_at is not None
    assert _login_of(client).user == personas["recipient_caseworker"].user


# --- revocation on the events that revoke tokens -------------------------------------------


def _deactivate(personas, user):
    services.user_update(actor=personas["org_admin"].user, user=user, data={"is_active": False})


def _change_role(personas, user):
    services.user_update(actor=personas["org_admin"].user, user=user, data={"roles": [Role.CASEWORKER, Role.ORG_ADMIN]})


def _reset_password(personas, user):
    services.password_reset_send(actor=personas["org_admin"].user, user=user)
    _path, token = mailed_link(user.email)
    services.password_reset_complete(token=token, password="a-brand-new-passphrase-2026")


def _reset_totp(personas, user):
    give_confirmed_totp_device(user)
    services.user_reset_totp(actor=personas["org_admin"].user, user=user)


def _change_own_password_through_the_api(personas, user):
    services.user_change_own_password(user=user, current_password=PASSWORD, new_password="a-brand-new-passphrase-2026")


def _require_a_second_factor(personas, user):
    organisation = user.organisation
    services.organisation_update(actor=personas["org_admin"].user, organisation=organisation,
                                 data={"caseworker_mfa_required": True})


@pytest.mark.parametrize(
    "event", [_deactivate, _change_role, _reset_password, _reset_totp, _change_own_password_through_the_api]
)
def test_an_event_that_revokes_tokens_ends_existing_web_sessions(personas, event):
    user = personas["caseworker"].user
    signed_in = _signed_in_client(user)
    helper_made = web_client_for(user)  # the page tests' sessions end the same way
    assert signed_in.get(PAGE).status_code == 200 and helper_made.get(PAGE).status_code == 200
    event(personas, user)
    assert _ended(signed_in)
    assert helper_made.get(PAGE).url.startswith(SIGN_IN)


def test_requiring_a_second_factor_ends_the_sessions_signed_in_without_one(personas):
    user = personas["caseworker"].user
    password_only = _signed_in_client(user)
    verified = web_client_for(user)  # a login verified by a code, like the personas'
    _require_a_second_factor(personas, user)
    assert _ended(password_only)
    assert verified.get(PAGE).status_code == 200


def test_a_token_logout_through_the_api_leaves_the_web_session_alone(personas):
    user = personas["caseworker"].user
    client = _signed_in_client(user)
    access = login(user.username, PASSWORD).json()["access"]
    assert bearer_client(access).post("/api/v1/auth/logout/").status_code == 204
    assert client.get(PAGE).status_code == 200


def test_a_session_made_by_force_login_without_a_login_is_not_accepted(personas):
    client = Client()
    client.force_login(personas["caseworker"].user)
    assert client.get(PAGE).url.startswith(SIGN_IN)


def test_pages_of_a_signed_in_person_are_never_stored(personas):
    response = web_client_for(personas["caseworker"].user).get(PAGE)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
