"""The API's documentation page (Swagger UI) renders in Chromium under the site's CSP, from this origin alone."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.support import browser as b

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def test_swagger_ui_renders_the_schema_with_nothing_from_another_origin(browser, live_server, settings):
    settings.PUBLIC_API_DOCS = True

    b.open_page(browser, live_server, "/api/docs/")

    operations = WebDriverWait(browser, b.WAIT_SECONDS).until(
        ec.presence_of_all_elements_located((By.CSS_SELECTOR, ".opblock-summary-path"))
    )
    assert "/api/v1/referrals/" in {operation.text for operation in operations}
    assert b.third_party_requests(browser) == []
    assert b.csp_violations(browser) == []
