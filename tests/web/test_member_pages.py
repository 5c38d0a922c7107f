"""Membership pages for coordinators: the members, admitting one, suspending and re-admitting, inviting its org admin.

Each form does what the API's organisation endpoint does with the same input (the API's
serializer decides what is valid, the service what is allowed) and writes the service's audit
entry; refused input is a 422 that changes nothing; nobody but a coordinator may, and an
unknown member is the 404 page. An org admin is only ever invited: the coordinator learns no
credential and no account exists until the invitee accepts.
"""

from __future__ import annotations

import uuid

import pytest

from coalition.audit.models import AuditEntry
from coalition.mail.models import OutboundMail
from partners import services
from partners.choices import MembershipStatus, OrganisationKind
from partners.models import Invitation, Organisation, User
from tests.support.web import web_client_for

ADMIT = {
    "name": "Payoke BE", "slug": "payoke-be", "kind": OrganisationKind.NGO, "country": "BE",
    "phenomena": ["trafficking", "teen_pimp"], "languages": ["nl", "en"], "regions": "be-van, BE-BRU",
    "min_age": "12", "max_age": "23", "accepting_referrals": "on", "contact_email": "intake@payoke.example.org",
    "data_sharing_agreement_signed_on": "2026-01-15",
}
INVITE = {"first_name": "Ilse", "last_name": "Voorbeeld", "email": "ilse@payoke.example.org",
          "username": "payoke-admin", "language": "nl"}


def _coordinator(personas):
    return web_client_for(personas["coordinator"].user)


# --- the list -------------------------------------------------------------------------------------


def test_the_members_list_shows_every_organisation_with_its_membership(personas, orgs):
    response = _coordinator(personas).get("/app/members/")
    assert response.status_code == 200 and response.context["nav"] == "members"
    rows = response.context["rows"]
    assert {row["slug"] for row in rows} == set(Organisation.objects.values_list("slug", flat=True))
    shelter = next(row for row in rows if row["slug"] == "shelter-be")
    assert shelter["membership_status"] == "active" and shelter["accepting_referrals"] is True
    page = response.content.decode()
    assert orgs["shelter-be"].name in page and f"/app/members/{orgs['shelter-be'].pk}/" in page


def test_the_members_list_filters_by_membership_status_as_the_api_does(personas, orgs):
    Organisation.objects.filter(pk=orgs["care-nl"].pk).update(membership_status=MembershipStatus.SUSPENDED)
    client = _coordinator(personas)
    rows = client.get("/app/members/?membership_status=suspended").context["rows"]
    api = personas["coordinator"].client.get("/api/v1/organisations/?membership_status=suspended").json()["results"]
    assert [row["id"] for row in rows] == [row["id"] for row in api] == [str(orgs["care-nl"].pk)]
    refused = client.get("/app/members/?membership_status=gone")
    assert refused.context["form"].errors["membership_status"] and refused.context["rows"] == []


# --- admitting ------------------------------------------------------------------------------------


def test_admitting_a_member_creates_it_active_as_the_service_does(personas):
    response = _coordinator(personas).post("/app/members/admit/", ADMIT)
    assert response.status_code == 302
    admitted = Organisation.objects.get(slug="payoke-be")
    assert response["Location"] == f"/app/members/{admitted.pk}/"
    assert admitted.membership_status == MembershipStatus.ACTIVE and admitted.kind == OrganisationKind.NGO
    assert admitted.regions == ["BE-VAN", "BE-BRU"] and admitted.languages == ["nl", "en"]
    assert (admitted.min_age, admitted.max_age, admitted.accepting_referrals) == (12, 23, True)
    assert str(admitted.data_sharing_agreement_signed_on) == "2026-01-15"
    (entry,) = AuditEntry.objects.filter(action="organisation.admit", object_id=str(admitted.pk))
    assert entry.actor_user == personas["coordinator"].user.pk


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"slug": "hotline-be"}, "slug"),  # taken
        ({"regions": "Flanders"}, "regions"),
        ({"min_age": "20", "max_age": "12"}, "min_age"),
        ({"name": ""}, "name"),
        ({"kind": "club"}, "kind"),
    ],
    ids=["slug-taken", "bad-region", "ages-reversed", "no-name", "unknown-kind"],
)
def test_admitting_with_input_the_api_refuses_is_422_beside_the_field_and_admits_nothing(personas, change, field):
    before = Organisation.objects.count()
    response = _coordinator(personas).post("/app/members/admit/", ADMIT | change)
    assert response.status_code == 422
    assert field in response.context["form"].errors, response.context["form"].errors
    assert Organisation.objects.count() == before
    assert not AuditEntry.objects.filter(action="organisation.admit").exists()


# --- a member's page --------------------------------------------------------------------------------


def test_a_members_page_shows_its_entry_and_the_invitations_you_sent(personas, orgs):
    client = _coordinator(personas)
    care = orgs["care-nl"]
    assert client.post(f"/app/members/{care.pk}/invite-admin/", INVITE | {"username": "care-nl-admin-2"}).status_code == 302
    response = client.get(f"/app/members/{care.pk}/")
    assert response.status_code == 200
    assert response.context["o"]["id"] == str(care.pk)
    (invitation,) = response.context["invitations"]
    assert invitation["username"] == "care-nl-admin-2" and invitation["status"] == "pending"
    page = response.content.decode()
    assert f"/app/members/{care.pk}/suspend/" in page and "readmit" not in page
    assert "token" not in invitation


def test_a_member_page_lists_only_the_invitations_this_coordinator_sent(personas, orgs):
    care = orgs["care-nl"]
    services.invitation_create(
        actor=personas["outsider_admin"].user, organisation=care, email="cw@example.org", username="care-nl-cw-2",
        roles=["org_admin"],
    )
    assert _coordinator(personas).get(f"/app/members/{care.pk}/").context["invitations"] == []


# --- suspending and re-admitting ------------------------------------------------------------------


def test_suspending_then_readmitting_a_member_sets_its_membership_through_the_service(personas, orgs):
    client = _coordinator(personas)
    shelter = orgs["shelter-be"]
    assert client.get(f"/app/members/{shelter.pk}/suspend/").status_code == 200
    response = client.post(f"/app/members/{shelter.pk}/suspend/")
    assert response.status_code == 302 and response["Location"] == f"/app/members/{shelter.pk}/"
    shelter.refresh_from_db()
    assert shelter.membership_status == MembershipStatus.SUSPENDED
    assert client.get(f"/app/members/{shelter.pk}/readmit/").status_code == 200
    assert client.post(f"/app/members/{shelter.pk}/readmit/").status_code == 302
    shelter.refresh_from_db()
    assert shelter.membership_status == MembershipStatus.ACTIVE
    entries = AuditEntry.objects.filter(action="organisation.membership", object_id=str(shelter.pk)).order_by("seq")
    assert [entry.detail for entry in entries] == [{"status": "suspended"}, {"status": "active"}]


def test_suspending_twice_or_the_coordination_is_refused_and_changes_nothing(personas, orgs):
    client = _coordinator(personas)
    Organisation.objects.filter(pk=orgs["care-nl"].pk).update(membership_status=MembershipStatus.SUSPENDED)
    twice = client.post(f"/app/members/{orgs['care-nl'].pk}/suspend/")
    assert twice.status_code == 422 and "already has this membership status" in twice.content.decode()
    coordination = client.post(f"/app/members/{orgs['coordination'].pk}/suspend/")
    assert coordination.status_code == 422
    assert Organisation.objects.get(pk=orgs["coordination"].pk).membership_status == MembershipStatus.ACTIVE
    readmit_active = client.post(f"/app/members/{orgs['shelter-be'].pk}/readmit/")
    assert readmit_active.status_code == 422
    assert not AuditEntry.objects.filter(action="organisation.membership").exists()


# --- inviting the org admin ----------------------------------------------------------------------------


def test_inviting_an_org_admin_mails_a_link_and_creates_no_account(personas, orgs):
    care = orgs["care-nl"]
    page = _coordinator(personas).get(f"/app/members/{care.pk}/invite-admin/").content.decode()
    assert 'type="password"' not in page and "password" not in page.lower().split("<form", 1)[1].split("</form>")[0]
    response = _coordinator(personas).post(f"/app/members/{care.pk}/invite-admin/", INVITE)
    assert response.status_code == 302 and response["Location"] == f"/app/members/{care.pk}/"
    invitation = Invitation.objects.get(username="payoke-admin")
    assert invitation.organisation == care and invitation.roles == ["org_admin"]
    assert invitation.invited_by == personas["coordinator"].user and invitation.language == "nl"
    assert not User.objects.filter(username="payoke-admin").exists()
    assert OutboundMail.objects.filter(to=INVITE["email"]).count() == 1
    assert AuditEntry.objects.filter(action="organisation.add_admin", object_id=str(invitation.pk)).count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [({"email": "not-an-address"}, "email"), ({"username": "a b"}, "username"), ({"username": "care-nl-caseworker"}, "username")],
    ids=["bad-email", "bad-username", "username-taken"],
)
def test_an_invitation_the_api_refuses_is_422_and_sends_nothing(personas, orgs, change, field):
    response = _coordinator(personas).post(f"/app/members/{orgs['care-nl'].pk}/invite-admin/", INVITE | change)
    assert response.status_code == 422
    form = response.context["form"]
    assert field in form.errors, form.errors
    assert not Invitation.objects.filter(organisation=orgs["care-nl"]).exists()
    assert not OutboundMail.objects.filter(to=INVITE["email"]).exists()


# --- who may ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["caseworker", "recipient_caseworker", "outsider_caseworker", "org_admin", "auditor"])
def test_everyone_else_signed_in_gets_the_403_page_and_changes_nothing(personas, orgs, persona):
    client = web_client_for(personas[persona].user)
    shelter = orgs["shelter-be"]
    for path in ("/app/members/", "/app/members/admit/", f"/app/members/{shelter.pk}/",
                 f"/app/members/{shelter.pk}/suspend/", f"/app/members/{shelter.pk}/readmit/",
                 f"/app/members/{shelter.pk}/invite-admin/"):
        assert client.get(path).status_code == 403, path
    assert client.post("/app/members/admit/", ADMIT).status_code == 403
    assert client.post(f"/app/members/{shelter.pk}/suspend/").status_code == 403
    assert client.post(f"/app/members/{shelter.pk}/invite-admin/", INVITE).status_code == 403
    shelter.refresh_from_db()
    assert shelter.membership_status == MembershipStatus.ACTIVE
    assert not Organisation.objects.filter(slug="payoke-be").exists() and not Invitation.objects.exists()


@pytest.mark.parametrize("suffix", ["", "suspend/", "readmit/", "invite-admin/"])
def test_an_unknown_member_is_the_404_page(personas, suffix):
    assert _coordinator(personas).get(f"/app/members/{uuid.uuid4()}/{suffix}").status_code == 404


def test_the_members_list_costs_a_fixed_number_of_queries(personas, orgs, django_assert_max_num_queries):
    client = _coordinator(personas)
    client.get("/app/members/")
    with django_assert_max_num_queries(8):  # the eighth: every listed member's capacity, in one query
        assert client.get("/app/members/").status_code == 200
