"""The figures page in Chromium, in English, Dutch and French: axe-core finds no violation in the charts,
their tables or the pickers (with and without errors), nothing comes from another origin and the
CSP refuses nothing. The coordinator's page has hidden figures, shown and explained, and the matches
per member and month; a caseworker's is their organisation's, without the matches. Each page is a
screenshot (tests/support/pages_in_browser.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from partners import services as partner_services
from referrals.choices import MatchAction, MatchStatus
from referrals.models import Match
from tests.support import browser as b
from tests.support.figures_data import Data
from tests.support.pages_in_browser import Pages

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]

LANGUAGES = ["en", "nl", "fr"]


@pytest.fixture
def figures_data(orgs):
    data = Data(orgs)
    sent = timezone.now() - timedelta(days=2)
    data.referrals(9, sent_at=sent, phenomenon="teen_pimp", gender="female", urgency="urgent",
                   acknowledged_at=sent + timedelta(hours=2))
    data.referrals(7, sent_at=sent, phenomenon="teen_pimp", gender="male")
    data.referrals(6, sent_at=sent, phenomenon="grooming", gender="female")
    data.referrals(2, sent_at=sent, phenomenon="sextortion", gender="female")  # hidden, and another with it
    for answered in [True] * 6 + [False] * 2:  # matches of hotline-be and care-nl: the two waiting ones hidden
        first, second = sorted((data.case("hotline-be"), data.case("care-nl")), key=lambda case: str(case.pk))
        Match.objects.create(
            case_a=first, case_b=second, organisation_a=first.lead_organisation, organisation_b=second.lead_organisation,
            key_kinds=["name_and_birth_date"], created_at=sent, due_at=sent + timedelta(days=7),
            status=MatchStatus.DONE if answered else MatchStatus.OPEN,
            action_a=MatchAction.CONTACTED if answered else "", acted_a_at=sent if answered else None,
        )
    return data


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_figures_pages_pass_axe_without_other_origins_or_csp_refusals(
    browser, live_server, personas, figures_data, language
):
    coordinator, caseworker = personas["coordinator"].user, personas["caseworker"].user
    for user in (coordinator, caseworker):
        partner_services.user_set_language(user=user, language=language)
    pages = Pages(browser, live_server, language)
    year = timezone.localdate().year

    pages.as_person(coordinator)
    pages.open("/app/figures/", "figures, this year by month")
    assert pages.t("Matches per member and month") in b.page_text(browser)
    pages.open(f"/app/figures/?year={year}&by=phenomenon", "figures by phenomenon, hidden figures")
    assert pages.t("hidden") in b.page_text(browser)
    pages.open(f"/app/figures/?year={year}&by=phenomenon&then_by=gender", "figures by phenomenon and gender")
    pages.open(f"/app/figures/?year={year}&start={year}-01-01&by=period", "figures with an error")
    assert b.visible_errors(browser)

    pages.as_person(caseworker)
    pages.open(f"/app/figures/?year={year}&by=organisation", "a caseworker's figures by organisation")
    assert pages.t("Matches per member and month") not in b.page_text(browser)

    assert not pages.failures, f"{len(pages.failures)} of {len(pages.checked)} pages in {language!r} fail:\n" + "\n".join(
        f"- {page}:\n    " + "\n    ".join(problems) for page, problems in pages.failures.items()
    )
