"""Every page of the auditor in Chromium, in English, Dutch and French: axe-core finds no violation,
nothing is asked of another origin, the Content-Security-Policy refuses nothing, and no
template syntax shows.

The pages hold real content: a trail with entries of a case's whole life, the trail's search
with its errors, the verification page before and after verifying (an intact chain, then a
tampered one), a closed case's retention page with and without a legal hold, the hold form
empty and with its error, the release, export and erasure confirmations (erasure with its
error), a case's page after its erasure, and the 404 page. The data is made through the
services (tests/support/matrix_objects.py) before the browser opens anything; the live server
is transactional, so each language's test makes its own. Each page checked is also a
screenshot, ``<language>-<number>-<page>.png`` (tests/support/browser.py).
"""

from __future__ import annotations

import re
import uuid

import pytest

from coalition.audit.models import AuditEntry
from partners import services as partner_services
from referrals import retention
from referrals.choices import CaseStatus, LegalHoldReason
from tests.support import browser as b
from tests.support.audit_chain import tamper
from tests.support.matrix_objects import case_in
from tests.support.pages_in_browser import Pages

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

LANGUAGES = ["en", "nl", "fr"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_auditor_page_passes_axe_without_other_origins_or_csp_refusals(
    browser, live_server, personas, orgs, language
):
    auditor = personas["auditor"].user
    partner_services.user_set_language(user=auditor, language=language)
    closed = case_in(orgs["hotline-be"], orgs["shelter-be"], {"status": CaseStatus.CLOSED})
    held = case_in(orgs["hotline-be"], orgs["shelter-be"], {"status": CaseStatus.CLOSED})
    retention.legal_hold_set(actor=auditor, case=held, reason=LegalHoldReason.CRIMINAL_INVESTIGATION)
    open_case = case_in(orgs["hotline-be"], orgs["shelter-be"], {})
    pages = Pages(browser, live_server, language)
    pages.as_person(auditor)

    # --- the trail and its verification -------------------------------------------------------------------
    pages.open("/app/audit/", "trail, newest entries")
    pages.open(f"/app/audit/?case={closed.pk}", "trail of one case")
    b.fill(browser, pages.t("Case id"), "not-a-case")
    b.fill(browser, pages.t("Person (id)"), "nobody")
    b.press(browser, pages.t("Search"))
    assert b.visible_errors(browser)
    pages.check("trail search with its errors")
    pages.open("/app/audit/verify/", "verification, before verifying")
    b.press(browser, pages.t("Verify the chain"))
    assert pages.t("The chain is whole") in b.page_text(browser)
    pages.check("verification, an intact chain")

    # --- a case's retention, the legal hold, the subject's rights ------------------------------------------
    case_path = f"/app/audit/cases/{closed.pk}/"
    pages.open(case_path, "retention of a closed case")
    pages.open(f"/app/audit/cases/{held.pk}/", "retention of a case on legal hold")
    pages.open(f"/app/audit/cases/{open_case.pk}/", "retention of an open case")
    pages.open(case_path + "hold/", "legal hold form")
    b.press(browser, pages.t("Put the case on legal hold"))
    assert b.visible_errors(browser)
    pages.check("legal hold form with its error")
    pages.open(f"/app/audit/cases/{held.pk}/release/", "release confirmation")
    pages.open(case_path + "export/", "export confirmation")
    pages.open(case_path + "erase/", "erasure confirmation")
    b.press(browser, pages.t("Erase the subject's data"))
    assert b.visible_errors(browser)
    pages.check("erasure confirmation with its error")
    # A required field's label ends with "(required)" in the page's language.
    b.fill(browser, re.compile("^" + re.escape(pages.t("Case reference"))), str(closed.pk)[:8])
    b.press(browser, pages.t("Erase the subject's data"))
    pages.check("retention of an erased case, with the message")
    pages.open(f"/app/audit/cases/{uuid.uuid4()}/", "404 page")

    # --- a broken chain's verdict ---------------------------------------------------------------------------
    tamper(AuditEntry.objects.order_by("seq").values_list("seq", flat=True)[2])
    pages.open("/app/audit/verify/", "verification, before verifying a tampered chain")
    b.press(browser, pages.t("Verify the chain"))
    assert pages.t("The chain is broken") in b.page_text(browser)
    pages.check("verification, a broken chain")

    assert not pages.failures, f"{len(pages.failures)} of {len(pages.checked)} pages in {language!r} fail:\n" + "\n".join(
        f"- {page}:\n    " + "\n    ".join(problems) for page, problems in pages.failures.items()
    )
