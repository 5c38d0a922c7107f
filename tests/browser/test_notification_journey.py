"""A new immediate referral reaches shelter-be's caseworker through the header's count, in Chromium.

hotline-be's caseworker sends shelter-be a referral of immediate urgency through the API, as
their case system would; shelter-be's caseworker signs in with the sign-in form, sees in the
navigation that one notification is unread (visible, and in the link's accessible name),
opens the list, opens the notification and lands on the referral; the count is gone. Every
link and button is found by its accessible name, as a screen reader user finds them.
"""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By

from coalition.notifications.models import Notification
from tests.support import browser as b
from tests.support.identity import assert_no_identity
from tests.support.personas import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def notifications_link(browser):
    return b.link(browser.find_element(By.CSS_SELECTOR, "nav[aria-label=Main]"), re.compile(r"^Notifications"))


def test_shelter_learns_of_an_immediate_referral_from_the_header_and_opens_it(browser, live_server, flow, personas):
    shelter = personas["recipient_caseworker"].user
    _case, referral = flow.sent_referral(urgency="immediate")  # hotline-be's caseworker, through the API

    b.sign_in(browser, live_server, shelter.username, PASSWORD)
    assert b.heading(browser) == "Inbox"
    link = notifications_link(browser)
    assert link.accessible_name == "Notifications, 1 unread"
    assert link.find_element(By.CSS_SELECTOR, ".unread-count").text == "1"  # seen, not only heard

    b.follow(browser, "Notifications, 1 unread")
    assert b.heading(browser) == "Notifications"
    text = b.page_text(browser)
    assert "New immediate referral from Test hotline-be" in text
    assert "A new referral from Test hotline-be is waiting for Test shelter-be. Urgency: immediate." in text
    assert_no_identity(browser.page_source, "the notification list")
    assert b.third_party_requests(browser) == [] and b.csp_violations(browser) == []

    b.press(browser, "Open: New immediate referral from Test hotline-be")
    assert browser.current_url == f"{live_server.url}/app/referrals/{referral['id']}/"
    assert b.heading(browser).startswith("Referral: ")
    assert notifications_link(browser).accessible_name == "Notifications"
    assert not browser.find_elements(By.CSS_SELECTOR, "nav .unread-count")
    assert Notification.objects.get(user=shelter, referral=referral["id"]).read_at is not None
