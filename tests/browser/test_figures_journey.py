"""A coordinator reads the coalition's figures in Chromium: from the navigation to a chart, its table and the CSV.

The figures are the demo's kind of history (tests/oversight/conftest.py makes the referrals):
counts by phenomenon split by gender, a hidden figure marked and explained, and the CSV
download that the page links, fetched with the browser's own session, equal to the API's.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By

from tests.support import browser as b
from tests.support.figures_data import Data

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def test_a_coordinator_reads_the_figures_by_phenomenon_and_gender_and_downloads_them(browser, live_server, personas, orgs):
    data = Data(orgs)
    sent = timezone.now() - timedelta(days=1)
    data.referrals(9, sent_at=sent, phenomenon="teen_pimp", gender="female")
    data.referrals(6, sent_at=sent, phenomenon="teen_pimp", gender="male")
    data.referrals(7, sent_at=sent, phenomenon="grooming", gender="female")
    data.referrals(2, sent_at=sent, phenomenon="grooming", gender="male")  # too small: hidden
    coordinator = personas["coordinator"]
    b.signed_in_as(browser, live_server, coordinator.user)
    b.open_page(browser, live_server, "/app/")

    b.follow(b.part(browser, "Main"), "Figures")
    assert b.heading(browser) == "Figures"
    form = b.part(browser, "Choose the figures")
    b.select(form, "Count by", "Phenomenon")
    b.select(form, "And split by", "Gender")
    b.press(form, "Show the figures")

    charts = browser.find_elements(By.CSS_SELECTOR, "figure.chart svg[role=img]")
    names = [chart.accessible_name for chart in charts]
    assert any("Referrals by phenomenon — gender: Female" in name for name in names), names
    table = b.part(browser, "The same figures as a table")
    rows = {row.find_element(By.TAG_NAME, "th").text: [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")}
    # Grooming × male (2) is hidden; then each line that would give it away loses another figure:
    # grooming × female (row total 9), teen pimps × male (the male total) and so teen pimps × female.
    assert rows == {"Grooming": ["hidden", "hidden", "9"], "Teen pimps (loverboys)": ["hidden", "hidden", "15"]}
    assert "24 referrals in all." in b.page_text(browser)
    assert "fewer than 5 referrals is not shown" in b.page_text(browser)

    link = b.link(browser, "Download these figures (CSV)").get_attribute("href")
    downloaded = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {credentials: 'same-origin'}).then(r => r.text()).then(done);", link)
    year = timezone.localdate().year
    api = coordinator.client.get(f"/api/v1/statistics/referrals/?year={year}&group_by=phenomenon,gender&format=csv")
    assert downloaded.replace("\r\n", "\n") == api.content.decode().replace("\r\n", "\n")
    assert "grooming,male,,true" in downloaded
