"""Deadlines from urgency (DESIGN §4), configurable with REFERRAL_DEADLINES.

A deadline is a number of hours (``4h``) or of working days (``2wd``: Monday to
Friday, at the same time of day; public holidays are not known here).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DEFAULT_DEADLINES = "immediate=1h/4h,urgent=4h/24h,normal=2wd/5wd"
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
    if set(result) != {"immediate", "urgent", "normal"}:
        raise ImproperlyConfigured("REFERRAL_DEADLINES must name immediate, urgent and normal.")
    return result


def add_span(start: datetime, spec: str) -> datetime:
    amount, unit = _SPEC.match(spec).groups()
    amount = int(amount)
    if unit == "h":
        return start + timedelta(hours=amount)
    moment = start
    while amount:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            amount -= 1
    return moment


def deadlines_for(urgency: str, sent_at: datetime) -> tuple[datetime, datetime]:
    acknowledge, decide = parse_deadlines(settings.REFERRAL_DEADLINES)[urgency]
    return add_span(sent_at, acknowledge), add_span(sent_at, decide)
