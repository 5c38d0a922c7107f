"""Logout and revocation: after logout, deactivation, role change, password change or reset and
TOTP reset, older tokens fail on their next use (api_docs/security.md: refresh rotation, revoke on
deactivation, role change, password or MFA reset)."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from partners.models import LoginSession, User
from partners.tokens import issue_tokens_for_tests
from tests.support.personas import PASSWORD
from tests.support.problems import assert_problem

from .helpers import (
    LOGOUT_URL,
    PROBE_URL,
    bearer_client,
    claims_of,
    give_confirmed_totp_device,
    login,
    refresh,
)

NEW_PASSWORD = "another-long-passphrase-for-tests-31"


def _works(access: str) -> bool:
    return bearer_client(access).get(PROBE_URL).status_code == 200


def _assert_revoked(tokens) -> None:
    assert_problem(bearer_client(tokens.access).get(PROBE_URL), 401)
    assert_problem(refresh(tokens.refresh), 401)


# --- logout ------------------------------------------------------------------------------------


def test_after_logout_the_access_and_refresh_tokens_are_401(personas):
    caseworker = personas["caseworker"]
    assert _works(caseworker.tokens.access)
    assert caseworker.client.post(LOGOUT_URL).status_code == 204
    _assert_revoked(caseworker.tokens)


def test_logout_after_a_refresh_revokes_the_rotated_tokens(personas):
    caseworker = personas["caseworker"]
    rotated = refresh(caseworker.tokens.refresh).json()
    assert bearer_client(rotated["access"]).post(LOGOUT_URL).status_code == 204
    assert_problem(bearer_client(rotated["access"]).get(PROBE_URL), 401)
    assert_problem(refresh(rotated["refresh"]), 401)


def test_logout_ends_only_that_login(personas):
    caseworker = personas["caseworker"]
    other_login = issue_tokens_for_tests(caseworker.user)
    assert caseworker.client.post(LOGOUT_URL).status_code == 204
    assert _works(other_login.access)
    assert refresh(other_login.refresh).status_code == 200


def test_logout_of_a_real_login_revokes_it(personas):
    username = personas["caseworker"].user.username
    tokens = login(username, PASSWORD).json()
    assert bearer_client(tokens["access"]).post(LOGOUT_URL).status_code == 204
    assert LoginSession.objects.get(id=claims_of(tokens["access"])["sid"]).revoked_at is not None
    assert_problem(bearer_client(tokens["access"]).get(PROBE_URL), 401)
    assert_problem(refresh(tokens["refresh"]), 401)


# --- revocation by an org admin or by the person ----------------------------------------------


def test_deactivation_revokes_the_users_tokens(personas):
    caseworker, org_admin = personas["caseworker"], personas["org_admin"]
    assert _works(caseworker.tokens.access)
    response = org_admin.client.patch(f"/api/v1/users/{caseworker.user.id}/", {"is_active": False}, format="json")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    _assert_revoked(caseworker.tokens)


def test_role_change_revokes_the_users_tokens(personas):
    caseworker, org_admin = personas["caseworker"], personas["org_admin"]
    assert _works(caseworker.tokens.access)
    response = org_admin.client.patch(
        f"/api/v1/users/{caseworker.user.id}/", {"roles": ["caseworker", "org_admin"]}, format="json"
    )
    assert response.status_code == 200
    assert sorted(response.json()["roles"]) == ["caseworker", "org_admin"]
    _assert_revoked(caseworker.tokens)


def test_an_update_that_changes_neither_roles_nor_active_keeps_tokens(personas):
    """Control: revocation follows the security-relevant changes, not every PATCH."""
    caseworker, org_admin = personas["caseworker"], personas["org_admin"]
    response = org_admin.client.patch(
        f"/api/v1/users/{caseworker.user.id}/", {"first_name": "Renamed", "roles": ["caseworker"]}, format="json"
    )
    assert response.status_code == 200
    assert _works(caseworker.tokens.access)
    assert refresh(caseworker.tokens.refresh).status_code == 200


def test_changing_your_own_password_revokes_your_tokens(personas):
    caseworker = personas["caseworker"]
    other_login = issue_tokens_for_tests(caseworker.user)
    response = caseworker.client.post(
        "/api/v1/me/password/", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 204
    _assert_revoked(caseworker.tokens)
    _assert_revoked(other_login)
    assert login(caseworker.user.username, NEW_PASSWORD).status_code == 200


def test_a_wrong_current_password_changes_nothing_and_revokes_nothing(personas):
    caseworker = personas["caseworker"]
    response = caseworker.client.post(
        "/api/v1/me/password/", {"current_password": "not-the-password", "new_password": NEW_PASSWORD}, format="json"
    )
    assert_problem(response, 400, "validation-error")
    assert _works(caseworker.tokens.access)
    assert User.objects.get(pk=caseworker.user.pk).check_password(PASSWORD)


def test_a_completed_password_reset_revokes_the_users_tokens(personas):
    """Sending the link changes nothing; completing it with the mailed token revokes every token."""
    import re

    from django.core import mail as django_mail

    from coalition.mail.models import OutboundMail
    from coalition.mail.services import deliver

    caseworker, org_admin = personas["caseworker"], personas["org_admin"]
    response = org_admin.client.post(f"/api/v1/users/{caseworker.user.id}/send-password-reset/")
    assert response.status_code == 204
    assert _works(caseworker.tokens.access)
    for mail in OutboundMail.objects.filter(to=caseworker.user.email):
        deliver(mail.pk)
    token = re.search(r"#token=([A-Za-z0-9_-]+)", django_mail.outbox[-1].body).group(1)
    done = org_admin.client.post("/api/v1/auth/password-reset/", {"token": token, "password": NEW_PASSWORD}, format="json")
    assert done.status_code == 204
    _assert_revoked(caseworker.tokens)
    assert login(caseworker.user.username, NEW_PASSWORD).status_code == 200


def test_admin_totp_reset_revokes_the_users_tokens_and_removes_the_device(personas):
    caseworker, org_admin = personas["caseworker"], personas["org_admin"]
    give_confirmed_totp_device(caseworker.user)
    assert _works(caseworker.tokens.access)
    response = org_admin.client.post(f"/api/v1/users/{caseworker.user.id}/reset-totp/")
    assert response.status_code == 204
    _assert_revoked(caseworker.tokens)
    assert not TOTPDevice.objects.filter(user=caseworker.user).exists()


@pytest.mark.parametrize(
    "action",
    ["deactivate", "role_change", "reset_totp"],
)
def test_admin_actions_on_one_user_leave_the_admin_and_colleagues_signed_in(personas, action):
    caseworker, org_admin = personas["caseworker"], personas["org_admin"]
    url = f"/api/v1/users/{caseworker.user.id}/"
    if action == "deactivate":
        response = org_admin.client.patch(url, {"is_active": False}, format="json")
    elif action == "role_change":
        response = org_admin.client.patch(url, {"roles": ["caseworker", "org_admin"]}, format="json")
    else:
        response = org_admin.client.post(url + "reset-totp/")
    assert response.status_code in (200, 204)
    _assert_revoked(caseworker.tokens)
    assert _works(org_admin.tokens.access)
    assert _works(personas["recipient_caseworker"].tokens.access)


def test_a_reactivated_user_must_log_in_again(personas):
    caseworker, org_admin = personas["caseworker"], personas["org_admin"]
    url = f"/api/v1/users/{caseworker.user.id}/"
    assert org_admin.client.patch(url, {"is_active": False}, format="json").status_code == 200
    assert org_admin.client.patch(url, {"is_active": True}, format="json").status_code == 200
    _assert_revoked(caseworker.tokens)
    assert login(caseworker.user.username, PASSWORD).status_code == 200


def test_an_org_admin_of_another_organisation_cannot_revoke_anyone_here(personas):
    caseworker, outsider_admin = personas["caseworker"], personas["outsider_admin"]
    url = f"/api/v1/users/{caseworker.user.id}/"
    assert_problem(outsider_admin.client.patch(url, {"is_active": False}, format="json"), 404)
    assert_problem(outsider_admin.client.post(url + "set-password/", {"password": NEW_PASSWORD}, format="json"), 404)
    assert_problem(outsider_admin.client.post(url + "reset-totp/"), 404)
    assert _works(caseworker.tokens.access)
