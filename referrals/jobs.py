"""The referrals' periodic jobs, registered with the worker (``coalition.events.jobs``) from ``ready()``.

- every minute: overdue detection, one ``referral.overdue`` event per referral and deadline;
- every minute: consultation requests past their deadline, noticed once (``referrals.consultations``);
- every five minutes: the escalation of matches nobody acted on (``referrals.matches``);
- daily: the retention purge (``referrals.retention.purge_expired``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from coalition.audit.services import record
from coalition.events.jobs import register_job
from coalition.events.models import OverdueNotice
from coalition.events.services import emit

from . import consultations, matches, retention
from .choices import Deadline
from .models import DEADLINE_RULES, Referral

DEADLINES = tuple(Deadline.values)


def _overdue_candidates(deadline: str, now: datetime) -> list[Referral]:
    """Up to 500 referrals that missed ``deadline`` (the rule of ``Referral.objects.past_deadline``), not yet noticed."""
    noticed = OverdueNotice.objects.filter(deadline=deadline).values("referral")
    missed = Referral.objects.past_deadline(deadline, now).exclude(pk__in=noticed)
    return list(missed.order_by(DEADLINE_RULES[deadline].field)[:500])


def detect_overdue(now: datetime | None = None) -> int:
    """Fire ``referral.overdue`` once per referral and missed deadline (acknowledge, decide)."""
    now = now or timezone.now()
    fired = 0
    for deadline in DEADLINES:
        for candidate in _overdue_candidates(deadline, now):
            try:
                with transaction.atomic():
                    referral = Referral.objects.select_for_update().get(pk=candidate.pk)
                    if not referral.is_overdue(now) or OverdueNotice.objects.filter(
                        referral=referral.pk, deadline=deadline
                    ).exists():
                        continue
                    due_at = getattr(referral, DEADLINE_RULES[deadline].field)
                    if due_at is None or due_at >= now:
                        continue
                    notice = OverdueNotice.objects.create(referral=referral.pk, deadline=deadline, due_at=due_at)
                    record(action="referral.overdue", actor=None, obj=referral, organisation_id=referral.recipient_id,
                           detail={"deadline": deadline})
                    notice.event = emit(
                        type="referral.overdue",
                        organisations=[referral.sender_id, referral.recipient_id],
                        case_id=referral.case_id,
                        referral_id=referral.pk,
                        data={
                            "deadline": deadline,
                            "due": due_at.isoformat(),
                            "status": referral.status,
                            "urgency": referral.urgency,
                        },
                    )
                    notice.save(update_fields=["event"])
                    fired += 1
            except IntegrityError:  # another worker fired it first
                continue
    return fired


def register() -> None:
    """Called from ``ReferralsConfig.ready()``."""
    register_job("detect_overdue", every=lambda: timedelta(minutes=1), run=detect_overdue)
    register_job("purge_expired", every=lambda: timedelta(days=1), run=retention.purge_expired)
    register_job("detect_overdue_consultations", every=lambda: timedelta(minutes=1), run=consultations.detect_overdue)
    register_job("escalate_unattended_matches", every=lambda: timedelta(minutes=5), run=matches.escalate_unattended)
