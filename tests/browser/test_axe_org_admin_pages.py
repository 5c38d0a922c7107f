"""Every page of the org admin in Chromium, in English, Dutch and French: axe-core finds no violation,
nothing is asked of another origin, the Content-Security-Policy refuses nothing, and no template
syntax shows.

The pages are hotline-be's admin's with real content: people (active, deactivated, with and
without a second factor) and open invitations (mailed, waiting for approval), the invitation
form empty and with its errors, a colleague's page and the admin's own with a refused change of
roles beside the field, each confirmation (deactivate, reactivate, password reset, second-factor
reset, resend, revoke) and a refused one with its error (nobody resets their own password here), the requests for approval (one the
admin may decide, one they asked for themselves, one decided), the directory profile empty and
with its errors, the settings, and the capacity empty and with its errors. The data is made through the services before the browser
opens anything; the live server is transactional, so each language's test makes its own.

Each page checked is also a screenshot, ``<language>-<number>-<page>.png`` in the screenshots
folder (tests/support/browser.py).
"""

from __future__ import annotations

import re

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from partners import services
from partners.choices import ApiKeyScope, Role
from partners.models import AccessApproval, ApprovalStatus
from tests.support import browser as b
from tests.support.pages_in_browser import Pages
from tests.support.personas import make_user

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

LANGUAGES = ["en", "nl", "fr"]
PEOPLE = "/app/organisation/people/"
APPROVALS = "/app/organisation/approvals/"


@pytest.fixture
def organisation(personas, orgs):
    """hotline-be's people, invitations and requests, one of each kind the admin's pages show."""
    hotline = orgs["hotline-be"]
    admin, colleague = personas["org_admin"].user, personas["caseworker"].user
    second_admin = make_user("hotline-be-second-admin", hotline, [Role.ORG_ADMIN])
    TOTPDevice.objects.create(user=second_admin, name="default", confirmed=True)
    former = make_user("hotline-be-former", hotline, [Role.CASEWORKER])
    services.user_update(actor=admin, user=former, data={"is_active": False})
    mailed = services.invitation_create(
        actor=admin, organisation=hotline, email="nova@example.org", username="hotline-be-nova",
        roles=[Role.ORG_ADMIN], first_name="Nova",
    )
    # Asked by the second admin: the persona may decide these two.
    waiting_invitation = services.invitation_create(
        actor=second_admin, organisation=hotline, email="carer@example.org", username="hotline-be-carer",
        roles=[Role.CASEWORKER],
    )
    key = services.api_key_create(actor=second_admin, name="Case system", scopes=[ApiKeyScope.REFERRALS_READ])
    # Asked by the persona: someone else decides.
    own = services.invitation_create(
        actor=admin, organisation=hotline, email="helper@example.org", username="hotline-be-helper",
        roles=[Role.CASEWORKER],
    )
    return {
        "admin": admin, "colleague": colleague, "former": former, "mailed": mailed,
        "invitation_request": AccessApproval.objects.get(invitation=waiting_invitation),
        "key_request": AccessApproval.objects.get(api_key=key.api_key),
        "own_request": AccessApproval.objects.get(invitation=own),
        "decided": AccessApproval.objects.filter(organisation=hotline, status=ApprovalStatus.APPROVED).first(),
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_org_admin_page_passes_axe_without_other_origins_or_csp_refusals(
    browser, live_server, organisation, language
):
    admin, colleague, former = organisation["admin"], organisation["colleague"], organisation["former"]
    services.user_set_language(user=admin, language=language)
    pages = Pages(browser, live_server, language)
    pages.as_person(admin)

    # --- people and invitations -----------------------------------------------------------------------
    pages.open(PEOPLE, "people")
    assert "hotline-be-former" in b.page_text(browser) and "hotline-be-nova" in b.page_text(browser)
    pages.open(f"{PEOPLE}invite/", "invitation form")
    b.press(browser, pages.t("Send the invitation"))
    assert b.visible_errors(browser)
    pages.check("invitation form with its errors")
    mailed = organisation["mailed"]
    pages.open(f"/app/organisation/invitations/{mailed.pk}/resend/", "invitation resend confirmation")
    pages.open(f"/app/organisation/invitations/{mailed.pk}/revoke/", "invitation revoke confirmation")

    # --- a colleague, and the admin themself -----------------------------------------------------------
    pages.open(f"{PEOPLE}{colleague.pk}/", "person page")
    pages.open(f"{PEOPLE}{colleague.pk}/deactivate/", "deactivation confirmation")
    pages.open(f"{PEOPLE}{colleague.pk}/password-reset/", "password reset confirmation")
    pages.open(f"{PEOPLE}{colleague.pk}/second-factor-reset/", "second-factor reset confirmation")
    pages.open(f"{PEOPLE}{former.pk}/", "person page, deactivated")
    pages.open(f"{PEOPLE}{former.pk}/reactivate/", "reactivation confirmation")
    pages.open(f"{PEOPLE}{admin.pk}/", "own person page")
    b.choose(browser, pages.t("Caseworker"))
    b.press(browser, pages.t("Save the roles"))
    assert b.visible_errors(browser)
    pages.check("own person page with the refused change of roles")
    pages.open(f"{PEOPLE}{admin.pk}/password-reset/", "own password reset confirmation")
    b.press(browser, pages.t("Send the link"))
    assert b.visible_errors(browser)
    pages.check("own password reset refused")

    # --- approvals ------------------------------------------------------------------------------------
    pages.open(APPROVALS, "requests for approval")
    pages.open(f"{APPROVALS}{organisation['invitation_request'].pk}/", "invitation request, may decide")
    pages.open(f"{APPROVALS}{organisation['key_request'].pk}/", "key request, may decide")
    pages.open(f"{APPROVALS}{organisation['own_request'].pk}/", "own request, someone else decides")
    pages.open(f"{APPROVALS}{organisation['decided'].pk}/", "decided request")

    # --- the organisation -------------------------------------------------------------------------------
    pages.open("/app/organisation/", "directory profile")
    # A required field's label ends with "(required)" in the page's language.
    b.fill(browser, re.compile("^" + re.escape(pages.t("Youngest age taken"))), "30")
    b.fill(browser, pages.t("Regions"), "Flanders")
    b.press(browser, pages.t("Save the profile"))
    assert b.visible_errors(browser)
    pages.check("directory profile with its errors")
    pages.open("/app/organisation/settings/", "settings")
    pages.open("/app/organisation/capacity/", "capacity")
    b.fill(b.part(browser, pages.t("Shelter or safe housing")), pages.t("Places available"), "-1")
    b.press(browser, pages.t("Publish the capacity"))
    assert b.visible_errors(browser)
    pages.check("capacity with its errors")

    assert not pages.failures, f"{len(pages.failures)} of {len(pages.checked)} pages in {language!r} fail:\n" + "\n".join(
        f"- {page}:\n    " + "\n    ".join(problems) for page, problems in pages.failures.items()
    )
