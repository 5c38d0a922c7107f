"""The consultation pages in Chromium, in English: axe-core finds no violation, nothing is asked of another
origin, the Content-Security-Policy refuses nothing, and no template syntax shows.

The pages have real content, made as a person would through the pages: hotline-be's caseworker
goes from a case's referral form to "Ask first", asks shelter-be and care-nl (a refused form
first), and reads the question; shelter-be's caseworker finds it in the inbox and answers yes,
care-nl's answers no; the hotline's inbox shows the yes, and the hotline turns it into a
transfer (the case chosen, then the consent) and lands on the referral. The list (filtered
too) and the coordinator's metadata page are checked as well. English only, to keep the run
short: the other languages' words are the same templates' (tests/test_i18n.py).

Each page checked is also a screenshot, ``en-<number>-<page>.png`` (tests/support/browser.py).
"""

from __future__ import annotations

import re

import pytest

from referrals.models import Consultation, Referral
from tests.support import browser as b
from tests.support.consultations import QUESTION
from tests.support.pages_in_browser import Pages

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def test_the_consultation_pages_pass_axe_without_other_origins_or_csp_refusals(browser, live_server, flow, personas):
    case = flow.open_case()
    flow.consent(case["id"])

    pages = Pages(browser, live_server, "en")
    pages.as_person(personas["caseworker"].user)
    pages.open(f"/app/cases/{case['id']}/referrals/new/", "referral form, ask first")
    b.follow(browser, "Ask first, without sharing identity")
    pages.check("consultation form, pre-filled from the case")
    assert b.heading(browser) == "Ask first, without sharing identity"
    b.press(browser, "Ask these members")
    pages.check("consultation form, refused")
    assert b.visible_errors(browser)
    # The directory starts from the case's facts (teen pimps, BE-VLG): care-nl is listed once they are emptied.
    directory = b.part(browser, "Find members in the directory")
    b.select(directory, "Phenomenon", "Any phenomenon")
    b.fill(directory, "Region", "")
    b.press_in_place(directory, "Show matching members")
    pages.check("consultation form, the directory emptied")
    for member in ("Test shelter-be", "Test care-nl"):
        b.choose(browser, member)
    asking = b.part(browser, "About the young person")
    b.select(asking, "Phenomenon", "Teen pimps (loverboys)")
    b.select(asking, "Requested service", "Shelter or safe housing")
    b.fill(asking, "Age in years", "15")
    b.fill(browser, "Question", QUESTION)
    b.press(browser, "Ask these members")
    pages.check("consultation page, the asker")
    consultation = Consultation.objects.get()
    path = f"/app/consultations/{consultation.pk}/"

    pages.as_person(personas["recipient_caseworker"].user)
    pages.open("/app/", "inbox, asked of you")
    b.follow(b.part(browser, "Asked of you"), "Teen pimps (loverboys)")
    pages.check("consultation page, the asked member")
    b.choose(browser, "Yes, we can take it")
    b.fill(browser, "Note", "One bed free tonight.")
    b.press(browser, "Send the answer")
    pages.check("consultation page, answered")
    pages.as_person(personas["outsider_caseworker"].user)
    pages.open(path, "consultation page, a second asked member")
    b.choose(browser, "No")
    b.press(browser, "Send the answer")

    pages.as_person(personas["caseworker"].user)
    pages.open("/app/", "inbox, your questions with a yes")
    b.follow(b.part(browser, "Your questions"), re.compile("Turn into a referral.*Test shelter-be"))
    pages.check("turn a yes into a referral, the case")
    b.choose(browser, re.compile(r"^Case "))
    b.press(browser, "Use this case")
    pages.check("turn a yes into a referral, the referral")
    b.choose(browser, "Transfer of the lead")
    b.press(browser, "Send the referral to Test shelter-be")
    pages.check("the referral a yes became")
    assert Referral.objects.get().kind == "transfer"
    pages.open("/app/consultations/", "consultations")
    pages.open("/app/consultations/?direction=outgoing&status=answered", "consultations, filtered")
    pages.open("/app/consultations/?status=later", "consultations, a filter refused")
    assert b.visible_errors(browser)

    pages.as_person(personas["coordinator"].user)
    pages.open(path, "consultation page, a coordinator")
    assert b.heading(browser) == "A consultation between members"
    pages.open("/app/consultations/", "consultations of the coalition")

    assert not pages.failures, f"{len(pages.failures)} of {len(pages.checked)} pages fail:\n" + "\n".join(
        f"- {page}:\n    " + "\n    ".join(problems) for page, problems in pages.failures.items()
    )
