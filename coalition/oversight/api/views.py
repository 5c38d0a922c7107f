"""Oversight lists and the legal-basis exception review for coordinators, statistics for members.

Thin views over the selectors and the review service. Coordinators only for
``/oversight/...``; statistics for coordinators (the whole coalition)
and for caseworkers and org admins (their organisation's referrals and consultations), the
match figures for coordinators only. No API-key scope reaches them: there is no statistics scope, and
a partner system has its own data.
"""

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from coalition.api.negotiation import FormatParameterNegotiation
from coalition.api.schema import CoalitionAutoSchema
from coalition.api.views import CoalitionAPIView, ScopedViewSet, VersionedViewSet
from partners.choices import Role
from partners.policy import allow
from referrals import selectors as referral_selectors
from referrals import services as referral_services
from referrals.filters import ExceptionFilter
from referrals.models import Case, Involvement, LegalBasisException, Match, Referral

from .. import figures, selectors
from ..filters import BouncedFilter, HandoverFilter, MatchFilter, OverdueFilter, UnattendedFilter
from . import serializers as s
from .renderers import CSVRenderer

COORDINATORS = allow(Role.COORDINATOR)
STATISTICS_READERS = allow(Role.CASEWORKER, Role.ORG_ADMIN, Role.COORDINATOR)


OVERDUE_COLUMNS = ("id", "case", "sender", "recipient", "kind", "status", "urgency", "phenomenon", "sent_at",
                   "acknowledge_due", "decide_due")


class OversightViewSet(mixins.ListModelMixin, ScopedViewSet):
    policy = {"list": COORDINATORS}


class OverdueViewSet(OversightViewSet):
    """Referrals past their acknowledge or decide deadline, most overdue first."""

    selector = staticmethod(selectors.overdue_referrals)
    queryset_model = Referral
    serializer_class = s.OverdueReferralSerializer
    filterset_class = OverdueFilter
    ordering = "due"
    policy = {"list": COORDINATORS, "counts": COORDINATORS}
    filtered_actions = frozenset({"list", "counts"})  # the counts are of the list, with its filters

    def narrow_queryset(self, queryset):
        # Only the columns shown: the pending-referral index then holds all of them.
        return queryset.only(*OVERDUE_COLUMNS)

    def get_serializer_context(self):
        return super().get_serializer_context() | {"now": timezone.now()}

    @extend_schema(filters=True, responses={200: s.OverdueSummarySerializer})
    @action(detail=False, methods=["get"], pagination_class=None)
    def counts(self, request):
        by_urgency = selectors.overdue_counts(self.filter_queryset(self.get_queryset()))
        body = {"total": sum(row["total"] for row in by_urgency), "by_urgency": by_urgency}
        return Response(s.OverdueSummarySerializer(body).data)


class HandoverViewSet(OversightViewSet):
    """Lead changes (accepted transfers), newest first; ``from``/``to`` narrow them to a period."""

    selector = staticmethod(selectors.handovers)
    queryset_model = Involvement
    serializer_class = s.HandoverSerializer
    filterset_class = HandoverFilter
    ordering = "-started_at"


class BouncedViewSet(OversightViewSet):
    """Cases declined twice or more, the most recently declined first."""

    selector = staticmethod(selectors.bounced_cases)
    queryset_model = Case
    serializer_class = s.BouncedCaseSerializer
    filterset_class = BouncedFilter
    ordering = "-last_declined_at"


class UnattendedViewSet(OversightViewSet):
    """Open cases held by no active member, or idle for ``OVERSIGHT_IDLE_DAYS``; oldest first."""

    selector = staticmethod(selectors.unattended_cases)
    queryset_model = Case
    serializer_class = s.UnattendedCaseSerializer
    filterset_class = UnattendedFilter
    ordering = "opened_at"


class MatchOversightViewSet(OversightViewSet):
    """Every cross-organisation match, newest first; ``unattended=true``: nobody answered by the due time."""

    selector = staticmethod(selectors.oversight_matches)
    queryset_model = Match
    serializer_class = s.OversightMatchSerializer
    filterset_class = MatchFilter
    ordering = ("-created_at", "-id")

    def get_serializer_context(self):
        return super().get_serializer_context() | {"now": timezone.now()}


class ExceptionReviewViewSet(mixins.ListModelMixin, VersionedViewSet):
    """The coordinators' review queue of legal-basis exceptions."""

    # VersionedViewSet, as before this view moved here from referrals: an exception has no
    # version, but a malformed If-Match on its review stays a 400.
    selector = staticmethod(referral_selectors.exceptions_for_review)
    queryset_model = LegalBasisException
    serializer_class = s.ExceptionSerializer
    filterset_class = ExceptionFilter
    ordering = "created_at"
    policy = {"list": COORDINATORS, "retrieve": COORDINATORS, "review": COORDINATORS}
    problem_statuses = {"review": [409]}

    @extend_schema(responses={200: s.ExceptionSerializer})
    def retrieve(self, request, pk=None):
        return Response(s.ExceptionSerializer(self.get_object()).data)

    @extend_schema(request=s.ExceptionReviewSerializer, responses={200: s.ExceptionSerializer})
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        data = s.ExceptionReviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        reviewed = referral_services.exception_review(
            actor=request.user, legal_exception=self.get_object(), **data.validated_data
        )
        return Response(s.ExceptionSerializer(reviewed).data)


# --- statistics -------------------------------------------------------------------------------

PERIOD_PARAMETERS = [
    OpenApiParameter("year", OpenApiTypes.INT, description="A calendar year (default: the current one)."),
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day of the period, with `to` (instead of `year`)."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day of the period (inclusive)."),
    OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"], description="`csv` for CSV (or `Accept: text/csv`)."),
]


class StatisticsSchema(CoalitionAutoSchema):
    """An empty query parameter (``?year=``) counts as not given, as the list filters do: the schema says so."""

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        for parameter in (operation or {}).get("parameters", []):
            if parameter.get("in") == "query":
                parameter["allowEmptyValue"] = True
        return operation


class StatisticsView(CoalitionAPIView):
    schema = StatisticsSchema()
    renderer_classes = [JSONRenderer, CSVRenderer]
    content_negotiation_class = FormatParameterNegotiation  # the documented ?format=json|csv
    policy = {"get": STATISTICS_READERS}
    query_serializer_class = s.PeriodQuerySerializer
    csv_name = "figures"

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force)
        except Http404:  # DRF's answer to an unknown ?format=: bad input, not a missing resource
            raise ValidationError({"format": [_("Must be json or csv.")]}) from None

    def query(self, request) -> dict:
        query = self.query_serializer_class(data=request.query_params)
        query.is_valid(raise_exception=True)
        return query.validated_data

    def respond(self, body: dict, query: dict) -> Response:
        response = Response(body)
        if getattr(self.request, "accepted_renderer", None) and self.request.accepted_renderer.format == "csv":
            name = figures.csv_file_name(self.csv_name, {"from": query["first_day"], "to": query["last_day"]})
            response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class ReferralStatisticsView(StatisticsView):
    """Counts of sent referrals by the chosen dimensions, small counts suppressed."""

    query_serializer_class = s.StatisticsQuerySerializer
    csv_name = "referral-figures"

    @extend_schema(
        operation_id="statistics_referrals",
        parameters=[
            *PERIOD_PARAMETERS,
            OpenApiParameter(
                "group_by",
                OpenApiTypes.STR,
                description="Comma-separated dimensions, each once: " + ", ".join(selectors.DIMENSIONS) + ".",
            ),
            OpenApiParameter("period", OpenApiTypes.STR, enum=list(selectors.PERIODS), description="Bucket of `period`."),
        ],
        responses={(200, "application/json"): s.ReferralStatisticsSerializer, (200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request):
        query = self.query(request)
        return self.respond(s.ReferralStatisticsSerializer(figures.referral_figures(request.user, query)).data, query)

    def csv_rows(self, data):
        return figures.referral_figure_rows(data)


class TimingStatisticsView(StatisticsView):
    """Median hours to the first answer and to acceptance, by urgency, small groups suppressed."""

    csv_name = "referral-timings"

    @extend_schema(
        operation_id="statistics_timings",
        parameters=PERIOD_PARAMETERS,
        responses={(200, "application/json"): s.TimingsSerializer, (200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request):
        query = self.query(request)
        return self.respond(s.TimingsSerializer(figures.timing_figures(request.user, query)).data, query)

    def csv_rows(self, data):
        return figures.timing_figure_rows(data)


class MatchStatisticsView(StatisticsView):
    """Matches found per organisation and month, by what became of them, small counts suppressed (coordinators)."""

    policy = {"get": COORDINATORS}
    csv_name = "match-figures"

    @extend_schema(
        operation_id="statistics_matches",
        parameters=PERIOD_PARAMETERS,
        responses={(200, "application/json"): s.MatchStatisticsSerializer, (200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request):
        query = self.query(request)
        return self.respond(s.MatchStatisticsSerializer(figures.match_figures(request.user, query)).data, query)

    def csv_rows(self, data):
        return figures.match_figure_rows(data)


class ConsultationStatisticsView(StatisticsView):
    """Consultations per phenomenon and period, their answers and the share that became referrals, suppressed."""

    query_serializer_class = s.ConsultationStatisticsQuerySerializer
    csv_name = "consultation-figures"

    @extend_schema(
        operation_id="statistics_consultations",
        parameters=[
            *PERIOD_PARAMETERS,
            OpenApiParameter("period", OpenApiTypes.STR, enum=list(selectors.PERIODS),
                             description="The periods the consultations are counted in (default `month`)."),
        ],
        responses={(200, "application/json"): s.ConsultationStatisticsSerializer, (200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request):
        query = self.query(request)
        body = figures.consultation_figures(request.user, query)
        return self.respond(s.ConsultationStatisticsSerializer(body).data, query)

    def csv_rows(self, data):
        return figures.consultation_figure_rows(data)
