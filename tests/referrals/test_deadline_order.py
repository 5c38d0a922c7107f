"""Work lists order referrals by deadline from the one table of deadline rules.

``Referral.objects.by_deadline(now)`` puts the referrals of ``overdue_at(now)`` first, then the
others, each by its next deadline (``next_due()``: acknowledge while sent, decide while
acknowledged); ``Referral.next_deadline()`` names the same deadline for one row.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from referrals.choices import ReferralStatus
from referrals.models import Referral, next_due

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


@pytest.fixture
def referrals(flow):
    """Pending referrals with deadlines before and after a base moment, and answered ones."""
    _case, sent = flow.sent_referral()
    template = Referral.objects.get(pk=sent["id"])
    base = timezone.now()
    made = []
    hours = (-5, -1, 2, 7)
    statuses = (ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED, ReferralStatus.ACCEPTED, ReferralStatus.DRAFT)
    for status, acknowledge, decide in itertools.product(statuses, hours, hours):
        if decide < acknowledge:
            continue
        template.pk, template._state.adding = uuid.uuid4(), True
        template.status = status
        template.acknowledge_due, template.decide_due = base + acknowledge * HOUR, base + decide * HOUR
        template.save()
        made.append(template.pk)
    return base, Referral.objects.filter(pk__in=made)


def test_the_next_deadline_of_the_queryset_and_of_the_model_agree(referrals):
    _base, rows = referrals
    for referral in rows.annotate(next=next_due()):
        deadline = referral.next_deadline()
        expected = getattr(referral, f"{deadline}_due") if deadline else None
        assert referral.next == expected, referral.status


def test_late_ones_come_first_then_each_by_its_next_deadline(referrals):
    base, rows = referrals
    ordered = list(rows.by_deadline(base).annotate(next=next_due()))
    late = [r.is_overdue(base) for r in ordered]

    assert late == sorted(late, reverse=True)  # every overdue one before every other
    for group in (True, False):
        dues = [r.next for r in ordered if r.is_overdue(base) is group and r.next is not None]
        assert dues == sorted(dues)
    awaited = [r.next is not None for r in ordered]
    assert awaited == sorted(awaited, reverse=True)  # nothing awaited (answered, drafts): last
