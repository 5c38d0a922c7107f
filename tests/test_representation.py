"""The compiled representation gives DRF's exact output, and a page marks involvement as one row would.

The dataset is the benchmark seeder's at a tiny size: referrals in every state,
transfers, closed and open cases, parties involved and no longer involved.
"""

import pytest
from django.db.models import Q
from django.utils import timezone

from bench.seed import seed
from bench.sizes import Sizes
from coalition.api.representation import CompiledRepresentation
from coalition.audit.api.serializers import AuditEntrySerializer
from coalition.audit.models import AuditEntry
from coalition.events.api.serializers import EventSerializer
from coalition.events.models import Event
from coalition.oversight import selectors as oversight
from coalition.oversight.api.serializers import OverdueReferralSerializer
from partners.models import User
from referrals import selectors
from referrals.api.serializers import CaseSerializer, ReferralSerializer
from referrals.models import Referral

pytestmark = pytest.mark.django_db

TINY = Sizes(organisations=5, users=14, cases=12, referrals=40)


@pytest.fixture
def viewers():
    seed(TINY, progress=lambda *_: None)
    # Every user who reads referrals: each partner's caseworkers and the coordinator.
    return [u for u in User.objects.select_related("organisation").order_by("username")
            if u.has_role("caseworker") or u.has_role("coordinator")]


def _generic(monkeypatch):
    monkeypatch.setattr(CompiledRepresentation, "compiled_representation", False)


def test_the_dataset_covers_every_state_and_both_sides_of_involvement(viewers):
    states = set(Referral.objects.values_list("status", flat=True))
    assert states >= {"sent", "accepted", "declined", "withdrawn", "completed"}
    assert len(viewers) > 5


def test_compiled_output_equals_drf_for_every_referral_and_viewer(viewers, monkeypatch):
    compared = 0
    for viewer in viewers:
        rows = list(selectors.with_actor_involvement(viewer, selectors.referrals_visible_to(viewer)).order_by("pk"))
        compiled = ReferralSerializer(rows, many=True, context={"actor": viewer})
        fast = compiled.data
        if rows:  # the compiled path did run
            assert compiled.child.__dict__["_representation_plans"]
        with monkeypatch.context() as patch:
            _generic(patch)
            slow = ReferralSerializer(rows, many=True, context={"actor": viewer}).data
        assert [dict(r) for r in fast] == [dict(r) for r in slow]
        compared += len(rows)
    assert compared >= Referral.objects.filter(sent_at__isnull=False).count()


def test_a_page_shows_free_text_exactly_as_each_referral_read_alone(viewers, django_assert_max_num_queries):
    shown_and_hidden = set()
    for viewer in viewers:
        page = list(selectors.referrals_visible_to(viewer).order_by("pk"))
        with django_assert_max_num_queries(1):  # the whole page's involvement in one query
            listed = ReferralSerializer(page, many=True, context={"actor": viewer}).data
        for row in listed:
            alone = selectors.with_actor_involvement(viewer, Referral.objects.filter(pk=row["id"])).get()
            one = ReferralSerializer(alone, context={"actor": viewer}).data
            assert row["reason"] == one["reason"] and row["decline_reason"] == one["decline_reason"]
            # And without any annotation, the per-referral fallback agrees too.
            bare = ReferralSerializer(Referral.objects.get(pk=row["id"]), context={"actor": viewer}).data
            assert row["reason"] == bare["reason"]
            shown_and_hidden.add(row["reason"] is None)
    assert shown_and_hidden == {True, False}  # the rule was exercised both ways


def test_involvement_is_only_looked_up_where_it_decides(viewers, django_assert_num_queries):
    pages = [(v, list(selectors.referrals_visible_to(v).filter(Q(status__in=["draft", "sent", "acknowledged"]))))
             for v in viewers if v.has_role("caseworker")]
    viewer, pending = max(pages, key=lambda page: len(page[1]))
    assert pending
    with django_assert_num_queries(0):
        selectors.mark_actor_involvement(viewer, pending)
    assert not any(hasattr(r, "actor_involved") for r in pending)


def _both_ways(serializer_class, rows, context, monkeypatch):
    fast = serializer_class(rows, many=True, context=context).data
    with monkeypatch.context() as patch:
        _generic(patch)
        slow = serializer_class(rows, many=True, context=context).data
    return [dict(r) for r in fast], [dict(r) for r in slow]


def test_compiled_output_equals_drf_for_cases_events_audit_and_overdue(viewers, monkeypatch):
    coordinator = next(v for v in viewers if v.has_role("coordinator"))
    caseworker = next(v for v in viewers if v.has_role("caseworker"))
    lists = [
        (CaseSerializer, list(selectors.cases_visible_to(caseworker).order_by("pk")), {"actor": caseworker}),
        (CaseSerializer, list(selectors.cases_visible_to(coordinator).order_by("pk")), {"actor": coordinator}),
        (EventSerializer, list(Event.objects.order_by("seq")), {}),
        (AuditEntrySerializer, list(AuditEntry.objects.order_by("seq")), {}),
        (OverdueReferralSerializer, list(oversight.overdue_referrals(coordinator)), {"now": timezone.now()}),
    ]
    for serializer_class, rows, context in lists:
        assert rows, serializer_class.__name__
        fast, slow = _both_ways(serializer_class, rows, context, monkeypatch)
        assert fast == slow, serializer_class.__name__
