"""Output shapes of the cross-organisation match (api_docs/guide.md, "Matches").

Nothing here is about the young person.

A match reads in one of two shapes, picked by the actor (``referrals.match_selectors``):

- ``MatchSideSerializer``: what a partner organisation (its caseworkers, its API key
  with ``referrals:read``) reads, as one side: its own case, the other organisation's
  name and the contact point it publishes in the directory, the two sides' answers and
  what it may do now. Never the other case.
- ``MatchOverviewSerializer``: what coordinators read: the two organisations that hold
  the cases now, each side's answer, status and times. No case.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from ..choices import MatchAction, MatchStatus
from ..match_selectors import side_view
from ..models import Match
from ..selectors import is_coordinator

_DATETIME = serializers.DateTimeField()


def _answer(action: str, at) -> dict | None:
    """One side's answer, or None while it has not answered."""
    if not action:
        return None
    return {"action": action, "at": _DATETIME.to_representation(at) if at is not None else None}


class MatchAnswerSerializer(serializers.Serializer):
    """One side's answer: contacted (the two members talked) or not_the_same_person, and when."""

    action = serializers.ChoiceField(choices=MatchAction.choices)
    at = serializers.DateTimeField()


class MatchOrganisationSerializer(serializers.Serializer):
    """The other member: its name and the contact point it publishes in the directory."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    contact_email = serializers.CharField(help_text=_("Empty when the organisation left it blank."))
    contact_phone = serializers.CharField(help_text=_("Empty when the organisation left it blank."))


class _MatchBase(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=MatchStatus.choices)
    created_at = serializers.DateTimeField(help_text=_("When the two cases were found to share a match key."))
    due_at = serializers.DateTimeField(
        help_text=_("By when a side should have answered: two working days after it was found, by default.")
    )
    escalated_at = serializers.DateTimeField(
        allow_null=True,
        help_text=_("When the coordinators were alerted that nobody had answered by due_at; null until then."),
    )
    version = serializers.IntegerField(help_text=_("Also the ETag; send it as If-Match on an answer."))

    def _common(self, match: Match) -> dict:
        return {
            "id": str(match.pk),
            "status": match.status,
            "created_at": _DATETIME.to_representation(match.created_at),
            "due_at": _DATETIME.to_representation(match.due_at),
            "escalated_at": _DATETIME.to_representation(match.escalated_at) if match.escalated_at else None,
            "version": match.version,
        }


class MatchSideSerializer(_MatchBase):
    """A match as one side reads it: another member knows the young person of your case; get in touch."""

    case = serializers.UUIDField(help_text=_("Your organisation's case."))
    other_organisation = MatchOrganisationSerializer(help_text=_("The member that holds the other case."))
    own_answer = MatchAnswerSerializer(allow_null=True, help_text=_("Your organisation's answer; null until given."))
    other_answer = MatchAnswerSerializer(allow_null=True, help_text=_("The other member's answer; null until given."))
    allowed_actions = serializers.ListField(
        child=serializers.ChoiceField(choices=MatchAction.choices),
        help_text=_(
            "The answers you may give now: empty once your organisation answered, "
            "and for a key without referrals:write."
        ),
    )

    def to_representation(self, match: Match) -> dict:
        side = side_view(self.context["actor"], match)
        if side is None:  # matches_visible_to gives a partner only the matches of the cases it leads
            raise ValueError("A match shown to a partner must have the partner's side.")
        other = "b" if side.side == "a" else "a"
        organisation = side.other_organisation
        return self._common(match) | {
            "case": str(side.case_id),
            "other_organisation": {
                "id": str(organisation.pk),
                "name": organisation.name,
                "contact_email": organisation.contact_email,
                "contact_phone": organisation.contact_phone,
            },
            "own_answer": _answer(side.own_action, side.acted_at),
            "other_answer": _answer(side.other_action, getattr(match, f"acted_{other}_at")),
            "allowed_actions": list(side.allowed_actions),
        }


class MatchPartySerializer(serializers.Serializer):
    """One side of a match as coordinators read it: the organisation that holds the case now, and its answer."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    answer = MatchAnswerSerializer(allow_null=True, help_text=_("This side's answer; null until given."))


class MatchOverviewSerializer(_MatchBase):
    """A match as coordinators read it: which two members know the same young person, and whether they talked."""

    organisations = MatchPartySerializer(many=True, help_text=_("The two sides."))

    def to_representation(self, match: Match) -> dict:
        parties = []
        for side in ("a", "b"):
            organisation = getattr(match, f"case_{side}").lead_organisation
            parties.append({
                "id": str(organisation.pk),
                "name": organisation.name,
                "answer": _answer(getattr(match, f"action_{side}"), getattr(match, f"acted_{side}_at")),
            })
        return self._common(match) | {"organisations": parties}


def match_serializer_for(actor) -> type[_MatchBase]:
    """The shape the actor reads a match in: coordinators the overview, partners their side."""
    return MatchOverviewSerializer if is_coordinator(actor) else MatchSideSerializer


def match_response(*, many: bool = False) -> PolymorphicProxySerializer:
    """The schema of a match answer: one of the two shapes, by who asks."""
    return PolymorphicProxySerializer(
        component_name="Match",
        serializers=[MatchSideSerializer, MatchOverviewSerializer],
        resource_type_field_name=None,
        many=many,
    )
