"""Every caseworker page in Chromium, in English, Dutch and French: axe-core finds no violation,
nothing is asked of another origin, the Content-Security-Policy refuses nothing, and no
template syntax shows (a two-line ``{# #}`` comment is printed, not hidden).

The pages are those of a sender (hotline-be) and of a recipient (shelter-be) with real
content: an inbox with rows in each list, cases, a case with its young person, consents
and referrals, forms empty and with their errors shown, a draft and its preview, a
re-route, referral pages with their action forms and messages, and the 404 page. The data
is made through the services (tests/support/matrix_objects.py) before the browser opens
anything; the live server is transactional, so each language's test makes its own.

Buttons are found by their accessible name in the page's language: the English name
translated with the app's own catalogue. Each page checked is also a screenshot,
``<language>-<number>-<page>.png`` in the screenshots folder (tests/support/browser.py).
"""

from __future__ import annotations

import uuid

import pytest
from selenium.webdriver.common.by import By

from partners import services as partner_services
from referrals import services
from referrals.choices import CaseStatus, ReferralStatus
from tests.support import browser as b
from tests.support.matrix_objects import case_in, hand_of, referral_in
from tests.support.pages_in_browser import Pages

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

LANGUAGES = ["en", "nl", "fr"]


@pytest.fixture
def network(personas, orgs):
    """hotline-be's cases and referrals with shelter-be, one in each state a caseworker page shows."""
    hotline, shelter = orgs["hotline-be"], orgs["shelter-be"]
    sent = referral_in(hotline, shelter, ReferralStatus.SENT)
    services.message_post(actor=hand_of(shelter), referral=sent, body="Can she come on Monday?")
    services.message_post(actor=hand_of(hotline), referral=sent, body="Yes, in the morning.")
    accepted = referral_in(hotline, shelter, ReferralStatus.ACCEPTED)
    declined = referral_in(hotline, shelter, ReferralStatus.DECLINED)
    draft = referral_in(hotline, shelter, ReferralStatus.DRAFT)
    closed = case_in(hotline, shelter, {"status": CaseStatus.CLOSED})
    referral_in(shelter, hotline, ReferralStatus.SENT)  # so that hotline-be's inbox has a row in each list
    return {"sent": sent, "accepted": accepted, "declined": declined, "draft": draft, "closed": closed,
            "case": sent.case, "consent": sent.consent}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_caseworker_page_passes_axe_without_other_origins_or_csp_refusals(
    browser, live_server, personas, network, language
):
    hotline, shelter = personas["caseworker"].user, personas["recipient_caseworker"].user
    for user in (hotline, shelter):
        partner_services.user_set_language(user=user, language=language)
    pages = Pages(browser, live_server, language)
    case, sent, accepted = network["case"], network["sent"], network["accepted"]

    # --- the sender: hotline-be ---------------------------------------------------------------------------
    pages.as_person(hotline)
    pages.open("/app/", "inbox, sender")
    assert len(browser.find_elements(By.CSS_SELECTOR, "main tbody tr")) == 3  # one in each list
    pages.open("/app/cases/", "cases list")
    pages.open("/app/cases/new/", "case open form")
    b.press(browser, pages.t("Open the case"))
    assert b.visible_errors(browser)
    pages.check("case open form with its errors")
    pages.open(f"/app/cases/{case.pk}/", "case page")
    pages.open(f"/app/cases/{case.pk}/edit/", "case edit form")
    pages.open(f"/app/cases/{case.pk}/consents/new/", "consent form")
    b.press(browser, pages.t("Record the consent"))
    assert b.visible_errors(browser)
    pages.check("consent form with its errors")
    pages.open(f"/app/cases/{case.pk}/consents/{network['consent'].pk}/withdraw/", "consent withdrawal confirmation")
    pages.open(f"/app/cases/{case.pk}/close/", "case close confirmation")
    pages.open(f"/app/cases/{network['closed'].pk}/reopen/", "case reopen confirmation")
    pages.open(f"/app/cases/{case.pk}/referrals/new/", "referral form with the directory")
    b.press(browser, pages.t("Preview what the recipient will see"))
    assert b.visible_errors(browser)
    pages.check("referral form with its errors")
    pages.open(f"/app/referrals/{network['draft'].pk}/edit/", "draft edit page")
    b.press(browser, pages.t("Preview what the recipient will see"))
    assert browser.find_elements(By.CSS_SELECTOR, "#preview button")
    pages.check("draft edit page with its preview")
    pages.open(f"/app/referrals/{network['declined'].pk}/reroute/", "re-route page")
    pages.open(f"/app/referrals/{sent.pk}/", "referral page, sender, with messages")
    pages.open(f"/app/referrals/{uuid.uuid4()}/", "404 page")
    pages.open("/app/account/", "account page")

    # --- the recipient: shelter-be ------------------------------------------------------------------------
    pages.as_person(shelter)
    pages.open("/app/", "inbox, recipient")
    pages.open(f"/app/referrals/{sent.pk}/", "referral page, recipient, before accepting")
    assert "Can she come on Monday?" in b.page_text(browser)
    decline = browser.find_element(By.XPATH, f"//summary[normalize-space()='{pages.t('Decline')}']")
    decline.click()
    pages.check("referral page, recipient, the decline form open")
    b.press_in_place(b.part(browser, pages.t("What you can do")), pages.t("Decline"))
    assert b.visible_errors(browser)
    pages.check("referral page, recipient, the decline form with its errors")
    pages.open(f"/app/referrals/{accepted.pk}/", "referral page, recipient, accepted")
    browser.find_element(By.XPATH, f"//summary[normalize-space()='{pages.t('Complete')}']").click()
    pages.check("referral page, recipient, the complete form open")
    pages.open(f"/app/cases/{accepted.case_id}/", "case page, supporting organisation")

    assert not pages.failures, f"{len(pages.failures)} of {len(pages.checked)} pages in {language!r} fail:\n" + "\n".join(
        f"- {page}:\n    " + "\n    ".join(problems) for page, problems in pages.failures.items()
    )
