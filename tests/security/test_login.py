"""The JSON login: second factor, lockout, no user enumeration, password storage
(api_docs/security.md: second factor, lockout on the JSON login, no user enumeration, password storage)."""

from __future__ import annotations

from datetime import timedelta

import argon2
import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.db.models import F
from django.utils.module_loading import import_string
from django_otp.plugins.otp_totp.models import TOTPDevice

from partners.models import User
from tests.support.personas import PASSWORD
from tests.support.problems import assert_problem, without_request_id
from tests.support.schema import SchemaCheckedClient

from .helpers import (
    bearer_client,
    claims_of,
    device_code,
    get_me,
    give_confirmed_totp_device,
    key_from_base32,
    login,
    refresh,
    totp_code,
)

MFA_PERSONAS = ["org_admin", "coordinator", "auditor"]
ENROLMENT_PROBLEM = "mfa-enrolment-required"


def _wrong_code(device: TOTPDevice) -> str:
    """A well-formed code that no step within the device's tolerance accepts."""
    accepted = {device_code(device, steps_ahead=offset) for offset in range(-2, 3)}
    candidate = 123456
    while f"{candidate:06d}" in accepted:
        candidate += 1
    return f"{candidate:06d}"


def _refused_like_a_wrong_password(response, username: str) -> None:
    """``response`` is the very answer a wrong password gets (but for the request id)."""
    wrong_password = login(username, "not-the-password-at-all")
    body = assert_problem(response, 401, "invalid-credentials")
    assert without_request_id(body) == without_request_id(assert_problem(wrong_password, 401))
    assert response["WWW-Authenticate"] == wrong_password["WWW-Authenticate"]
    assert "access" not in body and "refresh" not in body


def _works(access: str) -> bool:
    return bearer_client(access).get("/api/v1/organisations/").status_code == 200


# --- second factor -----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", MFA_PERSONAS)
def test_mfa_role_without_a_code_is_refused_like_a_wrong_password(personas, persona):
    user = personas[persona].user
    give_confirmed_totp_device(user)
    _refused_like_a_wrong_password(login(user.username, PASSWORD), user.username)
    _refused_like_a_wrong_password(login(user.username, PASSWORD, otp=""), user.username)


@pytest.mark.parametrize("persona", MFA_PERSONAS)
def test_mfa_role_with_a_wrong_code_is_refused_like_a_wrong_password(personas, persona):
    user = personas[persona].user
    device = give_confirmed_totp_device(user)
    _refused_like_a_wrong_password(login(user.username, PASSWORD, otp=_wrong_code(device)), user.username)


@pytest.mark.parametrize("persona", MFA_PERSONAS)
def test_mfa_role_with_a_valid_code_gets_working_tokens(personas, persona):
    user = personas[persona].user
    device = give_confirmed_totp_device(user)
    response = login(user.username, PASSWORD, otp=device_code(device))
    assert response.status_code == 200
    body = response.json()
    assert body["mfa_enrolment_required"] is False
    assert claims_of(body["access"])["mfa"] is True
    assert "mfa_enrolment" not in claims_of(body["access"])
    assert _works(body["access"])


@pytest.mark.parametrize("persona", MFA_PERSONAS)
def test_a_totp_code_cannot_be_used_twice(personas, persona):
    user = personas[persona].user
    device = give_confirmed_totp_device(user)
    code = device_code(device)
    assert login(user.username, PASSWORD, otp=code).status_code == 200
    _refused_like_a_wrong_password(login(user.username, PASSWORD, otp=code), user.username)


def test_wrong_password_with_a_valid_code_is_refused_and_does_not_spend_the_code(personas):
    user = personas["coordinator"].user
    device = give_confirmed_totp_device(user)
    code = device_code(device)
    _refused_like_a_wrong_password(login(user.username, "not-the-password-at-all", otp=code), user.username)
    assert login(user.username, PASSWORD, otp=code).status_code == 200


def test_caseworker_needs_a_code_when_the_organisation_requires_it(personas):
    user = personas["caseworker"].user
    user.organisation.caseworker_mfa_required = True
    user.organisation.save()
    device = give_confirmed_totp_device(user)
    _refused_like_a_wrong_password(login(user.username, PASSWORD), user.username)
    response = login(user.username, PASSWORD, otp=device_code(device))
    assert response.status_code == 200
    assert response.json()["mfa_enrolment_required"] is False


def test_caseworker_of_an_organisation_requiring_mfa_without_a_device_gets_enrolment_tokens(personas):
    user = personas["caseworker"].user
    user.organisation.caseworker_mfa_required = True
    user.organisation.save()
    response = login(user.username, PASSWORD)
    assert response.status_code == 200
    assert response.json()["mfa_enrolment_required"] is True
    assert_problem(bearer_client(response.json()["access"]).get("/api/v1/organisations/"), 403, ENROLMENT_PROBLEM)


def test_caseworker_logs_in_without_a_code_when_the_organisation_does_not_require_it(personas):
    user = personas["caseworker"].user
    assert user.organisation.caseworker_mfa_required is False
    response = login(user.username, PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["mfa_enrolment_required"] is False
    assert _works(body["access"])


def test_mfa_user_without_a_device_gets_tokens_that_only_reach_enrolment(personas):
    user = personas["org_admin"].user
    response = login(user.username, PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["mfa_enrolment_required"] is True
    assert claims_of(body["access"])["mfa"] is False
    client = bearer_client(body["access"])

    for method, url in [
        ("get", "/api/v1/organisations/"),
        ("get", "/api/v1/vocabularies/"),
        ("get", "/api/v1/users/"),
        ("get", "/api/v1/api-keys/"),
        ("post", "/api/v1/api-keys/"),
        ("post", "/api/v1/me/password/"),
    ]:
        response = getattr(client, method)(url, {}, format="json") if method == "post" else client.get(url)
        assert_problem(response, 403, ENROLMENT_PROBLEM)

    me = get_me(client)
    assert me.status_code == 200
    assert me.json()["mfa"] == {"required": True, "enrolled": False, "verified_for_this_login": False}
    assert client.post("/api/v1/auth/totp/").status_code == 201
    assert_problem(client.post("/api/v1/auth/totp/confirm/", {"otp": "000000"}, format="json"), 400)
    assert client.post("/api/v1/auth/logout/").status_code == 204


def test_refreshing_enrolment_tokens_keeps_them_enrolment_only(personas):
    user = personas["auditor"].user
    first = login(user.username, PASSWORD).json()
    rotated = refresh(first["refresh"])
    assert rotated.status_code == 200
    assert rotated.json()["mfa_enrolment_required"] is True
    assert_problem(
        bearer_client(rotated.json()["access"]).get("/api/v1/organisations/"), 403, ENROLMENT_PROBLEM
    )


def test_a_pending_unconfirmed_device_is_not_a_second_factor(personas):
    user = personas["coordinator"].user
    pending = TOTPDevice.objects.create(user=user, name="default", confirmed=False)
    response = login(user.username, PASSWORD, otp=device_code(pending))
    assert response.status_code == 200
    assert response.json()["mfa_enrolment_required"] is True
    assert claims_of(response.json()["access"])["mfa"] is False


def test_enrolment_then_confirmation_revokes_enrolment_tokens_and_login_with_a_code_works(personas):
    user = personas["coordinator"].user
    enrolment = login(user.username, PASSWORD).json()
    client = bearer_client(enrolment["access"])

    started = client.post("/api/v1/auth/totp/")
    assert started.status_code == 201
    key = key_from_base32(started.json()["secret"])
    assert started.json()["otpauth_uri"].startswith("otpauth://totp/")
    assert TOTPDevice.objects.get(user=user).confirmed is False

    assert client.post("/api/v1/auth/totp/confirm/", {"otp": totp_code(key)}, format="json").status_code == 204
    assert TOTPDevice.objects.get(user=user).confirmed is True

    assert_problem(client.get("/api/v1/vocabularies/"), 401)
    assert_problem(refresh(enrolment["refresh"]), 401)

    # The confirming code is spent; the next period's code (within tolerance) logs in.
    _refused_like_a_wrong_password(login(user.username, PASSWORD), user.username)
    response = login(user.username, PASSWORD, otp=totp_code(key, steps_ahead=1))
    assert response.status_code == 200
    assert response.json()["mfa_enrolment_required"] is False
    assert _works(response.json()["access"])


def test_enrolling_again_while_a_confirmed_device_exists_is_409(personas):
    org_admin = personas["org_admin"]
    device = give_confirmed_totp_device(org_admin.user)
    assert_problem(org_admin.client.post("/api/v1/auth/totp/"), 409, "conflict")
    assert TOTPDevice.objects.filter(user=org_admin.user).get() == device


# --- lockout -----------------------------------------------------------------------------------


def _fail_until_locked(username: str) -> list:
    """LOGIN_FAILURE_LIMIT bad logins, each claiming to come from a new X-Forwarded-For address."""
    return [
        login(username, f"wrong-password-{attempt}", HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt + 1}")
        for attempt in range(settings.AXES_FAILURE_LIMIT)
    ]


def test_login_failure_limit_is_five():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username"]


def test_after_the_failure_limit_the_right_password_is_refused_even_from_a_new_forwarded_address(personas):
    username = personas["caseworker"].user.username
    answers = _fail_until_locked(username)
    for answer in answers[:-1]:
        assert_problem(answer, 401, "invalid-credentials")
    # The attempt that reaches the limit already says so (not axes' own page or a generic 429).
    assert_problem(answers[-1], 429, "locked-out")

    for forged in ("198.51.100.7", "10.0.0.1", "127.0.0.1, 198.51.100.8"):
        locked = login(username, PASSWORD, HTTP_X_FORWARDED_FOR=forged)
        body = assert_problem(locked, 429, "locked-out")
        assert "access" not in body


def test_forged_forwarded_addresses_do_not_split_the_failure_count(personas):
    username = personas["caseworker"].user.username
    _fail_until_locked(username)
    attempts = AccessAttempt.objects.filter(username=username)
    assert sum(attempt.failures_since_start for attempt in attempts) >= settings.AXES_FAILURE_LIMIT
    assert {attempt.ip_address for attempt in attempts} == {"127.0.0.1"}


def test_the_lockout_lasts_the_cool_off_period_and_then_the_right_password_works(personas):
    username = personas["caseworker"].user.username
    _fail_until_locked(username)
    cool_off = settings.AXES_COOLOFF_TIME
    assert cool_off >= timedelta(minutes=5)

    # Axes counts only attempts newer than now - cool-off: age them to just inside the period...
    attempts = AccessAttempt.objects.filter(username=username)
    attempts.update(attempt_time=F("attempt_time") - cool_off + timedelta(seconds=30))
    assert_problem(login(username, PASSWORD), 429, "locked-out")

    # ...then past it.
    attempts.update(attempt_time=F("attempt_time") - timedelta(seconds=60))
    response = login(username, PASSWORD)
    assert response.status_code == 200
    assert _works(response.json()["access"])


def test_the_lockout_is_per_username(personas):
    _fail_until_locked(personas["caseworker"].user.username)
    response = login(personas["recipient_caseworker"].user.username, PASSWORD)
    assert response.status_code == 200


def test_wrong_one_time_codes_count_towards_the_lockout(personas):
    user = personas["org_admin"].user
    device = give_confirmed_totp_device(user)
    wrong = _wrong_code(device)
    answers = [login(user.username, PASSWORD, otp=wrong) for _attempt in range(settings.AXES_FAILURE_LIMIT)]
    for answer in answers[:-1]:
        assert_problem(answer, 401, "invalid-credentials")
    assert_problem(answers[-1], 429, "locked-out")
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    assert_problem(login(user.username, PASSWORD, otp=device_code(device)), 429, "locked-out")


def test_an_unknown_username_is_locked_out_like_a_known_one(db):
    answers = _fail_until_locked("nobody-by-this-name")
    assert [a.status_code for a in answers] == [401] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert_problem(login("nobody-by-this-name", PASSWORD), 429, "locked-out")


# --- no user enumeration -----------------------------------------------------------------------


def test_unknown_user_and_wrong_password_get_the_same_answer(personas):
    unknown = login("nobody-by-this-name", "not-the-password-at-all")
    wrong = login(personas["caseworker"].user.username, "not-the-password-at-all")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown["Content-Type"] == wrong["Content-Type"] == "application/problem+json"
    assert unknown["WWW-Authenticate"] == wrong["WWW-Authenticate"]
    assert without_request_id(unknown.json()) == without_request_id(wrong.json())
    assert unknown.json()["request_id"] != wrong.json()["request_id"]


def test_inactive_user_with_the_right_password_gets_the_same_answer_as_a_wrong_password(personas):
    user = personas["caseworker"].user
    User.objects.filter(pk=user.pk).update(is_active=False)
    _refused_like_a_wrong_password(login(user.username, PASSWORD), user.username)


# --- password storage --------------------------------------------------------------------------


def _create_user(org_admin, username: str, password: str):
    """Invite through the API, then accept with ``password`` as the invitee would (from the mailed token)."""
    import re

    from django.core import mail as django_mail

    from coalition.mail.models import OutboundMail
    from coalition.mail.services import deliver

    invited = org_admin.client.post(
        "/api/v1/invitations/", {"username": username, "email": f"{username}@example.org", "roles": ["org_admin"]},
        format="json",
    )
    assert invited.status_code == 201, invited.content
    for mail in OutboundMail.objects.filter(to=f"{username}@example.org"):
        deliver(mail.pk)
    token = re.search(r"#token=([A-Za-z0-9_-]+)", django_mail.outbox[-1].body).group(1)
    return SchemaCheckedClient().post(
        "/api/v1/auth/invitations/accept/", {"token": token, "password": password}, format="json"
    )


def test_a_user_created_through_the_api_is_stored_with_an_argon2id_hash(personas):
    password = "a-long-unusual-passphrase-for-tests-9"
    response = _create_user(personas["org_admin"], "new-caseworker", password)
    assert response.status_code == 204
    stored = User.objects.get(username="new-caseworker").password
    assert stored.startswith("argon2$argon2id$")
    assert password not in stored
    assert login("new-caseworker", password).status_code == 200


def test_production_settings_hash_with_argon2id_first():
    import coalition.settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert Argon2PasswordHasher().params().type == argon2.low_level.Type.ID
    assert issubclass(import_string(settings.PASSWORD_HASHERS[0]), Argon2PasswordHasher)  # tests: cheaper, same kind


def test_password_validators_are_on():
    names = {validator["NAME"].rsplit(".", 1)[-1]: validator for validator in settings.AUTH_PASSWORD_VALIDATORS}
    assert {"CommonPasswordValidator", "MinimumLengthValidator", "NumericPasswordValidator"} <= names.keys()
    assert names["MinimumLengthValidator"].get("OPTIONS", {}).get("min_length", 8) >= 12


@pytest.mark.parametrize(
    "password, reason",
    [
        ("1q2w3e4r5t6y7u", "too common"),
        ("Vx9#qL2!", "too short"),
        ("83920571648392057", "entirely numeric"),
    ],
)
def test_weak_passwords_are_rejected_when_an_invitee_chooses_theirs(personas, password, reason):
    response = _create_user(personas["org_admin"], "weak-password-user", password)
    body = assert_problem(response, 400, "validation-error")
    details = [error["detail"] for error in body["errors"] if error["pointer"] == "#/password"]
    assert any(reason in detail for detail in details), body["errors"]
    assert not User.objects.filter(username="weak-password-user").exists()
