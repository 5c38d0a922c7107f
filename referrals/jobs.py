"""The referrals' periodic jobs, registered with the worker (``coalition.events.jobs``) from ``ready()``.

- every minute: overdue detection, one ``referral.overdue`` event per referral and deadline;
- daily: the retention purge (``referrals.retention.purge_expired``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from coalition.audit.services import record
from coalition.events.jobs import register_job
from coalition.events.models import OverdueNotice
from coalition.events.services import emit

from . import retention
from .choices import PENDING_REFERRAL_STATUSES, ReferralStatus
from .models import Referral

DEADLINES = ("acknowledge", "decide")


def _overdue_candidates(deadline: str, now: datetime) -> list[Referral]:
    if deadline == "acknowledge":
        due = Q(status=ReferralStatus.SENT, acknowledge_due__lt=now)
        field = "acknowledge_due"
    else:
        due = Q(status__in=PENDING_REFERRAL_STATUSES, decide_due__lt=now)
        field = "decide_due"
    noticed = OverdueNotice.objects.filter(deadline=deadline).values("referral")
    return list(Referral.objects.filter(due).exclude(pk__in=noticed).order_by(field)[:500])


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
                    due_at = referral.acknowledge_due if deadline == "acknowledge" else referral.decide_due
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
