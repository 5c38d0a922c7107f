"""Issue 11, items 1 and 3: nobody gives themselves access to identity.

Accounts come by invitation, new passwords by reset link, each a one-time token
mailed to the person's own address (stored as a digest, single use, expiring);
caseworker roles and referrals keys need a second person; one admin cannot both
reset a person's second factor and send their password reset within 24 hours.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.core import mail as django_mail
from django.utils import timezone

from coalition.mail.models import OutboundMail
from coalition.mail.services import deliver
from partners.choices import Role
from partners.models import AccessApproval, ApiKey, Invitation, PasswordReset, User
from tests.support.personas import PASSWORD, Persona, make_user

INVITATIONS = "/api/v1/invitations/"
ACCEPT = "/api/v1/auth/invitations/accept/"
RESET = "/api/v1/auth/password-reset/"
APPROVALS = "/api/v1/approvals/"
NEW_PASSWORD = "my-own-chosen-passphrase-2026"


def sent_mails(to: str) -> list:
    """Send what the outbox holds for ``to`` (as the worker would) and return the messages."""
    for mail in OutboundMail.objects.filter(to=to, status="pending"):
        deliver(mail.pk)
    return [message for message in django_mail.outbox if message.to == [to]]


def token_in(message) -> str:
    match = re.search(r"#token=([A-Za-z0-9_-]+)", message.body)
    assert match, message.body
    return match.group(1)


def invite(client, username="hotline-be-newcomer", roles=("org_admin",)):
    body = {"username": username, "email": f"{username}@example.org", "roles": list(roles), "first_name": "Nova"}
    response = client.post(INVITATIONS, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def login(anonymous_client, username, password):
    return anonymous_client.post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")


# --- invitations ---------------------------------------------------------------------------------


def test_the_invitee_sets_their_own_password_from_the_mailed_link(personas, anonymous_client):
    answer = invite(personas["org_admin"].client)
    [message] = sent_mails("hotline-be-newcomer@example.org")
    token = token_in(message)
    assert "https://referrals.example.org/app/invitation/#token=" in message.body
    assert token in message.body.split("#token=", 1)[1]  # also stated for API users
    assert token not in str(answer)

    assert anonymous_client.post(ACCEPT, {"token": token, "password": NEW_PASSWORD}, format="json").status_code == 204
    user = User.objects.get(username="hotline-be-newcomer")
    assert user.check_password(NEW_PASSWORD) and user.roles == [Role.ORG_ADMIN]
    assert user.invited_by == personas["org_admin"].user
    # An org admin needs a second factor: the first login only allows enrolling one.
    tokens = login(anonymous_client, "hotline-be-newcomer", NEW_PASSWORD).json()
    assert tokens["mfa_enrolment_required"] is True
    assert Invitation.objects.get(pk=answer["id"]).status == "accepted"


def test_only_a_digest_of_the_token_is_stored_and_never_shown_or_audited(personas):
    from coalition.audit.models import AuditEntry

    answer = invite(personas["org_admin"].client)
    token = token_in(sent_mails("hotline-be-newcomer@example.org")[0])
    invitation = Invitation.objects.get(pk=answer["id"])
    assert invitation.token_digest == hashlib.sha256(token.encode()).hexdigest()
    listing = personas["org_admin"].client.get(INVITATIONS).content.decode()
    detail = personas["org_admin"].client.get(f"{INVITATIONS}{answer['id']}/").content.decode()
    trail = " ".join(str(entry.detail) for entry in AuditEntry.objects.all())
    assert token not in listing + detail + trail


@pytest.mark.parametrize("spoil", ["unknown", "used", "expired", "revoked"])
def test_unknown_used_expired_and_revoked_links_get_the_same_answer(personas, anonymous_client, spoil):
    answer = invite(personas["org_admin"].client)
    token = token_in(sent_mails("hotline-be-newcomer@example.org")[0])
    if spoil == "unknown":
        token = "x" * 43
    elif spoil == "used":
        anonymous_client.post(ACCEPT, {"token": token, "password": NEW_PASSWORD}, format="json")
    elif spoil == "expired":
        Invitation.objects.filter(pk=answer["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    else:
        assert personas["org_admin"].client.delete(f"{INVITATIONS}{answer['id']}/").status_code == 204
    response = anonymous_client.post(ACCEPT, {"token": token, "password": "another-passphrase-2027"}, format="json")
    assert response.status_code == 400
    assert response.json()["type"] == "urn:coalition:problem:invalid-link"
    assert response.json()["detail"].startswith("This link is not valid")
    assert User.objects.filter(username="hotline-be-newcomer").count() == (1 if spoil == "used" else 0)


def test_a_resend_mails_a_new_link_and_the_old_one_stops_working(personas, anonymous_client):
    answer = invite(personas["org_admin"].client)
    old = token_in(sent_mails("hotline-be-newcomer@example.org")[0])
    assert personas["org_admin"].client.post(f"{INVITATIONS}{answer['id']}/resend/").status_code == 200
    new = token_in(sent_mails("hotline-be-newcomer@example.org")[-1])
    assert new != old
    assert anonymous_client.post(ACCEPT, {"token": old, "password": NEW_PASSWORD}, format="json").status_code == 400
    assert anonymous_client.post(ACCEPT, {"token": new, "password": NEW_PASSWORD}, format="json").status_code == 204


def test_a_weak_password_is_a_field_error_and_leaves_the_link_usable(personas, anonymous_client):
    invite(personas["org_admin"].client)
    token = token_in(sent_mails("hotline-be-newcomer@example.org")[0])
    weak = anonymous_client.post(ACCEPT, {"token": token, "password": "12345678"}, format="json")
    assert weak.status_code == 400 and {e["pointer"] for e in weak.json()["errors"]} == {"#/password"}
    assert anonymous_client.post(ACCEPT, {"token": token, "password": NEW_PASSWORD}, format="json").status_code == 204


def test_coordinators_see_the_invitations_they_sent_and_not_the_members_own(personas, orgs):
    coordinator = personas["coordinator"].client
    sent = coordinator.post(f"/api/v1/organisations/{orgs['care-nl'].id}/admins/", {"username": "care-x", "email": "x@example.org"})
    own = invite(personas["outsider_admin"].client, username="care-nl-own")
    ids = {item["id"] for item in coordinator.get(INVITATIONS).json()["results"]}
    assert sent.json()["id"] in ids and own["id"] not in ids
    assert personas["org_admin"].client.get(f"{INVITATIONS}{own['id']}/").status_code == 404


# --- password resets -------------------------------------------------------------------------------


def test_a_reset_link_goes_to_the_persons_address_and_the_old_password_works_until_it_is_used(personas, anonymous_client):
    colleague = personas["caseworker"].user
    old_tokens = personas["caseworker"].tokens
    response = personas["org_admin"].client.post(f"/api/v1/users/{colleague.pk}/send-password-reset/")
    assert response.status_code == 204 and response.content == b""
    [message] = sent_mails(colleague.email)
    token = token_in(message)
    assert "/app/password-reset/#token=" in message.body
    assert login(anonymous_client, colleague.username, PASSWORD).status_code == 200

    assert anonymous_client.post(RESET, {"token": token, "password": NEW_PASSWORD}, format="json").status_code == 204
    assert login(anonymous_client, colleague.username, PASSWORD).status_code == 401
    assert login(anonymous_client, colleague.username, NEW_PASSWORD).status_code == 200
    stale = anonymous_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {old_tokens.access}")
    assert stale.status_code == 401
    again = anonymous_client.post(RESET, {"token": token, "password": "yet-another-passphrase-9"}, format="json")
    assert again.status_code == 400 and again.json()["type"] == "urn:coalition:problem:invalid-link"
    # The person is told, in a mail without any secret.
    notice = sent_mails(colleague.email)[-1]
    assert "reset link" in notice.body and "#token=" not in notice.body


def test_an_expired_reset_link_is_refused(personas, anonymous_client):
    colleague = personas["caseworker"].user
    personas["org_admin"].client.post(f"/api/v1/users/{colleague.pk}/send-password-reset/")
    token = token_in(sent_mails(colleague.email)[0])
    PasswordReset.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert anonymous_client.post(RESET, {"token": token, "password": NEW_PASSWORD}, format="json").status_code == 400
    assert User.objects.get(pk=colleague.pk).check_password(PASSWORD)


@pytest.mark.parametrize("first", ["reset-totp", "send-password-reset"])
def test_one_admin_cannot_reset_both_the_second_factor_and_the_password_within_a_day(personas, first):
    """Either order is refused with 422; another admin may do the second step."""
    colleague = personas["caseworker"].user
    client = personas["org_admin"].client
    second = "send-password-reset" if first == "reset-totp" else "reset-totp"
    assert client.post(f"/api/v1/users/{colleague.pk}/{first}/").status_code == 204
    refused = client.post(f"/api/v1/users/{colleague.pk}/{second}/")
    assert refused.status_code == 422
    assert "24 hours" in refused.json()["detail"]
    other = Persona("other_admin", user=make_user("hotline-be-other-admin", colleague.organisation, [Role.ORG_ADMIN]))
    assert other.client.post(f"/api/v1/users/{colleague.pk}/{second}/").status_code == 204


# --- separation of duties: a second person --------------------------------------------------------


def test_an_invitation_with_the_caseworker_role_is_mailed_only_after_a_second_person_approves(personas):
    answer = invite(personas["org_admin"].client, username="hotline-be-cw", roles=("caseworker",))
    assert answer["status"] == "awaiting_approval"
    assert sent_mails("hotline-be-cw@example.org") == []
    [approval] = AccessApproval.objects.filter(invitation_id=answer["id"])
    # The requester cannot approve their own request.
    assert personas["org_admin"].client.post(f"{APPROVALS}{approval.pk}/approve/").status_code == 422
    # hotline-be has no other org admin: a coordinator decides.
    assert personas["coordinator"].client.post(f"{APPROVALS}{approval.pk}/approve/").status_code == 200
    assert len(sent_mails("hotline-be-cw@example.org")) == 1
    assert "approved" in sent_mails(personas["org_admin"].user.email)[-1].subject


def test_a_coordinator_cannot_approve_for_the_admin_they_invited(personas, orgs, anonymous_client):
    """The attack of issue 11: a coordinator invites an admin to an address they control, then approves its key."""
    coordinator = personas["coordinator"]
    response = coordinator.client.post(
        f"/api/v1/organisations/{orgs['care-nl'].id}/admins/", {"username": "care-nl-puppet", "email": "puppet@example.org"}
    )
    token = token_in(sent_mails("puppet@example.org")[0])
    anonymous_client.post(ACCEPT, {"token": token, "password": NEW_PASSWORD}, format="json")
    puppet = User.objects.get(username="care-nl-puppet")
    User.objects.filter(username="care-nl-admin").update(is_active=False)  # the puppet is the only active admin
    puppet_persona = Persona("puppet", user=puppet)
    created = puppet_persona.client.post("/api/v1/api-keys/", {"name": "Exfil", "scopes": ["referrals:read"]}, format="json")
    assert created.status_code == 201 and created.json()["awaiting_approval"] is True
    raw_key = created.json()["key"]
    # Until approved, the key authenticates nothing.
    assert anonymous_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Api-Key {raw_key}").status_code == 401
    approval = AccessApproval.objects.get(api_key_id=created.json()["id"])
    assert coordinator.client.post(f"{APPROVALS}{approval.pk}/approve/").status_code == 422
    other = Persona("other_coordinator", user=make_user("coordinator-2", orgs["coordination"], [Role.COORDINATOR]))
    listed = [item for item in other.client.get(APPROVALS).json()["results"] if item["status"] == "pending"]
    assert [item["id"] for item in listed] == [str(approval.pk)]
    assert raw_key not in str(listed)  # the approver never sees the key
    assert other.client.post(f"{APPROVALS}{approval.pk}/approve/").status_code == 200
    assert anonymous_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Api-Key {raw_key}").status_code == 200
    assert response.status_code == 201


def test_where_another_org_admin_exists_a_coordinator_does_not_decide(personas, orgs):
    make_user("hotline-be-second-admin", orgs["hotline-be"], [Role.ORG_ADMIN])
    created = personas["org_admin"].client.post("/api/v1/api-keys/", {"name": "K", "scopes": ["referrals:write"]}, format="json")
    approval = AccessApproval.objects.get(api_key_id=created.json()["id"])
    assert personas["coordinator"].client.post(f"{APPROVALS}{approval.pk}/approve/").status_code == 404


def test_a_rejected_key_is_revoked(personas):
    created = personas["org_admin"].client.post("/api/v1/api-keys/", {"name": "K", "scopes": ["referrals:read"]}, format="json")
    approval = AccessApproval.objects.get(api_key_id=created.json()["id"])
    assert personas["coordinator"].client.post(f"{APPROVALS}{approval.pk}/reject/").json()["status"] == "rejected"
    assert ApiKey.objects.get(pk=created.json()["id"]).revoked_at is not None
    assert personas["coordinator"].client.post(f"{APPROVALS}{approval.pk}/approve/").status_code == 409


def test_granting_the_caseworker_role_to_a_colleague_waits_for_approval_then_revokes_their_tokens(personas, orgs):
    colleague = make_user("hotline-be-clerk", orgs["hotline-be"], [Role.ORG_ADMIN])
    response = personas["org_admin"].client.patch(
        f"/api/v1/users/{colleague.pk}/", {"roles": ["caseworker", "org_admin"], "first_name": "Ada"}, format="json"
    )
    assert response.status_code == 200
    colleague.refresh_from_db()
    assert colleague.roles == [Role.ORG_ADMIN] and colleague.first_name == "Ada"
    version = colleague.token_version
    approval = AccessApproval.objects.get(user=colleague)
    # The person the role is for may not approve it either.
    assert Persona("clerk", user=colleague).client.post(f"{APPROVALS}{approval.pk}/approve/").status_code == 422
    assert personas["coordinator"].client.post(f"{APPROVALS}{approval.pk}/approve/").status_code == 404
    third = Persona("third", user=make_user("hotline-be-third-admin", orgs["hotline-be"], [Role.ORG_ADMIN]))
    assert third.client.post(f"{APPROVALS}{approval.pk}/approve/").status_code == 200
    colleague.refresh_from_db()
    assert colleague.roles == [Role.CASEWORKER, Role.ORG_ADMIN] and colleague.token_version > version
    notice = sent_mails(colleague.email)[-1]
    assert "caseworker, org_admin" in notice.body


def test_a_role_change_is_mailed_to_the_person_without_any_secret(personas):
    colleague = personas["caseworker"].user
    User.objects.filter(pk=colleague.pk).update(roles=[Role.CASEWORKER, Role.ORG_ADMIN])
    personas["org_admin"].client.patch(f"/api/v1/users/{colleague.pk}/", {"roles": ["caseworker"]}, format="json")
    [notice] = sent_mails(colleague.email)
    assert notice.subject == "A change to your account" and "caseworker" in notice.body
    assert "token" not in notice.body.lower()


def test_a_totp_reset_and_an_own_password_change_are_mailed_to_the_person(personas):
    colleague = personas["caseworker"]
    personas["org_admin"].client.post(f"/api/v1/users/{colleague.user.pk}/reset-totp/")
    assert "second factor" in sent_mails(colleague.user.email)[-1].body
    fresh = Persona("again", user=User.objects.get(pk=colleague.user.pk))
    fresh.client.post("/api/v1/me/password/", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json")
    assert "You changed the password" in sent_mails(colleague.user.email)[-1].body
