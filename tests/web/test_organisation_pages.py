"""The org admin's pages (issue #15, item 4): people, invitations, roles, account actions, approvals,
the directory profile and the settings.

They read through ``partners.selectors`` and write through ``partners.services``, exactly as the
API does: only the admin's own organisation is on them (another organisation's colleague,
invitation or request is the same 404 page as a missing one), a refused change comes back
beside its field (422) and changes nothing, and every change leaves the service's audit entry.
Other roles get the 403 page.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_otp.plugins.otp_totp.models import TOTPDevice

from coalition.audit.models import AuditEntry
from partners import services
from partners.choices import ApiKeyScope, Role
from partners.models import (
    AccessApproval,
    ApiKey,
    ApprovalStatus,
    Invitation,
    LoginSession,
    Organisation,
    PasswordReset,
    User,
)
from tests.support.personas import make_user
from tests.support.web import comparable_page, sent_mails, web_client_for

PEOPLE = "/app/organisation/people/"
INVITE = "/app/organisation/people/invite/"
APPROVALS = "/app/organisation/approvals/"
PROFILE = "/app/organisation/"
SETTINGS = "/app/organisation/settings/"

INVITATION = {
    "first_name": "Nova", "last_name": "Newcomer", "email": "nova@example.org", "username": "hotline-be-nova",
    "roles": ["org_admin"], "language": "nl",
}


@pytest.fixture
def admin(personas):
    return personas["org_admin"].user


@pytest.fixture
def page(admin):
    """hotline-be's org admin, signed in to the web app."""
    return web_client_for(admin)


@pytest.fixture
def colleague(personas):
    """hotline-be's caseworker: a colleague of the admin."""
    return personas["caseworker"].user


@pytest.fixture
def second_admin(orgs):
    """Another org admin of hotline-be: the second person for what the persona asks."""
    return make_user("hotline-be-second-admin", orgs["hotline-be"], [Role.ORG_ADMIN])


def person_url(user, action: str = "") -> str:
    return f"{PEOPLE}{user.pk}/" + (f"{action}/" if action else "")


def errors_beside(content: str, field_id: str) -> list[str]:
    """The messages of the error list tied to the input ``field_id`` (``<ul id="<field_id>_error">``)."""
    match = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', content, re.S)
    return [re.sub(r"&#x27;", "'", text) for text in re.findall(r"<li>(.*?)</li>", match.group(1))] if match else []


def form_errors(content: str) -> str:
    match = re.search(r'<div class="form-errors" role="alert">(.*?)</div>', content, re.S)
    return re.sub(r"&#x27;", "'", match.group(1)) if match else ""


def entries(action: str, **fields) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, **fields).order_by("seq"))


def invitation_of(organisation: Organisation, inviter: User, username: str, roles=(Role.ORG_ADMIN,)) -> Invitation:
    return services.invitation_create(
        actor=inviter, organisation=organisation, email=f"{username}@example.org", username=username, roles=list(roles)
    )


# --- who may open the pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["caseworker", "coordinator", "auditor"])
@pytest.mark.parametrize("path", [PEOPLE, INVITE, APPROVALS, PROFILE, SETTINGS])
def test_the_organisation_pages_are_for_org_admins_only(personas, persona, path):
    assert web_client_for(personas[persona].user).get(path).status_code == 403


def test_another_organisations_colleague_invitation_and_request_are_the_same_404_as_missing_ones(page, personas, orgs):
    care = orgs["care-nl"]
    outsider_admin = personas["outsider_admin"].user
    outsider = personas["outsider_caseworker"].user
    theirs = invitation_of(care, outsider_admin, "care-nl-newcomer")
    key = services.api_key_create(actor=outsider_admin, name="Care system", scopes=[ApiKeyScope.REFERRALS_READ])
    request = AccessApproval.objects.get(api_key=key.api_key)
    missing = uuid.uuid4()

    for theirs_path, missing_path in [
        (person_url(outsider), f"{PEOPLE}{missing}/"),
        (person_url(outsider, "deactivate"), f"{PEOPLE}{missing}/deactivate/"),
        (f"/app/organisation/invitations/{theirs.pk}/revoke/", f"/app/organisation/invitations/{missing}/revoke/"),
        (f"{APPROVALS}{request.pk}/", f"{APPROVALS}{missing}/"),
    ]:
        answer, none = page.get(theirs_path), page.get(missing_path)
        assert answer.status_code == none.status_code == 404
        assert comparable_page(answer) == comparable_page(none)

    # Nor can a POST reach them: nothing changes.
    assert page.post(person_url(outsider, "deactivate")).status_code == 404
    assert page.post(f"/app/organisation/invitations/{theirs.pk}/revoke/").status_code == 404
    assert page.post(f"{APPROVALS}{request.pk}/", {"decision": "approve"}).status_code == 404
    outsider.refresh_from_db()
    theirs.refresh_from_db()
    request.refresh_from_db()
    assert outsider.is_active and theirs.revoked_at is None and request.status == ApprovalStatus.PENDING


# --- people and invitations ------------------------------------------------------------------------------


def test_the_people_page_lists_the_organisations_own_people_and_open_invitations_only(page, admin, personas, orgs):
    mine = invitation_of(orgs["hotline-be"], admin, "hotline-be-invitee")
    theirs = invitation_of(orgs["care-nl"], personas["outsider_admin"].user, "care-nl-invitee")
    revoked = invitation_of(orgs["hotline-be"], admin, "hotline-be-revoked")
    services.invitation_revoke(actor=admin, invitation=revoked)
    TOTPDevice.objects.create(user=personas["caseworker"].user, name="default", confirmed=True)

    response = page.get(PEOPLE)

    assert response.status_code == 200
    content = response.content.decode()
    assert "hotline-be-caseworker" in content and "hotline-be-admin" in content
    assert "care-nl-caseworker" not in content and "shelter-be-caseworker" not in content
    assert mine.username in content and f"/app/organisation/invitations/{mine.pk}/revoke/" in content
    assert theirs.username not in content and revoked.username not in content
    row = re.search(r"<tr>\s*<th scope=\"row\"><a [^>]*>hotline-be-caseworker</a>.*?</tr>", content, re.S).group(0)
    assert "Caseworker" in row and "Active" in row and "Set up" in row and "Never" in row
    admin_row = re.search(r"<tr>\s*<th scope=\"row\"><a [^>]*>hotline-be-admin</a>.*?</tr>", content, re.S).group(0)
    assert "Organisation administrator" in admin_row and "Not set up (required)" in admin_row


def test_the_people_page_costs_the_same_queries_for_three_people_or_thirteen(page, orgs, admin):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert page.get(PEOPLE).status_code == 200
        return len(captured)

    few = queries()
    for number in range(10):
        make_user(f"hotline-be-extra-{number}", orgs["hotline-be"], [Role.CASEWORKER])
        invitation_of(orgs["hotline-be"], admin, f"hotline-be-invited-{number}")
    assert queries() == few


def test_inviting_a_person_creates_the_invitation_and_mails_its_link_to_their_address_only(page, admin):
    response = page.post(INVITE, INVITATION)

    assert response.status_code == 302 and response["Location"] == PEOPLE
    invitation = Invitation.objects.get(username="hotline-be-nova")
    assert invitation.organisation_id == admin.organisation_id and invitation.invited_by == admin
    assert invitation.roles == ["org_admin"] and invitation.language == "nl" and invitation.status == "pending"
    assert not User.objects.filter(username="hotline-be-nova").exists()  # the person makes the account, with their password
    [mail] = sent_mails("nova@example.org")
    assert re.search(r"/app/invitation/#token=[A-Za-z0-9_-]+", mail.body)
    [entry] = entries("invitation.create", object_id=str(invitation.pk))
    assert entry.actor_user == admin.pk and entry.detail == {"roles": ["org_admin"], "awaiting_approval": False}
    shown = page.get(PEOPLE).content.decode()
    assert "The invitation was mailed." in shown and "hotline-be-nova" in shown


def test_inviting_a_caseworker_waits_for_a_second_person_before_anything_is_mailed(page):
    response = page.post(INVITE, INVITATION | {"username": "hotline-be-carer", "roles": ["caseworker"]}, follow=True)

    assert "waits for a second person" in response.content.decode()
    invitation = Invitation.objects.get(username="hotline-be-carer")
    assert invitation.status == "awaiting_approval"
    assert AccessApproval.objects.get(invitation=invitation).status == ApprovalStatus.PENDING
    assert sent_mails("nova@example.org") == []


def test_an_invitation_the_contract_or_the_service_refuses_is_422_beside_its_field_and_nothing_is_made(page, colleague):
    response = page.post(INVITE, INVITATION | {"email": "not-an-address", "username": "x"})

    assert response.status_code == 422
    content = response.content.decode()
    assert errors_beside(content, "id_email") == ["Enter a valid email address."]
    assert errors_beside(content, "id_username")  # the API's pattern

    taken = page.post(INVITE, INVITATION | {"username": colleague.username})
    assert taken.status_code == 422
    assert errors_beside(taken.content.decode(), "id_username") == ["This username is taken."]

    coordinator_role = page.post(INVITE, INVITATION | {"roles": ["coordinator"]})
    assert coordinator_role.status_code == 422
    assert errors_beside(coordinator_role.content.decode(), "id_roles") == [
        "Coordinator and auditor roles exist only in the coalition's coordination."
    ]
    assert not Invitation.objects.exists() and sent_mails("nova@example.org") == []
    assert not entries("invitation.create")


def test_the_invite_form_offers_only_the_roles_the_organisation_can_hold(page):
    content = page.get(INVITE).content.decode()
    assert 'value="caseworker"' in content and 'value="org_admin"' in content
    assert 'value="coordinator"' not in content and 'value="auditor"' not in content


def test_resending_an_invitation_mails_a_new_link_and_the_old_one_stops_working(page, admin, orgs):
    invitation = invitation_of(orgs["hotline-be"], admin, "hotline-be-late")
    [first] = sent_mails("hotline-be-late@example.org")
    old_digest = invitation.token_digest
    url = f"/app/organisation/invitations/{invitation.pk}/resend/"

    assert page.get(url).status_code == 200
    response = page.post(url)

    assert response.status_code == 302 and response["Location"] == PEOPLE
    invitation.refresh_from_db()
    assert invitation.token_digest != old_digest
    assert len(sent_mails("hotline-be-late@example.org")) == 2
    [entry] = entries("invitation.resend", object_id=str(invitation.pk))
    assert entry.actor_user == admin.pk


def test_revoking_an_invitation_ends_its_link_and_a_second_revocation_is_refused_on_the_page(page, admin, orgs):
    invitation = invitation_of(orgs["hotline-be"], admin, "hotline-be-mistake")
    url = f"/app/organisation/invitations/{invitation.pk}/revoke/"

    assert page.post(url).status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == "revoked"
    assert len(entries("invitation.revoke", object_id=str(invitation.pk))) == 1

    again = page.post(url)
    assert again.status_code == 422
    assert "This invitation is already accepted or revoked." in form_errors(again.content.decode())
    resend = page.post(f"/app/organisation/invitations/{invitation.pk}/resend/")
    assert resend.status_code == 422
    assert "Only an open or expired invitation can be sent again." in form_errors(resend.content.decode())
    assert len(entries("invitation.revoke", object_id=str(invitation.pk))) == 1


# --- a colleague: roles and the account --------------------------------------------------------------------


def test_the_person_page_shows_the_account_and_the_roles_form(page, colleague):
    content = page.get(person_url(colleague)).content.decode()
    assert colleague.username in content and colleague.email in content
    assert 'name="roles" value="caseworker" id="id_roles_0" checked' in content
    for action in ("password-reset", "second-factor-reset", "deactivate"):
        assert person_url(colleague, action) in content


def test_changing_a_colleagues_roles_goes_through_the_service_signs_them_out_and_is_audited(page, admin, colleague):
    version = colleague.token_version

    response = page.post(person_url(colleague), {"roles": ["caseworker", "org_admin"]})

    assert response.status_code == 302 and response["Location"] == person_url(colleague)
    colleague.refresh_from_db()
    assert colleague.roles == ["caseworker", "org_admin"]
    assert colleague.token_version == version + 1
    [entry] = entries("user.update", object_id=str(colleague.pk))
    assert entry.actor_user == admin.pk and entry.detail["roles"] == ["caseworker", "org_admin"]


def test_granting_the_caseworker_role_waits_for_a_second_persons_approval(page, second_admin):
    response = page.post(person_url(second_admin), {"roles": ["caseworker", "org_admin"]}, follow=True)

    assert "The caseworker role waits for a second person&#x27;s approval." in response.content.decode()
    second_admin.refresh_from_db()
    assert second_admin.roles == ["org_admin"]
    waiting = AccessApproval.objects.get(user=second_admin)
    assert waiting.status == ApprovalStatus.PENDING and waiting.roles == ["caseworker", "org_admin"]
    assert f"{APPROVALS}{waiting.pk}/" in response.content.decode()


def test_nobody_changes_their_own_roles_the_refusal_stands_beside_them_and_nothing_changes(page, admin):
    response = page.post(person_url(admin), {"roles": ["caseworker"]})

    assert response.status_code == 422
    content = response.content.decode()
    assert errors_beside(content, "id_roles") == ["You cannot change your own roles: ask another org admin."]
    admin.refresh_from_db()
    assert admin.roles == ["org_admin"]
    assert not entries("user.update") and not AccessApproval.objects.filter(user=admin).exists()


def test_a_role_the_contract_does_not_know_is_refused_beside_the_roles(page, colleague):
    response = page.post(person_url(colleague), {"roles": ["superuser"]})

    assert response.status_code == 422
    assert errors_beside(response.content.decode(), "id_roles")
    colleague.refresh_from_db()
    assert colleague.roles == ["caseworker"] and not entries("user.update")


def test_saving_the_same_roles_changes_nothing_and_writes_no_entry(page, colleague):
    response = page.post(person_url(colleague), {"roles": ["caseworker"]}, follow=True)
    assert "Nothing was changed." in response.content.decode()
    assert not entries("user.update")


def test_the_last_active_org_admin_cannot_deactivate_themself(page, admin):
    response = page.post(person_url(admin, "deactivate"))

    assert response.status_code == 422
    assert "An organisation keeps at least one active org admin." in form_errors(response.content.decode())
    admin.refresh_from_db()
    assert admin.is_active and not entries("user.update")


def test_deactivating_a_colleague_ends_their_logins_and_reactivating_lets_them_back(page, admin, colleague):
    login = LoginSession.objects.create(user=colleague, expires_at="2999-01-01T00:00:00Z", current_refresh_jti="x")
    assert page.get(person_url(colleague, "deactivate")).status_code == 200

    response = page.post(person_url(colleague, "deactivate"))

    assert response.status_code == 302 and response["Location"] == person_url(colleague)
    colleague.refresh_from_db()
    login.refresh_from_db()
    assert not colleague.is_active and login.revoked_at is not None
    [entry] = entries("user.update", object_id=str(colleague.pk))
    assert entry.actor_user == admin.pk and entry.detail["fields"] == ["is_active"]
    shown = page.get(person_url(colleague)).content.decode()
    assert "Deactivated" in shown and person_url(colleague, "reactivate") in shown

    assert page.post(person_url(colleague, "reactivate")).status_code == 302
    colleague.refresh_from_db()
    assert colleague.is_active
    assert len(entries("user.update", object_id=str(colleague.pk))) == 2


def test_a_password_reset_link_goes_to_the_colleagues_own_address(page, admin, colleague):
    assert colleague.email in page.get(person_url(colleague, "password-reset")).content.decode()

    response = page.post(person_url(colleague, "password-reset"))

    assert response.status_code == 302
    reset = PasswordReset.objects.get(user=colleague)
    assert reset.requested_by == admin and reset.is_usable()
    [mail] = sent_mails(colleague.email)
    assert re.search(r"/app/password-reset/#token=[A-Za-z0-9_-]+", mail.body)
    [entry] = entries("user.password_reset_sent", object_id=str(colleague.pk))
    assert entry.actor_user == admin.pk


def test_nobody_sends_themself_a_password_reset_here(page, admin):
    response = page.post(person_url(admin, "password-reset"))
    assert response.status_code == 422
    assert "you cannot reset your own credentials here" in form_errors(response.content.decode())
    assert not PasswordReset.objects.exists()


def test_resetting_a_second_factor_removes_it_and_the_same_admin_then_cannot_send_the_password_reset(
    page, admin, colleague
):
    TOTPDevice.objects.create(user=colleague, name="default", confirmed=True)
    version = colleague.token_version

    response = page.post(person_url(colleague, "second-factor-reset"))

    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=colleague).exists()
    colleague.refresh_from_db()
    assert colleague.token_version == version + 1
    [entry] = entries("user.totp_reset", object_id=str(colleague.pk))
    assert entry.actor_user == admin.pk

    # The pair would hand the whole account to one admin: the service refuses, the page says why.
    refused = page.post(person_url(colleague, "password-reset"))
    assert refused.status_code == 422
    assert "another org admin must send the password reset" in form_errors(refused.content.decode())
    assert not PasswordReset.objects.filter(user=colleague).exists()


# --- approvals -----------------------------------------------------------------------------------------------


def test_the_approvals_page_lists_the_organisations_requests_only_waiting_first(page, admin, second_admin, personas):
    services.api_key_create(actor=second_admin, name="Our case system", scopes=[ApiKeyScope.REFERRALS_READ])
    services.api_key_create(
        actor=personas["outsider_admin"].user, name="Their case system", scopes=[ApiKeyScope.REFERRALS_READ]
    )

    content = page.get(APPROVALS).content.decode()

    assert "Our case system" in content and "(you may decide)" in content
    assert "Their case system" not in content
    # hotline-be's own key of the suite was approved by the coordinator: listed after the waiting one.
    assert content.index("Our case system") < content.index("Hotline case system")


def test_an_org_admin_approves_a_colleagues_key_request_and_the_key_works(page, admin, second_admin):
    created = services.api_key_create(actor=second_admin, name="Case system", scopes=[ApiKeyScope.REFERRALS_READ])
    request = AccessApproval.objects.get(api_key=created.api_key)
    url = f"{APPROVALS}{request.pk}/"
    content = page.get(url).content.decode()
    assert 'value="approve"' in content and created.raw_key not in content

    response = page.post(url, {"decision": "approve"})

    assert response.status_code == 302 and response["Location"] == url
    request.refresh_from_db()
    assert request.status == ApprovalStatus.APPROVED and request.decided_by == admin
    assert not ApiKey.objects.get(pk=created.api_key.pk).awaiting_approval
    [entry] = entries("access_approval.approve", object_id=str(request.pk))
    assert entry.actor_user == admin.pk
    assert 'value="approve"' not in page.get(url).content.decode()  # decided: no buttons any more


def test_refusing_an_invitation_request_revokes_the_invitation(page, second_admin, orgs):
    invitation = invitation_of(orgs["hotline-be"], second_admin, "hotline-be-carer", roles=[Role.CASEWORKER])
    request = AccessApproval.objects.get(invitation=invitation)

    assert page.post(f"{APPROVALS}{request.pk}/", {"decision": "reject"}).status_code == 302

    request.refresh_from_db()
    invitation.refresh_from_db()
    assert request.status == ApprovalStatus.REJECTED and invitation.status == "revoked"
    assert len(entries("access_approval.reject", object_id=str(request.pk))) == 1


def test_nobody_decides_their_own_request_the_page_says_so_and_a_post_is_refused(page, admin, second_admin, orgs):
    invitation = invitation_of(orgs["hotline-be"], admin, "hotline-be-carer", roles=[Role.CASEWORKER])
    request = AccessApproval.objects.get(invitation=invitation)
    url = f"{APPROVALS}{request.pk}/"

    content = page.get(url).content.decode()
    assert 'value="approve"' not in content and "Someone else decides this request" in content

    response = page.post(url, {"decision": "approve"})
    assert response.status_code == 422
    assert "A second person must decide" in form_errors(response.content.decode())
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING and not entries("access_approval.approve", object_id=str(request.pk))


def test_a_decision_that_is_neither_approve_nor_refuse_is_422(page, second_admin):
    created = services.api_key_create(actor=second_admin, name="Case system", scopes=[ApiKeyScope.REFERRALS_WRITE])
    request = AccessApproval.objects.get(api_key=created.api_key)
    assert page.post(f"{APPROVALS}{request.pk}/", {"decision": "maybe"}).status_code == 422
    request.refresh_from_db()
    assert request.status == ApprovalStatus.PENDING


# --- the directory profile and the settings ------------------------------------------------------------------


PROFILE_FORM = {
    "name": "Hotline Belgium", "description": "Listens, day and night.", "accepting_referrals": "on",
    "phenomena": ["grooming", "sextortion"], "min_age": "8", "max_age": "21", "regions": "be-vlg, BE-BRU",
    "languages": ["nl", "fr"], "contact_email": "desk@hotline.example.org", "contact_phone": "+32 2 000 00 00",
    "website": "https://hotline.example.org/",
}


def test_the_profile_form_starts_from_the_directory_entry(page, orgs):
    content = page.get(PROFILE).content.decode()
    hotline = orgs["hotline-be"]
    assert f'value="{hotline.name}"' in content and 'value="BE-VLG"' in content
    assert 'name="accepting_referrals" aria-describedby="id_accepting_referrals_helptext" id="id_accepting_referrals" checked' in content


def test_changing_the_profile_goes_through_the_service_and_the_entry_names_the_fields_changed(page, admin, orgs):
    response = page.post(PROFILE, PROFILE_FORM)

    assert response.status_code == 302 and response["Location"] == PROFILE
    hotline = Organisation.objects.get(pk=orgs["hotline-be"].pk)
    assert hotline.name == "Hotline Belgium" and hotline.regions == ["BE-VLG", "BE-BRU"]
    assert hotline.phenomena == ["grooming", "sextortion"] and hotline.languages == ["nl", "fr"]
    assert (hotline.min_age, hotline.max_age) == (8, 21) and hotline.accepting_referrals
    assert hotline.contact_email == "desk@hotline.example.org" and hotline.website == "https://hotline.example.org/"
    [entry] = entries("organisation.update", object_id=str(hotline.pk))
    assert entry.actor_user == admin.pk
    assert entry.detail["fields"] == sorted(
        ["name", "description", "phenomena", "min_age", "max_age", "regions", "languages", "contact_email",
         "contact_phone", "website"]
    )  # accepting_referrals was already on: not sent, not audited


def test_closing_the_organisation_to_referrals_is_one_field_changed(page, orgs):
    current = page.get(PROFILE)
    assert current.status_code == 200
    hotline = orgs["hotline-be"]
    form = {
        "name": hotline.name, "min_age": hotline.min_age, "max_age": hotline.max_age,
        "phenomena": hotline.phenomena, "languages": hotline.languages, "regions": ", ".join(hotline.regions),
    }

    assert page.post(PROFILE, form).status_code == 302

    hotline.refresh_from_db()
    assert not hotline.accepting_referrals
    [entry] = entries("organisation.update")
    assert entry.detail["fields"] == ["accepting_referrals"]


def test_a_profile_the_contract_refuses_is_422_beside_its_field_and_nothing_changes(page, orgs):
    before = Organisation.objects.get(pk=orgs["hotline-be"].pk)

    ages = page.post(PROFILE, PROFILE_FORM | {"min_age": "20", "max_age": "10"})
    assert ages.status_code == 422
    assert errors_beside(ages.content.decode(), "id_min_age") == ["Must not be above max_age."]

    regions = page.post(PROFILE, PROFILE_FORM | {"regions": "BE-VLG, Flanders, BE-VLG"})
    assert regions.status_code == 422
    assert errors_beside(regions.content.decode(), "id_regions") == ["Use an ISO 3166-2 code such as BE-VLG or NL-NH."]

    repeated = page.post(PROFILE, PROFILE_FORM | {"regions": "BE-VLG, be-vlg"})
    assert errors_beside(repeated.content.decode(), "id_regions") == ["Items must not repeat."]

    phenomenon = page.post(PROFILE, PROFILE_FORM | {"phenomena": ["grooming", "not-a-phenomenon"]})
    assert phenomenon.status_code == 422
    assert errors_beside(phenomenon.content.decode(), "id_phenomena")

    email = page.post(PROFILE, PROFILE_FORM | {"contact_email": "desk"})
    assert errors_beside(email.content.decode(), "id_contact_email") == ["Enter a valid email address."]

    after = Organisation.objects.get(pk=orgs["hotline-be"].pk)
    assert (after.name, after.regions, after.min_age) == (before.name, before.regions, before.min_age)
    assert not entries("organisation.update")


def test_requiring_a_second_factor_for_caseworkers_signs_out_those_signed_in_without_one(page, admin, colleague, orgs):
    without = LoginSession.objects.create(
        user=colleague, expires_at="2999-01-01T00:00:00Z", current_refresh_jti="x", mfa_verified=False
    )
    content = page.get(SETTINGS).content.decode()
    assert 'name="caseworker_mfa_required"' in content and "checked" not in content.split('name="caseworker_mfa_required"')[1][:80]

    response = page.post(SETTINGS, {"caseworker_mfa_required": "on"})

    assert response.status_code == 302 and response["Location"] == SETTINGS
    assert Organisation.objects.get(pk=orgs["hotline-be"].pk).caseworker_mfa_required
    without.refresh_from_db()
    assert without.revoked_at is not None
    [entry] = entries("organisation.update", object_id=str(orgs["hotline-be"].pk))
    assert entry.actor_user == admin.pk and entry.detail["fields"] == ["caseworker_mfa_required"]
    assert entry.detail["logins_ended"] >= 1

    assert page.post(SETTINGS, {}).status_code == 302  # unticked: off again
    assert not Organisation.objects.get(pk=orgs["hotline-be"].pk).caseworker_mfa_required


def test_the_settings_page_changes_only_the_settings(page, orgs):
    name = orgs["hotline-be"].name
    assert page.post(SETTINGS, {"caseworker_mfa_required": "on", "name": "Renamed"}).status_code == 302
    assert Organisation.objects.get(pk=orgs["hotline-be"].pk).name == name
