"""Every coordinator page in Chromium, in English, Dutch and French: axe-core finds no violation, nothing
is asked of another origin, the Content-Security-Policy refuses nothing and no template syntax shows.

The pages are the oversight dashboard and its five lists (with rows in each, a filter refused),
a referral's metadata page, the exception review (pending, its form with its errors, and one
reviewed already), and the membership pages: the members, admitting one (with the form's
errors), a member's page, the suspend and re-admit confirmations and the org admin invitation
(with its errors). The data is made through the services (tests/support/oversight_scene.py)
before the browser opens anything. Each page checked is a screenshot (tests/support/pages_in_browser.py).
"""

from __future__ import annotations

import pytest

from partners import services as partner_services
from tests.support import browser as b
from tests.support.oversight_scene import oversight_scene
from tests.support.pages_in_browser import Pages

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

LANGUAGES = ["en", "nl", "fr"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_coordinator_page_passes_axe_without_other_origins_or_csp_refusals(
    browser, live_server, personas, orgs, language
):
    scene = oversight_scene(orgs)
    coordinator = personas["coordinator"].user
    partner_services.user_set_language(user=coordinator, language=language)
    pages = Pages(browser, live_server, language)
    pages.as_person(coordinator)

    # --- oversight ------------------------------------------------------------------------------------
    pages.open("/app/oversight/", "oversight dashboard")
    assert pages.t("Matches without follow-up") in b.page_text(browser)
    pages.open("/app/oversight/?period=dates&start=2026-02-30", "oversight dashboard, a period refused")
    assert b.visible_errors(browser)
    pages.open("/app/oversight/overdue/", "overdue referrals")
    pages.open("/app/oversight/overdue/?urgency=later", "overdue referrals, a filter refused")
    assert b.visible_errors(browser)
    pages.open("/app/oversight/handovers/?period=90", "handovers of 90 days")
    pages.open("/app/oversight/bounced/", "bounced cases")
    pages.open("/app/oversight/unattended/", "unattended cases")
    pages.open("/app/oversight/exceptions/", "exceptions awaiting review")
    pages.open("/app/oversight/exceptions/?review_status=approved", "exceptions approved")
    pages.open(f"/app/oversight/referrals/{scene.transfer.pk}/", "a referral's metadata")
    pages.open(f"/app/oversight/exceptions/{scene.old_exception.pk}/", "an exception to review")
    b.press(browser, pages.t("Record the review"))
    assert b.visible_errors(browser)
    pages.check("an exception review with its errors")
    pages.open(f"/app/oversight/exceptions/{scene.reviewed_exception.pk}/", "an exception reviewed")

    # --- membership -----------------------------------------------------------------------------------
    pages.open("/app/members/", "members")
    pages.open("/app/members/admit/", "admit a member")
    b.press(browser, pages.t("Admit the organisation"))
    assert b.visible_errors(browser)
    pages.check("admit a member, with its errors")
    pages.open(f"/app/members/{orgs['shelter-be'].pk}/", "a member's page")
    pages.open(f"/app/members/{orgs['shelter-be'].pk}/suspend/", "suspend confirmation")
    pages.open(f"/app/members/{scene.suspended.pk}/readmit/", "re-admit confirmation")
    pages.open(f"/app/members/{orgs['care-nl'].pk}/invite-admin/", "invite an org admin")
    b.press(browser, pages.t("Send the invitation"))
    assert b.visible_errors(browser)
    pages.check("invite an org admin, with its errors")

    assert not pages.failures, f"{len(pages.failures)} of {len(pages.checked)} pages in {language!r} fail:\n" + "\n".join(
        f"- {page}:\n    " + "\n    ".join(problems) for page, problems in pages.failures.items()
    )
