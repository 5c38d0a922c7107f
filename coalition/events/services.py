"""Writing events, in the caller's transaction (the transactional outbox).

A rolled-back action leaves no event. ``emit`` takes the audit chain's lock
first, so events are numbered in the order their transactions commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from coalition.audit.services import lock_chain

from .models import Event, EventAudience

EVENT_TYPES = (
    "referral.sent",
    "referral.acknowledged",
    "referral.accepted",
    "referral.declined",
    "referral.withdrawn",
    "referral.completed",
    "referral.overdue",
    "referral.message_posted",
    "case.lead_transferred",
    "case.closed",
    "case.reopened",
    "consent.withdrawn",
    "exception.review_required",
)


def emit(
    *,
    type: str,
    organisations: Iterable[Any],
    case_id: Any = None,
    referral_id: Any = None,
    data: dict[str, Any] | None = None,
) -> Event:
    """Record that ``type`` happened, readable by ``organisations`` (and coordinators).

    ``data`` holds codes only (statuses, urgencies, deadlines), never personal data.
    """
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {type!r}.")
    parties = sorted({str(org) for org in organisations if org is not None})
    with transaction.atomic():
        lock_chain()
        event = Event.objects.create(
            type=type,
            occurred_at=timezone.now(),
            case=case_id,
            referral=referral_id,
            organisations=parties,
            data=data or {},
        )
        EventAudience.objects.bulk_create([EventAudience(event=event, organisation_id=org) for org in parties])
        from .webhooks import schedule_deliveries  # the webhooks module depends on events, not back

        schedule_deliveries(event)
    return event
