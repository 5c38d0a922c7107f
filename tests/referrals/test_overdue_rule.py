"""The overdue rule has one home: the queryset and the model method give the same answer.

A referral misses its acknowledge deadline when that time passes while it is still
sent, and its decide deadline when that time passes while it is sent or acknowledged.
``Referral.objects.overdue_at(now)`` (lists, filters, the worker, oversight) and
``Referral.is_overdue(now)`` (one referral's ``overdue`` field) must agree on every
combination of status and deadlines, at every moment.
"""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from referrals.choices import Deadline, ReferralStatus
from referrals.models import Referral
from referrals.transitions import TRANSITIONS

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)


@pytest.fixture
def referrals(flow):
    """One referral per status × acknowledge deadline × decide deadline (none, 1 h after a base, 10 h after)."""
    _case, sent = flow.sent_referral()
    template = Referral.objects.get(pk=sent["id"])
    base = timezone.now()
    deadlines = (None, base + HOUR, base + 10 * HOUR)
    made = []
    for status, acknowledge_due, decide_due in itertools.product(ReferralStatus.values, deadlines, deadlines):
        template.pk, template._state.adding = uuid.uuid4(), True
        template.status, template.acknowledge_due, template.decide_due = status, acknowledge_due, decide_due
        template.save()
        made.append(template.pk)
    return base, list(Referral.objects.filter(pk__in=made))


def test_the_queryset_and_the_model_method_agree_at_every_moment(referrals):
    base, rows = referrals
    ids = {r.pk for r in rows}
    for offset in (-HOUR, 0 * HOUR, 2 * HOUR, 11 * HOUR):
        now = base + offset
        by_method = {r.pk for r in rows if r.is_overdue(now)}
        assert set(Referral.objects.filter(pk__in=ids).overdue_at(now).values_list("pk", flat=True)) == by_method
        assert set(Referral.objects.filter(pk__in=ids).not_overdue_at(now).values_list("pk", flat=True)) == ids - by_method
        for deadline in Deadline.values:
            missed = {r.pk for r in rows if r.has_missed(deadline, now)}
            assert set(Referral.objects.filter(pk__in=ids).past_deadline(deadline, now).values_list("pk", flat=True)) == missed


def test_acknowledge_is_missed_only_while_sent_and_decide_while_pending(referrals):
    base, rows = referrals
    now = base + 11 * HOUR  # every deadline that is set has passed
    missed = {
        deadline: {r.status for r in rows if r.has_missed(deadline, now)} for deadline in Deadline.values
    }
    assert missed == {
        Deadline.ACKNOWLEDGE: {ReferralStatus.SENT},
        Deadline.DECIDE: {ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED},
    }
    assert not any(r.is_overdue(base - HOUR) for r in rows)  # no deadline has passed yet


def test_open_and_pending_are_the_statuses_withdrawing_and_answering_act_on(referrals):
    _base, rows = referrals
    ids = [r.pk for r in rows]
    open_statuses = set(Referral.objects.filter(pk__in=ids).open().values_list("status", flat=True))
    pending_statuses = set(Referral.objects.filter(pk__in=ids).pending().values_list("status", flat=True))
    assert open_statuses == TRANSITIONS["withdraw"].sources == {"draft", "sent", "acknowledged"}
    assert pending_statuses == TRANSITIONS["accept"].sources == TRANSITIONS["decline"].sources == {"sent", "acknowledged"}
