"""The auditor's API on the trail: search it and verify it.

Auditors only (a person with the auditor role, never an API key). Reading the trail
is itself audited (``audit.search``, ``audit.verify``, written by ``services.record_trail_search``
and ``selectors.verify_chain_for``, which the web app's pages call too), so the trail shows
who looked at whom. Legal holds, subject access and erasure act on cases: they are the
auditor's case API in ``referrals.api.auditor_views``.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.response import Response

from coalition.api.views import CoalitionAPIView, ScopedViewSet
from coalition.core.access import Role, allow

from .. import selectors
from ..filters import AuditEntryFilter
from ..models import AuditEntry
from ..services import record_trail_search
from . import serializers as s

AUDITOR = allow(Role.AUDITOR)


class AuditEntryViewSet(mixins.ListModelMixin, ScopedViewSet):
    """Search the audit trail, newest first.

    ``?case=<id>&action=subject.read`` answers "who read this young person's identity, and when".
    """

    selector = staticmethod(selectors.audit_entries_visible_to)
    queryset_model = AuditEntry
    serializer_class = s.AuditEntrySerializer
    filterset_class = AuditEntryFilter
    ordering = "-seq"
    policy = {"list": AUDITOR}

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        record_trail_search(actor=request.user, params=request.query_params, results=len(response.data["results"]))
        return response


class AuditVerifyView(CoalitionAPIView):
    """Recompute the whole hash chain: intact, or the first broken entry and why."""

    policy = {"get": AUDITOR}

    @extend_schema(responses={200: s.ChainVerdictSerializer})
    def get(self, request):
        verdict = selectors.verify_chain_for(actor=request.user)
        return Response(s.ChainVerdictSerializer(verdict).data)
