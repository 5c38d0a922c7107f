"""Template helpers shared by every page: code lists shown as their translated labels, the unread count,
whether the coalition has the cross-organisation match on (the navigation's "Matches")."""

from __future__ import annotations

from django import template
from django.db.models import TextChoices
from django.utils.dateparse import parse_date, parse_datetime

from coalition.notifications import selectors as notifications
from partners.choices import Language, OrganisationKind, Phenomenon
from referrals import choices as rc
from referrals.matches import matching_enabled

register = template.Library()

# Code list by the name of the field that carries it (in models and API representations).
CODE_LISTS: dict[str, type[TextChoices]] = {
    "phenomenon": Phenomenon,
    "phenomena": Phenomenon,
    "language": Language,
    "languages": Language,
    "kind": rc.ReferralKind,
    "organisation_kind": OrganisationKind,
    "status": rc.ReferralStatus,
    "case_status": rc.CaseStatus,
    "urgency": rc.Urgency,
    "requested_service": rc.RequestedService,
    "signals": rc.Signal,
    "gender": rc.Gender,
    "given_by": rc.ConsentGiver,
    "method": rc.ConsentMethod,
    "purposes": rc.ConsentPurpose,
    "legal_basis": rc.LegalBasis,
    "decline_reason_code": rc.DeclineReason,
    "outcome_code": rc.ReferralOutcome,
    "outcome": rc.CaseOutcome,
    "role": rc.InvolvementRole,
    "review_status": rc.ExceptionReview,
    "match_status": rc.MatchStatus,
    "match_action": rc.MatchAction,
    "consultation_status": rc.ConsultationStatus,
    "consultation_request_status": rc.ConsultationRequestStatus,
    "consultation_answer": rc.ConsultationAnswer,
}


@register.filter
def label(code, field: str):
    """``{{ referral.urgency|label:"urgency" }}``: the translated label of a code (a list: joined)."""
    choices = CODE_LISTS[field]
    if isinstance(code, list | tuple):
        return ", ".join(_one(choices, item) for item in code)
    return _one(choices, code)


def _one(choices: type[TextChoices], code) -> str:
    if code in (None, ""):
        return ""
    try:
        return str(choices(code).label)
    except ValueError:
        return str(code)


@register.filter
def moment(value):
    """A datetime from a model field or from an API representation's ISO text, for ``|date``."""
    if isinstance(value, str):
        return parse_datetime(value) or parse_date(value)
    return value


# Where the page's count is kept once read: the header and the page itself may both ask.
UNREAD_ATTRIBUTE = "_web_unread_notifications"


@register.simple_tag(takes_context=True)
def unread_notifications(context) -> int:
    """How many of the signed-in person's notifications are unread (the header's count): one query a page."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return 0
    if not hasattr(request, UNREAD_ATTRIBUTE):
        setattr(request, UNREAD_ATTRIBUTE, notifications.unread_count(user))
    return getattr(request, UNREAD_ATTRIBUTE)


@register.simple_tag
def matching_on() -> bool:
    """Whether the coalition enabled the cross-organisation match (``MATCH_ENABLED`` with its key)."""
    return matching_enabled()
