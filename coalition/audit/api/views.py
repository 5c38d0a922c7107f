"""The auditor's API: search and verify the trail, legal holds, subject access and erasure.

Auditors only (a person with the auditor role, never an API key). Reading the trail
is itself audited (``audit.search``, ``audit.verify``), so the trail shows who looked
at whom; the export and erasure are audited by their services.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.response import Response

from coalition.api.views import CoalitionAPIView, ScopedViewSet
from partners.choices import Role
from partners.policy import allow
from referrals.models import Case

from .. import retention, rights, selectors
from ..filters import AuditEntryFilter
from ..models import AuditEntry
from ..services import record
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
        # Which filters were used (names only: their values are ids and times, kept out of the detail).
        filters = sorted(name for name in AuditEntryFilter.base_filters if request.query_params.get(name))
        record(
            action="audit.search",
            actor=request.user,
            object_type="audit",
            case_id=request.query_params.get("case") or None,
            detail={"filters": filters, "results": len(response.data["results"])},
        )
        return response


class AuditVerifyView(CoalitionAPIView):
    """Recompute the whole hash chain: intact, or the first broken entry and why."""

    policy = {"get": AUDITOR}

    @extend_schema(responses={200: s.ChainVerdictSerializer})
    def get(self, request):
        verdict = selectors.verify_chain()
        body = s.ChainVerdictSerializer(verdict).data
        record(
            action="audit.verify",
            actor=request.user,
            object_type="audit",
            detail={"intact": verdict.intact, "entries": verdict.entries, "first_broken_seq": verdict.first_broken_seq},
        )
        return Response(body)


class AuditCaseViewSet(ScopedViewSet):
    """A case's retention: its status, legal hold and when the purge is due. No identity here."""

    selector = staticmethod(selectors.cases_for_auditor)
    queryset_model = Case
    serializer_class = s.RetentionStatusSerializer
    policy = {"retrieve": AUDITOR, "hold": AUDITOR, "release": AUDITOR}
    problem_statuses = {"hold": [409], "release": [409]}

    @extend_schema(responses={200: s.RetentionStatusSerializer})
    def retrieve(self, request, pk=None):
        return Response(s.RetentionStatusSerializer(self.get_object()).data)

    @extend_schema(request=s.LegalHoldSerializer, responses={200: s.RetentionStatusSerializer})
    @action(detail=True, methods=["post"])
    def hold(self, request, pk=None):
        data = s.LegalHoldSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = retention.legal_hold_set(actor=request.user, case=self.get_object(), reason=data.validated_data["reason"])
        return Response(s.RetentionStatusSerializer(case).data)

    @extend_schema(request=None, responses={200: s.RetentionStatusSerializer})
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        case = retention.legal_hold_release(actor=request.user, case=self.get_object())
        return Response(s.RetentionStatusSerializer(case).data)


class SubjectRightsViewSet(ScopedViewSet):
    """The young person's rights, exercised by the auditor: access (export) and erasure, both audited."""

    selector = staticmethod(selectors.cases_for_auditor)
    queryset_model = Case
    serializer_class = s.SubjectExportSerializer
    policy = {"export": AUDITOR, "erase": AUDITOR}
    problem_statuses = {"erase": [409]}

    @extend_schema(responses={200: s.SubjectExportSerializer})
    @action(detail=True, methods=["get"])
    def export(self, request, pk=None):
        export = rights.subject_export(actor=request.user, case=self.get_object())
        return Response(s.SubjectExportSerializer(export).data)

    @extend_schema(request=None, responses={200: s.RetentionStatusSerializer})
    @action(detail=True, methods=["post"])
    def erase(self, request, pk=None):
        case = rights.subject_erase(actor=request.user, case=self.get_object())
        return Response(s.RetentionStatusSerializer(case).data)
