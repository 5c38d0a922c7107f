"""Signing in to the web app: the API's rules exactly (one credential check for both front ends).

Lockout, one answer for an unknown user, a wrong password and a wrong code, TOTP for
whoever has a device, codes that work once, enrolment-only sign-ins confined to
enrolment, the same audit entries; ``?next=`` only within the site.
"""

from __future__ import annotations

import base64
import json

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from coalition.audit.models import AuditEntry
from partners.models import LoginSession
from tests.security.helpers import device_code, give_confirmed_totp_device, login, totp_code
from tests.support.personas import PASSWORD
from tests.support.web import SIGN_IN, page_without_csrf_tokens, sign_in
from web import auth

LOCKED_OUT = "Too many failed logins. Try again later."
REFUSED = "Invalid username, password or one-time code."


def _session_of(client: Client):
    return client.session


def _signed_in(client: Client) -> bool:
    """The client's session opens a page that needs a person."""
    return client.get("/app/account/").status_code == 200


def _wrong_code(device: TOTPDevice) -> str:
    accepted = {device_code(device, steps_ahead=offset) for offset in range(-2, 3)}
    candidate = 123456
    while f"{candidate:06d}" in accepted:
        candidate += 1
    return f"{candidate:06d}"


# --- the page -------------------------------------------------------------------------------


def test_the_sign_in_page_has_one_form_with_username_password_and_an_optional_code(db):
    page = Client().get(SIGN_IN)
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<form") == 2  # the sign-in form and the language switch
    assert 'for="id_username"' in html and 'for="id_password"' in html and 'for="id_otp"' in html
    assert "Authentication code (if you use a second factor)" in html
    assert 'name="otp"' in html and 'autocomplete="one-time-code"' in html
    otp_input = html[html.index('name="otp"') - 200: html.index('name="otp"') + 200]
    assert "required" not in otp_input


def test_a_signed_in_person_opening_the_sign_in_page_goes_on_to_their_start_page(personas):
    client = Client()
    sign_in(client, personas["caseworker"].user.username, PASSWORD)
    assert client.get(SIGN_IN).url == "/app/"


# --- right and wrong credentials -----------------------------------------------------------


def test_right_credentials_sign_a_caseworker_in_to_the_inbox(personas):
    user = personas["caseworker"].user
    client = Client()
    response = sign_in(client, user.username, PASSWORD)
    assert response.status_code == 302 and response.url == "/app/"
    assert _signed_in(client)
    session = LoginSession.objects.get(pk=_session_of(client)[auth.LOGIN_SESSION_KEY])
    assert session.user == user and session.is_live() and session.mfa_verified is False
    entry = AuditEntry.objects.filter(action="auth.login").latest("seq")
    assert entry.actor_user == user.pk
    assert entry.detail == {"mfa_verified": False, "enrolment_only": False}


def test_signing_in_gives_the_browser_a_new_session_key(personas):
    client = Client()
    client.get(SIGN_IN)
    client.cookies["sessionid"] = "an-attacker-planted-key"
    sign_in(client, personas["caseworker"].user.username, PASSWORD)
    assert client.cookies["sessionid"].value not in ("", "an-attacker-planted-key")


def test_unknown_user_and_wrong_password_get_the_same_page_and_status(personas):
    username = personas["caseworker"].user.username
    unknown = sign_in(Client(), "nobody-by-this-name", "not-the-password-at-all")
    wrong = sign_in(Client(), username, "not-the-password-at-all")
    assert unknown.status_code == wrong.status_code == 422
    assert REFUSED in unknown.content.decode()
    # The same page but for the username typed, which the form keeps.
    assert page_without_csrf_tokens(unknown).replace("nobody-by-this-name", username) == page_without_csrf_tokens(wrong)
    assert not _signed_in(Client())


def test_an_inactive_person_with_the_right_password_gets_the_wrong_password_page(personas):
    user = personas["caseworker"].user
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = sign_in(Client(), user.username, PASSWORD)
    assert response.status_code == 422 and REFUSED in response.content.decode()


def test_a_refused_sign_in_is_audited_without_the_name_typed(personas):
    sign_in(Client(), personas["caseworker"].user.username, "not-the-password-at-all")
    sign_in(Client(), "nobody-by-this-name", "not-the-password-at-all")
    known, unknown = AuditEntry.objects.filter(action="auth.login_failed").order_by("seq")
    assert known.actor_user == personas["caseworker"].user.pk and known.detail == {"reason": "invalid_credentials"}
    assert unknown.actor_user is None and "nobody-by-this-name" not in str(unknown.__dict__)


def test_a_form_without_a_username_shows_the_error_beside_the_field(db):
    response = Client().post(SIGN_IN, {"username": "", "password": "x"})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_username_error"' in html and 'aria-describedby="id_username_error"' in html


# --- lockout -------------------------------------------------------------------------------


def _fail_until_locked(username: str) -> list:
    return [
        sign_in(Client(), username, f"wrong-password-{attempt}", HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt + 1}")
        for attempt in range(settings.AXES_FAILURE_LIMIT)
    ]


def test_after_the_failure_limit_the_right_password_is_refused_with_an_html_page(personas):
    username = personas["caseworker"].user.username
    answers = _fail_until_locked(username)
    assert [answer.status_code for answer in answers] == [422] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    client = Client()
    locked = sign_in(client, username, PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert locked.status_code == 429
    assert locked["Content-Type"].startswith("text/html")
    html = locked.content.decode()
    assert LOCKED_OUT in html and 'name="password"' in html  # beside the form, on the form's page
    assert not _signed_in(client)
    assert AuditEntry.objects.filter(action="auth.login_failed", detail__reason="locked_out").exists()


def test_the_web_and_the_api_count_failures_together(personas):
    username = personas["caseworker"].user.username
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        login(username, f"wrong-password-{attempt}")
    assert sign_in(Client(), username, "wrong-again").status_code == 429
    assert login(username, PASSWORD).status_code == 429


def test_wrong_codes_lock_out_too_and_the_limit_reaching_code_says_so(personas):
    user = personas["org_admin"].user
    device = give_confirmed_totp_device(user)
    wrong = _wrong_code(device)
    answers = [sign_in(Client(), user.username, PASSWORD, otp=wrong) for _attempt in range(settings.AXES_FAILURE_LIMIT)]
    assert [answer.status_code for answer in answers] == [422] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert LOCKED_OUT in answers[-1].content.decode()
    assert answers[-1]["Content-Type"].startswith("text/html")
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    assert sign_in(Client(), user.username, PASSWORD, otp=device_code(device)).status_code == 429


def test_a_successful_sign_in_resets_the_failure_count(personas):
    username = personas["caseworker"].user.username
    sign_in(Client(), username, "wrong-password")
    assert sign_in(Client(), username, PASSWORD).status_code == 302
    assert not AccessAttempt.objects.filter(username=username, failures_since_start__gt=0).exists()


def test_sign_in_attempts_are_throttled_per_address_like_the_api(personas, monkeypatch):
    cache.clear()  # the requests of earlier tests count within the minute
    monkeypatch.setattr(auth.WebLoginThrottle, "rate", "2/min", raising=False)
    username = personas["caseworker"].user.username
    assert sign_in(Client(), username, "wrong-password").status_code == 422
    assert sign_in(Client(), username, "wrong-password").status_code == 422
    throttled = sign_in(Client(), username, PASSWORD)
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) >= 1
    assert "Too many attempts from your address" in throttled.content.decode()


# --- second factor -------------------------------------------------------------------------


def test_a_person_with_a_device_needs_its_code(personas):
    user = personas["caseworker"].user
    device = give_confirmed_totp_device(user)
    without = sign_in(Client(), user.username, PASSWORD)
    assert without.status_code == 422 and REFUSED in without.content.decode()
    assert AuditEntry.objects.filter(action="auth.login_failed").latest("seq").detail == {"reason": "invalid_otp"}

    client = Client()
    response = sign_in(client, user.username, PASSWORD, otp=device_code(device))
    assert response.status_code == 302 and response.url == "/app/"
    assert _session_of(client)[DEVICE_ID_SESSION_KEY] == device.persistent_id  # django-otp: verified
    assert LoginSession.objects.get(pk=_session_of(client)[auth.LOGIN_SESSION_KEY]).mfa_verified is True
    assert AuditEntry.objects.filter(action="auth.login").latest("seq").detail == {
        "mfa_verified": True, "enrolment_only": False,
    }


def test_a_code_typed_with_a_space_is_read_as_the_digits(personas):
    user = personas["coordinator"].user
    device = give_confirmed_totp_device(user)
    code = device_code(device)
    assert sign_in(Client(), user.username, PASSWORD, otp=f"{code[:3]} {code[3:]}").status_code == 302


def test_a_code_cannot_be_used_twice(personas):
    user = personas["coordinator"].user
    device = give_confirmed_totp_device(user)
    code = device_code(device)
    assert sign_in(Client(), user.username, PASSWORD, otp=code).status_code == 302
    again = sign_in(Client(), user.username, PASSWORD, otp=code)
    assert again.status_code == 422 and REFUSED in again.content.decode()
    # ...nor in the API after the web.
    assert login(user.username, PASSWORD, otp=code).status_code == 401


def test_a_wrong_password_does_not_spend_the_code(personas):
    user = personas["coordinator"].user
    device = give_confirmed_totp_device(user)
    code = device_code(device)
    assert sign_in(Client(), user.username, "not-the-password-at-all", otp=code).status_code == 422
    assert sign_in(Client(), user.username, PASSWORD, otp=code).status_code == 302


@pytest.mark.parametrize("persona", ["org_admin", "coordinator", "auditor"])
def test_a_role_that_needs_a_second_factor_without_one_may_only_enrol_or_sign_out(personas, persona):
    user = personas[persona].user
    client = Client()
    response = sign_in(client, user.username, PASSWORD)
    assert response.status_code == 302 and response.url == "/app/account/second-factor/"
    assert AuditEntry.objects.filter(action="auth.login").latest("seq").detail == {
        "mfa_verified": False, "enrolment_only": True,
    }
    for path in ("/app/", "/app/account/"):
        assert client.get(path)["Location"] == "/app/account/second-factor/", path
    assert client.get("/app/account/second-factor/").status_code == 200
    assert client.post("/app/language/", {"language": "fr", "next": "/app/account/second-factor/"}).status_code == 302
    assert client.post("/app/sign-out/").status_code == 302
    assert client.get("/app/account/second-factor/")["Location"].startswith(SIGN_IN)


def test_a_caseworker_of_an_organisation_requiring_a_second_factor_enrols_first(personas):
    user = personas["caseworker"].user
    user.organisation.caseworker_mfa_required = True
    user.organisation.save()
    client = Client()
    assert sign_in(client, user.username, PASSWORD).url == "/app/account/second-factor/"
    assert client.get("/app/")["Location"] == "/app/account/second-factor/"


def test_enrolling_by_qr_code_then_confirming_signs_the_browser_in_as_verified(personas):
    user = personas["coordinator"].user
    client = Client()
    sign_in(client, user.username, PASSWORD, next="/app/account/")
    first_login = _session_of(client)[auth.LOGIN_SESSION_KEY]

    page = client.get("/app/account/second-factor/")
    assert 'name="action" value="start"' in page.content.decode()
    started = client.post("/app/account/second-factor/", {"action": "start", "next": "/app/account/"})
    assert started.status_code == 302
    page = client.get(started.url).content.decode()
    assert '<img src="data:image/svg+xml' in page and 'alt="QR code for your authenticator app"' in page
    assert "style=" not in page
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    secret = base64.b32encode(device.bin_key).decode()
    assert secret in page  # for typing in by hand
    assert secret not in json.dumps(dict(_session_of(client)))  # the session store keeps no copy of it

    wrong = client.post("/app/account/second-factor/", {"action": "confirm", "otp": _wrong_code(device)})
    assert wrong.status_code == 422
    assert 'id="id_otp_error"' in wrong.content.decode() and secret in wrong.content.decode()

    confirmed = client.post(
        "/app/account/second-factor/", {"action": "confirm", "otp": totp_code(device.bin_key), "next": "/app/account/"}
    )
    assert confirmed.status_code == 302 and confirmed.url == "/app/account/"
    assert TOTPDevice.objects.get(user=user).confirmed is True
    # Confirming ends every earlier login (as through the API); this browser goes on in a new, verified one.
    assert LoginSession.objects.get(pk=first_login).revoked_at is not None
    session = _session_of(client)
    assert session[auth.LOGIN_SESSION_KEY] != first_login and session[auth.ENROLMENT_ONLY_KEY] is False
    assert LoginSession.objects.get(pk=session[auth.LOGIN_SESSION_KEY]).mfa_verified is True
    assert session[DEVICE_ID_SESSION_KEY] == TOTPDevice.objects.get(user=user).persistent_id
    assert _signed_in(client)
    assert "Your second factor is set up" in client.get("/app/account/second-factor/").content.decode()


def test_a_person_with_a_second_factor_cannot_start_another_enrolment(personas):
    user = personas["caseworker"].user
    device = give_confirmed_totp_device(user)
    client = Client()
    sign_in(client, user.username, PASSWORD, otp=device_code(device))
    client.post("/app/account/second-factor/", {"action": "start"})
    assert list(TOTPDevice.objects.filter(user=user)) == [device]


# --- where the person lands ----------------------------------------------------------------


@pytest.mark.parametrize(
    "next_url, lands_on",
    [
        ("/app/account/", "/app/account/"),
        ("https://attacker.example/app/", "/app/"),
        ("//attacker.example/app/", "/app/"),
        ("javascript:alert(1)", "/app/"),
    ],
)
def test_next_is_followed_only_within_the_site(personas, next_url, lands_on):
    response = sign_in(Client(), personas["caseworker"].user.username, PASSWORD, next=next_url)
    assert response.url == lands_on


def test_the_sign_in_page_keeps_next_from_the_page_that_sent_the_person(db):
    redirected = Client().get("/app/account/")
    assert redirected.url == "/app/sign-in/?next=/app/account/"
    page = Client().get(redirected.url).content.decode()
    assert 'name="next" value="/app/account/"' in page


@pytest.mark.parametrize(("name", "start"), [
    ("coordinator", "/app/oversight/"), ("org_admin", "/app/organisation/people/"), ("auditor", "/app/audit/"),
])
def test_a_person_without_the_caseworker_role_lands_on_the_first_page_of_their_work(personas, name, start):
    user = personas[name].user
    device = give_confirmed_totp_device(user)
    client = Client()
    response = sign_in(client, user.username, PASSWORD, otp=device_code(device))
    assert response.url == start
    assert client.get(response.url).status_code == 200
