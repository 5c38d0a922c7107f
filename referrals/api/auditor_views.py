"""The auditor's case API: a case's retention and legal hold, the young person's access and erasure.

Auditors only (a person with the auditor role, never an API key), under ``/audit/``
beside the trail. No identity is shown except in the subject-access export; the
export, erasure and legal holds are audited by their services.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from coalition.api.views import ScopedViewSet
from coalition.core.access import Role, allow

from .. import retention, rights, selectors
from ..models import Case
from . import auditor_serializers as s

AUDITOR = allow(Role.AUDITOR)


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
