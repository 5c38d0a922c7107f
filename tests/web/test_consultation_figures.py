"""The figures page's consultations (issue #18, item 4): per phenomenon and period, suppressed, with CSV.

The figures are the API's (``GET /api/v1/statistics/consultations/``, the same code and the
same suppression); the page writes them as it writes every figure, a suppressed one as
"hidden", over the period and in the periods its form chooses. Coordinators read the
coalition's, members their own organisation's.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from referrals.consultations import consultation_answer, consultation_refer
from referrals.models import Consultation
from tests.support.consultations import ask, request_of
from tests.support.figures_data import Data
from tests.support.web import web_client_for

PAGE = "/app/figures/"
CSV = "/app/figures/consultations.csv"
API = "/api/v1/statistics/consultations/"
HEADING = 'id="consultations-heading"'
MEASURES = ("consultations", "requests", "yes", "no", "waitlist", "unanswered", "referred")
MARCH = datetime(2025, 3, 10, 12, tzinfo=UTC)
JUNE = datetime(2025, 6, 2, 9, tzinfo=UTC)


@pytest.fixture
def data(orgs):
    return Data(orgs)


def _asked(personas, orgs, count, *slugs, when=MARCH, **triage):
    made = [ask(personas, orgs, *slugs, **triage) for _ in range(count)]
    Consultation.objects.filter(pk__in=[c.pk for c in made]).update(created_at=when)
    return made


def _yes_and_referred(personas, orgs, data, consultations, referred):
    for position, consultation in enumerate(consultations):
        request = request_of(consultation, orgs["shelter-be"])
        consultation_answer(actor=personas["recipient_caseworker"].user, request=request, answer="yes")
        if position < referred:
            consultation_refer(actor=personas["caseworker"].user, request=request, case=data.case("hotline-be"),
                               legal_basis="vital_interest", legal_basis_justification="She cannot go home tonight.")


def _page(persona, query: str) -> str:
    response = web_client_for(persona.user).get(f"{PAGE}?{query}")
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def _tables(html: str) -> dict[str, dict[str, list[str]]]:
    """{caption: {period or "All periods": [the seven counts, the share]}}."""
    tables = html.split('<div id="consultation-figures">', 1)[1].split("</div>", 1)[0]
    found = {}
    for table in re.findall(r'<table class="figures">(.*?)</table>', tables, re.S):
        caption = re.search(r"<caption>(.*?)</caption>", table, re.S).group(1).strip()
        body = table.split("</thead>", 1)[1]
        rows = {}
        for row in re.findall(r'<tr>\s*<th scope="row">(.*?)</tr>', body, re.S):
            label, cells = row.split("</th>", 1)
            rows[label.strip()] = [cell.strip() for cell in re.findall(r'<td class="number">(.*?)</td>', cells, re.S)]
        found[caption] = rows
    return found


def _as_the_api_says(persona, api_query: str) -> dict[str, dict[str, list[str]]]:
    response = persona.client.get(f"{API}?{api_query}")
    assert response.status_code == 200, response.content
    labels = {"teen_pimp": "Teen pimps (loverboys)", "grooming": "Grooming"}

    def texts(row):
        share = row["referred_share"]
        counts = ["hidden" if row[m]["suppressed"] else str(row[m]["count"]) for m in MEASURES]
        return [*counts, "hidden" if share is None else f"{share:.1f} %"]

    body = response.json()
    tables = [("All phenomena", body["all_phenomena"])]
    tables += [(labels[f["phenomenon"]], f) for f in body["phenomena"]]
    return {caption: {row["period"]: texts(row) for row in f["periods"]} | {"All periods": texts(f["total"])}
            for caption, f in tables}


def test_a_coordinator_reads_the_consultations_per_phenomenon_and_period_as_the_api_gives_them(personas, orgs, data):
    _yes_and_referred(personas, orgs, data, _asked(personas, orgs, 10), referred=5)  # of shelter-be and care-nl
    _asked(personas, orgs, 5, "shelter-be", when=JUNE, phenomenon="grooming")
    coordinator = personas["coordinator"]
    html = _page(coordinator, "year=2025&by=period")
    assert HEADING in html and "All consultations asked between members of the coalition." in html
    tables = _tables(html)
    assert list(tables) == ["All phenomena", "Grooming", "Teen pimps (loverboys)"]
    assert tables["Teen pimps (loverboys)"] == {
        "2025-03": ["10", "20", "10", "0", "0", "10", "5", "50.0 %"],
        "All periods": ["10", "20", "10", "0", "0", "10", "5", "50.0 %"],
    }
    assert tables["All phenomena"]["All periods"] == ["15", "25", "10", "0", "0", "15", "5", "33.3 %"]
    assert tables == _as_the_api_says(coordinator, "year=2025")
    quarters = _tables(_page(coordinator, "year=2025&by=period&period=quarter"))
    assert list(quarters["All phenomena"]) == ["2025-Q1", "2025-Q2", "All periods"]


def test_small_consultation_counts_and_their_share_are_hidden(personas, orgs, data):
    _yes_and_referred(personas, orgs, data, _asked(personas, orgs, 7, "shelter-be"), referred=2)
    html = _page(personas["coordinator"], "year=2025&by=period")
    tables = _tables(html)
    assert tables["Teen pimps (loverboys)"]["All periods"] == ["7", "7", "7", "0", "0", "0", "hidden", "hidden"]
    assert 'id="consultations-hidden-explained"' in html
    assert tables == _as_the_api_says(personas["coordinator"], "year=2025")


def test_a_member_reads_its_own_consultations_and_a_period_without_any_says_so(personas, orgs, data):
    _yes_and_referred(personas, orgs, data, _asked(personas, orgs, 5), referred=5)
    shelter = personas["recipient_caseworker"]
    html = _page(shelter, "year=2025&by=period")
    assert "your own answers to those it was asked" in html
    # Its own five yes, each referred; nothing of care-nl's request.
    assert _tables(html)["Teen pimps (loverboys)"]["All periods"] == ["5", "5", "5", "0", "0", "0", "5", "100.0 %"]
    assert _tables(html) == _as_the_api_says(shelter, "year=2025")
    empty = _page(shelter, "year=2024&by=period")
    section = empty.split(HEADING, 1)[1]
    assert "No consultations were asked in this period." in section and 'id="consultation-figures"' not in section


def test_the_consultation_csv_is_the_apis_csv_of_the_pages_period(personas, orgs, data):
    _yes_and_referred(personas, orgs, data, _asked(personas, orgs, 6), referred=5)
    for name in ("coordinator", "caseworker", "outsider_caseworker"):
        persona = personas[name]
        html = _page(persona, "start=2025-01-01&end=2025-06-30&by=phenomenon&period=quarter")
        link = re.search(r'href="(/app/figures/consultations\.csv\?[^"]+)"', html).group(1).replace("&amp;", "&")
        response = web_client_for(persona.user).get(link)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"] == 'attachment; filename="consultation-figures-2025-01-01-2025-06-30.csv"'
        assert response["Cache-Control"] == "no-store"
        api = persona.client.get(f"{API}?from=2025-01-01&to=2025-06-30&period=quarter&format=csv")
        assert api.status_code == 200 and response.content == api.content
        assert b"teen_pimp,2025-Q1,consultations,6,false" in response.content


def test_the_auditor_gets_no_consultation_csv_and_a_bad_period_none(personas):
    assert web_client_for(personas["auditor"].user).get(f"{CSV}?year=2025&by=period").status_code == 403
    client = web_client_for(personas["coordinator"].user)
    assert client.get(f"{CSV}?start=2025-03-01&by=period").status_code == 422
    assert client.get(f"{CSV}?year=2025&by=period").status_code == 200
