"""The figures page: the API's figures drawn as SVG bar charts with a table, suppressed cells marked, CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from referrals.choices import ReferralStatus
from tests.support.figures_data import Data
from tests.support.web import web_client_for

MARCH = datetime(2025, 3, 10, 12, tzinfo=UTC)
JUNE = datetime(2025, 6, 2, 9, tzinfo=UTC)
PAGE = "/app/figures/"


@pytest.fixture
def data(orgs):
    return Data(orgs)


def page(persona, query: str = "year=2025&by=phenomenon"):
    response = web_client_for(persona.user).get(f"{PAGE}?{query}")
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def table_rows(html: str) -> dict[str, list[str]]:
    """The figures table's body rows: {row label: [cells]} (the first table of the page)."""
    table = html.split('<table class="figures">', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, re.S):
        label = re.search(r"<th scope=\"row\">(.*?)</th>", row, re.S).group(1).strip()
        rows[label] = [cell.strip() for cell in re.findall(r"<td class=\"number\">(.*?)</td>", row, re.S)]
    return rows


def test_counts_by_one_dimension_are_a_chart_and_a_table_with_the_small_ones_hidden(personas, data):
    data.referrals(9, sent_at=MARCH, phenomenon="teen_pimp")
    data.referrals(6, sent_at=MARCH, phenomenon="grooming")
    data.referrals(2, sent_at=MARCH, phenomenon="sextortion")
    html = page(personas["coordinator"])
    rows = table_rows(html)
    # The API's suppression: the 2 is hidden, and the 6 with it, else 17 - 9 - 6 would give it away.
    assert rows == {"Grooming": ["hidden"], "Sextortion": ["hidden"], "Teen pimps (loverboys)": ["9"]}
    assert "17 referrals in all." in html
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert 'role="img"' in html and "<title id=\"chart-counts-title\">Referrals by phenomenon</title>" in svg
    assert svg.count('class="hidden-stub"') == 2 and svg.count(">hidden</text>") == 2  # marked in words, not colour
    assert ">9</text>" in svg
    assert "fewer than 5 referrals is not shown" in html  # and explained
    assert "2</td>" not in html and "6</td>" not in html


def test_two_dimensions_draw_one_chart_per_value_of_the_second_and_a_cross_table(personas, data):
    data.referrals(9, sent_at=MARCH, phenomenon="teen_pimp", gender="female")
    data.referrals(7, sent_at=MARCH, phenomenon="teen_pimp", gender="male")
    data.referrals(8, sent_at=MARCH, phenomenon="grooming", gender="female")
    data.referrals(6, sent_at=MARCH, phenomenon="grooming", gender="male")
    html = page(personas["coordinator"], "year=2025&by=phenomenon&then_by=gender")
    assert html.count("<svg") == 2 + 2  # female, male; and the two timing charts
    assert "Referrals by phenomenon — gender: Female" in html
    assert table_rows(html) == {"Grooming": ["8", "6", "14"], "Teen pimps (loverboys)": ["9", "7", "16"]}
    assert re.search(r"<tfoot>.*17.*13.*30", html, re.S)


def test_periods_are_in_time_order(personas, data):
    data.referrals(5, sent_at=JUNE)
    data.referrals(6, sent_at=MARCH)
    html = page(personas["coordinator"], "year=2025&by=period&period=month")
    assert list(table_rows(html)) == ["2025-03", "2025-06"]
    html = page(personas["coordinator"], "year=2025&by=period&period=quarter")
    assert table_rows(html) == {"2025-Q1": ["6"], "2025-Q2": ["5"]}


def test_organisations_are_named_and_a_caseworker_sees_only_their_organisations_figures(personas, data, orgs):
    data.referrals(5, sent_at=MARCH)  # hotline-be → shelter-be
    other, second = data.unrelated()
    data.referrals(7, sender=other, recipient=second, sent_at=MARCH)
    everyone = table_rows(page(personas["coordinator"], "year=2025&by=organisation"))
    assert everyone == {orgs["shelter-be"].name: ["5"], second.name: ["7"]}
    mine = page(personas["caseworker"], "year=2025&by=organisation")
    assert table_rows(mine) == {orgs["shelter-be"].name: ["5"]}
    assert "The referrals your organisation sent or received." in mine
    assert second.name not in mine
    assert table_rows(page(personas["org_admin"], "year=2025&by=organisation")) == {orgs["shelter-be"].name: ["5"]}


def test_median_times_by_urgency_are_drawn_and_tabled(personas, data):
    answered = data.referrals(5, sent_at=MARCH, urgency="urgent", status=ReferralStatus.ACKNOWLEDGED)
    for referral in answered:
        referral.acknowledged_at = MARCH + timedelta(hours=3)
        referral.save(update_fields=["acknowledged_at"])
    data.referrals(2, sent_at=MARCH, urgency="normal", status=ReferralStatus.ACKNOWLEDGED,
                   acknowledged_at=MARCH + timedelta(hours=30))
    html = page(personas["coordinator"])
    timings = html.split('id="timings-heading"', 1)[1]
    assert "Median hours from sending to the first answer, by urgency" in timings
    assert re.search(r"Urgent</th>\s*<td class=\"number\">5</td>\s*<td class=\"number\">3.0 h</td>", timings)
    assert re.search(r"Normal</th>\s*<td class=\"number\">hidden</td>\s*<td class=\"number\">hidden</td>", timings)


def test_the_csv_downloads_are_the_apis_csv_of_the_same_query(personas, data):
    data.referrals(9, sent_at=MARCH, phenomenon="teen_pimp")
    data.referrals(2, sent_at=MARCH, phenomenon="sextortion")
    data.referrals(6, sent_at=MARCH, phenomenon="grooming")
    coordinator = personas["coordinator"]
    html = page(coordinator)
    link = re.search(r'href="(/app/figures/referrals\.csv\?[^"]+)"', html).group(1).replace("&amp;", "&")
    response = web_client_for(coordinator.user).get(link)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="referral-figures-2025-01-01-2025-12-31.csv"'
    assert response["Cache-Control"] == "no-store"
    api = coordinator.client.get("/api/v1/statistics/referrals/?year=2025&group_by=phenomenon&format=csv")
    assert response.content == api.content
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["phenomenon", "count", "suppressed"] and ["sextortion", "", "true"] in rows

    timings = web_client_for(coordinator.user).get("/app/figures/timings.csv?year=2025&by=phenomenon")
    assert timings.status_code == 200
    assert timings.content == coordinator.client.get("/api/v1/statistics/timings/?year=2025&format=csv").content


@pytest.mark.parametrize(("query", "field", "message"), [
    ("year=2025&start=2025-01-01&end=2025-02-01&by=period", "year", "Give a year or a from/to period, not both."),
    ("start=2025-03-01&by=period", "end", "Give both ends of the period."),
    ("start=2025-03-01&end=2025-02-01&by=period", "end", "Must not be before from."),
    ("year=1999&by=period", "year", ""),
    ("year=2025&by=phenomenon&then_by=phenomenon", "then_by", "Choose another dimension than the first"),
    ("year=2025&by=nonsense", "by", ""),
])
def test_a_bad_period_or_dimension_is_an_error_beside_its_field_and_no_figures(personas, query, field, message):
    html = page(personas["coordinator"], query)
    field_html = html.split(f'for="id_{field}"', 1)[1].split("</div>", 1)[0]
    assert 'class="errorlist' in field_html and message in field_html
    assert "<svg" not in html and "Download these figures" not in html
    response = web_client_for(personas["coordinator"].user).get(f"/app/figures/referrals.csv?{query}")
    assert response.status_code == 422


def test_the_page_without_a_query_shows_this_year_by_month(personas, data):
    html = page(personas["coordinator"], "")
    assert 'class="errorlist' not in html and "<svg" in html
    assert re.search(r'<option value="month" selected>', html) and re.search(r'<option value="period" selected>', html)
    assert f'value="{timezone.localdate().year}"' in html


def test_the_auditor_and_people_signed_out_have_no_figures(personas):
    assert web_client_for(personas["auditor"].user).get(PAGE).status_code == 403
    assert web_client_for(personas["auditor"].user).get("/app/figures/referrals.csv").status_code == 403
    signed_out = personas["anonymous"].client.get(PAGE)
    assert signed_out.status_code == 302 and signed_out["Location"].startswith("/app/sign-in/")
