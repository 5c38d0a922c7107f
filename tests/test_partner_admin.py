"""Partner management: org admins run their own organisation, coordinators run the membership.

api_docs/concepts.md, "Who may do what": org admins manage their own organisation's users and profile; coordinators
admit, suspend and re-admit members; nobody else does either. api_docs/security.md: mass
assignment (an ``organisation`` or ``membership_status`` in a body changes nothing).
"""

from __future__ import annotations

import pytest

from partners.choices import MembershipStatus, OrganisationKind, Role
from partners.models import Invitation, Organisation, User
from tests.support.personas import PASSWORD, Persona, make_user
from tests.support.problems import assert_problem

USERS = "/api/v1/users/"
INVITATIONS = "/api/v1/invitations/"
ORGANISATIONS = "/api/v1/organisations/"
ME = "/api/v1/me/"
NEW_PASSWORD = "a-brand-new-passphrase-for-2026"


def new_user_body(username: str, roles: list[str], **extra) -> dict:
    return {"username": username, "email": f"{username}@example.org", "roles": roles, **extra}


def pointers(response) -> set[str]:
    return {error["pointer"] for error in response.json().get("errors", [])}


def get_me(client):
    return client.get(ME)


# --- org admins and their organisation's users -------------------------------------------


def test_org_admin_invites_a_person_to_their_own_organisation_without_choosing_a_password(personas, orgs):
    """Accounts come by invitation: no password in the body, none in the answer (issue 11, item 1)."""
    body = new_user_body("hotline-be-newcomer", ["org_admin"])
    response = personas["org_admin"].client.post(INVITATIONS, body, format="json")
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["organisation"] == str(orgs["hotline-be"].pk)
    assert (answer["roles"], answer["status"]) == (["org_admin"], "pending")
    assert "token" not in answer and "password" not in answer
    assert not User.objects.filter(username="hotline-be-newcomer").exists()  # only once the invitee accepts


def test_organisation_in_the_invitation_body_is_ignored(personas, orgs):
    body = new_user_body(
        "planted-user", ["org_admin"], organisation=str(orgs["care-nl"].pk), organisation_id=str(orgs["care-nl"].pk),
        is_active=False, is_superuser=True, is_staff=True, token_version=99,
    )
    response = personas["org_admin"].client.post(INVITATIONS, body, format="json")
    assert response.status_code == 201, response.content
    invitation = Invitation.objects.get(username="planted-user")
    assert invitation.organisation == orgs["hotline-be"]
    # And it is invisible to the organisation named in the body.
    assert personas["outsider_admin"].client.get(f"{INVITATIONS}{invitation.pk}/").status_code == 404


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.AUDITOR])
def test_partner_org_admin_cannot_grant_coalition_roles(personas, role):
    body = new_user_body("would-be-boss", ["caseworker", role])
    response = personas["org_admin"].client.post(INVITATIONS, body, format="json")
    assert_problem(response, 400)
    assert "#/roles" in pointers(response)
    assert not Invitation.objects.filter(username="would-be-boss").exists()


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.AUDITOR])
def test_partner_org_admin_cannot_promote_a_colleague_to_a_coalition_role(personas, role):
    colleague = personas["caseworker"].user
    response = personas["org_admin"].client.patch(f"{USERS}{colleague.pk}/", {"roles": [role]}, format="json")
    assert_problem(response, 400)
    colleague.refresh_from_db()
    assert colleague.roles == [Role.CASEWORKER]


def test_coordination_admin_grants_coalition_roles_but_no_caseworker_role(orgs):
    admin_user = make_user("coordination-admin", orgs["coordination"], [Role.ORG_ADMIN])
    coordination_admin = Persona("coordination_admin", user=admin_user)
    client = coordination_admin.client
    created = client.post(INVITATIONS, new_user_body("second-coordinator", ["coordinator"]), format="json")
    assert created.status_code == 201, created.content
    assert Invitation.objects.get(username="second-coordinator").organisation == orgs["coordination"]
    refused = client.post(INVITATIONS, new_user_body("coalition-caseworker", ["caseworker"]), format="json")
    assert_problem(refused, 400)
    assert not Invitation.objects.filter(username="coalition-caseworker").exists()


def test_org_admin_cannot_reach_another_organisations_users(personas):
    stranger = personas["outsider_caseworker"].user
    client = personas["org_admin"].client
    assert_problem(client.get(f"{USERS}{stranger.pk}/"), 404)
    assert_problem(client.patch(f"{USERS}{stranger.pk}/", {"is_active": False}, format="json"), 404)
    assert stranger.username not in {u["username"] for u in client.get(USERS).json()["results"]}
    stranger.refresh_from_db()
    assert stranger.is_active


def test_last_active_org_admin_cannot_demote_themself(personas):
    admin = personas["org_admin"].user
    response = personas["org_admin"].client.patch(f"{USERS}{admin.pk}/", {"roles": ["caseworker"]}, format="json")
    assert_problem(response, 422)
    admin.refresh_from_db()
    assert admin.roles == [Role.ORG_ADMIN]


def test_last_active_org_admin_cannot_be_deactivated(personas):
    admin = personas["org_admin"].user
    response = personas["org_admin"].client.patch(f"{USERS}{admin.pk}/", {"is_active": False}, format="json")
    assert_problem(response, 422)
    admin.refresh_from_db()
    assert admin.is_active


def test_an_inactive_colleague_does_not_count_as_another_admin(personas, orgs):
    former = make_user("hotline-be-old-admin", orgs["hotline-be"], [Role.ORG_ADMIN])
    User.objects.filter(pk=former.pk).update(is_active=False)
    admin = personas["org_admin"].user
    response = personas["org_admin"].client.patch(f"{USERS}{admin.pk}/", {"roles": ["caseworker"]}, format="json")
    assert_problem(response, 422)


def test_an_org_admin_cannot_change_their_own_roles_even_with_another_admin(personas, orgs):
    """Separation of duties (issue 11, item 3): this passed before, changing the admin's own roles."""
    make_user("hotline-be-second-admin", orgs["hotline-be"], [Role.ORG_ADMIN])
    admin = personas["org_admin"].user
    response = personas["org_admin"].client.patch(f"{USERS}{admin.pk}/", {"roles": ["caseworker"]}, format="json")
    assert_problem(response, 422)
    admin.refresh_from_db()
    assert admin.roles == [Role.ORG_ADMIN]


def test_another_admin_takes_the_org_admin_role_away_at_once(personas, orgs):
    second = Persona("second_admin", user=make_user("hotline-be-second-admin", orgs["hotline-be"], [Role.ORG_ADMIN]))
    admin = personas["org_admin"].user
    User.objects.filter(pk=admin.pk).update(roles=[Role.CASEWORKER, Role.ORG_ADMIN])
    response = second.client.patch(f"{USERS}{admin.pk}/", {"roles": ["caseworker"]}, format="json")
    assert response.status_code == 200, response.content
    admin.refresh_from_db()
    assert admin.roles == [Role.CASEWORKER]


def test_org_admin_deactivates_a_colleague(personas):
    colleague = personas["caseworker"].user
    response = personas["org_admin"].client.patch(f"{USERS}{colleague.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    colleague.refresh_from_db()
    assert not colleague.is_active


def test_user_update_ignores_organisation_and_username(personas, orgs):
    colleague = personas["caseworker"].user
    response = personas["org_admin"].client.patch(
        f"{USERS}{colleague.pk}/",
        {"organisation": str(orgs["care-nl"].pk), "username": "renamed", "first_name": "Sam"},
        format="json",
    )
    assert response.status_code == 200, response.content
    colleague.refresh_from_db()
    assert colleague.organisation == orgs["hotline-be"]
    assert (colleague.username, colleague.first_name) == ("hotline-be-caseworker", "Sam")


@pytest.mark.parametrize("persona", ["caseworker", "coordinator", "auditor", "partner_system"])
def test_only_org_admins_manage_users(personas, persona):
    client = personas[persona].client
    target = personas["caseworker"].user
    assert_problem(client.get(USERS), 403)
    assert_problem(client.post(INVITATIONS, new_user_body("sneaky-user", ["caseworker"]), format="json"), 403)
    assert client.patch(f"{USERS}{target.pk}/", {"is_active": False}, format="json").status_code in (403, 404)
    assert not Invitation.objects.filter(username="sneaky-user").exists()
    target.refresh_from_db()
    assert target.is_active


# --- the organisation's profile ------------------------------------------------------------


def test_org_admin_edits_their_own_organisations_profile(personas, orgs):
    hotline = orgs["hotline-be"]
    response = personas["org_admin"].client.patch(
        f"{ORGANISATIONS}{hotline.pk}/",
        {"name": "Hotline (renamed)", "accepting_referrals": False, "regions": ["BE-VLG", "BE-BRU"], "max_age": 21},
        format="json",
    )
    assert response.status_code == 200, response.content
    hotline.refresh_from_db()
    assert (hotline.name, hotline.accepting_referrals, hotline.regions, hotline.max_age) == (
        "Hotline (renamed)", False, ["BE-VLG", "BE-BRU"], 21,
    )


def test_org_admin_cannot_change_membership_kind_slug_or_country(personas, orgs):
    hotline = orgs["hotline-be"]
    before = Organisation.objects.values().get(pk=hotline.pk)
    response = personas["org_admin"].client.patch(
        f"{ORGANISATIONS}{hotline.pk}/",
        {
            "membership_status": "left", "kind": "coordinator", "slug": "coordination-2", "country": "LU",
            "id": "00000000-0000-0000-0000-000000000000", "data_sharing_agreement_signed_on": "2020-01-01",
            "created_at": "2000-01-01T00:00:00Z",
        },
        format="json",
    )
    assert response.status_code in (200, 400), response.content
    after = Organisation.objects.values().get(pk=hotline.pk)
    unchanged = ["id", "membership_status", "kind", "slug", "country", "data_sharing_agreement_signed_on", "created_at"]
    assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
    if response.status_code == 200:
        body = response.json()
        shown = (body["membership_status"], body["kind"], body["slug"], body["country"])
        assert shown == ("active", "hotline", "hotline-be", "BE")


def test_org_admin_profile_edit_keeps_the_age_range_consistent(personas, orgs):
    hotline = orgs["hotline-be"]
    response = personas["org_admin"].client.patch(f"{ORGANISATIONS}{hotline.pk}/", {"min_age": 20}, format="json")
    assert_problem(response, 400)
    assert "#/min_age" in pointers(response)
    hotline.refresh_from_db()
    assert hotline.min_age == 0


def test_org_admin_gets_403_on_another_organisations_profile(personas, orgs):
    care = orgs["care-nl"]
    response = personas["org_admin"].client.patch(f"{ORGANISATIONS}{care.pk}/", {"name": "Hijacked"}, format="json")
    assert_problem(response, 403)
    care.refresh_from_db()
    assert care.name == "Test care-nl"


@pytest.mark.parametrize("persona", ["caseworker", "auditor", "partner_system"])
def test_non_admins_cannot_edit_a_profile(personas, orgs, persona):
    hotline = orgs["hotline-be"]
    response = personas[persona].client.patch(f"{ORGANISATIONS}{hotline.pk}/", {"name": "Changed"}, format="json")
    assert_problem(response, 403)
    hotline.refresh_from_db()
    assert hotline.name == "Test hotline-be"


def test_coordinator_edits_kind_and_country_but_not_membership_status(personas, orgs):
    care = orgs["care-nl"]
    response = personas["coordinator"].client.patch(
        f"{ORGANISATIONS}{care.pk}/",
        {"kind": "ngo", "country": "BE", "membership_status": "left", "slug": "renamed"},
        format="json",
    )
    assert response.status_code == 200, response.content
    care.refresh_from_db()
    assert (care.kind, care.country, care.membership_status, care.slug) == ("ngo", "BE", "active", "care-nl")


# --- membership: admit, suspend, re-admit ------------------------------------------------------


ADMIT = {
    "slug": "youth-lu",
    "name": "Demo Youth Service Luxembourg",
    "kind": "child_protection",
    "country": "LU",
    "regions": ["LU-L"],
    "languages": ["fr", "de"],
    "phenomena": ["grooming"],
    "min_age": 0,
    "max_age": 18,
}


def test_coordinator_admits_a_member_that_starts_active(personas):
    response = personas["coordinator"].client.post(
        ORGANISATIONS,
        ADMIT | {"membership_status": "suspended", "id": "00000000-0000-0000-0000-000000000001"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["membership_status"] == "active"
    assert body["id"] != "00000000-0000-0000-0000-000000000001"
    organisation = Organisation.objects.get(slug="youth-lu")
    assert (organisation.kind, organisation.country) == ("child_protection", "LU")
    assert organisation.membership_status == MembershipStatus.ACTIVE


def test_admitting_a_taken_slug_is_a_400(personas):
    response = personas["coordinator"].client.post(ORGANISATIONS, ADMIT | {"slug": "care-nl"}, format="json")
    assert_problem(response, 400)
    assert "#/slug" in pointers(response)
    assert Organisation.objects.filter(slug="care-nl").count() == 1


def test_admitting_without_the_required_fields_is_a_400(personas):
    response = personas["coordinator"].client.post(ORGANISATIONS, {"name": "Nameless"}, format="json")
    assert_problem(response, 400)
    assert {"#/slug", "#/kind", "#/country"} <= pointers(response)


def test_coordinator_suspends_and_readmits_a_member(personas, orgs):
    care = orgs["care-nl"]
    client = personas["coordinator"].client
    suspended = client.post(f"{ORGANISATIONS}{care.pk}/suspend/")
    assert suspended.status_code == 200, suspended.content
    assert suspended.json()["membership_status"] == "suspended"
    care.refresh_from_db()
    assert care.membership_status == MembershipStatus.SUSPENDED
    # A suspended member is out of the referral directory.
    accepting = client.get(ORGANISATIONS, {"accepting": "true"}).json()["results"]
    assert "care-nl" not in {o["slug"] for o in accepting}

    readmitted = client.post(f"{ORGANISATIONS}{care.pk}/readmit/")
    assert readmitted.status_code == 200
    assert readmitted.json()["membership_status"] == "active"
    care.refresh_from_db()
    assert care.membership_status == MembershipStatus.ACTIVE


def test_suspending_a_suspended_member_is_a_409(personas, orgs):
    care = orgs["care-nl"]
    client = personas["coordinator"].client
    assert client.post(f"{ORGANISATIONS}{care.pk}/suspend/").status_code == 200
    assert_problem(client.post(f"{ORGANISATIONS}{care.pk}/suspend/"), 409)


def test_readmitting_an_active_member_is_a_409(personas, orgs):
    assert_problem(personas["coordinator"].client.post(f"{ORGANISATIONS}{orgs['care-nl'].pk}/readmit/"), 409)


def test_suspending_the_coordination_is_a_422(personas, orgs):
    coordination = orgs["coordination"]
    assert coordination.kind == OrganisationKind.COORDINATOR
    assert_problem(personas["coordinator"].client.post(f"{ORGANISATIONS}{coordination.pk}/suspend/"), 422)
    coordination.refresh_from_db()
    assert coordination.membership_status == MembershipStatus.ACTIVE


def test_membership_action_on_an_unknown_organisation_is_a_404(personas):
    unknown = "00000000-0000-0000-0000-000000000000"
    assert_problem(personas["coordinator"].client.post(f"{ORGANISATIONS}{unknown}/suspend/"), 404)


@pytest.mark.parametrize("persona", ["caseworker", "org_admin", "auditor", "partner_system"])
def test_only_coordinators_admit_suspend_and_readmit(personas, orgs, persona):
    client = personas[persona].client
    care, shelter = orgs["care-nl"], orgs["shelter-be"]
    Organisation.objects.filter(pk=shelter.pk).update(membership_status=MembershipStatus.SUSPENDED)
    assert_problem(client.post(ORGANISATIONS, ADMIT, format="json"), 403)
    assert_problem(client.post(f"{ORGANISATIONS}{care.pk}/suspend/"), 403)
    assert_problem(client.post(f"{ORGANISATIONS}{shelter.pk}/readmit/"), 403)
    own = personas[persona].organisation
    assert_problem(client.post(f"{ORGANISATIONS}{own.pk}/suspend/"), 403)
    assert not Organisation.objects.filter(slug="youth-lu").exists()
    assert Organisation.objects.get(pk=care.pk).membership_status == MembershipStatus.ACTIVE
    assert Organisation.objects.get(pk=shelter.pk).membership_status == MembershipStatus.SUSPENDED
    assert Organisation.objects.get(pk=own.pk).membership_status == MembershipStatus.ACTIVE


# --- who am I -----------------------------------------------------------------------------------


ME_CASES = [
    ("caseworker", "hotline-be-caseworker", ["caseworker"], "hotline-be", False),
    ("recipient_caseworker", "shelter-be-caseworker", ["caseworker"], "shelter-be", False),
    ("org_admin", "hotline-be-admin", ["org_admin"], "hotline-be", True),
    ("outsider_admin", "care-nl-admin", ["org_admin"], "care-nl", True),
    ("coordinator", "coordinator", ["coordinator"], "coordination", True),
    ("auditor", "auditor", ["auditor"], "coordination", True),
]


@pytest.mark.parametrize(("persona", "username", "roles", "organisation", "mfa_required"), ME_CASES)
def test_me_describes_each_person(personas, persona, username, roles, organisation, mfa_required):
    response = get_me(personas[persona].client)
    assert response.status_code == 200
    body = response.json()
    assert body["actor_type"] == "user"
    assert body["id"] == str(personas[persona].user.pk)
    assert body["username"] == username
    assert body["roles"] == roles
    assert body["organisation"]["slug"] == organisation
    assert set(body["organisation"]) == {"id", "slug", "name", "kind"}
    assert body["mfa"] == {"required": mfa_required, "enrolled": False, "verified_for_this_login": True}
    assert body["api_key"] is None


def test_me_reports_a_login_without_a_verified_second_factor(orgs):
    from partners.tokens import issue_tokens_for_tests

    user = make_user("hotline-be-plain", orgs["hotline-be"], [Role.CASEWORKER])
    persona = Persona("plain", user=user)
    persona.client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_tokens_for_tests(user, mfa_verified=False).access}")
    assert get_me(persona.client).json()["mfa"]["verified_for_this_login"] is False


def test_me_describes_a_partner_system_by_its_key(personas):
    partner = personas["partner_system"]
    response = get_me(partner.client)
    assert response.status_code == 200
    body = response.json()
    assert body["actor_type"] == "partner_system"
    assert body["username"] is None
    assert body["roles"] == []
    assert body["mfa"] is None
    assert body["organisation"]["slug"] == "hotline-be"
    key = body["api_key"]
    assert key["name"] == "Hotline case system"
    assert partner.raw_api_key.split("_")[1] == key["prefix"]
    assert set(key["scopes"]) == {"organisations:read", "referrals:read", "referrals:write", "events:read"}
    assert body["id"] == key["id"]
    assert partner.raw_api_key not in response.content.decode()


def test_me_needs_credentials(anonymous_client):
    assert_problem(get_me(anonymous_client), 401)


# --- changing your own password -------------------------------------------------------------------


def test_person_changes_their_own_password_and_logs_in_with_it(personas, anonymous_client):
    caseworker = personas["caseworker"]
    response = caseworker.client.post(
        f"{ME}password/", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 204
    caseworker.user.refresh_from_db()
    assert caseworker.user.check_password(NEW_PASSWORD)
    login = anonymous_client.post(
        "/api/v1/auth/token/", {"username": "hotline-be-caseworker", "password": NEW_PASSWORD}, format="json"
    )
    assert login.status_code == 200
    old = anonymous_client.post(
        "/api/v1/auth/token/", {"username": "hotline-be-caseworker", "password": PASSWORD}, format="json"
    )
    assert old.status_code == 401


def test_wrong_current_password_is_a_400_and_changes_nothing(personas):
    caseworker = personas["caseworker"]
    response = caseworker.client.post(
        f"{ME}password/", {"current_password": "not-my-password-at-all", "new_password": NEW_PASSWORD}, format="json"
    )
    assert_problem(response, 400)
    assert "#/current_password" in pointers(response)
    caseworker.user.refresh_from_db()
    assert caseworker.user.check_password(PASSWORD)


def test_weak_new_password_is_a_400_on_the_new_password(personas):
    caseworker = personas["caseworker"]
    response = caseworker.client.post(
        f"{ME}password/", {"current_password": PASSWORD, "new_password": "password"}, format="json"
    )
    assert_problem(response, 400)
    assert "#/new_password" in pointers(response)
    caseworker.user.refresh_from_db()
    assert caseworker.user.check_password(PASSWORD)


def test_partner_system_has_no_password_to_change(personas):
    response = personas["partner_system"].client.post(
        f"{ME}password/", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )
    assert_problem(response, 403)


def test_admitting_a_member_with_a_minimum_age_above_the_default_maximum_and_no_maximum_is_refused(personas):
    """The maximum age defaults to 18: a minimum of 20 without a maximum is a clear 400, not the database's refusal."""
    response = personas["coordinator"].client.post(ORGANISATIONS, {
        "slug": "older-youth-be", "name": "Older youth", "kind": "ngo", "country": "BE", "min_age": 20,
    }, format="json")
    assert_problem(response, 400)
    assert pointers(response) == {"#/min_age"}
    assert not Organisation.objects.filter(slug="older-youth-be").exists()
