"""Second factor whenever it exists (issue #11, item 10).

(a) A person with a confirmed TOTP device is always asked for its code, even when
neither their role nor their organisation requires one. (b) Turning on an
organisation's caseworker TOTP requirement ends, in the same transaction and
audited, its caseworkers' current logins that were made without a second factor.
"""

from __future__ import annotations

import pytest

from coalition.audit.models import AuditEntry
from partners.models import LoginSession
from tests.support.personas import PASSWORD
from tests.support.problems import assert_problem

from .helpers import (
    bearer_client,
    claims_of,
    device_code,
    give_confirmed_totp_device,
    login,
    refresh,
)


def _works(access: str) -> bool:
    return bearer_client(access).get("/api/v1/organisations/").status_code == 200


def _set_requirement(personas, value: bool, **extra):
    organisation = personas["org_admin"].organisation
    return personas["org_admin"].client.patch(
        f"/api/v1/organisations/{organisation.pk}/", {"caseworker_mfa_required": value, **extra}, format="json"
    )


# --- (a) a confirmed device is always asked for --------------------------------------------------


def test_a_caseworker_with_a_device_and_no_requirement_cannot_log_in_without_the_code(personas):
    user = personas["caseworker"].user
    assert not user.requires_mfa
    device = give_confirmed_totp_device(user)

    without = login(user.username, PASSWORD)
    assert_problem(without, 401, "invalid-credentials")
    assert "access" not in without.json()

    response = login(user.username, PASSWORD, otp=device_code(device))
    assert response.status_code == 200
    assert claims_of(response.json()["access"])["mfa"] is True
    assert _works(response.json()["access"])


def test_a_refused_code_is_audited_as_such(personas):
    user = personas["caseworker"].user
    give_confirmed_totp_device(user)
    login(user.username, PASSWORD)
    [entry] = AuditEntry.objects.filter(action="auth.login_failed")
    assert entry.detail == {"reason": "invalid_otp"}


def test_a_caseworker_without_a_device_still_logs_in_with_the_password_alone(personas):
    user = personas["caseworker"].user
    response = login(user.username, PASSWORD)
    assert response.status_code == 200
    assert response.json()["mfa_enrolment_required"] is False
    assert _works(response.json()["access"])


# --- (b) turning the requirement on ends logins made without it ----------------------------------


def test_turning_on_the_requirement_ends_the_caseworkers_logins_without_a_second_factor(personas):
    caseworker = personas["caseworker"].user
    password_only = login(caseworker.username, PASSWORD).json()
    assert _works(password_only["access"])
    outsider = personas["outsider_caseworker"].user
    outsider_login = login(outsider.username, PASSWORD).json()

    response = _set_requirement(personas, True)
    assert response.status_code == 200, response.content

    assert_problem(bearer_client(password_only["access"]).get("/api/v1/organisations/"), 401)
    assert refresh(password_only["refresh"]).status_code == 401
    # Another organisation's caseworkers and the admin's own (TOTP) login are untouched.
    assert _works(outsider_login["access"])
    assert personas["org_admin"].client.get("/api/v1/organisations/").status_code == 200
    # The next login asks for enrolment.
    again = login(caseworker.username, PASSWORD)
    assert again.status_code == 200 and again.json()["mfa_enrolment_required"] is True
    [entry] = AuditEntry.objects.filter(action="organisation.update")
    assert entry.detail["logins_ended"] >= 1
    assert set(LoginSession.objects.filter(user=caseworker, mfa_verified=False).values_list("revoked_reason", flat=True)) >= {
        "mfa_required"
    }


def test_a_caseworker_login_made_with_a_second_factor_survives_the_requirement(personas):
    caseworker = personas["caseworker"].user
    device = give_confirmed_totp_device(caseworker)
    verified = login(caseworker.username, PASSWORD, otp=device_code(device)).json()

    assert _set_requirement(personas, True).status_code == 200

    assert _works(verified["access"])


def test_saving_the_requirement_when_it_was_already_on_ends_nothing(personas):
    organisation = personas["org_admin"].organisation
    organisation.caseworker_mfa_required = True
    organisation.save()
    caseworker = personas["caseworker"].user
    give_confirmed_totp_device(caseworker)
    # The persona's login, as if it had been made without a second factor.
    LoginSession.objects.filter(user=caseworker).update(mfa_verified=False)

    assert _set_requirement(personas, True).status_code == 200

    assert personas["caseworker"].client.get("/api/v1/organisations/").status_code == 200
    assert "logins_ended" not in AuditEntry.objects.filter(action="organisation.update").get().detail


def test_a_refused_update_ends_no_login(personas):
    """Same transaction: when the change is refused, no login ends."""
    caseworker = personas["caseworker"].user
    password_only = login(caseworker.username, PASSWORD).json()

    response = _set_requirement(personas, True, min_age=17, max_age=12)
    assert response.status_code == 400

    assert _works(password_only["access"])
    personas["org_admin"].organisation.refresh_from_db()
    assert personas["org_admin"].organisation.caseworker_mfa_required is False


@pytest.mark.parametrize("persona", ["caseworker", "recipient_caseworker", "coordinator", "partner_system"])
def test_the_personas_still_reach_the_api(personas, persona):
    assert personas[persona].client.get("/api/v1/me/").status_code == 200
