"""Deadlines from urgency and what is overdue (api_docs/concepts.md, "Deadlines")."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from referrals import services
from referrals.deadlines import (
    DEFAULT_DEADLINES,
    add_span,
    deadlines_for,
    is_working_day,
    parse_deadlines,
    parse_time_zone,
)
from referrals.models import Referral

# In June 2024, with no public holiday in Belgium or the Netherlands nearby.
FRIDAY_16 = datetime(2024, 6, 7, 16, 0, tzinfo=UTC)
WEDNESDAY_9 = datetime(2024, 6, 12, 9, 30, tzinfo=UTC)
BRUSSELS = ZoneInfo("Europe/Brussels")


def brussels(*args) -> datetime:
    return datetime(*args, tzinfo=BRUSSELS)


def test_the_reference_dates_are_the_weekdays_they_claim():
    assert FRIDAY_16.strftime("%A") == "Friday"
    assert WEDNESDAY_9.strftime("%A") == "Wednesday"


@pytest.mark.parametrize(
    ("urgency", "acknowledge", "decide"),
    [("immediate", timedelta(hours=1), timedelta(hours=4)), ("urgent", timedelta(hours=4), timedelta(hours=24))],
)
def test_immediate_and_urgent_deadlines_are_hours_round_the_clock(settings, urgency, acknowledge, decide):
    settings.REFERRAL_DEADLINES = DEFAULT_DEADLINES
    assert deadlines_for(urgency, FRIDAY_16, country="BE") == (FRIDAY_16 + acknowledge, FRIDAY_16 + decide)


def test_a_normal_referral_sent_on_friday_afternoon_is_due_on_tuesday_and_the_next_friday(settings):
    settings.REFERRAL_DEADLINES = DEFAULT_DEADLINES
    acknowledge_due, decide_due = deadlines_for("normal", FRIDAY_16, country="BE")
    assert acknowledge_due == datetime(2024, 6, 11, 16, 0, tzinfo=UTC)  # Tuesday 18:00 in Brussels
    assert acknowledge_due.strftime("%A") == "Tuesday"
    assert decide_due == datetime(2024, 6, 14, 16, 0, tzinfo=UTC)  # Friday, five working days on


def test_a_normal_referral_sent_midweek_counts_working_days_across_the_weekend(settings):
    settings.REFERRAL_DEADLINES = DEFAULT_DEADLINES
    acknowledge_due, decide_due = deadlines_for("normal", WEDNESDAY_9, country="NL")
    assert acknowledge_due == datetime(2024, 6, 14, 9, 30, tzinfo=UTC)  # Friday
    assert decide_due == datetime(2024, 6, 19, 9, 30, tzinfo=UTC)  # next Wednesday


def test_working_days_from_a_weekend_count_from_the_start_of_monday_in_brussels():
    saturday = brussels(2024, 6, 8, 12, 0)
    assert add_span(saturday, "1wd", country="BE") == brussels(2024, 6, 11, 0, 0)  # Tuesday 00:00: all of Monday
    assert add_span(saturday, "2wd", country="BE") == brussels(2024, 6, 12, 0, 0)


def test_a_referral_sent_saturday_half_past_midnight_in_brussels_counts_from_monday_not_friday():
    """Friday 22:30 UTC is already Saturday in Brussels: counted in UTC it was a Friday send, due on a Saturday."""
    sent = brussels(2025, 6, 14, 0, 30)
    assert sent.astimezone(UTC).strftime("%A %H:%M") == "Friday 22:30"
    acknowledge_due, decide_due = deadlines_for("normal", sent, country="BE")
    assert acknowledge_due == brussels(2025, 6, 18, 0, 0)  # Wednesday 00:00: Monday and Tuesday to answer
    assert decide_due == brussels(2025, 6, 23, 0, 0)  # Monday 00:00: all of the five working days
    assert decide_due.astimezone(BRUSSELS).strftime("%A") == "Monday"


@pytest.mark.parametrize(
    "sent",
    [brussels(2025, 6, 6, 23, 59), brussels(2025, 6, 7, 0, 30), brussels(2025, 6, 8, 23, 0), brussels(2025, 6, 13, 23, 30)],
)
def test_a_working_day_deadline_never_falls_on_a_weekend_in_brussels(sent):
    for spec in ("1wd", "2wd", "5wd"):
        assert add_span(sent, spec, country="BE").astimezone(BRUSSELS).weekday() < 5, (sent, spec)


def test_working_days_keep_the_brussels_wall_clock_across_the_spring_clock_change():
    """Sunday 30 March 2025, 02:00 CET became 03:00 CEST: the deadline is 10:00 local, 23 hours earlier in UTC terms."""
    sent = brussels(2025, 3, 28, 10, 0)  # Friday, 09:00 UTC
    due = add_span(sent, "2wd", country="BE")
    assert due == brussels(2025, 4, 1, 10, 0)  # Tuesday 10:00 CEST
    assert due == datetime(2025, 4, 1, 8, 0, tzinfo=UTC)
    assert due - sent == timedelta(days=4) - timedelta(hours=1)


def test_working_days_keep_the_brussels_wall_clock_across_the_autumn_clock_change():
    sent = brussels(2025, 10, 24, 10, 0)  # Friday, 08:00 UTC
    due = add_span(sent, "2wd", country="BE")
    assert due == datetime(2025, 10, 28, 9, 0, tzinfo=UTC)  # Tuesday 10:00 CET
    assert due - sent == timedelta(days=4, hours=1)


@pytest.mark.parametrize("sent", [brussels(2025, 3, 29, 12, 0), brussels(2025, 10, 25, 12, 0)])
def test_hour_deadlines_stay_exact_elapsed_hours_across_a_clock_change(settings, sent):
    settings.REFERRAL_DEADLINES = DEFAULT_DEADLINES
    acknowledge_due, decide_due = deadlines_for("urgent", sent, country="BE")
    assert (acknowledge_due - sent, decide_due - sent) == (timedelta(hours=4), timedelta(hours=24))
    assert decide_due.astimezone(BRUSSELS).hour != 12  # the clock moved: not the same wall-clock time


@pytest.mark.parametrize(
    ("sent", "spec", "due", "holiday"),
    [
        (brussels(2025, 7, 18, 16, 0), "2wd", brussels(2025, 7, 23, 16, 0), "national day, Monday 21 July"),
        (brussels(2025, 8, 14, 10, 0), "2wd", brussels(2025, 8, 19, 10, 0), "Assumption, Friday 15 August"),
        (brussels(2025, 4, 17, 10, 0), "2wd", brussels(2025, 4, 22, 10, 0), "Easter Monday, 21 April"),
        (brussels(2025, 8, 15, 9, 0), "1wd", brussels(2025, 8, 19, 0, 0), "sent on Assumption: counts from Monday"),
    ],
)
def test_belgian_public_holidays_are_not_working_days_for_a_belgian_recipient(sent, spec, due, holiday):
    assert add_span(sent, spec, country="BE") == due, holiday


def test_kings_day_is_not_a_working_day_for_a_dutch_recipient_but_is_for_a_belgian_one():
    sent = brussels(2026, 4, 24, 16, 0)  # Friday; Monday 27 April 2026 is King's Day
    assert add_span(sent, "2wd", country="NL") == brussels(2026, 4, 29, 16, 0)  # Tuesday, Wednesday
    assert add_span(sent, "2wd", country="BE") == brussels(2026, 4, 28, 16, 0)  # Monday, Tuesday


def test_good_friday_is_a_dutch_holiday_and_not_a_belgian_one():
    sent = brussels(2025, 4, 17, 10, 0)  # Thursday before Easter
    assert add_span(sent, "2wd", country="NL") == brussels(2025, 4, 23, 10, 0)  # skips Good Friday and Easter Monday
    assert add_span(sent, "2wd", country="BE") == brussels(2025, 4, 22, 10, 0)


def test_a_country_without_known_holidays_counts_weekends_only():
    assert is_working_day(date(2025, 7, 21), "BE") is False
    assert is_working_day(date(2025, 7, 21), "ZZ") is True
    assert is_working_day(date(2025, 7, 19), "ZZ") is False


def test_the_coalition_time_zone_is_configurable(settings):
    """Friday 23:30 UTC is still Friday in London but Saturday in Brussels."""
    sent = datetime(2025, 6, 13, 22, 30, tzinfo=UTC)
    settings.COALITION_TIME_ZONE = "Europe/London"
    assert add_span(sent, "2wd", country="BE") == datetime(2025, 6, 17, 22, 30, tzinfo=UTC)  # Tuesday 23:30 London
    settings.COALITION_TIME_ZONE = "Europe/Brussels"
    assert add_span(sent, "2wd", country="BE") == brussels(2025, 6, 18, 0, 0)


@pytest.mark.parametrize("name", ["Europe/Brusels", "Mars/Olympus", "", "../../etc/passwd"])
def test_an_unknown_time_zone_is_refused(name):
    with pytest.raises(ImproperlyConfigured):
        parse_time_zone(name)


def test_working_day_deadlines_from_the_configuration(settings):
    settings.REFERRAL_DEADLINES = "immediate=1h/4h,urgent=1wd/3wd,normal=3wd/10wd"
    acknowledge_due, decide_due = deadlines_for("normal", FRIDAY_16, country="BE")
    assert acknowledge_due == datetime(2024, 6, 12, 16, 0, tzinfo=UTC)  # Wednesday
    assert decide_due == datetime(2024, 6, 21, 16, 0, tzinfo=UTC)  # two weeks on
    assert deadlines_for("urgent", FRIDAY_16, country="BE")[0] == datetime(2024, 6, 10, 16, 0, tzinfo=UTC)


def test_the_default_configuration_reads_as_the_design_says():
    assert parse_deadlines(DEFAULT_DEADLINES) == {
        "immediate": ("1h", "4h"),
        "urgent": ("4h", "24h"),
        "normal": ("2wd", "5wd"),
    }


def test_spaces_around_the_parts_are_allowed():
    assert parse_deadlines(" immediate=2h/6h , urgent=8h/48h, normal=3wd/10wd ")["normal"] == ("3wd", "10wd")


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "immediate=1h/4h,urgent=4h/24h",  # normal missing
        "immediate=1h/4h,urgent=4h/24h,normal=2wd/5wd,slow=1wd/9wd",  # unknown urgency
        "immediate=1h,urgent=4h/24h,normal=2wd/5wd",  # no decide deadline
        "immediate=1h/4h,urgent=4h/24h,normal=2d/5d",  # unknown unit
        "immediate=-1h/4h,urgent=4h/24h,normal=2wd/5wd",  # negative
        "immediate=1.5h/4h,urgent=4h/24h,normal=2wd/5wd",  # fraction
        "immediate=h/4h,urgent=4h/24h,normal=2wd/5wd",  # no number
        "immediate:1h/4h,urgent=4h/24h,normal=2wd/5wd",  # wrong separator
        "immediate=1h/4h/8h,urgent=4h/24h,normal=2wd/5wd",  # three spans
    ],
)
def test_a_malformed_deadline_configuration_is_refused(spec):
    with pytest.raises(ImproperlyConfigured):
        parse_deadlines(spec)


def test_the_configuration_changes_the_deadlines_of_a_sent_referral(flow, settings):
    settings.REFERRAL_DEADLINES = "immediate=2h/8h,urgent=6h/48h,normal=1wd/3wd"
    _case, referral = flow.sent_referral(urgency="immediate")
    sent_at = parse_datetime(referral["sent_at"])
    assert parse_datetime(referral["acknowledge_due"]) == sent_at + timedelta(hours=2)
    assert parse_datetime(referral["decide_due"]) == sent_at + timedelta(hours=8)


@pytest.mark.parametrize(("urgency", "hours"), [("immediate", (1, 4)), ("urgent", (4, 24))])
def test_sending_sets_the_deadlines_from_the_urgency(flow, urgency, hours):
    _case, referral = flow.sent_referral(urgency=urgency)
    sent_at = parse_datetime(referral["sent_at"])
    assert parse_datetime(referral["acknowledge_due"]) - sent_at == timedelta(hours=hours[0])
    assert parse_datetime(referral["decide_due"]) - sent_at == timedelta(hours=hours[1])
    assert referral["overdue"] is False


def test_a_draft_has_no_deadlines(flow):
    case = flow.open_case()
    draft = flow.draft(case["id"])
    assert (draft["acknowledge_due"], draft["decide_due"], draft["overdue"]) == (None, None, False)


# --- overdue ---------------------------------------------------------------------------------


PAST = timedelta(minutes=1)


def referral_with(flow, status, *, acknowledge_past=False, decide_past=False):
    """A sent referral brought to ``status``, its deadlines then moved as asked."""
    _case, referral = flow.sent_referral()
    steps = {
        "sent": [],
        "acknowledged": [("acknowledge", None)],
        "accepted": [("accept", None)],
        "declined": [("decline", {"reason_code": "no_capacity", "reason": "Full up."})],
    }[status]
    for action, body in steps:
        assert flow.act(referral["id"], action, "recipient_caseworker", body).status_code == 200
    now = timezone.now()
    changes = {}
    if acknowledge_past:
        changes["acknowledge_due"] = now - PAST
    if decide_past:
        changes["decide_due"] = now - PAST
    if changes:
        Referral.objects.filter(pk=referral["id"]).update(**changes)
    return referral


@pytest.mark.parametrize(
    ("status", "acknowledge_past", "decide_past", "overdue"),
    [
        ("sent", False, False, False),
        ("sent", True, False, True),  # not acknowledged in time
        ("sent", False, True, True),
        ("acknowledged", True, False, False),  # acknowledged: the first deadline no longer counts
        ("acknowledged", True, True, True),  # but not decided in time
        ("accepted", True, True, False),  # decided: nothing is overdue any more
        ("declined", True, True, False),
    ],
)
def test_overdue_is_computed_from_status_and_deadlines(flow, personas, status, acknowledge_past, decide_past, overdue):
    referral = referral_with(flow, status, acknowledge_past=acknowledge_past, decide_past=decide_past)
    for persona in ("caseworker", "recipient_caseworker", "coordinator"):
        seen = personas[persona].client.get(f"/api/v1/referrals/{referral['id']}/")
        assert seen.json()["overdue"] is overdue, persona

    client = personas["coordinator"].client
    flagged = [r["id"] for r in client.get("/api/v1/referrals/?overdue=true").json()["results"]]
    unflagged = [r["id"] for r in client.get("/api/v1/referrals/?overdue=false").json()["results"]]
    assert (referral["id"] in flagged, referral["id"] in unflagged) == (overdue, not overdue)


def test_the_overdue_filter_splits_the_list(flow, personas):
    late = referral_with(flow, "sent", acknowledge_past=True)
    slow = referral_with(flow, "acknowledged", decide_past=True)
    on_time = referral_with(flow, "sent")
    done = referral_with(flow, "accepted", decide_past=True)
    client = personas["recipient_caseworker"].client

    overdue = {r["id"] for r in client.get("/api/v1/referrals/?overdue=true").json()["results"]}
    not_overdue = {r["id"] for r in client.get("/api/v1/referrals/?overdue=false").json()["results"]}
    every = {r["id"] for r in client.get("/api/v1/referrals/").json()["results"]}

    assert overdue == {late["id"], slow["id"]}
    assert not_overdue == {on_time["id"], done["id"]}
    assert every == overdue | not_overdue
    listed = {r["id"]: r["overdue"] for r in client.get("/api/v1/referrals/").json()["results"]}
    assert {k for k, v in listed.items() if v} == overdue


def test_a_malformed_overdue_filter_is_400(personas):
    assert personas["coordinator"].client.get("/api/v1/referrals/?overdue=maybe").status_code == 400


def test_a_normal_referral_sent_through_the_api_on_friday_afternoon_is_due_on_tuesday(flow, monkeypatch):
    case = flow.open_case()
    consent = flow.consent(case["id"], valid_from="2024-01-01")
    draft = flow.draft(case["id"], consent=consent["id"], urgency="normal")
    # The clock of the referral services only: tokens and everything else keep real time.
    monkeypatch.setattr(services, "timezone", SimpleNamespace(now=lambda: FRIDAY_16))
    sent = flow.act(draft["id"], "send", "caseworker")
    assert sent.status_code == 200, sent.json()
    body = sent.json()
    assert parse_datetime(body["sent_at"]) == FRIDAY_16
    assert parse_datetime(body["acknowledge_due"]) == datetime(2024, 6, 11, 16, 0, tzinfo=UTC)
    assert parse_datetime(body["decide_due"]) == datetime(2024, 6, 14, 16, 0, tzinfo=UTC)
    assert body["overdue"] is True  # those dates are long past by now


@pytest.mark.parametrize(
    ("recipient", "acknowledge_due"),
    [("shelter-be", brussels(2025, 7, 23, 18, 0)), ("care-nl", brussels(2025, 7, 22, 18, 0))],
)
def test_sending_counts_working_days_with_the_public_holidays_of_the_recipients_country(
    flow, monkeypatch, recipient, acknowledge_due
):
    """Friday 18 July 2025; Monday 21 July is Belgium's national day, a working day in the Netherlands."""
    sent_at = brussels(2025, 7, 18, 18, 0).astimezone(UTC)
    case = flow.open_case()
    consent = flow.consent(case["id"], valid_from="2024-01-01")
    draft = flow.draft(case["id"], recipient=recipient, consent=consent["id"], urgency="normal")
    monkeypatch.setattr(services, "timezone", SimpleNamespace(now=lambda: sent_at))
    sent = flow.act(draft["id"], "send", "caseworker")
    assert sent.status_code == 200, sent.json()
    assert parse_datetime(sent.json()["acknowledge_due"]) == acknowledge_due
