"""A referral's whole life in Chromium, with three people, each in their own session.

hotline-be opens a case for a young person, records her consent, finds shelter-be in the
directory, previews what it will see and sends a transfer of the lead; shelter-be sees
the referral in its inbox without knowing who she is, accepts, meets her on the case page
and refers her on to care-nl for counselling; care-nl accepts, writes to shelter-be and
completes. Every field, button and link is found by its label or accessible name, as a
screen reader user finds them. The young person is the suite's fictional child
(tests/support/flows.py).

shelter-be refers under the consent the hotline recorded: given by the young person for
a referral for care to any active member, it covers care-nl too (a consent belongs to the
case, not to who recorded it), so the form offers it and needs no other.
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By

from partners import services as partner_services
from partners.choices import Phenomenon
from referrals.choices import InvolvementRole, ReferralKind, ReferralStatus
from referrals.models import Case, Involvement, Referral, ReferralMessage
from tests.support import browser as b
from tests.support.flows import CHILD
from tests.support.identity import assert_no_identity
from tests.support.personas import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

REASON = "Needs a safe place tonight; the contact goes through the school counsellor."
COUNSELLING_REASON = "Moves to North Holland next month and asks for counselling there."


def sign_in(browser, live_server, persona) -> None:
    """``persona`` signs in with the sign-in form (username and password) and lands on the inbox."""
    b.sign_in(browser, live_server, persona.user.username, PASSWORD)
    assert b.heading(browser) == "Inbox"
    assert persona.user.username in browser.find_element(By.TAG_NAME, "header").text


def sign_out(browser) -> None:
    b.press(browser, "Sign out")
    assert b.heading(browser) == "Sign in"
    assert not browser.find_elements(By.LINK_TEXT, "Inbox")


def page_is_clean(browser) -> None:
    """Nothing asked of another origin, nothing refused by the CSP, nothing for axe-core."""
    assert b.third_party_requests(browser) == []
    assert b.csp_violations(browser) == []
    b.assert_no_axe_violations(browser)


def test_hotline_refers_to_shelter_which_accepts_and_refers_on_to_care(browser, live_server, personas, orgs):
    hotline, shelter, care = personas["caseworker"], personas["recipient_caseworker"], personas["outsider_caseworker"]
    # care-nl's admin publishes in the directory that it takes teen-pimp cases of young people up to 23.
    partner_services.organisation_update(
        actor=personas["outsider_admin"].user,
        organisation=orgs["care-nl"],
        data={"phenomena": [Phenomenon.TEEN_PIMP, Phenomenon.GROOMING], "max_age": 23, "accepting_referrals": True},
    )
    assert orgs["shelter-be"].accepting_referrals and Phenomenon.TEEN_PIMP in orgs["shelter-be"].phenomena

    # --- hotline-be: a case, a consent, a transfer to shelter-be -------------------------------------------
    sign_in(browser, live_server, hotline)
    b.follow(browser, "Cases")
    b.follow(browser, "Open a case")
    b.fill(browser, "Given name", CHILD["given_name"])
    b.fill(browser, "Family name", CHILD["family_name"])
    b.fill_date(browser, "Date of birth", CHILD["date_of_birth"])
    b.select(browser, "Gender", "Female")
    b.select(browser, "Preferred language", "Dutch")
    b.fill(browser, "Municipality", CHILD["municipality"])
    b.fill(browser, "Safe contact", CHILD["safe_contact"])
    b.choose(browser, "Teen pimps (loverboys)")
    b.fill(browser, "Region", "BE-VLG")
    b.press(browser, "Open the case")
    assert b.heading(browser).startswith("Case ")
    assert CHILD["given_name"] in b.part(browser, "The young person").text

    b.follow(browser, "Record a consent")
    b.choose(browser, "The young person")
    b.choose(browser, "Written")
    b.choose(browser, "Referral for care")
    b.press(browser, "Record the consent")
    assert "The consent is recorded." in b.page_text(browser)

    b.follow(browser, "Refer")
    assert b.heading(browser) == "New referral"
    directory = b.part(browser, "Find members in the directory")
    assert b.field(directory, "Phenomenon").get_attribute("value") == Phenomenon.TEEN_PIMP  # pre-filled from the case
    assert b.field(directory, "Region").get_attribute("value") == "BE-VLG"
    recipients = b.part(browser, "Recipient")
    b.choose(recipients, "Test shelter-be")
    b.choose(browser, "Transfer of the lead")
    b.choose(browser, "Urgent")
    b.select(browser, "Requested service", "Shelter or safe housing")
    b.fill(browser, "Reason", REASON)
    b.choose(browser, "Changes in general behaviour")
    assert b.field(browser, "A consent recorded in the case").is_selected()  # the case's one consent, pre-chosen
    b.press(browser, "Preview what the recipient will see")

    preview = b.part(browser, "What Test shelter-be will see before accepting")
    seen = preview.text
    for triage in ("Transfer of the lead", "Teen pimps (loverboys)", "Urgent", "Shelter or safe housing", "16",
                   "Female", "BE-VLG", "Dutch", "Changes in general behaviour", REASON):
        assert triage in seen, f"{triage!r} missing from the preview"
    assert_no_identity(seen, "the preview")
    assert "does not get the young person's name, date of birth, municipality" in seen
    page_is_clean(browser)
    preview_screenshot = b.screenshot(browser, "referral-form-preview")

    b.press(preview, "Send to Test shelter-be")
    assert b.heading(browser) == "Referral: Teen pimps (loverboys)"
    assert "The referral is sent to Test shelter-be." in b.page_text(browser)
    sign_out(browser)

    # --- shelter-be: the referral without identity, accepted; the young person; on to care-nl ---------------
    sign_in(browser, live_server, shelter)
    incoming = b.part(browser, "Incoming referrals waiting for your answer")
    assert "Test hotline-be" in incoming.text and "Urgent" in incoming.text
    assert_no_identity(b.page_text(browser), browser.current_url)
    page_is_clean(browser)
    inbox_screenshot = b.screenshot(browser, "inbox")

    b.follow(incoming, re.compile("Teen pimps"))
    assert b.heading(browser) == "Referral: Teen pimps (loverboys)"
    assert REASON in b.part(browser, "Triage data").text
    assert_no_identity(b.page_text(browser), browser.current_url)
    b.press_in_place(browser, "Accept")
    assert "You accepted the referral." in b.part(browser, "What you can do").text
    assert "Accepted" in b.part(browser, "Status and deadlines").text
    page_is_clean(browser)
    b.screenshot(browser, "referral-page")

    b.follow(browser, "Open the case page")
    subject = b.part(browser, "The young person").text
    assert CHILD["given_name"] in subject and CHILD["safe_contact"] in subject
    assert "Test shelter-be" in b.part(browser, "Who held the case").text
    page_is_clean(browser)
    case_screenshot = b.screenshot(browser, "case-page")

    b.follow(browser, "Refer")
    directory = b.part(browser, "Find members in the directory")
    assert "Test care-nl" not in b.part(browser, "Recipient").text  # it serves the Netherlands, not BE-VLG
    b.fill(directory, "Region", "NL-NH")
    b.press_in_place(directory, "Show matching members")
    b.choose(b.part(browser, "Recipient"), "Test care-nl")
    b.choose(browser, "Service referral")
    b.choose(browser, "Normal")
    b.select(browser, "Requested service", "Counselling and therapy")
    b.fill(browser, "Reason", COUNSELLING_REASON)
    b.fill(b.part(browser, "About the young person"), "Region", "NL-NH")
    assert b.field(browser, "A consent recorded in the case").is_selected()  # the hotline's consent covers care-nl
    b.press(browser, "Preview what the recipient will see")
    preview = b.part(browser, "What Test care-nl will see before accepting")
    assert "Counselling and therapy" in preview.text
    assert_no_identity(preview.text, "the preview")
    b.press(preview, "Send to Test care-nl")
    assert "The referral is sent to Test care-nl." in b.page_text(browser)
    sign_out(browser)

    # --- care-nl: accepts, writes, completes ----------------------------------------------------------------
    sign_in(browser, live_server, care)
    incoming = b.part(browser, "Incoming referrals waiting for your answer")
    assert "Test shelter-be" in incoming.text
    b.follow(incoming, re.compile("Teen pimps"))
    assert_no_identity(b.page_text(browser), browser.current_url)
    b.press_in_place(browser, "Accept")
    thread = b.part(browser, "Messages")
    b.fill(thread, "Message", "We can see her on Tuesday; please tell her the address.")
    b.press_in_place(thread, "Send message")
    assert "We can see her on Tuesday" in b.part(browser, "Messages").text
    actions = b.part(browser, "What you can do")
    actions.find_element(By.XPATH, ".//summary[normalize-space()='Complete']").click()
    b.select(actions, "Outcome", "Service delivered")
    b.press_in_place(actions, "Complete")
    assert "You completed the referral." in b.part(browser, "What you can do").text
    assert "Completed" in b.part(browser, "History").text
    page_is_clean(browser)

    # --- what the network holds now -------------------------------------------------------------------------
    case = Case.objects.get()
    transfer = Referral.objects.get(case=case, kind=ReferralKind.TRANSFER)
    counselling = Referral.objects.get(case=case, kind=ReferralKind.SERVICE)
    assert (transfer.sender, transfer.recipient, transfer.status) == (
        orgs["hotline-be"], orgs["shelter-be"], ReferralStatus.ACCEPTED)
    assert (counselling.sender, counselling.recipient, counselling.status) == (
        orgs["shelter-be"], orgs["care-nl"], ReferralStatus.COMPLETED)
    custody = list(Involvement.objects.filter(case=case, role=InvolvementRole.LEAD).order_by("started_at"))
    assert [(i.organisation.slug, i.referral_id, i.ended_at is None) for i in custody] == [
        ("hotline-be", None, False), ("shelter-be", transfer.pk, True)]
    assert case.lead_organisation == orgs["shelter-be"]
    care_part = Involvement.objects.get(case=case, organisation=orgs["care-nl"])
    assert care_part.role == InvolvementRole.SUPPORTING and care_part.ended_at is not None
    assert care_part.ended_at <= timezone.now()
    assert ReferralMessage.objects.filter(referral=counselling, organisation=orgs["care-nl"]).count() == 1
    for shot in (inbox_screenshot, preview_screenshot, case_screenshot):
        assert shot.stat().st_size > 0
