"""The match pages in Chromium, in English: axe-core finds no violation, nothing is asked of another
origin, the Content-Security-Policy refuses nothing, and no template syntax shows.

The pages have real content, made as in production with matching on: hotline-be and care-nl
each open a case of the same fictional girl through the API, written down differently, with
consent to share information, which makes one match. hotline-be's caseworker reads the case
page ("Known elsewhere"), the match page and the list (filtered too), answers "We have been in
touch", and then finds an answer refused (care-nl answered meanwhile on a page read before);
shelter-be then holds her too, and nobody answers those matches in time; the coordinator reads
the dashboard with the unattended matches listed, the list (and its unattended ones) and a match.
English only, to keep the run short: the other languages' words are the same templates'
(tests/test_i18n.py).

Each page checked is also a screenshot, ``en-<number>-<page>.png`` (tests/support/browser.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from referrals.matches import match_act
from referrals.models import Match
from tests.support import browser as b
from tests.support.matching import INFORMATION_SHARING, SAME_CHILD_ELSEWHERE
from tests.support.pages_in_browser import Pages

pytestmark = [pytest.mark.browser, pytest.mark.postgres_only]


def test_the_match_pages_pass_axe_without_other_origins_or_csp_refusals(browser, live_server, flow, personas, orgs,
                                                                         settings):
    settings.MATCH_ENABLED = True
    type(orgs["care-nl"]).objects.filter(pk=orgs["care-nl"].pk).update(
        contact_email="intake@care-nl.example", contact_phone="+31 20 555 0101"
    )
    hotline_case = flow.open_case()
    flow.consent(hotline_case["id"], **INFORMATION_SHARING)
    care_case = flow.open_case("outsider_caseworker", subject=SAME_CHILD_ELSEWHERE, region="NL-NH")
    flow.consent(care_case["id"], "outsider_caseworker", **INFORMATION_SHARING)
    match = Match.objects.get()
    match_path = f"/app/matches/{match.pk}/"

    pages = Pages(browser, live_server, "en")
    pages.as_person(personas["caseworker"].user)
    pages.open(f"/app/cases/{hotline_case['id']}/", "case page, known elsewhere")
    assert "Test care-nl" in b.part(browser, "Known elsewhere").text
    b.follow(b.part(browser, "Known elsewhere"), "Test care-nl")
    pages.check("match page, a side")
    assert b.heading(browser) == "Another member knows this young person"
    assert "intake@care-nl.example" in b.part(browser, "Who to contact").text
    b.press(browser, "We have been in touch")
    pages.check("match page, answered")
    assert "Thank you: the match is marked as followed up." in b.page_text(browser)
    pages.open("/app/matches/", "matches of a side")
    b.select(browser, "Status", "Done: the members are in touch")
    b.press(browser, "Show")
    pages.check("matches of a side, done only")
    pages.open("/app/matches/?status=later", "matches, a filter refused")
    assert b.visible_errors(browser)

    # care-nl reads the match, hotline-be's second case is matched meanwhile and answered there: refused.
    second = flow.open_case(subject=SAME_CHILD_ELSEWHERE | {"safe_contact": ""})
    flow.consent(second["id"], **INFORMATION_SHARING)
    other_match = Match.objects.exclude(pk=match.pk).get()
    pages.open(f"/app/matches/{other_match.pk}/", "match page, a second match")
    match_act(actor=personas["outsider_caseworker"].user, match=other_match, action="contacted")
    b.press(browser, "Not the same young person")
    pages.check("match page, an answer refused")
    assert "Someone changed this meanwhile" in b.page_text(browser)

    # shelter-be holds her too: three more matches, nobody answers them in time (unattended).
    shelter_case = flow.open_case("recipient_caseworker", subject=SAME_CHILD_ELSEWHERE)
    flow.consent(shelter_case["id"], "recipient_caseworker", **INFORMATION_SHARING)
    Match.objects.filter(status="open").update(due_at=timezone.now() - timedelta(days=1))
    assert Match.objects.filter(status="open").count() == 3
    pages.as_person(personas["coordinator"].user)
    pages.open("/app/oversight/", "oversight dashboard with matches")
    assert "Matches without follow-up" in b.page_text(browser)
    pages.open("/app/matches/", "matches of the coalition")
    pages.open("/app/matches/?unattended=on", "unattended matches")
    pages.open(match_path, "match page, a coordinator")
    assert b.heading(browser) == "A match between two members"

    assert not pages.failures, f"{len(pages.failures)} of {len(pages.checked)} pages fail:\n" + "\n".join(
        f"- {page}:\n    " + "\n    ".join(problems) for page, problems in pages.failures.items()
    )
