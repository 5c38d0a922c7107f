"""Coordinators invite member organisations' org admins; nobody else can, and nobody learns their password."""

import pytest

from partners.models import Invitation, User

BODY = {"username": "care-nl-admin-2", "email": "a2@example.org"}


def test_coordinator_invites_a_members_org_admin_without_learning_a_credential(personas, orgs):
    """Issue 11, item 1: the coordinator names the person and address; the link goes there only."""
    care = orgs["care-nl"]
    response = personas["coordinator"].client.post(f"/api/v1/organisations/{care.id}/admins/", BODY)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["roles"], body["organisation"], body["status"]) == (["org_admin"], str(care.id), "pending")
    assert "token" not in body and "password" not in body
    assert not User.objects.filter(username="care-nl-admin-2").exists()


def test_the_old_password_field_creates_no_account(personas, orgs):
    """Before issue 11 a coordinator chose the admin's password here: now it is ignored."""
    body = BODY | {"password": "a-long-unusual-passphrase-81"}
    response = personas["coordinator"].client.post(f"/api/v1/organisations/{orgs['care-nl'].id}/admins/", body)
    assert response.status_code == 201
    assert not User.objects.filter(username="care-nl-admin-2").exists()


def test_roles_in_the_body_cannot_make_the_new_admin_a_coordinator(personas, orgs):
    body = BODY | {"roles": ["coordinator"], "organisation": str(orgs["coordination"].id)}
    response = personas["coordinator"].client.post(f"/api/v1/organisations/{orgs['care-nl'].id}/admins/", body)
    assert response.status_code == 201
    invitation = Invitation.objects.get(username="care-nl-admin-2")
    assert invitation.roles == ["org_admin"] and invitation.organisation == orgs["care-nl"]


@pytest.mark.parametrize("persona", ["caseworker", "org_admin", "outsider_admin", "auditor", "partner_system"])
def test_only_coordinators_add_org_admins_to_members(personas, orgs, persona):
    response = personas[persona].client.post(f"/api/v1/organisations/{orgs['care-nl'].id}/admins/", BODY)
    assert response.status_code == 403
    assert not Invitation.objects.filter(username="care-nl-admin-2").exists()


@pytest.mark.parametrize("action", ["send-password-reset", "reset-totp"])
def test_org_admin_cannot_reset_their_own_credentials_through_the_admin_routes(personas, action):
    admin = personas["org_admin"]
    before = User.objects.get(pk=admin.user.pk)
    response = admin.client.post(f"/api/v1/users/{admin.user.pk}/{action}/")
    assert response.status_code == 422
    after = User.objects.get(pk=admin.user.pk)
    assert (after.password, after.token_version) == (before.password, before.token_version)


@pytest.mark.parametrize("route", ["/api/v1/users/", "/api/v1/users/{id}/set-password/"])
def test_no_api_route_sets_another_persons_password(personas, route):
    """The routes that let an admin choose a colleague's password are gone (404 or 405)."""
    colleague = personas["caseworker"].user
    before = User.objects.get(pk=colleague.pk).password
    body = {"username": "chosen", "email": "c@example.org", "roles": ["caseworker"], "password": "a-chosen-passphrase-77"}
    personas["org_admin"].client.validate = False
    response = personas["org_admin"].client.post(route.format(id=colleague.pk), body, format="json")
    assert response.status_code in (404, 405)
    assert User.objects.get(pk=colleague.pk).password == before
    assert not User.objects.filter(username="chosen").exists()
