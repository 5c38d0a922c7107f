"""Coordinators give member organisations their org admins; nobody else can."""

import pytest

from partners.models import User

BODY = {"username": "care-nl-admin-2", "email": "a2@example.org", "password": "a-long-unusual-passphrase-81"}


def test_coordinator_gives_a_member_an_org_admin_who_can_then_add_people(personas, orgs):
    care = orgs["care-nl"]
    response = personas["coordinator"].client.post(f"/api/v1/organisations/{care.id}/admins/", BODY)
    assert response.status_code == 201, response.json()
    assert response.json()["roles"] == ["org_admin"]
    assert response.json()["organisation"] == str(care.id)
    new_admin = User.objects.get(username="care-nl-admin-2")
    assert new_admin.organisation == care and new_admin.requires_mfa


def test_roles_in_the_body_cannot_make_the_new_admin_a_coordinator(personas, orgs):
    body = BODY | {"roles": ["coordinator"], "organisation": str(orgs["coordination"].id)}
    response = personas["coordinator"].client.post(f"/api/v1/organisations/{orgs['care-nl'].id}/admins/", body)
    assert response.status_code == 201
    user = User.objects.get(username="care-nl-admin-2")
    assert user.roles == ["org_admin"] and user.organisation == orgs["care-nl"]


@pytest.mark.parametrize("persona", ["caseworker", "org_admin", "outsider_admin", "auditor", "partner_system"])
def test_only_coordinators_add_org_admins_to_members(personas, orgs, persona):
    response = personas[persona].client.post(f"/api/v1/organisations/{orgs['care-nl'].id}/admins/", BODY)
    assert response.status_code == 403
    assert not User.objects.filter(username="care-nl-admin-2").exists()


def test_weak_password_for_a_new_admin_is_a_field_error(personas, orgs):
    response = personas["coordinator"].client.post(
        f"/api/v1/organisations/{orgs['care-nl'].id}/admins/", BODY | {"password": "12345678"}
    )
    assert response.status_code == 400
    assert {e["pointer"] for e in response.json()["errors"]} == {"#/password"}


@pytest.mark.parametrize("action", ["set-password", "reset-totp"])
def test_org_admin_cannot_reset_their_own_credentials_through_the_admin_routes(personas, action):
    admin = personas["org_admin"]
    before = User.objects.get(pk=admin.user.pk)
    response = admin.client.post(f"/api/v1/users/{admin.user.pk}/{action}/", {"password": "a-long-unusual-passphrase-81"})
    assert response.status_code == 422
    after = User.objects.get(pk=admin.user.pk)
    assert (after.password, after.token_version) == (before.password, before.token_version)
