"""A coordinator's review of legal-basis exceptions in Chromium, found by label and accessible name.

The coordinator opens the oversight dashboard, sees two exceptions awaiting review (the older
one overdue), opens the older one, reads its justification, flags it with a note, and is back
on the review queue, where it is gone and the fresh one waits; the fresh one is approved without
a note, and the queue is empty. The flag withdrew the pending referral and both reviews are in
the audit trail. Every page is clean (axe-core, no other origin, no CSP refusal) and shows
nothing of the young person.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from coalition.audit.models import AuditEntry
from referrals.choices import ExceptionReview, ReferralStatus
from referrals.models import LegalBasisException, Referral
from tests.support import browser as b
from tests.support.matrix_objects import JUSTIFICATION, SUBJECT
from tests.support.oversight_scene import oversight_scene

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

NOTE = "A move abroad is stated, but nothing shows it was imminent; ask the hotline to record consent."


def page_is_clean(browser) -> None:
    assert b.third_party_requests(browser) == []
    assert b.csp_violations(browser) == []
    b.assert_no_axe_violations(browser)
    text = b.page_text(browser)
    for value in (SUBJECT["given_name"], SUBJECT["family_name"]):
        assert value not in text


def test_a_coordinator_flags_one_exception_and_approves_the_other(browser, live_server, personas, orgs):
    scene = oversight_scene(orgs)
    old, fresh = scene.old_exception, scene.fresh_exception
    b.signed_in_as(browser, live_server, personas["coordinator"].user)

    # --- the dashboard: two exceptions await review, the older one overdue -----------------------------
    b.open_page(browser, live_server, "/app/oversight/")
    assert b.heading(browser) == "Oversight"
    queue = b.part(browser, "Legal-basis exceptions to review")
    assert "2 awaiting review, 1 of them for longer than the review period." in queue.text
    rows = b.part(browser, "The oldest exceptions awaiting review").find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == 2 and "Overdue for review" in rows[0].text and "Overdue for review" not in rows[1].text
    page_is_clean(browser)

    # --- the older exception: its justification, the review form ---------------------------------------
    b.follow(queue, f"Review the exception of referral {str(old.referral_id)[:8]}")
    assert b.heading(browser) == f"Exception of referral {str(old.referral_id)[:8]}"
    assert JUSTIFICATION in b.part(browser, "Justification").text
    assert "Overdue for review" in b.part(browser, "The exception").text
    page_is_clean(browser)
    b.choose(browser, "Flag: the legal basis does not hold")
    b.fill(browser, "Note", NOTE)
    b.press(browser, "Record the review")

    # --- back on the queue: it is gone, the fresh one waits ---------------------------------------------
    assert b.heading(browser) == "Legal-basis exceptions"
    assert "The exception is flagged." in browser.find_element(By.CSS_SELECTOR, ".messages").text
    table = b.part(browser, "Legal-basis exceptions")
    links = [e.accessible_name for e in table.find_elements(By.CSS_SELECTOR, "tbody th a")]
    assert links == [f"Review the exception of referral {str(fresh.referral_id)[:8]}"]
    page_is_clean(browser)
    old.refresh_from_db()
    assert old.review_status == ExceptionReview.FLAGGED and old.review_note == NOTE
    assert Referral.objects.get(pk=old.referral_id).status == ReferralStatus.WITHDRAWN

    # --- the fresh one is approved without a note; the queue is empty ------------------------------------
    b.follow(table, f"Review the exception of referral {str(fresh.referral_id)[:8]}")
    b.choose(browser, "Approve: the legal basis holds")
    b.press(browser, "Record the review")
    assert "The exception is approved." in browser.find_element(By.CSS_SELECTOR, ".messages").text
    assert "No exception matches." in b.page_text(browser)
    page_is_clean(browser)
    assert LegalBasisException.objects.get(pk=fresh.pk).review_status == ExceptionReview.APPROVED
    assert Referral.objects.get(pk=fresh.referral_id).status == ReferralStatus.SENT
    reviews = AuditEntry.objects.filter(action="exception.review", actor_user=personas["coordinator"].user.pk)
    assert sorted(entry.object_id for entry in reviews) == sorted([str(old.pk), str(fresh.pk)])

    # --- the dashboard agrees ----------------------------------------------------------------------------
    b.open_page(browser, live_server, "/app/oversight/")
    assert "No exception awaits review." in b.part(browser, "Legal-basis exceptions to review").text
