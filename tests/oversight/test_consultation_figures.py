"""Consultation figures (issue #18, item 4): consultations and their answers by phenomenon and period, suppressed.

``GET /api/v1/statistics/consultations/`` counts the consultations asked in a period, per
phenomenon and per month (or quarter, or year) of the coalition's time zone: the requests
made of members and their answers (yes, no, waitlist, unanswered), and how many
consultations became at least one referral, with that share. Coordinators count the whole
coalition; a member counts the consultations it asked and its own answers to those it was
asked, never another member's. Small counts are suppressed like every figure.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from coalition.oversight.suppression import Line, suppress
from referrals.consultations import consultation_answer, consultation_refer, consultation_withdraw
from referrals.models import Consultation
from tests.support.consultations import ask, request_of

URL = "/api/v1/statistics/consultations/"
MARCH = datetime(2025, 3, 10, 12, tzinfo=UTC)
JUNE = datetime(2025, 6, 2, 9, tzinfo=UTC)
MEASURES = ("consultations", "requests", "yes", "no", "waitlist", "unanswered", "referred")
ANSWERING = {"shelter-be": "recipient_caseworker", "care-nl": "outsider_caseworker"}


def _asked(personas, orgs, count, *slugs, when=MARCH, **triage) -> list[Consultation]:
    """``count`` consultations of hotline-be, through the service, as if asked at ``when``."""
    made = [ask(personas, orgs, *slugs, **triage) for _ in range(count)]
    Consultation.objects.filter(pk__in=[c.pk for c in made]).update(created_at=when)
    return made


def _answer(personas, orgs, consultations, slug, answer):
    for consultation in consultations:
        consultation_answer(actor=personas[ANSWERING[slug]].user, request=request_of(consultation, orgs[slug]),
                            answer=answer)


def _refer(personas, orgs, data, consultations, slug):
    for consultation in consultations:
        consultation_refer(actor=personas["caseworker"].user, request=request_of(consultation, orgs[slug]),
                           case=data.case("hotline-be"), legal_basis="vital_interest",
                           legal_basis_justification="She cannot go home tonight.")


def _figures(persona, query="year=2025"):
    response = persona.client.get(f"{URL}?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def _table(body):
    """{(phenomenon or "all", period or "all"): {measure: count or "hidden", "referred_share": share}}."""
    table = {}
    for figures in [body["all_phenomena"] | {"phenomenon": "all"}, *body["phenomena"]]:
        for row in [*figures["periods"], figures["total"] | {"period": "all"}]:
            values = {m: "hidden" if row[m]["suppressed"] else row[m]["count"] for m in MEASURES}
            assert all(row[m]["suppressed"] == (row[m]["count"] is None) for m in MEASURES)
            table[(figures["phenomenon"], row["period"])] = values | {"referred_share": row["referred_share"]}
    return table


def _row(consultations, requests, yes, no, waitlist, unanswered, referred, share):
    return dict(zip((*MEASURES, "referred_share"), (consultations, requests, yes, no, waitlist, unanswered, referred, share),
                    strict=True))


# --- what is counted -------------------------------------------------------------------------------


def test_consultations_count_per_phenomenon_and_month_with_their_answers_and_the_share_referred(personas, orgs, data):
    teen_pimp = _asked(personas, orgs, 10)  # of shelter-be and care-nl: twenty requests
    _answer(personas, orgs, teen_pimp[:5], "shelter-be", "yes")
    _answer(personas, orgs, teen_pimp[5:], "shelter-be", "no")
    _answer(personas, orgs, teen_pimp[:5], "care-nl", "waitlist")  # care-nl leaves the other five unanswered
    _refer(personas, orgs, data, teen_pimp[:5], "shelter-be")
    grooming = _asked(personas, orgs, 5, "shelter-be", when=JUNE, phenomenon="grooming")
    for consultation in grooming:  # withdrawn before any answer: unanswered
        consultation_withdraw(actor=personas["caseworker"].user, consultation=consultation)
    body = _figures(personas["coordinator"])
    assert (body["scope"], body["from"], body["to"], body["period"], body["min_cell"]) == (
        "coalition", "2025-01-01", "2025-12-31", "month", 5)
    assert [f["phenomenon"] for f in body["phenomena"]] == ["grooming", "teen_pimp"]
    assert _table(body) == {
        ("teen_pimp", "2025-03"): _row(10, 20, 5, 5, 5, 5, 5, 50.0),
        ("teen_pimp", "all"): _row(10, 20, 5, 5, 5, 5, 5, 50.0),
        ("grooming", "2025-06"): _row(5, 5, 0, 0, 0, 5, 0, 0.0),
        ("grooming", "all"): _row(5, 5, 0, 0, 0, 5, 0, 0.0),
        ("all", "2025-03"): _row(10, 20, 5, 5, 5, 5, 5, 50.0),
        ("all", "2025-06"): _row(5, 5, 0, 0, 0, 5, 0, 0.0),
        ("all", "all"): _row(15, 25, 5, 5, 5, 10, 5, 33.3),
    }


def test_consultations_count_in_the_period_asked_in_the_coalition_time_zone(personas, orgs, settings):
    settings.COALITION_TIME_ZONE = "Europe/Brussels"
    _asked(personas, orgs, 5, when=datetime(2025, 3, 31, 22, 30, tzinfo=UTC))  # 00:30 on 1 April in Brussels
    _asked(personas, orgs, 5, when=datetime(2024, 12, 31, 23, 30, tzinfo=UTC))  # 00:30 on 1 January 2025
    _asked(personas, orgs, 5, when=JUNE)
    months = _figures(personas["coordinator"])["all_phenomena"]["periods"]
    assert [(row["period"], row["consultations"]["count"]) for row in months] == [
        ("2025-01", 5), ("2025-04", 5), ("2025-06", 5)]
    quarters = _figures(personas["coordinator"], "year=2025&period=quarter")
    assert quarters["period"] == "quarter"
    assert [(row["period"], row["consultations"]["count"]) for row in quarters["all_phenomena"]["periods"]] == [
        ("2025-Q1", 5), ("2025-Q2", 10)]
    spring = _figures(personas["coordinator"], "from=2025-04-01&to=2025-06-30&period=year")
    assert [(row["period"], row["consultations"]["count"]) for row in spring["all_phenomena"]["periods"]] == [
        ("2025", 10)]
    assert _figures(personas["coordinator"], "year=2024") | {"from": None, "to": None} == {
        "scope": "coalition", "from": None, "to": None, "period": "month", "min_cell": 5, "phenomena": [],
        "all_phenomena": {"periods": [], "total": _zero_figures()},
    }


def _zero_figures():
    return {m: {"count": 0, "suppressed": False} for m in MEASURES} | {"referred_share": None}


# --- suppression -----------------------------------------------------------------------------------


def test_small_counts_are_suppressed_and_no_total_gives_them_away(personas, orgs, data):
    teen_pimp = _asked(personas, orgs, 7, "shelter-be")
    _answer(personas, orgs, teen_pimp, "shelter-be", "yes")
    _refer(personas, orgs, data, teen_pimp[:2], "shelter-be")  # two referred: hidden, and the share with them
    _asked(personas, orgs, 3, "shelter-be", phenomenon="grooming")  # three: hidden, and the seven beside them
    table = _table(_figures(personas["coordinator"]))
    assert table[("grooming", "2025-03")] == _row("hidden", "hidden", 0, 0, 0, "hidden", 0, None)
    assert table[("grooming", "all")] == table[("grooming", "2025-03")]
    # Ten in all, so the seven would tell the three: hidden too, and their requests, which the
    # seven yes answers would add up to, with their yes.
    assert table[("teen_pimp", "all")] == _row("hidden", "hidden", "hidden", 0, 0, 0, "hidden", None)
    assert table[("all", "all")] == _row(10, 10, "hidden", 0, 0, "hidden", "hidden", None)
    assert table[("all", "2025-03")] == table[("all", "all")]


def test_a_share_is_shown_only_where_both_its_figures_are(personas, orgs, data):
    consultations = _asked(personas, orgs, 9, "shelter-be")
    _answer(personas, orgs, consultations, "shelter-be", "yes")
    _refer(personas, orgs, data, consultations[:6], "shelter-be")  # 6 of 9: the 3 not referred would be 9 - 6
    [row] = _figures(personas["coordinator"])["all_phenomena"]["periods"]
    assert row["consultations"] == {"count": 9, "suppressed": False}
    assert row["referred"] == {"count": None, "suppressed": True} and row["referred_share"] is None
    _refer(personas, orgs, data, consultations[6:8], "shelter-be")  # 8 of 9: the one not referred still tells
    [row] = _figures(personas["coordinator"])["all_phenomena"]["periods"]
    assert row["referred"]["suppressed"] and row["referred_share"] is None
    _refer(personas, orgs, data, consultations[8:], "shelter-be")  # all nine
    [row] = _figures(personas["coordinator"])["all_phenomena"]["periods"]
    assert row["referred"] == {"count": 9, "suppressed": False} and row["referred_share"] == 100.0


def test_a_hidden_total_whose_parts_are_all_shown_has_one_of_them_hidden_too():
    # 10 = 7 + 3 and 7 = 7 + 0: the 3 hides the 7 of the first line; the 7 of the second,
    # its only part, would give it back.
    counts = [10, 7, 3, 7, 0]
    lines = [Line(total=0, parts=(1, 2)), Line(total=1, parts=(3,))]
    assert suppress(counts, lines, 5) == [False, True, True, True, False]


# --- who counts what ---------------------------------------------------------------------------------


def test_a_member_counts_the_consultations_it_asked_and_only_its_own_answers_to_those_it_was_asked(
    personas, orgs, data
):
    both = _asked(personas, orgs, 5)  # of shelter-be and care-nl
    _answer(personas, orgs, both, "shelter-be", "no")
    _answer(personas, orgs, both, "care-nl", "yes")
    _refer(personas, orgs, data, both, "care-nl")
    _asked(personas, orgs, 5, "care-nl", phenomenon="grooming")  # shelter-be was not asked
    asker = _row(10, 15, 5, 5, 0, 5, 5, 50.0)
    for name in ("caseworker", "org_admin"):  # hotline-be: every request of what it asked
        body = _figures(personas[name])
        assert body["scope"] == "organisation"
        assert _table(body)[("all", "all")] == asker
    shelter = _table(_figures(personas["recipient_caseworker"]))
    # Its own five "no": not that care-nl was asked too, nor its yes, nor the referral it became.
    assert shelter == {
        (phenomenon, period): _row(5, 5, 0, 5, 0, 0, 0, 0.0)
        for phenomenon in ("teen_pimp", "all") for period in ("2025-03", "all")
    }
    care = _table(_figures(personas["outsider_caseworker"]))
    assert care[("teen_pimp", "all")] == _row(5, 5, 5, 0, 0, 0, 5, 100.0)
    assert care[("grooming", "all")] == _row(5, 5, 0, 0, 0, 5, 0, 0.0)
    coalition = _figures(personas["coordinator"])
    assert coalition["scope"] == "coalition" and _table(coalition)[("all", "all")] == asker  # every request there is


@pytest.mark.parametrize(("persona", "status"), [("auditor", 403), ("partner_system", 403), ("anonymous", 401)])
def test_auditors_api_keys_and_strangers_read_no_consultation_figures(personas, orgs, persona, status):
    _asked(personas, orgs, 5)
    assert personas[persona].client.get(URL).status_code == status
    assert personas[persona].client.get(f"{URL}?format=csv").status_code == status


# --- CSV, bad questions, cost -----------------------------------------------------------------------


def test_the_csv_is_the_json_one_line_per_phenomenon_period_and_measure(personas, orgs, data):
    consultations = _asked(personas, orgs, 12, "shelter-be")
    _answer(personas, orgs, consultations, "shelter-be", "yes")
    _refer(personas, orgs, data, consultations[:5], "shelter-be")
    grooming = _asked(personas, orgs, 5, "shelter-be", when=JUNE, phenomenon="grooming")
    _answer(personas, orgs, grooming[:2], "shelter-be", "no")  # two no and three unanswered: hidden
    client = personas["coordinator"].client
    response = client.get(f"{URL}?year=2025&format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="consultation-figures-2025-01-01-2025-12-31.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows[0] == ["phenomenon", "period", "measure", "value", "suppressed"]
    expected = []
    for (phenomenon, period), values in _table(_figures(personas["coordinator"])).items():
        for measure in MEASURES:
            value = values[measure]
            expected.append([phenomenon, period, measure, "" if value == "hidden" else str(value),
                             "true" if value == "hidden" else "false"])
        share = values["referred_share"]
        expected.append([phenomenon, period, "referred_share", "" if share is None else str(share),
                         "true" if share is None else "false"])
    assert rows[1:] == expected
    assert ["teen_pimp", "all", "referred_share", "41.7", "false"] in rows  # 5 of 12
    assert ["grooming", "2025-06", "no", "", "true"] in rows and ["grooming", "2025-06", "requests", "5", "false"] in rows
    assert len(rows) == 1 + (3 + 2 + 2) * 8  # all: two months and the total; each phenomenon: its month and total


@pytest.mark.parametrize(("query", "field"), [("year=1999", "year"), ("from=2025-01-01", "to"),
                                              ("period=week", "period"), ("format=xml", "format")])
def test_a_bad_question_is_a_400_problem_naming_the_field(personas, query, field):
    response = personas["coordinator"].client.get(f"{URL}?{query}")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert [error["pointer"] for error in response.json()["errors"]] == [f"#/{field}"]


def test_consultation_figures_take_a_fixed_number_of_queries(personas, orgs, data, django_assert_max_num_queries):
    for phenomenon, when in (("teen_pimp", MARCH), ("grooming", JUNE), ("sextortion", JUNE)):
        consultations = _asked(personas, orgs, 6, when=when, phenomenon=phenomenon)
        _answer(personas, orgs, consultations, "shelter-be", "yes")
        _refer(personas, orgs, data, consultations[:5], "shelter-be")
    for name in ("coordinator", "recipient_caseworker"):
        client = personas[name].client
        client.get(URL)
        with django_assert_max_num_queries(2):  # authenticate, one GROUP BY
            assert len(client.get(f"{URL}?year=2025").json()["phenomena"]) == 3


def test_no_consultation_figure_holds_the_question_a_note_or_an_id(personas, orgs, data):
    consultations = _asked(personas, orgs, 5)
    for consultation in consultations:
        consultation_answer(actor=personas["recipient_caseworker"].user,
                            request=request_of(consultation, orgs["shelter-be"]), answer="yes", note="Bed 4 is free.")
    _refer(personas, orgs, data, consultations, "shelter-be")
    for persona in ("coordinator", "caseworker", "recipient_caseworker"):
        for url in (f"{URL}?year=2025", f"{URL}?year=2025&format=csv"):
            content = personas[persona].client.get(url).content.decode()
            assert "tonight" not in content and "Bed 4" not in content
            for consultation in consultations:
                assert str(consultation.pk) not in content
