"""Template helpers shared by every page: code lists shown as their translated labels."""

from __future__ import annotations

from django import template
from django.db.models import TextChoices
from django.utils.dateparse import parse_date, parse_datetime

from partners.choices import Language, OrganisationKind, Phenomenon
from referrals import choices as rc

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
