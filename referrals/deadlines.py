"""Deadlines from urgency (api_docs/concepts.md, "Deadlines"), configurable with REFERRAL_DEADLINES.

A deadline is a number of hours (``4h``) or of working days (``2wd``).

- Hours are exact elapsed time from the moment of sending, round the clock,
  weekends, holidays and clock changes included.
- Working days are counted in the coalition's time zone (``COALITION_TIME_ZONE``,
  default Europe/Brussels). A working day is Monday to Friday and not a public
  holiday of the recipient organisation's country (the ``holidays`` package; a
  country it does not know has weekends only). ``N wd`` falls at the same local
  wall-clock time as the sending, on the N-th working day after the day it was
  sent. A referral sent on a non-working day counts as sent at 00:00 on the next
  working day. A wall-clock time that does not exist on the due day (a spring
  clock change, which in Europe is always on a Sunday) follows zoneinfo's rule:
  it is read with the offset before the change.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .choices import Urgency

DEFAULT_DEADLINES = "immediate=1h/4h,urgent=4h/24h,normal=2wd/5wd"
DEFAULT_TIME_ZONE = "Europe/Brussels"
_SPEC = re.compile(r"^(\d+)(h|wd)$")


def parse_deadlines(text: str) -> dict[str, tuple[str, str]]:
    """``immediate=1h/4h,urgent=4h/24h,normal=2wd/5wd`` → {urgency: (acknowledge, decide)}."""
    result: dict[str, tuple[str, str]] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        urgency, _sep, spans = part.partition("=")
        acknowledge, _sep, decide = spans.partition("/")
        if not (_SPEC.match(acknowledge) and _SPEC.match(decide)):
            raise ImproperlyConfigured(f"REFERRAL_DEADLINES: cannot read {part!r}.")
        result[urgency.strip()] = (acknowledge, decide)
    if set(result) != set(Urgency.values):
        raise ImproperlyConfigured("REFERRAL_DEADLINES must name immediate, urgent and normal.")
    return result


@lru_cache(maxsize=8)
def configured_deadlines(text: str) -> dict[str, tuple[str, str]]:
    """``parse_deadlines`` of the setting's text, read once per value.

    The settings module keeps ``REFERRAL_DEADLINES`` as text and imports nothing of
    this app; a bad value is reported at start by the system check in ``referrals.checks``.
    """
    return parse_deadlines(text)


def parse_time_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Europe/Brussels``); an unknown one is refused (and stops the process at start)."""
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        raise ImproperlyConfigured(f"COALITION_TIME_ZONE: {name!r} is not a known time zone (e.g. Europe/Brussels).") from None


@lru_cache(maxsize=256)
def _public_holidays(country: str, year: int) -> frozenset[date]:
    if country.upper() not in holidays.list_supported_countries():
        return frozenset()
    return frozenset(holidays.country_holidays(country.upper(), years=year))


def is_working_day(day: date, country: str) -> bool:
    """Monday to Friday, and not a public holiday of ``country`` (ISO 3166 alpha-2)."""
    return day.weekday() < 5 and day not in _public_holidays(country, day.year)


def _next_working_day(day: date, country: str) -> date:
    day += timedelta(days=1)
    while not is_working_day(day, country):
        day += timedelta(days=1)
    return day


def add_span(start: datetime, spec: str, *, country: str) -> datetime:
    """The moment ``spec`` (``4h`` or ``2wd``) after ``start``, by the rule in the module docstring; in UTC."""
    match = _SPEC.match(spec)
    if match is None:  # REFERRAL_DEADLINES is checked at start; a spec from elsewhere may be anything
        raise ValueError(f"Not a deadline span: {spec!r}")
    amount_text, unit = match.groups()
    amount = int(amount_text)
    if unit == "h":
        return start.astimezone(UTC) + timedelta(hours=amount)  # elapsed time, not wall-clock
    zone = parse_time_zone(settings.COALITION_TIME_ZONE)
    local = start.astimezone(zone)
    day, wall_clock = local.date(), local.time().replace(tzinfo=None, fold=0)
    if not is_working_day(day, country):
        day, wall_clock = _next_working_day(day, country), time(0, 0)
    for _ in range(amount):
        day = _next_working_day(day, country)
    return datetime.combine(day, wall_clock, tzinfo=zone).astimezone(UTC)


def deadlines_for(urgency: str, sent_at: datetime, *, country: str) -> tuple[datetime, datetime]:
    """(acknowledge due, decide due) of a referral of ``urgency`` sent at ``sent_at`` to a recipient in ``country``."""
    acknowledge, decide = configured_deadlines(settings.REFERRAL_DEADLINES)[urgency]
    return add_span(sent_at, acknowledge, country=country), add_span(sent_at, decide, country=country)
