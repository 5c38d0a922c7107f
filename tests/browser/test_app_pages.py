"""What every page of the web app gets in Chromium: htmx and the app's own script and styles, from this origin.

Also proves the checks themselves see what they are for: a request to another origin, a
CSP refusal and an unlabelled field put into a page are each reported.
"""

from __future__ import annotations

import pytest

from tests.support import browser as b

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def test_htmx_and_the_app_styles_load_on_a_signed_in_page(browser, live_server, personas):
    b.signed_in_as(browser, live_server, personas["caseworker"].user)

    b.open_page(browser, live_server, "/app/")

    assert b.heading(browser)
    assert browser.execute_script("return window.htmx && window.htmx.version") == "2.0.11"
    assert browser.execute_script("return [...document.styleSheets].some(sheet => sheet.cssRules.length > 0)")
    assert b.third_party_requests(browser) == []
    assert b.csp_violations(browser) == []
    b.assert_no_axe_violations(browser)


def test_the_checks_see_a_third_party_request_a_csp_refusal_and_an_unlabelled_field(browser, live_server, personas):
    b.signed_in_as(browser, live_server, personas["caseworker"].user)
    b.open_page(browser, live_server, "/app/")
    browser.execute_script(
        """
        const image = document.createElement("img");
        image.src = "https://images.example.org/tracker.png";
        image.alt = "";
        document.body.append(image);
        document.querySelector("main").append(document.createElement("input"));
        """
    )

    assert b.third_party_requests(browser) == ["https://images.example.org/tracker.png"]
    assert any("images.example.org" in refusal for refusal in b.csp_violations(browser))
    assert any(violation.startswith("label (critical)") for violation in b.axe_violations(browser))


def test_a_form_posted_from_a_page_passes_the_csrf_check(browser, live_server, personas):
    """Under Referrer-Policy no-referrer Chromium sent `Origin: null` and Django refused every form with a 403."""
    b.signed_in_as(browser, live_server, personas["caseworker"].user)
    b.open_page(browser, live_server, "/app/")

    b.choose_language(browser, "en")

    assert b.heading(browser) == "Inbox"
