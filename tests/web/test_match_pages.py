"""The match pages: a side's page and its two answers, the coordinator's metadata, the list, the case
page's "Known elsewhere" and the coordinator's dashboard (README, "Known elsewhere: the match").

Matches are made as in production: hotline-be (persona ``caseworker``) and care-nl (persona
``outsider_caseworker``) each open a case of the same fictional girl through the API, written
down differently (tests/support/matching.SAME_CHILD_ELSEWHERE), and record a consent covering
information sharing, with matching on. shelter-be's caseworker (``recipient_caseworker``) has
nothing to do with it.
"""

from __future__ import annotations

import html as html_lib
import re
import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from partners.choices import OrganisationKind, Role
from referrals.models import Match
from tests.support.flows import CHILD
from tests.support.identity import assert_no_identity
from tests.support.matching import INFORMATION_SHARING, SAME_CHILD_ELSEWHERE
from tests.support.personas import make_organisation, make_user
from tests.support.web import comparable_page, web_client_for

LIST = "/app/matches/"
DASHBOARD = "/app/oversight/"
CARE_CONTACT = {"contact_email": "intake@care-nl.example", "contact_phone": "+31 20 555 0101"}
# How the girl is written down at care-nl: none of it may show on a match page either.
ELSEWHERE = [SAME_CHILD_ELSEWHERE["given_name"], SAME_CHILD_ELSEWHERE["family_name"], SAME_CHILD_ELSEWHERE["safe_contact"]]


@pytest.fixture
def match(known_twice, orgs) -> Match:
    """The one match of ``known_twice`` (tests/support/matching.py), care-nl with a contact point in the directory."""
    type(orgs["care-nl"]).objects.filter(pk=orgs["care-nl"].pk).update(**CARE_CONTACT)
    return Match.objects.get()


def _client(personas, name):
    return web_client_for(personas[name].user)


def _page(personas, name, path) -> str:
    response = _client(personas, name).get(path)
    assert response.status_code == 200, f"{name} {path}: {response.status_code}"
    return response.content.decode()


def _answer_forms(page: str) -> list[str]:
    return re.findall(r'<form method="post" action="(/app/matches/[^"]+/(?:contacted|not_the_same_person)/)"', page)


def _no_identity(page: str, where: str) -> None:
    assert_no_identity(page, where)
    folded = html_lib.unescape(page).casefold()
    for value in [CHILD["given_name"], CHILD["family_name"], *ELSEWHERE]:
        assert value.casefold() not in folded, f"identity on {where}: {value!r}"


def _times(page: str) -> list:
    """The moments of the page's ``<time datetime>`` elements, in order."""
    return [datetime.fromisoformat(value) for value in re.findall(r'<time datetime="([^"]+)"', page)]


def _match_path(match: Match) -> str:
    return f"/app/matches/{match.pk}/"


# --- a side's page --------------------------------------------------------------------------------


def test_a_side_reads_who_else_knows_the_young_person_and_how_to_reach_them(match, known_twice, personas):
    hotline_case, care_case = known_twice

    page = _page(personas, "caseworker", _match_path(match))

    assert "<h1>Another member knows this young person</h1>" in page
    assert "Test care-nl" in page
    assert 'href="mailto:intake@care-nl.example"' in page and "+31 20 555 0101" in page
    assert match.due_at in _times(page.split("Follow up by", 1)[1])[:1]  # the due date
    assert page.count("Not answered yet") == 2  # both sides' answers, none yet
    assert f'href="/app/cases/{hotline_case["id"]}/"' in page  # the own case, linked
    assert care_case["id"] not in page and hotline_case["id"][:8] + "<" not in page  # never the other case
    assert _answer_forms(page) == [f"{_match_path(match)}contacted/", f"{_match_path(match)}not_the_same_person/"]
    assert ">We have been in touch</button>" in page and ">Not the same young person</button>" in page
    assert 'name="version" value="1"' in page
    _no_identity(page, "hotline-be's match page")


def test_the_other_side_reads_the_first_organisation_and_links_to_its_own_case(match, known_twice, personas, orgs):
    hotline_case, care_case = known_twice
    type(orgs["hotline-be"]).objects.filter(pk=orgs["hotline-be"].pk).update(contact_email="", contact_phone="")

    page = _page(personas, "outsider_caseworker", _match_path(match))

    assert "Test hotline-be" in page and "Test care-nl (your organisation)" not in page
    assert page.count("Not in the directory") == 2  # hotline-be gave no contact point
    assert f'href="/app/cases/{care_case["id"]}/"' in page and hotline_case["id"] not in page
    assert len(_answer_forms(page)) == 2
    _no_identity(page, "care-nl's match page")


def test_a_coordinator_reads_the_match_as_metadata_without_cases_or_answers_to_give(match, known_twice, personas):
    page = _page(personas, "coordinator", _match_path(match))

    assert "<h1>A match between two members</h1>" in page
    assert "Test hotline-be" in page and "Test care-nl" in page
    assert "Open: nobody has acted yet" in page  # the status, written out
    assert "Escalated" in page and "Found" in page and "Follow up by" in page
    assert "/app/cases/" not in page
    assert not any(case["id"] in page for case in known_twice)
    assert _answer_forms(page) == [] and "<button type=\"submit\">We have been in touch" not in page
    assert "intake@care-nl.example" not in page  # the contact point is for the sides
    _no_identity(page, "the coordinator's match page")


# --- answering ------------------------------------------------------------------------------------


def test_we_have_been_in_touch_settles_the_match_and_the_coordinator_sees_it_go_from_open_to_done(
    match, personas
):
    coordinator = _client(personas, "coordinator")
    before = coordinator.get(DASHBOARD).context["matches"]["counts"]
    assert (before["open"], before["done"]) == (1, 0)

    response = _client(personas, "caseworker").post(f"{_match_path(match)}contacted/", {"version": match.version},
                                                     follow=True)

    assert response.redirect_chain == [(_match_path(match), 302)]
    page = response.content.decode()
    assert "Thank you: the match is marked as followed up." in page
    assert "Done: the members are in touch" in page and _answer_forms(page) == []
    assert "Your organisation has answered this match." in page
    match.refresh_from_db()
    assert (match.status, match.action_a or match.action_b, match.version) == ("done", "contacted", 2)
    after = coordinator.get(DASHBOARD).context["matches"]["counts"]
    assert (after["open"], after["unattended"], after["done"]) == (0, 0, 1)
    done_list = coordinator.get(f"{LIST}?status=done").content.decode()
    assert _match_path(match) in done_list
    assert _match_path(match) not in coordinator.get(f"{LIST}?status=open").content.decode()
    # The other side may still say so too; it changes nothing but its own answer.
    other = _client(personas, "outsider_caseworker").post(f"{_match_path(match)}contacted/", {"version": 2})
    assert other.status_code == 302
    match.refresh_from_db()
    assert (match.status, match.action_a, match.action_b) == ("done", "contacted", "contacted")


def test_not_the_same_young_person_settles_the_match_as_such(match, personas):
    response = _client(personas, "outsider_caseworker").post(f"{_match_path(match)}not_the_same_person/")

    assert response.status_code == 302 and response["Location"] == _match_path(match)
    match.refresh_from_db()
    assert match.status == "not_the_same_person"
    page = _page(personas, "caseworker", _match_path(match))
    assert "Test care-nl" in page and page.count("Not the same young person") >= 2  # its answer and the status
    assert len(_answer_forms(page)) == 2  # hotline-be has not answered yet


def test_a_second_answer_of_the_same_side_is_refused_and_changes_nothing(match, personas):
    client = _client(personas, "caseworker")
    assert client.post(f"{_match_path(match)}contacted/", {"version": 1}).status_code == 302
    match.refresh_from_db()
    answered = (match.status, match.action_a, match.action_b, match.version, match.acted_a_at, match.acted_b_at)

    again = client.post(f"{_match_path(match)}not_the_same_person/", {"version": match.version})

    assert again.status_code == 422
    page = again.content.decode()
    assert "Nothing was saved." in page and "Your organisation has already answered this match." in page
    assert _answer_forms(page) == []
    match.refresh_from_db()
    assert (match.status, match.action_a, match.action_b, match.version, match.acted_a_at, match.acted_b_at) == answered


def test_an_answer_against_a_version_read_before_a_change_is_refused(match, personas):
    assert _client(personas, "outsider_caseworker").post(f"{_match_path(match)}contacted/").status_code == 302

    stale = _client(personas, "caseworker").post(f"{_match_path(match)}not_the_same_person/", {"version": 1})

    assert stale.status_code == 422
    page = stale.content.decode()
    assert "Someone changed this meanwhile. Look at it again before you go on." in page
    assert 'name="version" value="2"' in page  # the answers as they are now, at the version now
    match.refresh_from_db()
    assert match.status == "done" and match.version == 2


def test_an_answer_the_pages_do_not_know_is_the_404_page(match, personas):
    assert _client(personas, "caseworker").post(f"{_match_path(match)}maybe/").status_code == 404
    assert Match.objects.get().version == 1


# --- who reaches what -----------------------------------------------------------------------------


def test_a_caseworker_of_an_unrelated_member_gets_the_404_of_a_missing_match(match, personas):
    client = _client(personas, "recipient_caseworker")
    theirs, missing = client.get(_match_path(match)), client.get(f"/app/matches/{uuid.uuid4()}/")

    assert theirs.status_code == missing.status_code == 404
    assert comparable_page(theirs) == comparable_page(missing)
    assert client.post(f"{_match_path(match)}contacted/").status_code == 404
    listed = client.get(LIST)
    assert listed.status_code == 200 and str(match.pk) not in listed.content.decode()
    assert Match.objects.get().version == 1


@pytest.mark.parametrize("name", ["org_admin", "auditor"])
def test_org_admins_and_auditors_have_no_match_pages(match, personas, name):
    client = _client(personas, name)
    for path in (LIST, _match_path(match)):
        assert client.get(path).status_code == 403, path
    assert client.post(f"{_match_path(match)}contacted/").status_code == 403
    assert Match.objects.get().version == 1


def test_a_coordinator_answers_no_match(match, personas):
    assert _client(personas, "coordinator").post(f"{_match_path(match)}contacted/").status_code == 403
    assert Match.objects.get().status == "open"


# --- the list -------------------------------------------------------------------------------------


def test_the_list_shows_a_caseworker_their_side_and_a_coordinator_both_organisations(match, known_twice, personas):
    hotline_case, care_case = known_twice
    own = _page(personas, "caseworker", LIST)
    assert f'href="{_match_path(match)}">Test care-nl</a>' in own
    assert f'<a href="/app/cases/{hotline_case["id"]}/">Case {hotline_case["id"][:8]}</a>' in own
    assert care_case["id"] not in own
    assert "Yours: <span class=\"muted\">not answered yet" in own
    coordinator = _page(personas, "coordinator", LIST)
    assert "/app/cases/" not in coordinator
    assert re.search(rf'href="{_match_path(match)}">Test (hotline-be|care-nl), Test (hotline-be|care-nl)</a>', coordinator)
    for name, page in (("caseworker", own), ("coordinator", coordinator)):
        _no_identity(page, f"the {name}'s list")


def test_the_list_filters_by_status_and_on_the_unattended_ones(match, personas):
    client = _client(personas, "caseworker")
    assert _match_path(match) in client.get(f"{LIST}?status=open").content.decode()
    assert _match_path(match) not in client.get(f"{LIST}?status=done").content.decode()
    assert _match_path(match) not in client.get(f"{LIST}?unattended=on").content.decode()  # not due yet

    Match.objects.filter(pk=match.pk).update(due_at=timezone.now() - timedelta(hours=1))

    late = client.get(f"{LIST}?unattended=on").content.decode()
    assert _match_path(match) in late and "Overdue" in late
    refused = client.get(f"{LIST}?status=later")
    assert refused.status_code == 200 and "Correct the filters to see the list." in refused.content.decode()
    assert _match_path(match) not in refused.content.decode()


def test_the_list_costs_a_fixed_number_of_queries(matching, flow, personas, django_assert_max_num_queries):
    for _ in range(3):
        case = flow.open_case()
        flow.consent(case["id"], **INFORMATION_SHARING)
        other = flow.open_case("outsider_caseworker", subject=SAME_CHILD_ELSEWHERE, region="NL-NH")
        flow.consent(other["id"], "outsider_caseworker", **INFORMATION_SHARING)
    assert Match.objects.count() >= 3
    for name in ("caseworker", "coordinator"):
        client = _client(personas, name)
        client.get(LIST)
        with django_assert_max_num_queries(8):
            assert client.get(LIST).status_code == 200


# --- the case page and the dashboard --------------------------------------------------------------


def test_the_case_page_lists_who_else_knows_the_young_person(match, known_twice, personas, flow):
    hotline_case, _care_case = known_twice

    page = _page(personas, "caseworker", f"/app/cases/{hotline_case['id']}/")

    section = page.split('<section class="card" id="known-elsewhere"', 1)[1].split("</section>", 1)[0]
    assert "<h2 id=\"known-elsewhere-title\">Known elsewhere</h2>" in section
    assert f'<a href="{_match_path(match)}">Test care-nl</a>' in section
    assert "Open: nobody has acted yet" in section and "Not answered yet" in section
    alone = flow.open_case(subject=CHILD | {"given_name": "Someone", "family_name": "Else"})
    assert "Known elsewhere" not in _page(personas, "caseworker", f"/app/cases/{alone['id']}/")


def test_the_dashboard_counts_the_matches_and_lists_the_unattended_ones(match, personas):
    client = _client(personas, "coordinator")
    fresh = client.get(DASHBOARD)
    assert fresh.context["matches"]["counts"] | {} == {"open": 1, "unattended": 0, "done": 0, "not_the_same_person": 0}
    assert "Every match was followed up in time." in fresh.content.decode()

    Match.objects.filter(pk=match.pk).update(due_at=timezone.now() - timedelta(hours=1))
    response = client.get(DASHBOARD)

    assert response.context["matches"]["counts"]["unattended"] == 1
    page = response.content.decode()
    section = page.split('<section class="card" id="matches"', 1)[1].split("</section>", 1)[0]
    assert "Matches without follow-up" in section
    assert f'href="{_match_path(match)}"' in section and "Overdue" in section
    assert 'href="/app/matches/?unattended=on"' in section and 'href="/app/matches/"' in section
    _no_identity(page, "the dashboard")


def test_ngo_nl_opens_a_case_of_a_girl_care_nl_holds_both_get_in_touch_and_the_coordinator_sees_it_done(
    matching, flow, personas, orgs
):
    """The issue's "done when", through the web app's own forms."""
    care_case = flow.open_case("outsider_caseworker", subject=SAME_CHILD_ELSEWHERE, region="NL-NH")
    flow.consent(care_case["id"], "outsider_caseworker", **INFORMATION_SHARING)
    ngo = make_organisation("ngo-nl", OrganisationKind.NGO, country="NL", regions=["NL-NH"])
    ngo_client = web_client_for(make_user("ngo-nl-caseworker", ngo, [Role.CASEWORKER]))
    coordinator = _client(personas, "coordinator")

    opened = ngo_client.post("/app/cases/new/", {
        "subject_given_name": CHILD["given_name"], "subject_family_name": CHILD["family_name"],
        "subject_date_of_birth": CHILD["date_of_birth"], "phenomena": ["teen_pimp"], "region": "NL-NH",
    })
    assert opened.status_code == 302
    ngo_case = opened["Location"]
    assert ngo_client.post(f"{ngo_case}consents/new/", {
        "given_by": "young_person", "method": "verbal", "purposes": ["care_referral", "information_sharing"],
    }).status_code == 302

    match = Match.objects.get()
    ngo_page = ngo_client.get(ngo_case).content.decode()
    assert f'<a href="{_match_path(match)}">Test care-nl</a>' in ngo_page
    for client, other in ((ngo_client, "Test care-nl"), (_client(personas, "outsider_caseworker"), "Test ngo-nl")):
        page = client.get(_match_path(match)).content.decode()
        assert "Another member knows this young person" in page and other in page
        _no_identity(page, f"the match page naming {other}")
    assert coordinator.get(DASHBOARD).context["matches"]["counts"]["open"] == 1

    assert ngo_client.post(f"{_match_path(match)}contacted/", {"version": 1}).status_code == 302
    assert _client(personas, "outsider_caseworker").post(f"{_match_path(match)}contacted/", {"version": 2}).status_code == 302

    counts = coordinator.get(DASHBOARD).context["matches"]["counts"]
    assert (counts["open"], counts["done"]) == (0, 1)
    assert "Done: the members are in touch" in coordinator.get(_match_path(match)).content.decode()
