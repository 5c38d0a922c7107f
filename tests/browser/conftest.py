"""Fixtures of the browser tests: one headless Chromium for the run, a clean page for each test.

The app is served by pytest-django's ``live_server`` (a real HTTP server in a thread,
DEBUG off as in production, static files served) on the test database; the tests'
data and the server share it, so every browser test runs with transactional database
access (``live_server`` asks for it) and needs PostgreSQL (see ``postgres_only``).

Chromium missing: the tests skip, or fail where COALITION_REQUIRE_BROWSER=1 (CI).
The helpers that take the driver are in tests/support/browser.py.
"""

from __future__ import annotations

import pytest

from tests.support import browser as support


@pytest.fixture(scope="session")
def chromium():
    """The run's one headless Chromium (started on first use, quit at the end)."""
    reason = support.browser_missing()
    if reason:
        if support.REQUIRED:
            pytest.fail(f"COALITION_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    running = support.start_chromium()
    yield running.driver
    running.quit()


@pytest.fixture
def browser(request, chromium, live_server):
    """The Selenium driver, on a blank page without cookies or logs, for a test marked ``browser``."""
    assert request.node.get_closest_marker("browser"), "mark browser tests with pytest.mark.browser (make test-browser)"
    support.serve(chromium, live_server)
    support.reset(chromium)
    yield chromium
    support.reset(chromium)
