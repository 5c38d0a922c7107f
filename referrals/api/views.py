"""Thin views over the referral services: validate (ids resolved through the actor's scope), act, shape."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from coalition.api.etag import expected_version
from coalition.api.views import VersionedViewSet, actor_of
from coalition.core.errors import BusinessRuleViolation
from partners.choices import ApiKeyScope, Role
from partners.policy import allow

from .. import actions, selectors, services
from ..choices import InvolvementRole
from ..filters import CaseFilter, ReferralFilter
from ..models import Case, Referral
from . import serializers as s

READ = allow(Role.CASEWORKER, Role.COORDINATOR, scope=ApiKeyScope.REFERRALS_READ)
WRITE = actions.ACT  # the actors the action rules (referrals.actions) open any action to
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="The ETag you last read; a stale one gives 412.",
)


class CaseViewSet(mixins.ListModelMixin, VersionedViewSet):
    """Cases of the actor's organisation (coordinators: all, as metadata)."""

    selector = staticmethod(selectors.cases_visible_to)
    queryset_model = Case
    serializer_class = s.CaseSerializer
    filterset_class = CaseFilter
    ordering = "-opened_at"
    policy = {
        "list": READ,
        "retrieve": READ,
        "create": WRITE,
        "partial_update": WRITE,
        "close": WRITE,
        "reopen": WRITE,
        "timeline": READ,
        "consents": allow(Role.CASEWORKER, Role.COORDINATOR, scope=ApiKeyScope.REFERRALS_READ),
        "record_consent": WRITE,
        "withdraw_consent": WRITE,
    }
    problem_statuses = {
        "create": [422],
        "partial_update": [409, 412, 422],
        "close": [409, 412, 422],
        "reopen": [409, 412, 422],
        "record_consent": [409, 422],
        "withdraw_consent": [409, 422],
    }

    def narrow_queryset(self, queryset):
        if self.action in ("retrieve", "list", "create", "partial_update", "close", "reopen"):
            queryset = queryset.select_related("subject")  # answered with the case: its subject is read
        return queryset

    def check_object(self, obj):
        # Writes need the organisation to be involved now, not only in the past.
        if self.request.method != "GET" and not selectors.involved_in(actor_of(self.request), obj):
            raise BusinessRuleViolation(_("Your organisation is not involved in this case."))

    @extend_schema(responses={200: s.CaseSerializer})
    def retrieve(self, request, pk=None):
        return self._respond(self.get_object(), s.CaseSerializer)

    @extend_schema(request=s.CaseCreateSerializer, responses={201: s.CaseSerializer})
    def create(self, request):
        data = s.CaseCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.case_open(actor=request.user, **data.validated_data)
        case = self.get_queryset().get(pk=case.pk)
        return self._respond(case, s.CaseSerializer, status.HTTP_201_CREATED)

    @extend_schema(request=s.CaseUpdateSerializer, responses={200: s.CaseSerializer}, parameters=[IF_MATCH])
    def partial_update(self, request, pk=None):
        case = self.get_object()
        data = s.CaseUpdateSerializer(data=request.data, partial=True)  # nested subject too
        data.is_valid(raise_exception=True)
        case = services.case_update(actor=request.user, case=case, expected_version=expected_version(request), **data.validated_data)
        return self._respond(self.get_queryset().get(pk=case.pk), s.CaseSerializer)

    @extend_schema(request=s.CaseCloseSerializer, responses={200: s.CaseSerializer}, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        case = self.get_object()
        data = s.CaseCloseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        case = services.case_close(actor=request.user, case=case, expected_version=expected_version(request), **data.validated_data)
        return self._respond(self.get_queryset().get(pk=case.pk), s.CaseSerializer)

    @extend_schema(request=None, responses={200: s.CaseSerializer}, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        case = self.get_object()
        case = services.case_reopen(actor=request.user, case=case, expected_version=expected_version(request))
        return self._respond(self.get_queryset().get(pk=case.pk), s.CaseSerializer)

    @extend_schema(responses={200: s.TimelineSerializer})
    @action(detail=True, methods=["get"])
    def timeline(self, request, pk=None):
        case = self.get_object()
        involvements = list(selectors.involvements_of(case))
        body = {
            "case": case.pk,
            "lead_organisation": case.lead_organisation_id,
            "custody": [i for i in involvements if i.role == InvolvementRole.LEAD],
            "involvements": involvements,
        }
        return Response(s.TimelineSerializer(body).data)

    # The consents route serves two actions, one per method, each with its own rule in ``policy``.
    # (No docstrings on the two handlers: drf-spectacular would take them as the operations' descriptions.)
    def _consent_context(self, case) -> dict:
        """What a consent's ``allowed_actions`` need: the actor and the case, whose involvement is annotated."""
        return {"actor": actor_of(self.request), "case": case}

    @extend_schema(responses={200: s.ConsentSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="consents", pagination_class=None, filter_backends=[])
    def consents(self, request, pk=None):
        case = self.get_object()
        consents = selectors.consents_visible_to(request.user, case)
        return Response(s.ConsentSerializer(consents, many=True, context=self._consent_context(case)).data)

    @extend_schema(request=s.ConsentCreateSerializer, responses={201: s.ConsentSerializer})
    @consents.mapping.post
    def record_consent(self, request, pk=None):
        case = self.get_object()
        data = s.ConsentCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        consent = services.consent_record(actor=request.user, case=case, data=data.validated_data)
        body = s.ConsentSerializer(consent, context=self._consent_context(case)).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: s.ConsentSerializer})
    @action(detail=True, methods=["post"], url_path="consents/<uuid:consent_id>/withdraw")
    def withdraw_consent(self, request, pk=None, consent_id=None):
        case = self.get_object()
        consent = get_object_or_404(selectors.consents_visible_to(request.user, case), pk=consent_id)
        consent = services.consent_withdraw(actor=request.user, consent=consent)
        return Response(s.ConsentSerializer(consent, context=self._consent_context(case)).data)


class ReferralViewSet(mixins.ListModelMixin, VersionedViewSet):
    """Referrals the actor's organisation sent or received (coordinators: all, as metadata)."""

    selector = staticmethod(selectors.referrals_visible_to)
    queryset_model = Referral
    serializer_class = s.ReferralSerializer
    filterset_class = ReferralFilter
    ordering = "-created_at"
    policy = {
        "list": READ,
        "retrieve": READ,
        "create": WRITE,
        "partial_update": WRITE,
        "send": WRITE,
        "acknowledge": WRITE,
        "accept": WRITE,
        "decline": WRITE,
        "withdraw": WRITE,
        "complete": WRITE,
        "messages": allow(Role.CASEWORKER, scope=ApiKeyScope.REFERRALS_READ),
        "post_message": WRITE,
    }
    problem_statuses = {
        "create": [409, 422],
        "partial_update": [409, 412, 422],
        **{name: [409, 412, 422] for name in ("send", "acknowledge", "accept", "decline", "withdraw", "complete")},
        "post_message": [409, 422],
    }

    def narrow_queryset(self, queryset):
        if self.action == "list":
            return queryset  # a page marks involvement in one query (ReferralListSerializer)
        # One referral: its parties for the services' rules, involvement and its case's state joined in.
        return selectors.with_case_state(actor_of(self.request), queryset.select_related("sender", "recipient"))

    @extend_schema(responses={200: s.ReferralSerializer})
    def retrieve(self, request, pk=None):
        return self._respond(self.get_object(), s.ReferralSerializer)

    @extend_schema(request=s.ReferralCreateSerializer, responses={201: s.ReferralSerializer})
    def create(self, request):
        data = s.ReferralCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        case = values.pop("case")
        referral = services.referral_create(actor=request.user, case=case, data=values)
        return self._respond(self.get_queryset().get(pk=referral.pk), s.ReferralSerializer, status.HTTP_201_CREATED)

    @extend_schema(request=s.ReferralUpdateSerializer, responses={200: s.ReferralSerializer}, parameters=[IF_MATCH])
    def partial_update(self, request, pk=None):
        referral = self.get_object()
        context = self.get_serializer_context() | {"case": referral.case}
        data = s.ReferralUpdateSerializer(data=request.data, partial=True, context=context)
        data.is_valid(raise_exception=True)
        referral = services.referral_update(
            actor=request.user,
            referral=referral,
            data=dict(data.validated_data),
            expected_version=expected_version(request),
        )
        return self._respond(self.get_queryset().get(pk=referral.pk), s.ReferralSerializer)

    def _transition(self, request, service, serializer_class=None):
        referral = self.get_object()
        kwargs = {}
        if serializer_class is not None:
            data = serializer_class(data=request.data)
            data.is_valid(raise_exception=True)
            kwargs = dict(data.validated_data)
        referral = service(actor=request.user, referral=referral, expected_version=expected_version(request), **kwargs)
        return self._respond(self.get_queryset().get(pk=referral.pk), s.ReferralSerializer)

    @extend_schema(request=None, responses={200: s.ReferralSerializer}, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        return self._transition(request, services.referral_send)

    @extend_schema(request=None, responses={200: s.ReferralSerializer}, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._transition(request, services.referral_acknowledge)

    @extend_schema(request=None, responses={200: s.ReferralSerializer}, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._transition(request, services.referral_accept)

    @extend_schema(request=s.DeclineSerializer, responses={200: s.ReferralSerializer}, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        return self._transition(request, services.referral_decline, s.DeclineSerializer)

    @extend_schema(request=None, responses={200: s.ReferralSerializer}, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        return self._transition(request, services.referral_withdraw)

    @extend_schema(request=s.CompleteSerializer, responses={200: s.ReferralSerializer}, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._transition(request, services.referral_complete, s.CompleteSerializer)

    def _conversation(self) -> Referral:
        """The referral whose messages are asked for: one its organisation may not converse on reads as missing."""
        referral = self.get_object()
        if not selectors.may_converse(actor_of(self.request), referral):
            raise NotFound()
        return referral

    # The messages route serves two actions, one per method (no docstrings: see ``consents``).
    @extend_schema(responses={200: s.MessageSerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def messages(self, request, pk=None):
        referral = self._conversation()
        return Response(s.MessageSerializer(selectors.messages_visible_to(request.user, referral), many=True).data)

    @extend_schema(request=s.MessageCreateSerializer, responses={201: s.MessageSerializer})
    @messages.mapping.post
    def post_message(self, request, pk=None):
        referral = self._conversation()
        data = s.MessageCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = services.message_post(actor=request.user, referral=referral, body=data.validated_data["body"])
        return Response(s.MessageSerializer(message).data, status=status.HTTP_201_CREATED)
