"""The referral form with the keyboard alone: Tab, Shift+Tab, arrows, Space and Enter, never a click.

Every element the focus lands on must show it (an outline or a box shadow in its computed
style), and the focus must always move on: no keyboard trap. The case and its consent are
made through the services; the person then refers from the form by keyboard.
"""

from __future__ import annotations

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from referrals import services
from referrals.choices import ReferralKind, ReferralStatus, RequestedService, Urgency
from referrals.models import Referral
from tests.support import browser as b
from tests.support.flows import CHILD

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

REASON = "Needs a safe place tonight."


def is_field(tag: str, name: str, kind: str | None = None):
    """A test of the focused element: a ``tag`` (of type ``kind``) with the accessible name ``name``."""

    def test(element) -> bool:
        return (
            element.tag_name == tag
            and (kind is None or element.get_attribute("type") == kind)
            and b._words(element.accessible_name) == b._words(name)
        )

    test.__name__ = f"{tag} {kind or ''} {name!r}"
    return test


def test_a_caseworker_refers_with_the_keyboard_alone_and_always_sees_the_focus(browser, live_server, personas, orgs):
    hotline = personas["caseworker"].user
    case = services.case_open(actor=hotline, subject=dict(CHILD), phenomena=["teen_pimp"], region="BE-VLG")
    services.consent_record(actor=hotline, case=case, data={
        "given_by": "young_person", "method": "written", "purposes": ["care_referral"],
        "valid_from": timezone.localdate(),
    })
    b.signed_in_as(browser, live_server, hotline)
    b.open_page(browser, live_server, f"/app/cases/{case.pk}/referrals/new/")
    assert b.heading(browser) == "New referral"

    # The first Tab reaches the skip link; Enter on it leaves the header behind.
    skip = b.keys(browser, Keys.TAB)
    assert skip.accessible_name == "Skip to content" and b.focus_indicator(browser)
    b.keys(browser, Keys.ENTER)
    assert b.focused(browser).tag_name == "main"

    # The directory's filter: Enter in a field asks for the list again, in place (htmx); the focus stays.
    region_filter = b.tab_to(browser, is_field("input", "Region", "text"))
    assert region_filter.get_attribute("value") == "BE-VLG"  # pre-filled from the case
    with b.swapped(browser):
        b.keys(browser, (Keys.CONTROL, "a"), "BE-VLG", Keys.ENTER)
    assert b.focused(browser) == region_filter
    assert "1 member fits these filters." in b.page_text(browser)

    # The recipient: the first radio button of the list; Space ticks it.
    recipient = b.tab_to(browser, is_field("input", "Test shelter-be", "radio"))
    b.keys(browser, " ")
    assert recipient.is_selected()
    # Back to the filter's button with Shift+Tab: the list asked for again keeps the choice.
    b.tab_to(browser, "Show matching members", backwards=True)
    with b.swapped(browser):
        b.keys(browser, Keys.ENTER)
    recipient = b.field(b.part(browser, "Recipient"), "Test shelter-be")
    assert recipient.is_selected()
    b.tab_to(browser, is_field("input", "Test shelter-be", "radio"))

    # Kind: Tab lands on the ticked "Service referral"; the arrow moves to "Transfer of the lead" and ticks it.
    b.tab_to(browser, is_field("input", "Service referral", "radio"))
    transfer = b.keys(browser, Keys.ARROW_DOWN)
    assert transfer.accessible_name == "Transfer of the lead" and transfer.is_selected()
    assert b.focus_indicator(browser)

    # Urgency: nothing ticked yet, so Tab lands on the first; the arrow ticks the next.
    b.tab_to(browser, is_field("input", "Immediate", "radio"))
    urgent = b.keys(browser, Keys.ARROW_DOWN)
    assert urgent.accessible_name == "Urgent" and urgent.is_selected()

    # A list moves with the arrows, a text area takes what is typed, a checkbox is ticked with Space.
    service = b.tab_to(browser, is_field("select", "Requested service"))
    b.keys(browser, Keys.ARROW_DOWN)
    assert service.get_attribute("value") == RequestedService.SHELTER
    reason = b.tab_to(browser, is_field("textarea", "Reason"))
    b.keys(browser, REASON)
    assert reason.get_attribute("value") == REASON
    signal = b.tab_to(browser, is_field("input", "Changes in general behaviour", "checkbox"))
    b.keys(browser, " ")
    assert signal.is_selected()

    # The case's one consent is chosen already; the preview's button, and Shift+Tab back and forth.
    preview_button = b.tab_to(browser, "Preview what the recipient will see")
    before = b.tab_to(browser, lambda element: True, backwards=True)
    assert before != preview_button
    assert b.tab_to(browser, "Preview what the recipient will see") == preview_button
    old_page = browser.find_element(By.TAG_NAME, "html")
    b.keys(browser, Keys.ENTER)
    b.wait_for_new_page(browser, old_page)

    # The preview: what shelter-be will see, then its "Send" button, reached from the top by Tab.
    assert b.part(browser, "What Test shelter-be will see before accepting").text
    b.tab_to(browser, "Send to Test shelter-be", limit=150)
    old_page = browser.find_element(By.TAG_NAME, "html")
    b.keys(browser, Keys.ENTER)
    b.wait_for_new_page(browser, old_page)

    assert "The referral is sent to Test shelter-be." in b.page_text(browser)
    referral = Referral.objects.get(case=case)
    assert (referral.recipient, referral.kind, referral.urgency, referral.status) == (
        orgs["shelter-be"], ReferralKind.TRANSFER, Urgency.URGENT, ReferralStatus.SENT)
    assert referral.reason == REASON and referral.signals == ["general_behaviour"]
    assert b.console_errors(browser) == []  # no CSP refusal, no script error (htmx logs its own there)
