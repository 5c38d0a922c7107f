"""The demo coalition (README, "Try it"): a stable, fictional cast anyone can log in as."""

from __future__ import annotations

import base64
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from partners.choices import OrganisationKind, Role
from partners.models import Organisation, User
from referrals.choices import CaseStatus, ReferralStatus
from referrals.models import Case, Referral
from tests.support.schema import SchemaCheckedClient

DEMO_PASSWORD = "demo-password-for-the-tests-2026"
TOTP_SECRET = "JBSWY3DPEHPK3PXP"

PARTNERS = {
    "hotline-be": (OrganisationKind.HOTLINE, "BE"),
    "ecpat-be": (OrganisationKind.NGO, "BE"),
    "shelter-be": (OrganisationKind.SHELTER, "BE"),
    "streetwork-be": (OrganisationKind.CARE_PROVIDER, "BE"),
    "police-be": (OrganisationKind.POLICE_LIAISON, "BE"),
    "care-nl": (OrganisationKind.CARE_PROVIDER, "NL"),
    "expertise-nl": (OrganisationKind.NGO, "NL"),
    "ngo-nl": (OrganisationKind.NGO, "NL"),
}


@pytest.fixture(autouse=True)
def _no_demo_variables(monkeypatch):
    # `make` exports DEMO_PASSWORD and DEMO_TOTP_SECRET; these tests decide for themselves.
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    monkeypatch.delenv("DEMO_TOTP_SECRET", raising=False)


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def seeded(db) -> str:
    return seed(password=DEMO_PASSWORD, totp_secret=TOTP_SECRET)


def current_code(secret: str = TOTP_SECRET) -> str:
    return f"{totp(base64.b32decode(secret)):06d}"


def login(username: str, password: str = DEMO_PASSWORD, otp: str | None = None):
    body = {"username": username, "password": password}
    if otp is not None:
        body["otp"] = otp
    return SchemaCheckedClient().post("/api/v1/auth/token/", body, format="json")


def test_seed_creates_the_nine_organisations_with_their_kinds_and_countries(seeded):
    organisations = {o.slug: o for o in Organisation.objects.all()}
    assert set(organisations) == {*PARTNERS, "coordination"}
    for slug, (kind, country) in PARTNERS.items():
        assert (organisations[slug].kind, organisations[slug].country) == (kind, country), slug
        assert organisations[slug].is_active_member and organisations[slug].accepting_referrals
    assert organisations["coordination"].kind == OrganisationKind.COORDINATOR


def test_seed_creates_a_caseworker_and_an_admin_per_partner(seeded):
    for slug in PARTNERS:
        caseworker = User.objects.get(username=f"{slug}-caseworker")
        admin = User.objects.get(username=f"{slug}-admin")
        assert (caseworker.organisation.slug, caseworker.roles) == (slug, [Role.CASEWORKER])
        assert (admin.organisation.slug, admin.roles) == (slug, [Role.ORG_ADMIN])


def test_seed_puts_the_coordinator_and_the_auditor_in_the_coordination(seeded):
    coordinator, auditor = User.objects.get(username="coordinator"), User.objects.get(username="auditor")
    assert (coordinator.organisation.slug, coordinator.roles) == ("coordination", [Role.COORDINATOR])
    assert (auditor.organisation.slug, auditor.roles) == ("coordination", [Role.AUDITOR])
    # Coalition roles only in the coordination, and no caseworker there.
    for user in User.objects.select_related("organisation"):
        if user.organisation.slug == "coordination":
            assert set(user.roles) <= {Role.COORDINATOR, Role.AUDITOR, Role.ORG_ADMIN}, user.username
        else:
            assert not {Role.COORDINATOR, Role.AUDITOR} & set(user.roles), user.username


def test_every_demo_user_has_the_given_password(seeded):
    users = list(User.objects.all())
    assert len(users) >= 2 * len(PARTNERS) + 2
    assert all(user.check_password(DEMO_PASSWORD) for user in users)


def test_every_user_who_needs_mfa_gets_the_demo_totp_secret(seeded):
    key_hex = base64.b32decode(TOTP_SECRET).hex()
    for user in User.objects.all():
        devices = list(TOTPDevice.objects.filter(user=user))
        if user.requires_mfa:
            assert [(d.key, d.confirmed) for d in devices] == [(key_hex, True)], user.username
        else:
            assert devices == [], user.username


def test_running_the_seed_twice_creates_nothing_and_keeps_passwords(seeded):
    counts = (Organisation.objects.count(), User.objects.count(), TOTPDevice.objects.count())
    hashes = dict(User.objects.values_list("username", "password"))
    output = seed(password="another-password-entirely-99", totp_secret=TOTP_SECRET)
    assert (Organisation.objects.count(), User.objects.count(), TOTPDevice.objects.count()) == counts
    assert dict(User.objects.values_list("username", "password")) == hashes
    assert User.objects.get(username="hotline-be-caseworker").check_password(DEMO_PASSWORD)
    assert "existing" in output and " new" not in output


def test_the_seed_adds_the_demo_cases_of_referrals_once(seeded):
    """partners' command runs the seeder referrals registered, without importing referrals."""
    assert "Created 7 fictional demo cases" in seeded
    assert "Created a fictional history of 48 closed cases over the past 6 months." in seeded
    assert Case.objects.count() == 7 + 48
    assert "demo cases" not in seed(password=DEMO_PASSWORD)
    assert Case.objects.count() == 7 + 48


def test_the_history_gives_the_figures_page_months_of_answered_referrals(seeded):
    """Back-dated referrals over six months, each answered after sending and before its case was closed."""
    now = timezone.now()
    history = Referral.objects.filter(sent_at__lt=now - timedelta(days=13))
    assert history.count() == 48
    assert history.filter(sent_at__lt=now - timedelta(days=150)).exists()
    assert {r.status for r in history} == {ReferralStatus.COMPLETED, ReferralStatus.DECLINED}
    for referral in history:
        assert referral.created_at < referral.sent_at < referral.acknowledged_at
        decided = referral.accepted_at or referral.declined_at
        assert referral.acknowledged_at < decided < now
        assert referral.case.status == CaseStatus.CLOSED
    assert len({r.sent_at.strftime("%Y-%m") for r in history}) >= 6


def test_the_output_lists_every_login_but_never_the_password(seeded):
    for user in User.objects.all():
        assert user.username in seeded
    assert DEMO_PASSWORD not in seeded
    assert TOTP_SECRET not in seeded


def test_a_caseworker_logs_in_with_the_demo_password(seeded):
    response = login("shelter-be-caseworker")
    assert response.status_code == 200, response.content
    assert response.json()["mfa_enrolment_required"] is False


@pytest.mark.parametrize("username", ["coordinator", "hotline-be-admin", "auditor"])
def test_a_user_who_needs_mfa_logs_in_with_a_code_from_the_demo_secret(seeded, username):
    assert login(username).status_code == 401  # the code is required
    response = login(username, otp=current_code())
    assert response.status_code == 200, response.content
    assert response.json()["mfa_enrolment_required"] is False
    me = SchemaCheckedClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    body = me.get("/api/v1/me/").json()
    assert body["username"] == username
    assert body["mfa"]["verified_for_this_login"] is True


def test_a_code_from_another_secret_does_not_log_in(seeded):
    assert login("coordinator", otp=current_code("GEZDGNBVGY3TQOJQ")).status_code == 401


def test_the_seed_refuses_to_run_without_a_password(db):
    with pytest.raises(CommandError, match="password"):
        seed()
    with pytest.raises(CommandError):
        seed(password="")
    assert not Organisation.objects.exists()
    assert not User.objects.exists()


def test_the_seed_takes_its_password_and_secret_from_the_environment(db, monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", DEMO_PASSWORD)
    monkeypatch.setenv("DEMO_TOTP_SECRET", TOTP_SECRET)
    seed()
    assert User.objects.get(username="coordinator").check_password(DEMO_PASSWORD)
    assert TOTPDevice.objects.filter(user__username="coordinator", confirmed=True).exists()


def test_the_seed_refuses_a_secret_that_is_not_base32(db):
    with pytest.raises(CommandError, match="base32"):
        seed(password=DEMO_PASSWORD, totp_secret="not base32!")
    assert not User.objects.exists()


def test_without_a_secret_mfa_users_must_enrol_first(db):
    seed(password=DEMO_PASSWORD)
    assert not TOTPDevice.objects.exists()
    response = login("coordinator")
    assert response.status_code == 200
    assert response.json()["mfa_enrolment_required"] is True


def test_the_demo_notifies_without_the_history_and_shelter_be_has_an_on_call_address(seeded):
    """The demo's cases told their people (the notifications' hook); the back-dated history told nobody."""
    from coalition.notifications.models import Notification

    history = Referral.objects.filter(sent_at__lt=timezone.now() - timedelta(days=13)).values("pk")
    assert not Notification.objects.filter(referral__in=history).exists()
    told = set(Notification.objects.values_list("user__username", "kind"))
    assert ("shelter-be-caseworker", "referral_sent") in told
    assert ("hotline-be-caseworker", "referral_answered") in told
    assert ("coordinator", "exception") in told
    assert Organisation.objects.get(slug="shelter-be").on_call_email == "on-call@shelter-be.example.org"
    # The street work's immediate referral was sent three hours ago: overdue, and escalated by the worker's jobs.
    late = Referral.objects.get(sender__slug="streetwork-be", recipient__slug="shelter-be")
    assert late.acknowledge_due < timezone.now() and late.status == ReferralStatus.SENT
    assert Notification.objects.get(referral=late.pk, kind="referral_sent").due_at == late.acknowledge_due


def test_with_matching_on_the_demo_holds_one_match_between_care_nl_and_ngo_nl(db, settings):
    """make run turns matching on: Mila is known to care-nl and ngo-nl; Eva to care-nl alone."""
    from referrals.models import Match, MatchKey

    settings.MATCH_ENABLED = True
    seed(password=DEMO_PASSWORD)
    [match] = Match.objects.select_related("organisation_a", "organisation_b")
    assert {match.organisation_a.slug, match.organisation_b.slug} == {"care-nl", "ngo-nl"}
    assert match.status == "open"
    assert MatchKey.objects.values("case").distinct().count() == Case.objects.count()  # every demo subject keyed


def test_the_demo_holds_answered_consultations_with_a_yes_to_turn_into_a_referral(seeded):
    from referrals.models import Consultation, ConsultationRequest

    assert "Created 2 answered fictional consultations." in seeded
    assert Consultation.objects.count() == 2
    answers = set(ConsultationRequest.objects.values_list("organisation__slug", "answer"))
    assert answers == {("shelter-be", "yes"), ("ecpat-be", "waitlist"), ("ngo-nl", "no")}
    assert not ConsultationRequest.objects.filter(referral__isnull=False).exists()
    assert "consultations" not in seed(password=DEMO_PASSWORD)
