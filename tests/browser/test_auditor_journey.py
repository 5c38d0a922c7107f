"""The auditor's day in Chromium: search the trail, verify the chain, open a case's retention, export its subject.

The auditor signs in with a password and a one-time code, searches the trail for a closed
case's entries (ids and codes, never the young person), verifies the chain and reads its
verdict, follows the search to the case's retention page and downloads the subject-access
export, which lands as a JSON file in the browser's download folder and is recorded in the
trail. Fields, buttons and links are found by their label or accessible name.
"""

from __future__ import annotations

import json
import time

import pytest
from selenium.webdriver.common.by import By

from coalition.audit.models import AuditEntry
from referrals.choices import CaseStatus
from tests.security.helpers import device_code, give_confirmed_totp_device
from tests.support import browser as b
from tests.support.matrix_objects import SUBJECT, case_in
from tests.support.personas import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def page_is_clean(browser) -> None:
    """Nothing asked of another origin, nothing refused by the CSP, nothing for axe-core."""
    assert b.third_party_requests(browser) == []
    assert b.csp_violations(browser) == []
    b.assert_no_axe_violations(browser)


def shows_no_identity(text: str) -> bool:
    """None of the case's young person (tests/support/matrix_objects.py) is on the page."""
    return not any(SUBJECT[name] in text for name in ("given_name", "family_name", "date_of_birth"))


def trail_actions(browser) -> list[str]:
    """The action codes of the trail's rows, top (newest) first."""
    table = b.part(browser, "Entries of the trail, newest first")
    return [row.find_elements(By.TAG_NAME, "td")[1].text for row in table.find_elements(By.CSS_SELECTOR, "tbody tr")]


def downloaded(folder, *, suffix: str = ".json") -> list:
    """The files Chromium has finished downloading into ``folder`` (waits up to the usual time for one)."""
    deadline = time.monotonic() + b.WAIT_SECONDS
    while time.monotonic() < deadline:
        done = [path for path in folder.iterdir() if path.suffix == suffix]
        if done and not any(path.suffix == ".crdownload" for path in folder.iterdir()):
            return done
        time.sleep(0.1)
    return []


@pytest.fixture
def downloads(browser, tmp_path):
    """Downloads of the browser land in a folder of the test's own, and are refused again after it."""
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    yield tmp_path
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "default"})


def test_the_auditor_searches_the_trail_verifies_the_chain_and_exports_a_subject(
    browser, live_server, personas, orgs, downloads
):
    auditor = personas["auditor"].user
    case = case_in(orgs["hotline-be"], orgs["shelter-be"], {"status": CaseStatus.CLOSED})
    device = give_confirmed_totp_device(auditor)

    # --- signing in with a one-time code -------------------------------------------------------------------
    b.sign_in(browser, live_server, auditor.username, PASSWORD, otp=device_code(device))
    b.open_page(browser, live_server, "/app/audit/")
    assert b.heading(browser) == "Audit trail"

    # --- the trail of one case ------------------------------------------------------------------------------
    b.submit(browser, b.fill(browser, "Case id", str(case.pk)))
    actions = trail_actions(browser)
    assert actions[0] == "case.close" and actions[-1] == "case.open"
    assert {"referral.send", "referral.accept"} <= set(actions)
    assert shows_no_identity(b.page_text(browser))
    page_is_clean(browser)
    search = AuditEntry.objects.order_by("-seq").first()
    assert search.action == "audit.search" and search.actor_user == auditor.pk and search.case == case.pk

    # --- verifying the chain ---------------------------------------------------------------------------------
    b.follow(b.part(browser, "Main"), "Verify the chain")  # the navigation's entry
    assert b.heading(browser) == "Verify the audit chain"
    entries = AuditEntry.objects.count()
    b.press(browser, "Verify the chain")
    verdict = b.part(browser, "The chain is whole")
    assert f"Unbroken up to entry {entries}" in verdict.text
    page_is_clean(browser)
    assert AuditEntry.objects.order_by("-seq").first().action == "audit.verify"

    # --- the case's retention ------------------------------------------------------------------------------
    b.follow(browser, "Back to the trail")
    b.submit(browser, b.fill(browser, "Case id", str(case.pk)))
    b.follow(browser, f"Retention and rights of case {str(case.pk)[:8]}")
    assert b.heading(browser) == f"Retention of case {str(case.pk)[:8]}"
    text = b.page_text(browser)
    assert "Closed" in text and "Purge due" in text and "On legal hold" not in text
    assert shows_no_identity(text)
    page_is_clean(browser)

    # --- the subject-access export, as a download ------------------------------------------------------------
    b.follow(browser, "Export the subject's data")
    assert "recorded in the audit trail" in b.page_text(browser)
    page_is_clean(browser)
    b.button(browser, "Download the export").click()
    [export_file] = downloaded(downloads)
    assert export_file.name == f"subject-export-{str(case.pk)[:8]}.json"
    export = json.loads(export_file.read_text(encoding="utf-8"))
    assert export["case"] == str(case.pk)
    assert export["subject"]["given_name"] == SUBJECT["given_name"]
    assert export["audit_entries"][-1]["action"] == "subject.export"
    assert export["audit_entries"][-1]["actor_user"] == str(auditor.pk)
    assert b.heading(browser) == f"Export the subject of case {str(case.pk)[:8]}"  # a download leaves the page as it was
