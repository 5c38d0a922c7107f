"""Reads on matches (README, "Known elsewhere: the match"), always through the actor.

- a partner organisation (its caseworkers, or its API key with ``referrals:read``) sees
  the matches of the cases it leads now, as one side: its own case, the other
  organisation's name and contact point, the two sides' answers; never the other case;
- coordinators see every match as metadata: the two organisations, status, times and
  answers, no case;
- everyone else (org admins, auditors) sees none here; the audit trail has every match.

Nothing a match read shows is about the young person: that two members know the same
one is the whole of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from coalition.core.actors import Actor
from coalition.core.errors import NotFound
from partners.models import Organisation

from .actions import may_act
from .choices import MatchStatus
from .models import Match
from .selectors import acts_for_partner, is_coordinator, may_read


def may_see_matches(actor: Actor) -> bool:
    return is_coordinator(actor) or (acts_for_partner(actor) and may_read(actor))


def matches_visible_to(actor: Actor) -> QuerySet[Match]:
    """The matches the actor may read, newest first (``Match.Meta.ordering``)."""
    matches = Match.objects.select_related(
        "case_a__lead_organisation", "case_b__lead_organisation", "organisation_a", "organisation_b"
    )
    if is_coordinator(actor):
        return matches
    if not may_see_matches(actor):
        return matches.none()
    org_id = actor.organisation.pk
    return matches.filter(Q(case_a__lead_organisation_id=org_id) | Q(case_b__lead_organisation_id=org_id))


def match_of(actor: Actor, pk) -> Match:
    try:
        return matches_visible_to(actor).get(pk=pk)
    except (Match.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def unattended(queryset: QuerySet[Match], now: datetime | None = None) -> QuerySet[Match]:
    """Open matches past their due time: nobody acted within the working days allowed."""
    return queryset.filter(status=MatchStatus.OPEN, due_at__lt=now or timezone.now())


@dataclass(frozen=True)
class MatchSide:
    """One side's view of a match: what a caseworker of ``organisation`` reads."""

    match: Match
    side: str  # "a" or "b"
    case_id: object
    organisation: Organisation  # the actor's, holding ``case_id``
    other_organisation: Organisation  # holds the other case now: name and contact point
    own_action: str
    other_action: str
    acted_at: datetime | None
    allowed_actions: list[str]


def side_view(actor: Actor, match: Match) -> MatchSide | None:
    """The actor's side of ``match`` (None for a coordinator, who is on neither)."""
    if not acts_for_partner(actor):
        return None
    side = match.side_of(actor.organisation.pk)
    if side is None:
        return None
    own_case, other_case = (match.case_a, match.case_b) if side == "a" else (match.case_b, match.case_a)
    other = "b" if side == "a" else "a"
    own_action = getattr(match, f"action_{side}")
    return MatchSide(
        match=match, side=side, case_id=own_case.pk, organisation=own_case.lead_organisation,
        other_organisation=other_case.lead_organisation, own_action=own_action,
        other_action=getattr(match, f"action_{other}"), acted_at=getattr(match, f"acted_{side}_at"),
        allowed_actions=[] if own_action or not may_act(actor) else ["contacted", "not_the_same_person"],
    )


def matches_of_case(actor: Actor, case) -> list[MatchSide]:
    """The actor's sides of the matches of ``case`` (its case page), newest first."""
    found = matches_visible_to(actor).filter(Q(case_a=case) | Q(case_b=case))
    sides = [side_view(actor, match) for match in found]
    return [side for side in sides if side is not None and side.case_id == case.pk]
