"""What a member organisation may still do with cases and referrals, given its membership.

Suspension (issue #11, item 9; README "Suspension") keeps exactly what a member needs
to hand its open cases over, and nothing else:

- it reads its **open** cases (those it is involved in now) and the referrals about
  them, messages included; closed and past cases are hidden while it is suspended;
- it drafts, changes and sends **transfers** of the cases it leads, withdraws its own
  referrals and withdraws consents (a young person's withdrawal is honoured whatever
  the membership); a transfer relies on a consent recorded before the suspension or
  on a legal-basis exception;
- it opens, changes, closes or reopens no case, records no consent, sends no service
  referral, acknowledges, accepts, declines or completes nothing, posts no message.

The selectors (``referrals.selectors``) apply the reading rule; the action rules of
``referrals.actions``, which every service of ``referrals.services`` asks before it
writes, include ``membership_refusal``. New API
keys are refused by ``partners.services.api_key_create`` with the same test
(``Organisation.is_active_member``), since partners sits below referrals.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from coalition.core.actors import Actor
from coalition.core.errors import BusinessRuleViolation, DomainError

from .choices import ReferralKind

# Actions a suspended member keeps whatever the referral.
ALLOWED_WHILE_SUSPENDED = frozenset({"referral.withdraw", "consent.withdraw"})
# Actions a suspended member keeps for transfers only: handing the case over.
TRANSFERS_ONLY_WHILE_SUSPENDED = frozenset({"referral.create", "referral.update", "referral.send"})


def reads_open_cases_only(actor: Actor) -> bool:
    """True while the actor's organisation is suspended: it sees only the open cases it is involved in."""
    return not actor.organisation.is_active_member


def membership_allows(organisation, action: str, *, referral_kind: str | None = None) -> bool:
    """Whether ``organisation`` may take ``action`` (an audit action name such as ``case.open``)."""
    if organisation.is_active_member:
        return True
    if action in ALLOWED_WHILE_SUSPENDED:
        return True
    return action in TRANSFERS_ONLY_WHILE_SUSPENDED and referral_kind == ReferralKind.TRANSFER


def membership_refusal(actor: Actor, action: str, *, referral_kind: str | None = None) -> DomainError | None:
    """The refusal (422) of what a suspended member may no longer do, or None; see the module docstring."""
    if membership_allows(actor.organisation, action, referral_kind=referral_kind):
        return None
    return BusinessRuleViolation(
        _("Your organisation is suspended: it may only read its open cases and transfer them to another member.")
    )


def require_membership_allows(actor: Actor, action: str, *, referral_kind: str | None = None) -> None:
    """Refuse (422) what a suspended member may no longer do; see the module docstring."""
    refusal = membership_refusal(actor, action, referral_kind=referral_kind)
    if refusal is not None:
        raise refusal
