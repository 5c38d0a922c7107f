"""Thin views over the referral services: validate, resolve ids through the actor's scope, act, shape."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from coalition.api.etag import etag_for, expected_version
from coalition.api.problems import BusinessRuleViolation
from coalition.api.views import ScopedViewSet, actor_of
from partners.choices import ApiKeyScope, Role
from partners.models import Organisation
from partners.policy import allow

from .. import selectors, services
from ..filters import CaseFilter, ExceptionFilter, ReferralFilter
from ..choices import InvolvementRole
from ..models import Case, Consent, LegalBasisException, Referral
from . import serializers as s

READ = allow(Role.CASEWORKER, Role.COORDINATOR, scope=ApiKeyScope.REFERRALS_READ)
WRITE = allow(Role.CASEWORKER, scope=ApiKeyScope.REFERRALS_WRITE)
IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="The ETag you last read; a stale one gives 412.",
)


def _field_error(field: str, message: str):
    return ValidationError({field: [message]})


class ScopedActorViewSet(ScopedViewSet):
    """A scoped viewset whose objects carry an ETag (their version)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method not in ("GET", "HEAD"):
            expected_version(request)  # a malformed If-Match is 400 before any rule is checked

    def _respond(self, obj, serializer_class, status_code=status.HTTP_200_OK):
        body = serializer_class(obj, context=self.get_serializer_context()).data
        return Response(body, status=status_code, headers={"ETag": etag_for(obj)})


class CaseViewSet(mixins.ListModelMixin, ScopedActorViewSet):
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

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action in ("retrieve", "list", "create", "partial_update", "close", "reopen"):
            queryset = queryset.select_related("subject")  # answered with the case: its subject is read
        return queryset

    def get_object(self):
        obj = super().get_object()
        if self.request.method != "GET":
            # Writes need the organisation to be involved now, not only in the past.
            if not selectors.involved_in(actor_of(self.request), obj):
                raise BusinessRuleViolation(_("Your organisation is not involved in this case."))
        return obj

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

    @extend_schema(responses={200: s.ConsentSerializer(many=True)}, methods=["GET"])
    @extend_schema(request=s.ConsentCreateSerializer, responses={201: s.ConsentSerializer}, methods=["POST"])
    @action(detail=True, methods=["get", "post"], url_path="consents", pagination_class=None, filter_backends=[])
    def consents(self, request, pk=None):
        case = self.get_object()
        if request.method == "POST":
            return self.record_consent(request, case)
        consents = selectors.consents_visible_to(request.user, case)
        return Response(s.ConsentSerializer(consents, many=True).data)

    def record_consent(self, request, case):
        data = s.ConsentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        consent = services.consent_record(actor=request.user, case=case, data=data.validated_data)
        return Response(s.ConsentSerializer(consent).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: s.ConsentSerializer})
    @action(detail=True, methods=["post"], url_path="consents/<uuid:consent_id>/withdraw")
    def withdraw_consent(self, request, pk=None, consent_id=None):
        case = self.get_object()
        consent = get_object_or_404(Consent, pk=consent_id, case=case)
        consent = services.consent_withdraw(actor=request.user, consent=consent)
        return Response(s.ConsentSerializer(consent).data)

    def initial(self, request, *args, **kwargs):
        # The consents route serves two actions: pick the rule for its method.
        if getattr(self, "action", None) == "consents" and request.method == "POST":
            self.action = "record_consent"
        return super().initial(request, *args, **kwargs)


class ReferralViewSet(mixins.ListModelMixin, ScopedActorViewSet):
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

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "list" or getattr(self, "swagger_fake_view", False):
            return queryset  # a page marks involvement in one query (ReferralListSerializer)
        # One referral: its parties for the services' rules, involvement joined in.
        return selectors.with_actor_involvement(actor_of(self.request), queryset.select_related("sender", "recipient"))

    def initial(self, request, *args, **kwargs):
        if getattr(self, "action", None) == "messages" and request.method == "POST":
            self.action = "post_message"
        return super().initial(request, *args, **kwargs)

    @extend_schema(responses={200: s.ReferralSerializer})
    def retrieve(self, request, pk=None):
        return self._respond(self.get_object(), s.ReferralSerializer)

    def _resolve(self, data: dict, *, case: Case) -> dict:
        """Turn ids of the body into objects, each through the actor's scope."""
        actor = actor_of(self.request)
        resolved = {k: v for k, v in data.items() if k not in ("recipient", "consent", "legal_basis", "rerouted_from")}
        if "recipient" in data:
            resolved["recipient"] = Organisation.objects.filter(pk=data["recipient"]).first()
            if resolved["recipient"] is None:
                raise _field_error("recipient", _("Unknown organisation."))
        if "consent" in data:
            resolved["consent"] = None
            if data["consent"] is not None:
                resolved["consent"] = Consent.objects.filter(pk=data["consent"], case=case).first()
                if resolved["consent"] is None:
                    raise _field_error("consent", _("No such consent in this case."))
        if "legal_basis" in data:
            basis = data["legal_basis"] or {}
            resolved["legal_basis"] = basis.get("basis", "")
            resolved["legal_basis_justification"] = basis.get("justification") or ""
        if "rerouted_from" in data:
            resolved["rerouted_from"] = None
            if data["rerouted_from"] is not None:
                resolved["rerouted_from"] = selectors.referrals_visible_to(actor).filter(pk=data["rerouted_from"]).first()
                if resolved["rerouted_from"] is None:
                    raise _field_error("rerouted_from", _("No such referral."))
        for name in ("reason", "gender", "region", "language"):
            if name in resolved and resolved[name] is None:
                resolved[name] = ""
        return resolved

    @extend_schema(request=s.ReferralCreateSerializer, responses={201: s.ReferralSerializer})
    def create(self, request):
        data = s.ReferralCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        case = selectors.cases_visible_to(request.user).filter(pk=values.pop("case")).first()
        if case is None:
            raise _field_error("case", _("No such case."))
        referral = services.referral_create(actor=request.user, case=case, data=self._resolve(values, case=case))
        return self._respond(self.get_queryset().get(pk=referral.pk), s.ReferralSerializer, status.HTTP_201_CREATED)

    @extend_schema(request=s.ReferralUpdateSerializer, responses={200: s.ReferralSerializer}, parameters=[IF_MATCH])
    def partial_update(self, request, pk=None):
        referral = self.get_object()
        data = s.ReferralUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        referral = services.referral_update(
            actor=request.user,
            referral=referral,
            data=self._resolve(dict(data.validated_data), case=referral.case),
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

    @extend_schema(responses={200: s.MessageSerializer(many=True)}, methods=["GET"])
    @extend_schema(request=s.MessageCreateSerializer, responses={201: s.MessageSerializer}, methods=["POST"])
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def messages(self, request, pk=None):
        referral = self.get_object()
        if not selectors.may_converse(request.user, referral):
            raise NotFound()
        if request.method == "POST":
            data = s.MessageCreateSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            message = services.message_post(actor=request.user, referral=referral, body=data.validated_data["body"])
            return Response(s.MessageSerializer(message).data, status=status.HTTP_201_CREATED)
        return Response(s.MessageSerializer(selectors.messages_visible_to(request.user, referral), many=True).data)


class ExceptionReviewViewSet(mixins.ListModelMixin, ScopedActorViewSet):
    """The coordinators' review queue of legal-basis exceptions."""

    selector = staticmethod(selectors.exceptions_for_review)
    queryset_model = LegalBasisException
    serializer_class = s.ExceptionSerializer
    filterset_class = ExceptionFilter
    ordering = "created_at"
    policy = {"list": allow(Role.COORDINATOR), "retrieve": allow(Role.COORDINATOR), "review": allow(Role.COORDINATOR)}
    problem_statuses = {"review": [409]}

    @extend_schema(responses={200: s.ExceptionSerializer})
    def retrieve(self, request, pk=None):
        return Response(s.ExceptionSerializer(self.get_object()).data)

    @extend_schema(request=s.ExceptionReviewSerializer, responses={200: s.ExceptionSerializer})
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        data = s.ExceptionReviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        legal_exception = services.exception_review(
            actor=request.user, legal_exception=self.get_object(), **data.validated_data
        )
        return Response(s.ExceptionSerializer(legal_exception).data)

