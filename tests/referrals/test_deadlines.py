"""Deadlines from urgency and what is overdue (DESIGN §4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from referrals import services
from referrals.deadlines import DEFAULT_DEADLINES, add_span, deadlines_for, parse_deadlines
from referrals.models import Referral

FRIDAY_16 = datetime(2024, 5, 3, 16, 0, tzinfo=UTC)
WEDNESDAY_9 = datetime(2024, 5, 8, 9, 30, tzinfo=UTC)


def test_the_reference_dates_are_the_weekdays_they_claim():
    assert FRIDAY_16.strftime("%A") == "Friday"
    assert WEDNESDAY_9.strftime("%A") == "Wednesday"


@pytest.mark.parametrize(
    ("urgency", "acknowledge", "decide"),
    [("immediate", timedelta(hours=1), timedelta(hours=4)), ("urgent", timedelta(hours=4), timedelta(hours=24))],
)
def test_immediate_and_urgent_deadlines_are_hours_round_the_clock(settings, urgency, acknowledge, decide):
    settings.REFERRAL_DEADLINES = DEFAULT_DEADLINES
    assert deadlines_for(urgency, FRIDAY_16) == (FRIDAY_16 + acknowledge, FRIDAY_16 + decide)


def test_a_normal_referral_sent_on_friday_afternoon_is_due_on_tuesday_and_the_next_friday(settings):
    settings.REFERRAL_DEADLINES = DEFAULT_DEADLINES
    acknowledge_due, decide_due = deadlines_for("normal", FRIDAY_16)
    assert acknowledge_due == datetime(2024, 5, 7, 16, 0, tzinfo=UTC)  # Tuesday 16:00
    assert acknowledge_due.strftime("%A") == "Tuesday"
    assert decide_due == datetime(2024, 5, 10, 16, 0, tzinfo=UTC)  # Friday 16:00, five working days on


def test_a_normal_referral_sent_midweek_counts_working_days_across_the_weekend(settings):
    settings.REFERRAL_DEADLINES = DEFAULT_DEADLINES
    acknowledge_due, decide_due = deadlines_for("normal", WEDNESDAY_9)
    assert acknowledge_due == datetime(2024, 5, 10, 9, 30, tzinfo=UTC)  # Friday
    assert decide_due == datetime(2024, 5, 15, 9, 30, tzinfo=UTC)  # next Wednesday


def test_working_days_from_a_weekend_start_on_monday():
    saturday = datetime(2024, 5, 4, 10, 0, tzinfo=UTC)
    assert add_span(saturday, "1wd") == datetime(2024, 5, 6, 10, 0, tzinfo=UTC)
    assert add_span(saturday, "2wd") == datetime(2024, 5, 7, 10, 0, tzinfo=UTC)


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
    assert parse_datetime(body["acknowledge_due"]) == datetime(2024, 5, 7, 16, 0, tzinfo=UTC)
    assert parse_datetime(body["decide_due"]) == datetime(2024, 5, 10, 16, 0, tzinfo=UTC)
    assert body["overdue"] is True  # those dates are long past by now
