"""The figures page's matches per member and month (issue #17, item 3): coordinators only, suppressed, with CSV.

The figures are the API's (``GET /api/v1/statistics/matches/``, the same code and the same
suppression over each member's table); the page writes them as it writes every figure, a
suppressed one as "hidden", over the period its form chooses. Members reading their own
referral figures see none of it and are refused its CSV.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from referrals.choices import MatchAction, MatchStatus
from referrals.models import Match
from tests.support.figures_data import Data
from tests.support.web import web_client_for

PAGE = "/app/figures/"
CSV = "/app/figures/matches.csv"
API = "/api/v1/statistics/matches/"
HEADING = "Matches per member and month"
MEASURES = ("found", "answered", "waiting", "unattended")


@pytest.fixture
def data(orgs):
    return Data(orgs)


def _this_month() -> tuple[datetime, str]:
    """Now, and the month it is in the coalition's time zone (the month the figures count it in)."""
    now = timezone.now().astimezone(ZoneInfo(settings.COALITION_TIME_ZONE))
    return now, f"{now.year}-{now.month:02d}"


def _last_month() -> tuple[datetime, str, date]:
    """Noon on the 10th of last month, its label, and its first day."""
    now, _label = _this_month()
    first = (now.replace(day=1) - timedelta(days=1)).replace(day=1)
    moment = datetime(first.year, first.month, 10, 12, tzinfo=now.tzinfo)
    return moment, f"{first.year}-{first.month:02d}", first.date()


def _period() -> str:
    """From the first day of last month to today: the page's form, and the API's question."""
    _moment, _label, first = _last_month()
    return f"start={first}&end={timezone.localdate()}"


def _matches(data, count, *, a="hotline-be", b="care-nl", created_at=None, answered=False, late=True):
    """``count`` matches between a case of ``a`` and one of ``b``, made straight in the database."""
    now = timezone.now()
    made = []
    for _ in range(count):
        first, second = sorted((data.case(lead=a), data.case(lead=b)), key=lambda case: str(case.pk))
        made.append(Match.objects.create(
            case_a=first, case_b=second, organisation_a=first.lead_organisation, organisation_b=second.lead_organisation,
            key_kinds=["name_and_birth_date"], created_at=created_at or now,
            due_at=now - timedelta(days=1) if late else now + timedelta(days=1),
            status=MatchStatus.DONE if answered else MatchStatus.OPEN,
            action_a=MatchAction.CONTACTED if answered else "", acted_a_at=now if answered else None,
        ))
    return made


def _page(persona, query: str) -> str:
    response = web_client_for(persona.user).get(f"{PAGE}?{query}")
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def _match_table(html: str) -> dict[str, dict[str, list[str]]]:
    """The page's match tables: {member: {month or "All months": [found, answered, waiting, unattended]}}."""
    tables = html.split('<div id="match-figures">', 1)[1].split("</div>", 1)[0]
    members = {}
    for table in re.findall(r'<table class="figures">(.*?)</table>', tables, re.S):
        name = re.search(r"<caption>(.*?)</caption>", table, re.S).group(1).strip()
        body = table.split("</thead>", 1)[1]
        rows = {}
        for row in re.findall(r'<tr>\s*<th scope="row">(.*?)</tr>', body, re.S):
            label, cells = row.split("</th>", 1)
            rows[label.strip()] = [cell.strip() for cell in re.findall(r'<td class="number">(.*?)</td>', cells, re.S)]
        members[name] = rows
    return members


def _as_the_api_says(persona, api_query: str) -> dict[str, dict[str, list[str]]]:
    """The API's match figures written as the page writes a figure: its number, or "hidden"."""
    response = persona.client.get(f"{API}?{api_query}")
    assert response.status_code == 200, response.content

    def texts(row):
        return ["hidden" if row[m]["suppressed"] else str(row[m]["count"]) for m in MEASURES]

    return {
        member["organisation"]["name"]: {month["month"]: texts(month) for month in member["months"]}
        | {"All months": texts(member["total"])}
        for member in response.json()["organisations"]
    }


def test_a_coordinator_reads_the_matches_per_member_and_month_over_the_pages_period(personas, orgs, data, known_twice):
    now, this_month = _this_month()
    last_month_at, last_month, _first = _last_month()
    _matches(data, 6, answered=True)  # hotline-be × care-nl, this month, beside known_twice's (still waiting)
    _matches(data, 5, late=True, created_at=now - timedelta(seconds=5))  # this month, nobody answered in time
    _matches(data, 5, created_at=last_month_at, answered=True)
    unrelated, _other = data.unrelated()
    _matches(data, 5, a="shelter-be", b=unrelated, created_at=last_month_at, late=False)
    coordinator = personas["coordinator"]
    html = _page(coordinator, f"{_period()}&by=period")
    assert HEADING in html
    table = _match_table(html)
    hotline, care, shelter = (orgs[slug].name for slug in ("hotline-be", "care-nl", "shelter-be"))
    # Members by name; for each, its months in time order, then its total over the period.
    assert list(table) == sorted([hotline, care, shelter, unrelated.name], key=str.lower)
    assert list(table[hotline]) == [last_month, this_month, "All months"]
    # known_twice's match (waiting) and the six answered and five unattended of this month.
    assert table[hotline][this_month] == ["12", "6", "hidden", "hidden"]  # a single waiting match is never shown
    assert table[hotline][last_month] == ["5", "5", "0", "0"]
    assert table[care] == table[hotline]  # each match counts for both its members
    assert table[shelter] == {last_month: ["5", "0", "5", "0"], "All months": ["5", "0", "5", "0"]}
    # Every figure, and every hidden one, is the API's for the same period.
    _moment, _label, first = _last_month()
    assert table == _as_the_api_says(coordinator, f"from={first}&to={timezone.localdate()}")
    assert "fewer than 5 matches is not shown" in html  # and explained

    # The period form decides: this month only, and last month's matches are gone.
    only_now = _match_table(_page(coordinator, f"start={now.date().replace(day=1)}&end={timezone.localdate()}&by=period"))
    assert list(only_now[hotline]) == [this_month, "All months"] and shelter not in only_now


def test_small_match_counts_are_hidden_as_the_page_hides_every_figure(personas, orgs, data):
    last_month_at, last_month, _first = _last_month()
    _matches(data, 7, answered=True, created_at=last_month_at)
    _matches(data, 2, created_at=last_month_at)  # small: hidden, and the 7 with it, or 9 - 7 would tell
    unrelated, _other = data.unrelated()
    _matches(data, 3, a="shelter-be", b=unrelated, created_at=last_month_at)
    html = _page(personas["coordinator"], f"{_period()}&by=period")
    table = _match_table(html)
    hotline = orgs["hotline-be"].name
    assert table[hotline] == {last_month: ["9", "hidden", "0", "hidden"], "All months": ["9", "hidden", "0", "hidden"]}
    for member in (orgs["shelter-be"].name, unrelated.name):  # three matches: nothing is shown but that they occur
        assert table[member] == {last_month: ["hidden", "0", "0", "hidden"], "All months": ["hidden", "0", "0", "hidden"]}
    section = html.split('id="matches-heading"', 1)[1]
    assert "7</td>" not in section and "2</td>" not in section and "3</td>" not in section
    assert 'id="matches-hidden-explained"' in section


def test_a_period_without_matches_says_so_and_that_matching_is_off(personas, data):
    _matches(data, 5)  # found this month, while matching was on
    html = _page(personas["coordinator"], "year=2025&by=period")
    section = html.split('id="matches-heading"', 1)[1]
    assert "No matches were found in this period." in section and 'id="match-figures"' not in section
    assert "Matching is switched off in this coalition" in section  # the tests' default: MATCH_ENABLED off


@pytest.mark.parametrize("member", ["caseworker", "outsider_caseworker", "org_admin"])
def test_members_reading_their_own_figures_see_no_match_figures_and_are_refused_their_csv(personas, data, member):
    _matches(data, 6, answered=True)  # the members' own matches, even
    html = _page(personas[member], "by=period")
    assert HEADING not in html and "matches.csv" not in html and 'id="match-figures"' not in html
    assert "referrals your organisation sent or received" in html  # their own figures are there
    client = web_client_for(personas[member].user)
    assert client.get(f"{CSV}?by=period").status_code == 403
    assert client.get(f"{CSV}?year=1999&by=period").status_code == 403  # refused before the question is read
    assert personas[member].client.get(f"{API}?format=csv").status_code == 403  # as the API refuses them


def test_the_match_csv_is_the_apis_csv_of_the_pages_period(personas, orgs, data, known_twice):
    last_month_at, last_month, first = _last_month()
    _matches(data, 7, answered=True, created_at=last_month_at)
    _matches(data, 2, created_at=last_month_at)
    coordinator = personas["coordinator"]
    html = _page(coordinator, f"{_period()}&by=phenomenon")
    link = re.search(r'href="(/app/figures/matches\.csv\?[^"]+)"', html).group(1).replace("&amp;", "&")
    response = web_client_for(coordinator.user).get(link)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    today = timezone.localdate()
    assert response["Content-Disposition"] == f'attachment; filename="match-figures-{first}-{today}.csv"'
    assert response["Cache-Control"] == "no-store"
    api = coordinator.client.get(f"{API}?from={first}&to={today}&format=csv")
    assert api.status_code == 200 and response.content == api.content
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    hotline = orgs["hotline-be"]
    assert rows[0] == ["organisation", "organisation_name", "month", "measure", "count", "suppressed"]
    # known_twice's single match this month is hidden, and last month's nine with it, or 10 - 9 would tell.
    assert [str(hotline.id), hotline.name, "all", "found", "10", "false"] in rows
    assert [str(hotline.id), hotline.name, last_month, "found", "", "true"] in rows
    assert len(rows) == 1 + 2 * 3 * 4  # two members, two months and the total each, four measures


def test_a_bad_period_gives_no_match_csv(personas):
    client = web_client_for(personas["coordinator"].user)
    assert client.get(f"{CSV}?start=2025-03-01&by=period").status_code == 422
    assert client.get(f"{CSV}?year=2025&by=period").status_code == 200
