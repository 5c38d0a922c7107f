"""Matches in oversight (issue #17, items 2 and 3): unattended ones listed and escalated once, figures per member.

A match nobody answered within ``MATCH_ACTION_WORKING_DAYS`` shows in
``/oversight/matches/?unattended=true`` and is escalated once by the worker's job;
coordinators read match counts per organisation and month, suppressed like every figure,
so that a member probing for identities stands out. Neither shows a case or anything
about the young person.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from coalition.audit.models import AuditEntry
from coalition.events.models import Event
from referrals.choices import MatchAction, MatchStatus
from referrals.matches import escalate_unattended, match_act
from referrals.models import Match, MatchKey
from tests.support.flows import CHILD
from tests.support.matching import SAME_CHILD_ELSEWHERE

MATCHES = "/api/v1/oversight/matches/"
FIGURES = "/api/v1/statistics/matches/"
MARCH = datetime(2025, 3, 10, 12, tzinfo=UTC)
JUNE = datetime(2025, 6, 2, 9, tzinfo=UTC)

def _results(persona, url):
    response = persona.client.get(url)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _past_due(match: Match) -> Match:
    """As if the working days allowed had passed without an answer."""
    Match.objects.filter(pk=match.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    match.refresh_from_db()
    return match


def _matches(data, count, *, a="hotline-be", b="care-nl", created_at=MARCH, answered=False, late=True):
    """``count`` matches between a case of ``a`` and one of ``b``, made straight in the database."""
    now = timezone.now()
    made = []
    for _ in range(count):
        first, second = sorted((data.case(lead=a), data.case(lead=b)), key=lambda case: str(case.pk))
        made.append(Match.objects.create(
            case_a=first, case_b=second, organisation_a=first.lead_organisation, organisation_b=second.lead_organisation,
            key_kinds=["name_and_birth_date"], created_at=created_at,
            due_at=now - timedelta(days=1) if late else now + timedelta(days=1),
            status=MatchStatus.DONE if answered else MatchStatus.OPEN,
            action_a=MatchAction.CONTACTED if answered else "", acted_a_at=now if answered else None,
        ))
    return made


# --- the list -----------------------------------------------------------------------------------


def test_a_match_found_before_its_due_time_is_not_unattended(personas, known_twice):
    [match] = Match.objects.all()
    assert match.due_at > timezone.now()
    assert _results(personas["coordinator"], f"{MATCHES}?unattended=true") == []
    [row] = _results(personas["coordinator"], MATCHES)
    assert row["id"] == str(match.id) and row["status"] == "open" and row["unattended"] is False


def test_an_open_match_past_its_due_time_is_listed_as_unattended_with_both_members(personas, orgs, known_twice):
    match = _past_due(Match.objects.get())
    [row] = _results(personas["coordinator"], f"{MATCHES}?unattended=true")
    assert set(row) == {"id", "status", "created_at", "due_at", "escalated_at", "unattended", "sides"}
    assert row["id"] == str(match.id) and row["status"] == "open" and row["unattended"] is True
    assert row["escalated_at"] is None
    hotline, care = orgs["hotline-be"], orgs["care-nl"]
    assert sorted(row["sides"], key=lambda side: side["organisation"]["name"]) == sorted([
        {"organisation": {"id": str(hotline.id), "name": hotline.name}, "action": None, "acted_at": None},
        {"organisation": {"id": str(care.id), "name": care.name}, "action": None, "acted_at": None},
    ], key=lambda side: side["organisation"]["name"])
    assert _results(personas["coordinator"], f"{MATCHES}?unattended=false") == []


def test_an_answered_match_is_not_unattended_and_shows_who_answered_when(personas, orgs, known_twice):
    match = _past_due(Match.objects.get())
    match_act(actor=personas["caseworker"].user, match=match, action=MatchAction.CONTACTED)
    assert _results(personas["coordinator"], f"{MATCHES}?unattended=true") == []
    [row] = _results(personas["coordinator"], f"{MATCHES}?status=done")
    assert row["unattended"] is False
    answers = {side["organisation"]["id"]: (side["action"], side["acted_at"]) for side in row["sides"]}
    assert answers[str(orgs["hotline-be"].id)][0] == "contacted" and answers[str(orgs["hotline-be"].id)][1]
    assert answers[str(orgs["care-nl"].id)] == (None, None)
    assert _results(personas["coordinator"], f"{MATCHES}?status=open") == []


def test_the_list_narrows_to_one_member_and_pages_newest_first(personas, orgs, data):
    older = _matches(data, 1, created_at=MARCH)
    newer = _matches(data, 1, created_at=JUNE, b="shelter-be")
    client, seen, url = personas["coordinator"].client, [], f"{MATCHES}?page_size=1"
    while url:
        page = client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert seen == [str(newer[0].id), str(older[0].id)]
    [row] = _results(personas["coordinator"], f"{MATCHES}?organisation={orgs['shelter-be'].id}")
    assert row["id"] == str(newer[0].id)


def test_a_page_of_matches_takes_a_fixed_number_of_queries(personas, data, django_assert_max_num_queries):
    _matches(data, 20)
    client = personas["coordinator"].client
    client.get(MATCHES)
    with django_assert_max_num_queries(2):  # authenticate, one page
        assert len(client.get(f"{MATCHES}?unattended=true").json()["results"]) == 20


def test_only_coordinators_follow_matches_up_in_oversight(personas, known_twice):
    for name in ("caseworker", "outsider_caseworker", "org_admin", "auditor", "partner_system"):
        for url in (MATCHES, FIGURES):
            response = personas[name].client.get(url)
            assert response.status_code == 403, (name, url)


# --- escalation ----------------------------------------------------------------------------------


def test_the_escalation_job_escalates_an_unattended_match_once(personas, known_twice):
    match = Match.objects.get()
    assert escalate_unattended() == 0  # not due yet
    _past_due(match)
    assert escalate_unattended() == 1
    assert escalate_unattended() == 0  # the second run finds it escalated already
    match.refresh_from_db()
    assert match.escalated_at is not None and match.status == MatchStatus.OPEN
    [event] = Event.objects.filter(type="match.escalated")
    assert event.data == {"match": str(match.id)}
    assert sorted(event.organisations) == sorted([str(match.organisation_a_id), str(match.organisation_b_id)])
    [entry] = AuditEntry.objects.filter(action="match.escalate")
    assert entry.object_id == str(match.id)
    [row] = _results(personas["coordinator"], f"{MATCHES}?unattended=true")
    assert row["escalated_at"] is not None  # escalated, and still listed until a side answers


def test_an_answered_match_is_never_escalated(personas, known_twice):
    match = _past_due(Match.objects.get())
    match_act(actor=personas["outsider_caseworker"].user, match=match, action=MatchAction.NOT_THE_SAME_PERSON)
    assert escalate_unattended() == 0
    assert not Event.objects.filter(type="match.escalated").exists()


# --- figures -------------------------------------------------------------------------------------


def _figures(persona, query="year=2025"):
    response = persona.client.get(f"{FIGURES}?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def _table(body):
    """{(organisation id, month or "all", measure): (count, suppressed)}."""
    table = {}
    for figures in body["organisations"]:
        for row in [*figures["months"], figures["total"] | {"month": "all"}]:
            for measure in ("found", "answered", "waiting", "unattended"):
                table[(figures["organisation"]["id"], row["month"], measure)] = (row[measure]["count"], row[measure]["suppressed"])
    return table


def shown(count):
    return (count, False)


def test_each_member_counts_the_matches_it_is_a_side_of_per_month_by_what_became_of_them(personas, orgs, data):
    _matches(data, 6, answered=True)  # hotline-be × care-nl, March
    _matches(data, 5)  # March, past due, nobody answered
    _matches(data, 5, created_at=JUNE, answered=True)
    _matches(data, 5, created_at=JUNE, b="shelter-be", late=False)  # June, still within the time allowed
    body = _figures(personas["coordinator"])
    assert (body["from"], body["to"], body["min_cell"]) == ("2025-01-01", "2025-12-31", 5)
    hotline, care, shelter = (str(orgs[slug].id) for slug in ("hotline-be", "care-nl", "shelter-be"))
    names = {f["organisation"]["id"]: f["organisation"]["name"] for f in body["organisations"]}
    assert names == {hotline: orgs["hotline-be"].name, care: orgs["care-nl"].name, shelter: orgs["shelter-be"].name}
    table = _table(body)
    assert {key[2]: value for key, value in table.items() if key[:2] == (hotline, "2025-03")} == {
        "found": shown(11), "answered": shown(6), "waiting": shown(0), "unattended": shown(5),
    }
    assert {key[2]: value for key, value in table.items() if key[:2] == (hotline, "2025-06")} == {
        "found": shown(10), "answered": shown(5), "waiting": shown(5), "unattended": shown(0),
    }
    assert {key[2]: value for key, value in table.items() if key[:2] == (hotline, "all")} == {
        "found": shown(21), "answered": shown(11), "waiting": shown(5), "unattended": shown(5),
    }
    assert table[(care, "all", "found")] == shown(16) and (care, "2025-06", "waiting") in table
    assert table[(shelter, "2025-06", "waiting")] == shown(5) and (shelter, "2025-03", "found") not in table
    assert _figures(personas["coordinator"], "from=2025-06-01&to=2025-06-30")["organisations"][0]["months"][0]["month"] == "2025-06"


def test_small_match_counts_are_suppressed_so_that_no_sum_gives_them_away(personas, orgs, data):
    _matches(data, 7, answered=True)
    _matches(data, 2)  # small: hidden, and the 7 with it, or 9 - 7 would tell
    unrelated, _other = data.unrelated()
    _matches(data, 3, a="shelter-be", b=unrelated, created_at=JUNE)
    table = _table(_figures(personas["coordinator"]))
    hotline = str(orgs["hotline-be"].id)
    assert table[(hotline, "2025-03", "found")] == (9, False)
    assert table[(hotline, "2025-03", "answered")] == (None, True)
    assert table[(hotline, "2025-03", "unattended")] == (None, True)
    assert table[(hotline, "2025-03", "waiting")] == (0, False)
    # The total over the year repeats March: its parts go too, its sum stays.
    assert table[(hotline, "all", "found")] == (9, False)
    assert table[(hotline, "all", "answered")] == (None, True) and table[(hotline, "all", "unattended")] == (None, True)
    for member in (orgs["shelter-be"], unrelated):  # three matches each: nothing of them is shown but that they occur
        assert table[(str(member.id), "2025-06", "found")] == (None, True)
        assert table[(str(member.id), "all", "found")] == (None, True)
        assert table[(str(member.id), "all", "unattended")] == (None, True)


def test_a_match_counts_in_the_month_of_the_coalition_time_zone(personas, orgs, data, settings):
    settings.COALITION_TIME_ZONE = "Europe/Brussels"
    _matches(data, 5, created_at=datetime(2025, 3, 31, 22, 30, tzinfo=UTC))  # 00:30 on 1 April in Brussels
    _matches(data, 5, created_at=datetime(2024, 12, 31, 23, 30, tzinfo=UTC))  # 00:30 on 1 January 2025
    [hotline] = [f for f in _figures(personas["coordinator"])["organisations"] if f["organisation"]["id"] == str(orgs["hotline-be"].id)]
    assert [(month["month"], month["found"]["count"]) for month in hotline["months"]] == [("2025-01", 5), ("2025-04", 5)]
    assert _figures(personas["coordinator"], "year=2024")["organisations"] == []


def test_match_figures_as_csv_one_line_per_member_month_and_measure(personas, orgs, data):
    _matches(data, 5, answered=True)
    response = personas["coordinator"].client.get(f"{FIGURES}?year=2025&format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="match-figures-2025-01-01-2025-12-31.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows[0] == ["organisation", "organisation_name", "month", "measure", "count", "suppressed"]
    hotline = orgs["hotline-be"]
    assert [str(hotline.id), hotline.name, "2025-03", "answered", "5", "false"] in rows
    assert [str(hotline.id), hotline.name, "all", "found", "5", "false"] in rows
    assert len(rows) == 1 + 2 * 2 * 4  # two members, a month and the total each, four measures


@pytest.mark.parametrize(("query", "field"), [("year=1999", "year"), ("from=2025-01-01", "to"), ("format=xml", "format")])
def test_a_bad_question_for_match_figures_is_a_400_problem_naming_the_field(personas, query, field):
    response = personas["coordinator"].client.get(f"{FIGURES}?{query}")
    assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert [error["pointer"] for error in response.json()["errors"]] == [f"#/{field}"]


def test_match_figures_take_a_fixed_number_of_queries(personas, data, django_assert_max_num_queries):
    _matches(data, 6)
    _matches(data, 6, a="shelter-be", b=data.unrelated()[0], created_at=JUNE)
    client = personas["coordinator"].client
    client.get(FIGURES)
    with django_assert_max_num_queries(2):  # authenticate, one GROUP BY of both sides
        assert len(client.get(f"{FIGURES}?year=2025").json()["organisations"]) == 4


# --- nothing about the young person ---------------------------------------------------------------


def test_no_match_answer_holds_a_case_id_or_identity(personas, known_twice):
    hotline_case, care_case = known_twice
    _past_due(Match.objects.get())
    escalate_unattended()
    identity = ("given_name", "family_name", "date_of_birth", "municipality", "safe_contact")
    secrets = [hotline_case["id"], care_case["id"], *MatchKey.objects.values_list("digest", flat=True)]
    secrets += [CHILD[field] for field in identity] + [SAME_CHILD_ELSEWHERE[field] for field in identity]
    year = timezone.localdate().year
    urls = [MATCHES, f"{MATCHES}?unattended=true", f"{FIGURES}?year={year}", f"{FIGURES}?year={year}&format=csv"]
    for url in urls:
        response = personas["coordinator"].client.get(url)
        assert response.status_code == 200
        content = response.content.decode()
        if response["Content-Type"].startswith("application/json"):
            assert not [key for key in _keys(response.json()) if "case" in key]
        for secret in secrets:
            assert secret.lower() not in content.lower(), (url, secret)


def _keys(value):
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)
