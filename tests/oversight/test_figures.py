"""Figures: counts by dimension and median timings, suppressed, scoped, as JSON and CSV."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from referrals.choices import ReferralStatus

MARCH = datetime(2025, 3, 10, 12, tzinfo=UTC)
JUNE = datetime(2025, 6, 2, 9, tzinfo=UTC)
URL = "/api/v1/statistics/referrals/"


def figures(persona, query="year=2025", **headers):
    response = persona.client.get(f"{URL}?{query}", **headers)
    assert response.status_code == 200, response.content
    return response.json()


def cells_by(body, *dimensions):
    return {tuple(cell[d] for d in dimensions): (cell["count"], cell["suppressed"]) for cell in body["cells"]}


# --- suppression through the API -----------------------------------------------------------------


def test_a_total_of_exactly_five_is_shown(personas, data):
    data.referrals(5, sent_at=MARCH)
    body = figures(personas["coordinator"])
    assert body["total"] == {"count": 5, "suppressed": False}
    assert body["cells"] == [] and body["group_by"] == [] and body["period"] is None
    assert body["scope"] == "coalition" and body["min_cell"] == 5
    assert (body["from"], body["to"]) == ("2025-01-01", "2025-12-31")


def test_a_total_of_four_is_suppressed(personas, data):
    data.referrals(4, sent_at=MARCH)
    assert figures(personas["coordinator"])["total"] == {"count": None, "suppressed": True}


def test_a_year_without_referrals_is_a_total_of_zero_and_no_cells(personas, data):
    data.referrals(3, sent_at=MARCH)
    body = figures(personas["coordinator"], "year=2024&group_by=phenomenon")
    assert body["total"] == {"count": 0, "suppressed": False}
    assert body["cells"] == []


def test_one_small_cell_hides_the_next_smallest_so_the_total_cannot_reveal_it(personas, data):
    data.referrals(9, sent_at=MARCH, phenomenon="teen_pimp")
    data.referrals(6, sent_at=MARCH, phenomenon="grooming")
    data.referrals(2, sent_at=MARCH, phenomenon="sextortion")
    body = figures(personas["coordinator"], "year=2025&group_by=phenomenon")
    assert cells_by(body, "phenomenon") == {
        ("teen_pimp",): (9, False),
        ("grooming",): (None, True),  # secondary: 17 - 9 would otherwise give the 2 away
        ("sextortion",): (None, True),
    }
    assert body["total"] == {"count": 17, "suppressed": False}
    assert body["margins"] == {}  # one dimension: the cells are the subtotals


def test_threshold_is_configurable(personas, data, settings):
    settings.STATISTICS_MIN_CELL = 10
    data.referrals(9, sent_at=MARCH)
    body = figures(personas["coordinator"])
    assert body["min_cell"] == 10 and body["total"]["suppressed"] is True


TABLE = {  # phenomenon × gender; the one small cell is grooming × male
    ("teen_pimp", "female"): 9, ("teen_pimp", "male"): 7, ("teen_pimp", "non_binary"): 6,
    ("grooming", "female"): 8, ("grooming", "male"): 2, ("grooming", "non_binary"): 10,
}


def _table(data):
    for (phenomenon, gender), count in TABLE.items():
        data.referrals(count, sent_at=MARCH, phenomenon=phenomenon, gender=gender)


def test_every_subtotal_over_a_small_cell_hides_a_second_cell(personas, data):
    _table(data)
    body = figures(personas["coordinator"], "year=2025&group_by=phenomenon,gender")
    # grooming × male (2) is small. The grooming subtotal (20) would give it away: its next
    # smallest cell (grooming × female, 8) goes too. The male (9) and female (17) subtotals then
    # each hold one hidden cell: teen_pimp × male and teen_pimp × female go as well.
    assert cells_by(body, "phenomenon", "gender") == {
        ("teen_pimp", "female"): (None, True),
        ("teen_pimp", "male"): (None, True),
        ("teen_pimp", "non_binary"): (6, False),
        ("grooming", "female"): (None, True),
        ("grooming", "male"): (None, True),
        ("grooming", "non_binary"): (10, False),
    }
    margins = {d: {f[d]: f["count"] for f in body["margins"][d]} for d in ("phenomenon", "gender")}
    assert margins == {
        "phenomenon": {"grooming": 20, "teen_pimp": 22},
        "gender": {"female": 17, "male": 9, "non_binary": 16},
    }
    assert body["total"] == {"count": 42, "suppressed": False}


def test_a_two_by_two_table_with_one_small_cell_hides_all_four_cells(personas, data):
    data.referrals(9, sent_at=MARCH, phenomenon="teen_pimp", gender="female")
    data.referrals(7, sent_at=MARCH, phenomenon="teen_pimp", gender="male")
    data.referrals(6, sent_at=MARCH, phenomenon="grooming", gender="female")
    data.referrals(2, sent_at=MARCH, phenomenon="grooming", gender="male")
    body = figures(personas["coordinator"], "year=2025&group_by=phenomenon,gender")
    assert all(cell["suppressed"] and cell["count"] is None for cell in body["cells"])
    assert body["total"] == {"count": 24, "suppressed": False}


# --- dimensions ------------------------------------------------------------------------------------


def test_periods_are_months_quarters_or_years(personas, data):
    data.referrals(5, sent_at=MARCH)
    data.referrals(5, sent_at=JUNE)
    coordinator = personas["coordinator"]
    months = cells_by(figures(coordinator, "year=2025&group_by=period"), "period")
    assert months == {("2025-03",): (5, False), ("2025-06",): (5, False)}
    quarters = cells_by(figures(coordinator, "year=2025&group_by=period&period=quarter"), "period")
    assert quarters == {("2025-Q1",): (5, False), ("2025-Q2",): (5, False)}
    years = figures(coordinator, "year=2025&group_by=period&period=year")
    assert cells_by(years, "period") == {("2025",): (10, False)} and years["period"] == "year"


def test_age_bands_gender_organisation_and_outcome_are_codes(personas, data, orgs):
    data.referrals(5, sent_at=MARCH, age=None, gender="")
    data.referrals(5, sent_at=MARCH, age=11, status=ReferralStatus.COMPLETED, outcome_code="service_delivered")
    data.referrals(5, sent_at=MARCH, age=18, status=ReferralStatus.DECLINED, recipient="care-nl")
    body = figures(personas["coordinator"], "year=2025&group_by=age_band,gender,organisation,outcome")
    shelter, care = str(orgs["shelter-be"].id), str(orgs["care-nl"].id)
    assert cells_by(body, "age_band", "gender", "organisation", "outcome") == {
        ("unknown", "unknown", shelter, "sent"): (5, False),
        ("0-11", "female", shelter, "service_delivered"): (5, False),
        ("18+", "female", care, "declined"): (5, False),
    }


def test_a_period_of_days_counts_both_ends(personas, data):
    data.referrals(5, sent_at=datetime(2025, 3, 1, 0, 0, tzinfo=UTC))
    data.referrals(5, sent_at=datetime(2025, 3, 31, 23, 59, tzinfo=UTC))
    data.referrals(5, sent_at=datetime(2025, 4, 1, 0, 0, tzinfo=UTC))
    assert figures(personas["coordinator"], "from=2025-03-01&to=2025-03-31")["total"]["count"] == 10


def test_drafts_are_not_counted(personas, data):
    data.referrals(5, sent_at=MARCH)
    data.referrals(5, sent_at=None, status=ReferralStatus.DRAFT, created_at=MARCH)
    assert figures(personas["coordinator"])["total"]["count"] == 5


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("year=2025&from=2025-01-01&to=2025-02-01", "year"),
        ("from=2025-01-01", "to"),
        ("to=2025-01-01", "from"),
        ("from=2025-02-01&to=2025-01-01", "to"),
        ("year=1999", "year"),
        ("from=1990-01-01&to=2025-01-01", "from"),
        ("group_by=phenomenon,phenomenon", "group_by"),
        ("group_by=given_name", "group_by"),
        ("period=week", "period"),
        ("format=xml", "format"),
    ],
)
def test_a_bad_question_is_a_400_problem_naming_the_field(personas, query, field):
    response = personas["coordinator"].client.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert [error["pointer"] for error in response.json()["errors"]] == [f"#/{field}"]


# --- who counts what -------------------------------------------------------------------------------


def test_a_caseworker_counts_only_what_its_organisation_sent_or_received(personas, data, orgs):
    unrelated, other = data.unrelated()
    data.referrals(5, sent_at=MARCH)  # hotline-be -> shelter-be
    data.referrals(7, sent_at=MARCH, sender=unrelated, recipient=other)
    data.referrals(6, sent_at=MARCH, sender="care-nl", recipient="hotline-be")
    assert figures(personas["coordinator"])["total"]["count"] == 18
    hotline = figures(personas["caseworker"], "year=2025&group_by=organisation")
    assert hotline["scope"] == "organisation" and hotline["total"]["count"] == 11
    assert set(cells_by(hotline, "organisation")) == {(str(orgs["shelter-be"].id),), (str(orgs["hotline-be"].id),)}
    assert figures(personas["recipient_caseworker"])["total"]["count"] == 5
    assert figures(personas["org_admin"])["total"]["count"] == 11
    care = figures(personas["outsider_caseworker"], "year=2025&group_by=organisation")
    assert care["total"]["count"] == 6
    assert str(unrelated.id) not in str(care) and str(other.id) not in str(care)


def test_an_organisation_without_referrals_sees_zero_not_the_coalition(personas, data):
    unrelated, other = data.unrelated()
    data.referrals(9, sent_at=MARCH, sender=unrelated, recipient=other)
    assert figures(personas["outsider_admin"])["total"] == {"count": 0, "suppressed": False}


def test_api_keys_and_auditors_get_no_figures(personas):
    for name in ("partner_system", "auditor"):
        for url in (URL, "/api/v1/statistics/timings/"):
            assert personas[name].client.get(url).status_code == 403


# --- CSV -------------------------------------------------------------------------------------------


def _csv(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


def test_csv_has_one_line_per_cell_then_subtotals_then_the_total(personas, data):
    _table(data)
    response = personas["coordinator"].client.get(f"{URL}?year=2025&group_by=phenomenon,gender&format=csv")
    rows = _csv(response)
    assert 'filename="referral-figures-2025-01-01-2025-12-31.csv"' in response["Content-Disposition"]
    assert rows[0] == ["phenomenon", "gender", "count", "suppressed"]
    assert rows[1:7] == [
        ["grooming", "female", "", "true"],
        ["grooming", "male", "", "true"],
        ["grooming", "non_binary", "10", "false"],
        ["teen_pimp", "female", "", "true"],
        ["teen_pimp", "male", "", "true"],
        ["teen_pimp", "non_binary", "6", "false"],
    ]
    assert ["grooming", "all", "20", "false"] in rows and ["all", "male", "9", "false"] in rows
    assert rows[-1] == ["all", "all", "42", "false"]
    assert len(rows) == 1 + 6 + 2 + 3 + 1


def test_csv_is_chosen_by_the_accept_header_too(personas, data):
    data.referrals(5, sent_at=MARCH)
    rows = _csv(personas["coordinator"].client.get(f"{URL}?year=2025", HTTP_ACCEPT="text/csv"))
    assert rows == [["count", "suppressed"], ["5", "false"]]


def test_problems_stay_json_when_csv_was_asked_for(personas):
    response = personas["coordinator"].client.get(f"{URL}?group_by=nope&format=csv")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    forbidden = personas["auditor"].client.get(URL, HTTP_ACCEPT="text/csv")
    assert forbidden.status_code == 403 and forbidden["Content-Type"] == "application/problem+json"


def test_timings_csv_has_a_line_per_urgency_and_measure(personas, data):
    rows = _csv(personas["coordinator"].client.get("/api/v1/statistics/timings/?year=2025&format=csv"))
    assert rows[0] == ["urgency", "measure", "count", "median_hours", "suppressed"]
    assert len(rows) == 1 + 3 * 2
    assert ["normal", "accept", "0", "", "false"] in rows


# --- timings ---------------------------------------------------------------------------------------


def _answered(data, hours, **fields):
    for hour in hours:
        data.referrals(1, sent_at=MARCH, **{key: MARCH + timedelta(hours=hour) for key in fields["at"]},
                       status=fields.get("status", ReferralStatus.ACCEPTED), urgency=fields.get("urgency", "urgent"))


def test_median_hours_to_answer_and_to_accept_by_urgency(personas, data):
    _answered(data, [1, 2, 3, 4, 10], at=["acknowledged_at"], status=ReferralStatus.ACKNOWLEDGED)
    _answered(data, [2, 4, 6, 8, 20, 30], at=["accepted_at"])  # accepted without acknowledging first
    response = personas["coordinator"].client.get("/api/v1/statistics/timings/?year=2025")
    assert response.status_code == 200
    urgent = next(row for row in response.json()["results"] if row["urgency"] == "urgent")
    # first answer: 1, 2, 2, 3, 4, 4, 6, 8, 10, 20, 30 -> 4; acceptance: 2, 4, 6, 8, 20, 30 -> 7
    assert urgent["acknowledge"] == {"count": 11, "median_hours": 4.0, "suppressed": False}
    assert urgent["accept"] == {"count": 6, "median_hours": 7.0, "suppressed": False}


def test_a_median_over_fewer_than_five_referrals_is_suppressed(personas, data):
    _answered(data, [1, 2, 3, 4], at=["acknowledged_at"], status=ReferralStatus.ACKNOWLEDGED, urgency="immediate")
    body = personas["coordinator"].client.get("/api/v1/statistics/timings/?year=2025").json()
    immediate = next(row for row in body["results"] if row["urgency"] == "immediate")
    assert immediate["acknowledge"] == {"count": None, "median_hours": None, "suppressed": True}
    assert immediate["accept"] == {"count": 0, "median_hours": None, "suppressed": False}


def test_timings_count_only_the_organisations_own_referrals(personas, data):
    unrelated, other = data.unrelated()
    data.referrals(5, sent_at=MARCH, sender=unrelated, recipient=other, status=ReferralStatus.ACCEPTED,
                   accepted_at=MARCH + timedelta(hours=3), urgency="urgent")
    body = personas["caseworker"].client.get("/api/v1/statistics/timings/?year=2025").json()
    assert body["scope"] == "organisation"
    assert all(row[m]["count"] == 0 for row in body["results"] for m in ("acknowledge", "accept"))


def test_figures_take_a_fixed_number_of_queries(personas, data, django_assert_max_num_queries):
    for phenomenon in ("teen_pimp", "grooming", "sextortion"):
        data.referrals(6, sent_at=MARCH, phenomenon=phenomenon)
    client = personas["coordinator"].client
    client.get(URL)
    with django_assert_max_num_queries(2):  # authenticate, one GROUP BY
        client.get(f"{URL}?year=2025&group_by=phenomenon,gender,age_band,period")
