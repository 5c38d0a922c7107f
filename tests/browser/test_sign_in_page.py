"""The sign-in page in Chromium: accessible in every language, nothing from elsewhere, nothing refused by the CSP.

Written against the real form (fields labelled "Username", "Password" and a one-time
code). While /app/sign-in/ is still the placeholder without a form, these tests are
expected failures (xfail) saying so; once the form exists they run for real.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.security.helpers import device_code, give_confirmed_totp_device
from tests.support import browser as b
from tests.support.personas import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

PLACEHOLDER = "/app/sign-in/ is still the placeholder without a form (the web app's sign-in lands separately)"


@pytest.fixture
def sign_in_page(browser, live_server):
    """The browser on the sign-in page (xfail while that page is the placeholder)."""
    b.open_page(browser, live_server, "/app/sign-in/")
    if not browser.find_elements(By.CSS_SELECTOR, "form input[type=password]"):
        pytest.xfail(PLACEHOLDER)
    return browser


@pytest.mark.parametrize("language", ["en", "nl", "fr"])
def test_the_sign_in_page_has_no_accessibility_violation_in_each_language(sign_in_page, language):
    b.choose_language(sign_in_page, language)

    assert b.page_language(sign_in_page) == language
    b.assert_no_axe_violations(sign_in_page)
    b.screenshot(sign_in_page, f"sign-in-{language}")


def test_the_sign_in_page_asks_nothing_of_another_origin_and_breaks_no_csp_rule(sign_in_page):
    b.choose_language(sign_in_page, "nl")

    assert b.third_party_requests(sign_in_page) == []
    assert b.csp_violations(sign_in_page) == []


def test_a_caseworker_signs_in_with_username_and_password(sign_in_page, live_server, personas):
    b.sign_in(sign_in_page, live_server, "hotline-be-caseworker", PASSWORD)

    assert "hotline-be-caseworker" in sign_in_page.find_element(By.TAG_NAME, "header").text
    assert b.csp_violations(sign_in_page) == []


def test_a_coordinator_signs_in_with_a_one_time_code(sign_in_page, live_server, personas):
    device = give_confirmed_totp_device(personas["coordinator"].user)

    b.sign_in(sign_in_page, live_server, "coordinator", PASSWORD, otp=device_code(device))

    assert "coordinator" in sign_in_page.find_element(By.TAG_NAME, "header").text
