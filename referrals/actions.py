"""Who may take which action on a case, a referral or a consent now: one rule for the services and the answers.

The *permission* of each action is decided here, by pure functions of the actor, the
object and the state of its case:

- the actor's role or key scope: a caseworker, or an API key with ``referrals:write``
  (coordinators, org admins, auditors and other keys may take none of these actions);
- which party its organisation is: the referral's sender or recipient, the case's
  lead, an organisation involved in the case now;
- its membership (a suspended member keeps only what hands its cases over,
  ``referrals.policy``);
- the referral state machine (``referrals.transitions``), whether the case is open,
  whether its free text was erased, whether the sender is still involved.

``referrals.services`` asks ``referral_refusal``, ``case_refusal``, ``consent_refusal`` and
``case_open_refusal`` under its row locks and raises what they answer;
``allowed_referral_actions``, ``allowed_case_actions`` and ``allowed_consent_actions`` list
the actions they do not refuse: the API's ``allowed_actions``, the web app's buttons.

What the request or the draft brings is checked by the services alone, after these
rules, and is not part of ``allowed_actions``: a consent or legal-basis exception that
covers the recipient, the purpose and the day (and was not flagged), a justification
long enough, a recipient that is an active member accepting referrals and, for a
service referral, not involved yet, a draft that does not refer to its own
organisation, a transfer drafted by the lead, a decline reason, an outcome code, the
kind a suspended member's draft is changed to. So a listed action is open to the
actor; its input may still be refused (422).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import FilteredRelation, Q
from django.utils.translation import gettext as _

from coalition.core.access import ApiKeyScope, Role, actor_satisfies, allow
from coalition.core.actors import Actor
from coalition.core.errors import BusinessRuleViolation, Conflict, DomainError, Forbidden
from partners.choices import OrganisationKind

from .choices import OPEN_REFERRAL_STATUSES, CaseStatus, ReferralKind
from .models import Case, Consent, Involvement, Referral
from .policy import membership_allows, membership_refusal
from .transitions import transition

# The actions, in the order a page shows them.
REFERRAL_ACTIONS = ("send", "update", "acknowledge", "accept", "decline", "withdraw", "complete", "message")
CASE_ACTIONS = ("update", "close", "reopen", "record_consent", "create_referral")
CONSENT_ACTIONS = ("withdraw",)

# Who acts on cases, consents and referrals at all: the rule of the API's write routes too.
ACT = allow(Role.CASEWORKER, scope=ApiKeyScope.REFERRALS_WRITE)


def may_act(actor: Actor) -> bool:
    """A caseworker, or an API key with ``referrals:write``: the only actors any of these actions is open to."""
    return actor_satisfies(actor, ACT)


@dataclass(frozen=True)
class CaseState:
    """What the referral rules need of a referral's case, read once.

    A service reads it under the case's row lock (``read_case_state``), a page of
    referrals for all its cases in one query (``read_case_states``). ``involved`` holds
    the organisations involved in the case now, at least those the rules ask about:
    the actor's and the referral's sender.
    """

    status: str
    lead_organisation_id: Any
    erased: bool
    involved: frozenset[Any]


def read_case_state(case: Case) -> CaseState:
    """The state of ``case`` as read (by a service: under its row lock), with its involvements now: one query."""
    involved = Involvement.objects.filter(case_id=case.pk, ended_at__isnull=True).values_list("organisation_id", flat=True)
    return CaseState(
        status=case.status,
        lead_organisation_id=case.lead_organisation_id,
        erased=case.purged_at is not None,
        involved=frozenset(involved),
    )


def read_case_states(case_ids: Iterable[Any]) -> dict[Any, CaseState]:
    """The states of the cases ``case_ids``, keyed by case id, in one query (a case joined to its involvements now)."""
    rows = (
        Case.objects.filter(pk__in=set(case_ids))
        .annotate(active=FilteredRelation("involvements", condition=Q(involvements__ended_at__isnull=True)))
        .order_by()
        .values_list("pk", "status", "lead_organisation_id", "purged_at", "active__organisation_id")
    )
    cases: dict[Any, tuple[str, Any, bool]] = {}
    involved: dict[Any, set[Any]] = {}
    for pk, status, lead_id, purged_at, organisation_id in rows:
        cases[pk] = (status, lead_id, purged_at is not None)
        members = involved.setdefault(pk, set())
        if organisation_id is not None:
            members.add(organisation_id)
    return {
        pk: CaseState(status=status, lead_organisation_id=lead_id, erased=erased, involved=frozenset(involved[pk]))
        for pk, (status, lead_id, erased) in cases.items()
    }


# --- the pieces every rule is made of ------------------------------------------------------------------

Refusal = DomainError | None


def _sender(actor: Actor, referral: Referral) -> Refusal:
    if referral.sender_id != actor.organisation.pk:
        return BusinessRuleViolation(_("Only the sending organisation can do this."))
    return None


def _recipient(actor: Actor, referral: Referral) -> Refusal:
    if referral.recipient_id != actor.organisation.pk:
        return BusinessRuleViolation(_("Only the receiving organisation can do this."))
    return None


def _status(action: str, referral: Referral) -> Refusal:
    return transition(action).refusal_in(referral.status)


def _case_open(case: CaseState) -> Refusal:
    return Conflict(_("The case is closed.")) if case.status != CaseStatus.OPEN else None


def _not_erased(case: CaseState) -> Refusal:
    """No new free text on a case whose identity and free text were purged or erased."""
    return Conflict(_("The free text of this case was erased.")) if case.erased else None


def _not_involved() -> DomainError:
    return BusinessRuleViolation(_("Your organisation is not involved in this case."))


# --- referrals -----------------------------------------------------------------------------------------


def _update(actor: Actor, referral: Referral, case: CaseState) -> Refusal:
    # The kind it is changed to is checked again by the service, once the change is applied.
    return (
        _not_erased(case)
        or _sender(actor, referral)
        or _status("update", referral)
        or membership_refusal(actor, "referral.update", referral_kind=referral.kind)
    )


def _send(actor: Actor, referral: Referral, case: CaseState) -> Refusal:
    return (
        _sender(actor, referral)
        or membership_refusal(actor, "referral.send", referral_kind=referral.kind)
        or _status("send", referral)
        or _case_open(case)
        or (_not_involved() if referral.sender_id not in case.involved else None)
    )


def _acknowledge(actor: Actor, referral: Referral, case: CaseState | None) -> Refusal:
    return _recipient(actor, referral) or membership_refusal(actor, "referral.acknowledge") or _status("acknowledge", referral)


def _accept(actor: Actor, referral: Referral, case: CaseState) -> Refusal:
    """Also: the sender is still involved (its involvement ending withdraws its referrals: defence in depth).

    And a transfer's sender still leads the case: of two transfers of one case, the
    first accepted moves the lead and the second finds its sender no longer lead.
    """
    refusal = (
        _recipient(actor, referral)
        or membership_refusal(actor, "referral.accept")
        or _status("accept", referral)
        or _case_open(case)
    )
    if refusal is not None:
        return refusal
    if referral.sender_id not in case.involved:
        return Conflict(_("The sender is no longer involved in this case."))
    if referral.kind == ReferralKind.TRANSFER and case.lead_organisation_id != referral.sender_id:
        return Conflict(_("The sender no longer leads this case."))
    return None


def _decline(actor: Actor, referral: Referral, case: CaseState) -> Refusal:
    # The decline reason is free text: none on an erased case.
    return (
        _not_erased(case)
        or _recipient(actor, referral)
        or membership_refusal(actor, "referral.decline")
        or _status("decline", referral)
    )


def _withdraw(actor: Actor, referral: Referral, case: CaseState | None) -> Refusal:
    return _sender(actor, referral) or membership_refusal(actor, "referral.withdraw") or _status("withdraw", referral)


def _complete(actor: Actor, referral: Referral, case: CaseState | None) -> Refusal:
    return _recipient(actor, referral) or membership_refusal(actor, "referral.complete") or _status("complete", referral)


def _message(actor: Actor, referral: Referral, case: CaseState) -> Refusal:
    """The two parties, on a sent referral; once it is answered for good, only while involved in the case.

    The same rule as ``selectors.may_converse``, which decides who reads the thread.
    """
    org_id = actor.organisation.pk
    if org_id not in (referral.sender_id, referral.recipient_id):
        return BusinessRuleViolation(_("Only the sender and the recipient exchange messages."))
    refusal = membership_refusal(actor, "referral.message_post") or _status("message", referral) or _not_erased(case)
    if refusal is not None:
        return refusal
    if referral.status not in OPEN_REFERRAL_STATUSES and org_id not in case.involved:
        return BusinessRuleViolation(_("Your organisation is no longer involved in this case."))
    return None


@dataclass(frozen=True)
class _Rule:
    check: Callable[..., Refusal]
    needs_case: bool


REFERRAL_RULES: dict[str, _Rule] = {
    "send": _Rule(_send, needs_case=True),
    "update": _Rule(_update, needs_case=True),
    "acknowledge": _Rule(_acknowledge, needs_case=False),
    "accept": _Rule(_accept, needs_case=True),
    "decline": _Rule(_decline, needs_case=True),
    "withdraw": _Rule(_withdraw, needs_case=False),
    "complete": _Rule(_complete, needs_case=False),
    "message": _Rule(_message, needs_case=True),
}
assert tuple(REFERRAL_RULES) == REFERRAL_ACTIONS


def needs_case_state(action: str) -> bool:
    """Whether the rule of the referral ``action`` reads the case's state (else ``case`` may be None)."""
    return REFERRAL_RULES[action].needs_case


def referral_refusal(actor: Actor, referral: Referral, action: str, case: CaseState | None = None) -> Refusal:
    """Why ``actor`` may not take ``action`` on ``referral`` now (a domain error to raise), or None if it may.

    ``case`` is the state of the referral's case; the actions of the recipient that
    only read the referral (acknowledge, complete) and withdraw do without it
    (``needs_case_state``). Input is not judged here (module docstring).
    """
    rule = REFERRAL_RULES[action]
    if not may_act(actor):
        return Forbidden()
    if rule.needs_case and case is None:
        raise TypeError(f"The rule of {action!r} reads the case's state: pass it.")
    return rule.check(actor, referral, case)


def allowed_referral_actions(actor: Actor, referral: Referral, case: CaseState) -> list[str]:
    """The actions of ``REFERRAL_ACTIONS`` that ``referral_refusal`` does not refuse ``actor`` now, in that order."""
    if not may_act(actor):
        return []
    return [action for action in REFERRAL_ACTIONS if referral_refusal(actor, referral, action, case) is None]


# --- cases and consents -----------------------------------------------------------------------------


def _lead(actor: Actor, case: Case, message: str) -> Refusal:
    return BusinessRuleViolation(message) if case.lead_organisation_id != actor.organisation.pk else None


def _may_draft(actor: Actor, case: Case, referral_kind: str | None) -> Refusal:
    """Membership for drafting a referral of ``referral_kind``; without one, of any kind the actor could draft.

    A suspended member drafts transfers only, and only the lead transfers: with no
    kind given, a suspended member that does not lead the case may draft nothing.
    """
    if referral_kind is None:
        organisation = actor.organisation
        if membership_allows(organisation, "referral.create", referral_kind=ReferralKind.SERVICE):
            return None
        if case.lead_organisation_id == organisation.pk:
            referral_kind = ReferralKind.TRANSFER
    return membership_refusal(actor, "referral.create", referral_kind=referral_kind)


def case_refusal(
    actor: Actor, case: Case, action: str, *, involved: bool, referral_kind: str | None = None
) -> Refusal:
    """Why ``actor`` may not take ``action`` (of ``CASE_ACTIONS``) on ``case`` now, or None if it may.

    ``case`` is the case's row as read (by a service: under its lock); ``involved``
    says whether the actor's organisation is involved in it now. ``referral_kind`` is
    the kind of the referral ``create_referral`` drafts, where known (module docstring).
    """
    if action not in CASE_ACTIONS:
        raise KeyError(action)
    if not may_act(actor):
        return Forbidden()
    is_open = case.status == CaseStatus.OPEN
    if action == "update":
        return (
            _lead(actor, case, _("Only the lead organisation changes the case."))
            or membership_refusal(actor, "case.update")
            or (None if is_open else Conflict(_("A closed case cannot be changed.")))
        )
    if action == "close":
        return (
            _lead(actor, case, _("Only the lead organisation closes the case."))
            or membership_refusal(actor, "case.close")
            or (None if is_open else Conflict(_("The case is already closed.")))
        )
    if action == "reopen":
        return (
            _lead(actor, case, _("Only the last lead organisation reopens the case."))
            or membership_refusal(actor, "case.reopen")
            or (Conflict(_("The case is open.")) if is_open else None)
            or (Conflict(_("The identity of this case was erased: open a new case instead.")) if case.purged_at else None)
        )
    if action == "record_consent":
        return (
            (None if involved else _not_involved())
            or membership_refusal(actor, "consent.record")
            or (None if is_open else Conflict(_("A closed case cannot be changed.")))
        )
    # create_referral
    return (
        (None if is_open else Conflict(_("The case is closed.")))
        or (None if involved else _not_involved())
        or _may_draft(actor, case, referral_kind)
    )


def allowed_case_actions(actor: Actor, case: Case, *, involved: bool) -> list[str]:
    """The actions of ``CASE_ACTIONS`` that ``case_refusal`` does not refuse ``actor`` now, in that order."""
    if not may_act(actor):
        return []
    return [action for action in CASE_ACTIONS if case_refusal(actor, case, action, involved=involved) is None]


def case_open_refusal(actor: Actor) -> Refusal:
    """Why ``actor`` may not open a case (its organisation would lead it), or None if it may."""
    if not may_act(actor):
        return Forbidden()
    if actor.organisation.kind == OrganisationKind.COORDINATOR:
        return BusinessRuleViolation(_("The coordination does not hold cases."))
    return membership_refusal(actor, "case.open")


def consent_refusal(actor: Actor, consent: Consent, action: str, *, involved: bool) -> Refusal:
    """Why ``actor`` may not take ``action`` (of ``CONSENT_ACTIONS``) on ``consent`` now, or None if it may.

    ``involved``: whether the actor's organisation is involved in the consent's case now.
    A young person's withdrawal is honoured whatever the organisation's membership.
    """
    if action not in CONSENT_ACTIONS:
        raise KeyError(action)
    if not may_act(actor):
        return Forbidden()
    return (
        (None if involved else _not_involved())
        or membership_refusal(actor, "consent.withdraw")
        or (Conflict(_("This consent is already withdrawn.")) if consent.withdrawn_at is not None else None)
    )


def allowed_consent_actions(actor: Actor, consent: Consent, *, involved: bool) -> list[str]:
    """The actions of ``CONSENT_ACTIONS`` that ``consent_refusal`` does not refuse ``actor`` now."""
    if not may_act(actor):
        return []
    return [action for action in CONSENT_ACTIONS if consent_refusal(actor, consent, action, involved=involved) is None]
