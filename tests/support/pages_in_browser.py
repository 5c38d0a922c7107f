"""Checking pages in Chromium one after another, in one language, collecting what each one fails.

Used by the browser tests that walk every page of an area (tests/browser/test_axe_*.py): each
page is opened (or its current state checked after an action), then checked for its language,
shown template syntax, axe-core violations, requests to other origins and CSP refusals, and
saved as a screenshot ``<language>-<number>-<page>.png``. The test asserts ``failures`` is
empty at the end, so one run lists every page's problems at once.
"""

from __future__ import annotations

from django.utils import translation

from tests.support import browser as b


class Pages:
    """Opens pages in one language and records what each one fails (empty: all passed)."""

    def __init__(self, browser, live_server, language: str):
        self.browser = browser
        self.live_server = live_server
        self.language = language
        self.failures: dict[str, list[str]] = {}
        self.checked: list[str] = []

    def t(self, english: str) -> str:
        """``english`` as the page says it in its language."""
        with translation.override(self.language):
            return translation.gettext(english)

    def as_person(self, user) -> None:
        self.browser.delete_all_cookies()
        b.signed_in_as(self.browser, self.live_server, user)

    def open(self, path: str, name: str) -> None:
        b.open_page(self.browser, self.live_server, path)
        self.check(name)

    def check(self, name: str) -> None:
        """What the page now shown fails: its language, template syntax, axe-core, other origins, the CSP."""
        problems = []
        if b.page_language(self.browser) != self.language:
            problems.append(f"the page is in {b.page_language(self.browser)!r}")
        if b.heading(self.browser) in ("", "Sign in", self.t("Sign in")):
            problems.append(f"not the page expected: {b.heading(self.browser)!r}")
        leaked = [mark for mark in ("{#", "#}", "{%", "%}", "{{", "}}") if mark in b.page_text(self.browser)]
        if leaked:
            problems.append(f"template syntax shown on the page: {leaked}")
        problems += b.axe_violations(self.browser)
        problems += [f"a request to another origin: {url}" for url in b.third_party_requests(self.browser)]
        problems += [f"refused by the CSP: {message}" for message in b.csp_violations(self.browser)]
        self.checked.append(name)
        b.screenshot(self.browser, f"{self.language}-{len(self.checked):02d}-{name}")
        if problems:
            self.failures[f"{name} ({self.browser.current_url})"] = problems
