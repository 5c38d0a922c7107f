"""Thin views over the consultation services (api_docs/guide.md, "Consultations"): ask first, share later.

Reading: caseworkers and API keys with ``referrals:read`` read the consultations their
organisation asked (every request) or was asked (its own request only); coordinators read
every one as metadata; org admins and auditors get 403 (the audit trail has every
consultation). Writing (ask, withdraw, answer, refer) is for caseworkers and keys with
``referrals:write`` (``referrals.actions.ACT``), each party its own: the asker withdraws
and refers, the member asked answers. A consultation the actor's organisation neither
asked nor was asked is 404, and so is a request of it the actor may not see.
"""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from coalition.api.etag import etag_for, expected_version
from coalition.api.pagination import NewestFirstPagination
from coalition.api.views import VersionedViewSet, actor_of

from .. import actions, consultation_selectors, consultations
from ..choices import ConsultationRequestStatus, ConsultationStatus, Urgency
from ..models import Consultation, ConsultationRequest
from ..selectors import acts_for_partner, referrals_visible_to, with_case_state
from . import consultation_serializers as cs
from . import serializers as s
from .views import IF_MATCH, READ


class ConsultationFilter(django_filters.FilterSet):
    direction = django_filters.ChoiceFilter(
        choices=[("incoming", _("Incoming")), ("outgoing", _("Outgoing"))], method="filter_direction",
        help_text=_("outgoing: the consultations your organisation asked; incoming: those it was asked."),
    )
    status = django_filters.MultipleChoiceFilter(
        choices=ConsultationStatus.choices,
        help_text=_("The consultation's status (open while a member asked has yet to answer); repeat for several."),
    )
    request_status = django_filters.MultipleChoiceFilter(
        choices=ConsultationRequestStatus.choices, method="filter_request_status",
        help_text=_(
            "A request's status: for a consultation your organisation was asked, its own request's (pending: yours "
            "to answer); for one it asked (and for coordinators), any request's (pending: someone has yet to answer)."
        ),
    )
    urgency = django_filters.ChoiceFilter(choices=Urgency.choices)

    class Meta:
        model = Consultation
        fields = ["direction", "status", "request_status", "urgency"]

    def filter_direction(self, queryset, name, value):
        actor = self.request.user
        if value == "incoming":
            return consultation_selectors.incoming(actor, queryset)
        return consultation_selectors.outgoing(actor, queryset)

    def filter_request_status(self, queryset, name, value):
        if not value:
            return queryset
        actor = self.request.user
        requests = ConsultationRequest.objects.filter(consultation=OuterRef("pk"), status__in=value)
        if acts_for_partner(actor):  # the requests the actor sees: all of its own consultations, else its own
            org_id = actor.organisation.pk
            requests = requests.filter(Q(consultation__asker_id=org_id) | Q(organisation_id=org_id))
        return queryset.filter(Exists(requests))


class ConsultationViewSet(mixins.ListModelMixin, VersionedViewSet):
    """Consultations: "can you take this?", asked of members with triage data only, before any identity is shared."""

    selector = staticmethod(consultation_selectors.consultations_visible_to)
    queryset_model = Consultation
    serializer_class = cs.ConsultationSerializer
    filterset_class = ConsultationFilter
    pagination_class = NewestFirstPagination
    http_method_names = ["get", "post", "head", "options"]
    policy = {
        "list": READ,
        "retrieve": READ,
        "create": actions.ACT,
        "withdraw": actions.ACT,
        "answer": actions.ACT,
        "refer": actions.ACT,
    }
    problem_statuses = {
        "create": [422],
        "withdraw": [409, 412],
        "answer": [409, 412],
        "refer": [409, 422],
    }

    @extend_schema(
        description=_(
            "The consultations you may read, newest first: those your organisation asked, with every request, and "
            "those it was asked, with its own request only. Coordinators read every one without its question or notes."
        ),
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: cs.ConsultationSerializer})
    def retrieve(self, request, pk=None):
        return self._respond(self.get_object(), cs.ConsultationSerializer)

    @extend_schema(request=cs.ConsultationCreateSerializer, responses={201: cs.ConsultationSerializer})
    def create(self, request):
        """Ask one or more members at once whether they can take a young person: triage data and a question only."""
        data = cs.ConsultationCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        asked = values.pop("organisations")
        consultation = consultations.consultation_create(actor=actor_of(request), data=values, organisations=asked)
        return self._respond(self.get_queryset().get(pk=consultation.pk), cs.ConsultationSerializer,
                             status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: cs.ConsultationSerializer}, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """Your organisation asked and no longer needs the answers: the members yet to answer need not."""
        consultation = consultations.consultation_withdraw(
            actor=actor_of(request), consultation=self.get_object(), expected_version=expected_version(request)
        )
        return self._respond(self.get_queryset().get(pk=consultation.pk), cs.ConsultationSerializer)

    def _request_of(self, consultation: Consultation, request_id) -> ConsultationRequest:
        """The request named in the path, among those of ``consultation`` the actor sees (else 404)."""
        views = consultation_selectors.request_views(actor_of(self.request), consultation)
        found = next((view.request for view in views if view.request.pk == request_id), None)
        if found is None:
            raise NotFound()
        return found

    @extend_schema(request=cs.ConsultationAnswerSerializer, responses={200: cs.ConsultationSerializer},
                   parameters=[IF_MATCH])
    @action(detail=True, methods=["post"], url_path="requests/<uuid:request_id>/answer")
    def answer(self, request, pk=None, request_id=None):
        """Your organisation was asked: answer yes, no or waitlist, with a short note; once. If-Match: the consultation's ETag."""
        consultation = self.get_object()
        asked = self._request_of(consultation, request_id)
        data = cs.ConsultationAnswerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        consultations.consultation_answer(
            actor=actor_of(request), request=asked, expected_version=expected_version(request), **data.validated_data
        )
        return self._respond(self.get_queryset().get(pk=consultation.pk), cs.ConsultationSerializer)

    @extend_schema(
        request=cs.ConsultationReferSerializer,
        responses={201: OpenApiResponse(s.ReferralSerializer, description=_(
            "The referral, sent; Location names it. The request's referral now names it too."))},
    )
    @action(detail=True, methods=["post"], url_path="requests/<uuid:request_id>/refer")
    def refer(self, request, pk=None, request_id=None):
        """Your organisation asked and this member said yes: make and send the referral in one step, from the consultation's triage."""
        consultation = self.get_object()
        asked = self._request_of(consultation, request_id)
        data = cs.ConsultationReferSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        referral = consultations.consultation_refer(
            actor=actor_of(request), request=asked, case=values["case"], kind=values["kind"],
            consent=values.get("consent"), legal_basis=values.get("legal_basis", ""),
            legal_basis_justification=values.get("legal_basis_justification", ""), reason=values.get("reason", ""),
        )
        actor = actor_of(request)
        referral = with_case_state(actor, referrals_visible_to(actor).select_related("sender", "recipient")).get(
            pk=referral.pk)
        body = s.ReferralSerializer(referral, context=self.get_serializer_context()).data
        headers = {"ETag": etag_for(referral), "Location": reverse("referral-detail", kwargs={"pk": referral.pk})}
        return Response(body, status=status.HTTP_201_CREATED, headers=headers)
