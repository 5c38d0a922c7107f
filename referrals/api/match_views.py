"""Thin views over the match (api_docs/guide.md, "Matches"): the matches the actor may read, one side's two answers.

Partner organisations (caseworkers, API keys with ``referrals:read``) read the matches of
the cases they lead as their side; coordinators read every match as an overview; org
admins and auditors get 403 (the audit trail has every match). Answering is for
caseworkers and keys with ``referrals:write`` of a side (``referrals.matches.match_act``).
"""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.decorators import action

from coalition.api.etag import expected_version
from coalition.api.pagination import NewestFirstPagination
from coalition.api.views import VersionedViewSet, actor_of
from partners.filters import StrictBooleanFilter

from .. import actions, match_selectors, matches
from ..choices import MatchAction, MatchStatus
from ..models import Match
from . import match_serializers as s
from .views import IF_MATCH, READ


class MatchFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=MatchStatus.choices)
    unattended = StrictBooleanFilter(
        method="filter_unattended",
        help_text=_("Open matches nobody answered by their due time (true), or all others (false)."),
    )

    class Meta:
        model = Match
        fields = ["status", "unattended"]

    def filter_unattended(self, queryset, name, value):
        late = match_selectors.unattended(queryset)
        return late if value else queryset.exclude(pk__in=late.values("pk"))


class MatchViewSet(mixins.ListModelMixin, VersionedViewSet):
    """Matches: another member knows the young person of one of your cases. Get in touch, then answer."""

    selector = staticmethod(match_selectors.matches_visible_to)
    queryset_model = Match
    serializer_class = s.MatchSideSerializer
    filterset_class = MatchFilter
    pagination_class = NewestFirstPagination
    http_method_names = ["get", "post", "head", "options"]
    policy = {
        "list": READ,
        "retrieve": READ,
        "contacted": actions.ACT,
        "not_the_same_person": actions.ACT,
    }
    problem_statuses = {"contacted": [409, 412], "not_the_same_person": [409, 412]}

    def get_serializer_class(self):
        if getattr(self, "swagger_fake_view", False):
            return s.MatchSideSerializer
        return s.match_serializer_for(actor_of(self.request))

    @extend_schema(
        description=_(
            "The matches you may read, newest first. A partner organisation's caseworkers and keys read the matches "
            "of the cases it leads, as their side (MatchSide); coordinators read every match (MatchOverview)."
        ),
        responses={200: s.match_response(many=True)},
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        description=_("One match: your side of it (MatchSide), or for coordinators the overview (MatchOverview)."),
        responses={200: s.match_response()},
    )
    def retrieve(self, request, pk=None):
        return self._respond(self.get_object(), self.get_serializer_class())

    def _answer(self, request, answer: str):
        match = matches.match_act(
            actor=actor_of(request), match=self.get_object(), action=answer, expected_version=expected_version(request)
        )
        return self._respond(self.get_queryset().get(pk=match.pk), s.MatchSideSerializer)

    @extend_schema(request=None, responses={200: s.MatchSideSerializer}, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"])
    def contacted(self, request, pk=None):
        """Your organisation and the other member have been in touch: the match is done."""
        return self._answer(request, MatchAction.CONTACTED)

    @extend_schema(request=None, responses={200: s.MatchSideSerializer}, parameters=[IF_MATCH])
    @action(detail=True, methods=["post"], url_path="not-the-same-person")
    def not_the_same_person(self, request, pk=None):
        """Having talked, the two cases are not about the same young person: the match is settled as such."""
        return self._answer(request, MatchAction.NOT_THE_SAME_PERSON)
